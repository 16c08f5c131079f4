import ArgumentParser
import CShmBench
import Foundation
import Glibc

/// `shm-bench`: latency and throughput of our channel beside a raw C ring
/// (the floor), a futex ring, a pipe and a Unix socket, each measured
/// between two processes in the same run.
@main
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shm-bench",
        abstract: "Measure swift-shm channels against a raw C ring, a pipe and a Unix socket.",
        discussion: """
            Every row runs two processes. Latency: 64-byte ping-pong, round-trip time \
            percentiles after a warm-up (swift-shm/request: a 64-byte request and its \
            64-byte reply through a request/response service). Throughput: a one-way lossless stream whose \
            receiver copies every message out (loans read in place), 64-byte messages \
            per second and 1 MiB messages in GB/s (10^9 bytes). Ratios compare with \
            the raw C ring that spins, measured in the same run. Build with -c release.
            """,
        subcommands: [Run.self, Sizes.self, Fanout.self, ManyToOneBench.self, Idle.self, Resident.self, Instructions.self, Child.self],
        defaultSubcommand: Run.self)
}

enum OutputFormat: String, ExpressibleByArgument { case table, json }

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the benchmark and print the table (the default).")

    @Option(help: "table or json.") var format: OutputFormat = .table
    @Option(help: "Timed round trips per latency row.") var roundTrips = 100_000
    @Option(help: "Untimed round trips first.") var warmup = 10_000
    @Option(help: "64-byte messages per throughput row.") var smallMessages = 2_000_000
    @Option(help: "1 MiB messages per throughput row.") var largeMessages = 2_000
    @Flag(help: "Fewer messages and round trips, one round: a quick look, not a measurement.") var quick = false
    @Option(help: "Rounds over all rows; each figure is the median of the rounds (the machine's noise moves between rows).")
    var rounds = 3
    @Option(parsing: .upToNextOption, help: "Only these rows (for example swift-shm/spin c-ring/spin).") var only: [String] = []

    /// The most round trips (each keeps an 8-byte sample) and messages a row takes.
    static let roundTripLimit = 10_000_000, messageLimit = 1_000_000_000, largeMessageLimit = 1_000_000, roundLimit = 100

    func validate() throws {
        try checkRange("--round-trips", roundTrips, 1...Self.roundTripLimit)
        try checkRange("--warmup", warmup, 0...Self.roundTripLimit)
        try checkRange("--small-messages", smallMessages, 1...Self.messageLimit)
        try checkRange("--large-messages", largeMessages, 1...Self.largeMessageLimit)
        try checkRange("--rounds", rounds, 1...Self.roundLimit)
    }

    func run() throws {
        let scale = quick ? 10 : 1
        let settings = (roundTrips / scale, warmup / scale, smallMessages / scale, max(10, largeMessages / scale))
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let baselines: [(String, cshm_bench_mechanism)] = [
            ("c-ring/spin", CSHM_BENCH_RING_SPIN), ("c-ring/futex", CSHM_BENCH_RING_FUTEX),
            ("pipe", CSHM_BENCH_PIPE), ("unix-socket", CSHM_BENCH_UNIX_SOCKET),
        ]
        var measured: [[BenchmarkRow]] = []
        let roundCount = quick ? 1 : max(1, rounds)
        for round in 1...roundCount {
            var rows: [BenchmarkRow] = []
            for (name, mechanism) in baselines where only.isEmpty || only.contains(name) {
                progress(name, round, roundCount)
                rows.append(try measureBaseline(name, mechanism, settings))
            }
            if only.isEmpty || only.contains(EventBenchmark.mechanism) {
                progress(EventBenchmark.mechanism, round, roundCount)
                let samples = try EventBenchmark(executable: executable).latency(warmup: settings.1, roundTrips: settings.0)
                let percentiles = Percentiles(samples)
                rows.append(BenchmarkRow(mechanism: EventBenchmark.mechanism, p50: percentiles.p50, p99: percentiles.p99,
                                         p999: percentiles.p999))
            }
            for mode in ChannelMode.allCases where only.isEmpty || only.contains(mode.mechanism) {
                progress(mode.mechanism, round, roundCount)
                rows.append(try measureChannel(mode, executable: executable, settings))
            }
            if only.isEmpty || only.contains(RequestBenchmark.mechanism) {
                progress(RequestBenchmark.mechanism, round, roundCount)
                rows.append(try RequestBenchmark.measure(executable: executable, size: 64, warmup: settings.1, roundTrips: settings.0))
            }
            measured.append(rows)
        }
        let rows = BenchmarkRow.medians(of: measured)
        let floor = rows.first { $0.mechanism == "c-ring/spin" }
        switch format {
        case .table: print(Report.table(rows, floor: floor, settings: settings, rounds: roundCount))
        case .json: print(Report.json(rows))
        }
    }

    private func progress(_ name: String, _ round: Int, _ rounds: Int) {
        if format == .table { FileHandle.standardError.write(Data("round \(round)/\(rounds): measuring \(name)...\n".utf8)) }
    }

    private func measureBaseline(
        _ name: String, _ mechanism: cshm_bench_mechanism, _ settings: (Int, Int, Int, Int)
    ) throws -> BenchmarkRow {
        var samples = [UInt64](repeating: 0, count: settings.0)
        try check(cshm_bench_latency(mechanism, 64, UInt32(settings.1), UInt32(settings.0), &samples), name)
        var small = 0.0, large = 0.0
        try check(cshm_bench_throughput(mechanism, 64, UInt64(settings.2), &small), name)
        try check(cshm_bench_throughput(mechanism, 1 << 20, UInt64(settings.3), &large), name)
        let percentiles = Percentiles(samples)
        return BenchmarkRow(mechanism: name, p50: percentiles.p50, p99: percentiles.p99, p999: percentiles.p999,
                            messagesPerSecond: Double(settings.2) / small,
                            gigabytesPerSecond: Double(settings.3) * Double(1 << 20) / large / 1e9)
    }

    private func measureChannel(_ mode: ChannelMode, executable: String, _ settings: (Int, Int, Int, Int)) throws -> BenchmarkRow {
        let benchmark = SwiftChannelBenchmark(mode: mode, executable: executable)
        if let row = try benchmark.measureAsyncOrPaced(settings) { return row }
        let percentiles = Percentiles(try benchmark.latency(size: 64, warmup: settings.1, roundTrips: settings.0))
        let small = try benchmark.throughput(size: 64, count: settings.2)
        let large = try benchmark.throughput(size: 1 << 20, count: settings.3)
        return BenchmarkRow(mechanism: mode.mechanism, p50: percentiles.p50, p99: percentiles.p99, p999: percentiles.p999,
                            messagesPerSecond: Double(settings.2) / small,
                            gigabytesPerSecond: Double(settings.3) * Double(1 << 20) / large / 1e9)
    }

    private func check(_ result: Int32, _ name: String) throws {
        if result != 0 { throw BenchmarkError("\(name): \(String(cString: strerror(result)))") }
    }
}

struct Child: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The other process of a row (started by run).", shouldDisplay: false)

    @Argument var role: String
    @Option var ping = ""
    @Option var pong = ""
    @Option var data = ""
    @Option var control = ""
    @Option var size = 64
    @Option var count = 0
    @Option var mode = "adaptive"
    @Flag var touchLine = false
    @Flag var loans = false

    func validate() throws {
        try checkRange("--size", size, 1...(16 << 20))
        try checkRange("--count", count, 0...Run.messageLimit)
    }

    func run() throws {
        guard let mode = ChannelMode(rawValue: mode) else { throw ValidationError("unknown mode \(mode)") }
        switch role {
        case "echo": try ChildRole.echo(ping: ping, pong: pong, size: size, mode: mode, touchLine: touchLine, loans: loans)
        case "subscriber": try DimensionChild.subscriber(data: data, count: count)
        case "m2o-sender": try DimensionChild.manyToOneSender(data: data, control: control, count: count, wait: mode.strategy)
        case "idle-receiver": try DimensionChild.idleReceiver(data: data, control: control, seconds: count)
        case "rss-receiver": try DimensionChild.residentReceiver(data: data, count: count)
        case "rss-sender": try DimensionChild.residentSender(data: data, count: count)
        case "event-echo": try EventBenchmark.echo(ping: ping, pong: pong, count: count)
        case "source": try ChildRole.source(data: data, control: control, size: size, count: count, mode: mode)
        case "paced": try ChildRole.paced(data: data, control: control, count: count, mode: mode)
        case "server": try RequestBenchmark.serve(ping, count: count)
        default: throw ValidationError("unknown role \(role)")
        }
    }
}

/// Refuses a number outside `range` with a usage error that names the option and the range.
func checkRange(_ option: String, _ value: Int, _ range: ClosedRange<Int>) throws(ValidationError) {
    guard range.contains(value) else {
        throw ValidationError("\(option) must be between \(range.lowerBound) and \(range.upperBound), not \(value).")
    }
}
