import ArgumentParser
import CShmBench
import Foundation
import Glibc
import SharedMemory

/// The dimensions beyond the headline row (`run`): round trips over message
/// sizes, publish/subscribe fan-out, the idle cost of a waiting receiver and
/// resident memory. Each prints rows of the shared schema; scripts/bench-peers.sh
/// interleaves them with the peers' rows.
struct Sizes: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Round-trip percentiles over message sizes: copied, and with loans touching one cache line per side.",
        discussion: """
            Rows: c-ring/spin/copy (the floor); swift-shm/spin/copy and swift-shm/adaptive/copy (send \
            and receive(into:)); swift-shm/spin/loan and swift-shm/adaptive/loan (send(loaning:) and \
            receive { } in place, one cache line written and read per side). Round trips per size: --round-trips up to 64 KiB, fewer above \
            (round trips x 64 KiB / size, at least 100), a tenth of that first as warm-up.
            """)

    @Option(help: "table or json.") var format: OutputFormat = .table
    @Option(parsing: .upToNextOption, help: "Message sizes in bytes (8 to 16 MiB).") var sizes: [Int] = [64, 4096, 65536, 1 << 20, 4 << 20]
    @Option(help: "Timed round trips for sizes up to 64 KiB.") var roundTrips = 20_000
    @Option(parsing: .upToNextOption, help: "Only these rows.") var only: [String] = []

    func validate() throws {
        guard !sizes.isEmpty, sizes.count <= 16 else { throw ValidationError("--sizes takes 1 to 16 sizes.") }
        for size in sizes { try checkRange("--sizes", size, 8...(16 << 20)) }
        try checkRange("--round-trips", roundTrips, 1...Run.roundTripLimit)
    }

    func run() throws {
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        var rows: [BenchmarkRow] = []
        for size in sizes {
            let count = Int(cshm_bench_sweep_round_trips(UInt32(roundTrips), size))
            let warmup = count / 10
            func row(_ name: String, _ samples: [UInt64]) -> BenchmarkRow {
                let percentiles = Percentiles(samples)
                return BenchmarkRow(mechanism: name, dimension: "size", sizeBytes: size, p50: percentiles.p50,
                                    p99: percentiles.p99, p999: percentiles.p999,
                                    settings: "\(count) round trips after \(warmup)")
            }
            if only.isEmpty || only.contains("c-ring/spin/copy") {
                var samples = [UInt64](repeating: 0, count: count)
                let result = cshm_bench_latency(CSHM_BENCH_RING_SPIN, size, UInt32(warmup), UInt32(count), &samples)
                if result != 0 { throw BenchmarkError("c-ring/spin/copy: \(String(cString: strerror(result)))") }
                rows.append(row("c-ring/spin/copy", samples))
            }
            if only.isEmpty || only.contains("swift-shm/spin/copy") {
                let benchmark = SwiftChannelBenchmark(mode: .spin, executable: executable)
                rows.append(row("swift-shm/spin/copy", try benchmark.latency(size: size, warmup: warmup, roundTrips: count)))
            }
            if only.isEmpty || only.contains("swift-shm/spin/loan") {
                let benchmark = SwiftChannelBenchmark(mode: .spin, executable: executable, loans: true)
                rows.append(row("swift-shm/spin/loan",
                                try benchmark.latency(size: size, warmup: warmup, roundTrips: count, touchLine: true)))
            }
            if only.isEmpty || only.contains("swift-shm/adaptive/copy") {
                let benchmark = SwiftChannelBenchmark(mode: .adaptive, executable: executable)
                rows.append(row("swift-shm/adaptive/copy", try benchmark.latency(size: size, warmup: warmup, roundTrips: count)))
            }
            if only.isEmpty || only.contains("swift-shm/adaptive/loan") {
                let benchmark = SwiftChannelBenchmark(mode: .loan, executable: executable)
                rows.append(row("swift-shm/adaptive/loan",
                                try benchmark.latency(size: size, warmup: warmup, roundTrips: count, touchLine: true)))
            }
        }
        print(format == .json ? Report.json(rows) : Report.dimensionTable(rows))
    }
}

struct Fanout: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish/subscribe fan-out: 64-byte messages per second to 1, 2, 4 and 8 subscribers, lossless.",
        discussion: """
            One publisher (this process) and N subscriber processes on one ring (64 KiB, lossless \
            policy, default wait strategy). Each subscriber receives and checks every message. \
            Timed from the first publish to the last subscriber's last message; msgs_per_s is \
            messages published per second (each delivered N times). The table format adds the \
            total deliveries per second (published times subscribers) against the first row's.
            """)

    @Option(help: "table or json.") var format: OutputFormat = .table
    @Option(parsing: .upToNextOption, help: "Subscriber counts (1 to 32).") var subscribers: [Int] = [1, 2, 4, 8]
    @Option(help: "Messages per row.") var messages = 1_000_000

    func validate() throws {
        guard !subscribers.isEmpty, subscribers.count <= 8 else { throw ValidationError("--subscribers takes 1 to 8 counts.") }
        for count in subscribers { try checkRange("--subscribers", count, 1...32) }
        try checkRange("--messages", messages, 1...Run.messageLimit)
    }

    func run() throws {
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        var rows: [BenchmarkRow] = []
        for count in subscribers {
            let seconds = try DimensionRuns.fanout(executable: executable, subscribers: count, messages: messages)
            rows.append(BenchmarkRow(mechanism: "swift-shm/pubsub", dimension: "fanout", sizeBytes: 64, subscribers: count,
                                     messagesPerSecond: Double(messages) / seconds,
                                     settings: "lossless, 64 KiB ring, \(messages) messages"))
        }
        print(format == .json ? Report.json(rows) : Report.dimensionTable(rows) + "\n\n" + Self.deliveries(rows))
    }

    /// The rows as total deliveries (messages published times subscribers),
    /// each against the first row's: what the subscribers receive together.
    static func deliveries(_ rows: [BenchmarkRow]) -> String {
        var lines = ["| subscribers | published msgs/s | deliveries/s | deliveries vs first row |", "|---:|---:|---:|---:|"]
        let first = rows.first.flatMap { row in row.messagesPerSecond.map { $0 * Double(row.subscribers ?? 1) } }
        for row in rows {
            guard let published = row.messagesPerSecond, let count = row.subscribers else { continue }
            let total = published * Double(count)
            let ratio = first.map { String(format: "%.2fx", total / $0) } ?? "-"
            lines.append(String(format: "| %d | %.2f M | %.2f M | %@ |", count, published / 1e6, total / 1e6, ratio))
        }
        return lines.joined(separator: "\n")
    }
}

struct Idle: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The idle cost of a receiver waiting with no traffic: CPU seconds and wake-ups per second.",
        discussion: """
            A receiver process waits in receive() with the default (adaptive) strategy while this \
            process holds the sender and sends nothing. CPU is the time on a CPU of all its threads \
            from /proc/PID/task/*/schedstat (nanoseconds; utime + stime from /proc/PID/stat, in clock \
            ticks, where schedstat is missing), \
            wake-ups the voluntary context switches of all its threads (/proc/PID/task/*/status), \
            over --seconds after half a second to settle.
            """)

    @Option(help: "table or json.") var format: OutputFormat = .table
    @Option(help: "Seconds to watch (1 to 120).") var seconds = 10

    func validate() throws { try checkRange("--seconds", seconds, 1...120) }

    func run() throws {
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let (cpu, wakeups) = try DimensionRuns.idle(executable: executable, seconds: seconds)
        let row = BenchmarkRow(mechanism: "swift-shm/adaptive", dimension: "idle", sizeBytes: nil,
                               idleCPUSeconds: cpu, wakeupsPerSecond: wakeups,
                               settings: "receive() with the default wait strategy, \(seconds) s")
        print(format == .json ? Report.json([row]) : Report.dimensionTable([row]))
    }
}

struct Resident: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rss",
        abstract: "Resident memory (peak VmHWM) of a sender process and a receiver process on a default channel.",
        discussion: "Both are children started from this executable; each reads its own VmHWM after the stream.")

    @Option(help: "table or json.") var format: OutputFormat = .table
    @Option(help: "64-byte messages sent before reading.") var messages = 10_000

    func validate() throws { try checkRange("--messages", messages, 1...Run.messageLimit) }

    func run() throws {
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let (sender, receiver) = try DimensionRuns.resident(executable: executable, messages: messages)
        let row = BenchmarkRow(mechanism: "swift-shm/adaptive", dimension: "rss", sizeBytes: 64,
                               senderRSSKilobytes: sender, receiverRSSKilobytes: receiver,
                               settings: "default channel (1 MiB ring), \(messages) messages")
        print(format == .json ? Report.json([row]) : Report.dimensionTable([row]))
    }
}
