import ArgumentParser
import CShmBench
import Foundation
import Glibc
import SharedMemory

/// `shm-bench many-to-one`: total 64-byte messages per second from 1, 4 and
/// 16 sender processes into one receiver, beside the one-to-one channel in the same run.
struct ManyToOneBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "many-to-one",
        abstract: "Many-to-one channels: total 64-byte messages per second from 1, 4 and 16 senders, beside the one-to-one channel.",
        discussion: """
            N sender processes join one many-to-one channel (64 KiB ring each, default wait \
            strategy) and each sends --messages / N 64-byte messages; this process receives and \
            copies out every one. Timed from the start signal to the last message. The one-to-one \
            row is the headline channel throughput (swift-shm/adaptive) measured in the same run; \
            ratio is many-to-one over one-to-one. Each figure is the median of --rounds.
            """)

    @Option(help: "table or json.") var format: OutputFormat = .table
    @Option(parsing: .upToNextOption, help: "Sender counts (1 to 64).") var senders: [Int] = [1, 4, 16]
    @Option(help: "Messages per row, split among the senders.") var messages = 2_000_000
    @Option(help: "Rounds; each figure is the median.") var rounds = 3
    @Option(help: "How the senders wait for space: spin, adaptive or sleep (with more senders than cores, spinning senders take the receiver's CPU).")
    var senderWait = "adaptive"

    func validate() throws {
        guard !senders.isEmpty, senders.count <= 8 else { throw ValidationError("--senders takes 1 to 8 counts.") }
        for count in senders { try checkRange("--senders", count, 1...64) }
        try checkRange("--messages", messages, 1...Run.messageLimit)
        try checkRange("--rounds", rounds, 1...Run.roundLimit)
        guard ["spin", "adaptive", "sleep"].contains(senderWait) else { throw ValidationError("--sender-wait is spin, adaptive or sleep.") }
    }

    func run() throws {
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        var oneToOne: [Double] = []
        var many: [[Double]] = Array(repeating: [], count: senders.count)
        for _ in 0..<rounds {
            let seconds = try SwiftChannelBenchmark(mode: .adaptive, executable: executable).throughput(size: 64, count: messages)
            oneToOne.append(Double(messages) / seconds)
            for (index, count) in senders.enumerated() {
                let perSender = max(1, messages / count)
                let seconds = try Self.measure(executable: executable, senders: count, perSender: perSender, senderWait: senderWait)
                many[index].append(Double(perSender * count) / seconds)
            }
        }
        let base = median(oneToOne)
        var rows = [BenchmarkRow(mechanism: "swift-shm/adaptive", dimension: "one-to-one", messagesPerSecond: base,
                                 settings: "64 KiB ring, \(messages) messages, median of \(rounds)")]
        for (index, count) in senders.enumerated() {
            let rate = median(many[index])
            rows.append(BenchmarkRow(mechanism: "swift-shm/many-to-one", dimension: "\(count) senders", messagesPerSecond: rate,
                                     settings: String(format: "%.2fx one-to-one; 64 KiB ring per sender, %d messages each, senders wait %@, median of %d",
                                                      rate / base, max(1, messages / count), senderWait, rounds)))
        }
        if format == .json {
            print(Report.json(rows))
        } else {
            print("| mechanism | senders | msgs/s | ratio to one-to-one |")
            print("|---|---|---:|---:|")
            for row in rows {
                print(String(format: "| %@ | %@ | %.0f | %.2f |", row.mechanism, row.dimension, row.messagesPerSecond ?? 0, (row.messagesPerSecond ?? 0) / base))
            }
        }
    }

    private func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted[sorted.count / 2]
    }

    /// Seconds for `senders` children to send `perSender` messages each to this process.
    static func measure(executable: String, senders: Int, perSender: Int, senderWait: String) throws -> Double {
        let name = try uniqueName("m2o"), goName = try uniqueName("m2o-go")
        var ring = ringConfiguration(for: 64)
        ring.lifetime = .lastClose
        let receiver = try ManyToOneReceiver.open(name, creating: ManyToOneConfiguration(maxSenders: senders, ring: ring))
        let go = try Publisher.open(goName, creating: PublishSubscribeConfiguration(ring: ringConfiguration(for: 64), subscriberSlots: 64))
        var children: [ChildWithOutput] = []
        defer { for child in children { child.stop() } }
        for _ in 0..<senders {
            children.append(try ChildWithOutput(executable: executable, arguments: [
                "m2o-sender", "--data", name.posixName, "--control", goName.posixName, "--count", "\(perSender)", "--mode", senderWait]))
        }
        for child in children { guard try child.readLine() == "ready" else { throw BenchmarkError("a sender did not join") } }
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 64)
        defer { copy.deallocate() }
        let total = senders * perSender
        let start = monotonicNanoseconds()
        try go.send([1])
        var checksum = 0
        let timeout = Duration.seconds(Int64(CSHM_BENCH_TIMEOUT_SECONDS))
        for _ in 0..<total {
            guard let length = try receiver.receive(timeout: timeout, { bytes, _ in
                copy.copyMemory(from: bytes)
                return bytes.count
            }) else { throw BenchmarkError("the many-to-one stream ended early") }
            checksum &+= length
        }
        let end = monotonicNanoseconds()
        if checksum != total * 64 { throw BenchmarkError("wrong message sizes") }
        for child in children { try child.finish() }
        return Double(end - start) / 1e9
    }
}

extension DimensionChild {
    /// A many-to-one sender: joins, says ready, waits for the start signal, sends `count` 64-byte messages.
    static func manyToOneSender(data: String, control: String, count: Int, wait: WaitStrategy) throws {
        let go = try Subscriber.open(SegmentName(control), creating: nil)
        let sender = try ManyToOneSender.open(SegmentName(data), creating: nil, joinTimeout: timeout, wait: wait)
        let message = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 64)
        defer { message.deallocate() }
        message.initializeMemory(as: UInt8.self, repeating: 0xA5)
        say("ready")
        guard try go.receive(timeout: timeout) != nil else { throw BenchmarkError("no start signal") }
        for index in 0..<count {
            message.storeBytes(of: UInt64(index), toByteOffset: 0, as: UInt64.self)
            try sender.send(UnsafeRawBufferPointer(message), timeout: timeout)
        }
        sender.close()
    }
}
