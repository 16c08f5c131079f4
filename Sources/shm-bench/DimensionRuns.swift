import CShmBench
import Foundation
import Glibc
import SharedMemory

/// A child process started from this executable whose standard output this
/// process reads line by line, each read bounded by a timeout.
final class ChildWithOutput {
    let process = Process()
    private let pipe = Pipe()
    private var pending: [UInt8] = []

    init(executable: String, arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["child"] + arguments
        process.standardOutput = pipe
        try process.run()
    }

    var pid: pid_t { process.processIdentifier }

    /// The next line, without its newline; fails after `seconds` without one or at the end of the output.
    func readLine(seconds: Int = Int(CSHM_BENCH_TIMEOUT_SECONDS)) throws -> String {
        let fd = pipe.fileHandleForReading.fileDescriptor
        let deadline = monotonicNanoseconds() + UInt64(seconds) * 1_000_000_000
        while true {
            if let end = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<end], as: UTF8.self)
                pending.removeSubrange(...end)
                return line
            }
            let now = monotonicNanoseconds()
            guard now < deadline else { throw BenchmarkError("a child printed nothing for \(seconds) s") }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min(1000, (deadline - now) / 1_000_000 + 1)))
            if ready < 0 && errno != EINTR { throw BenchmarkError("poll: \(String(cString: strerror(errno)))") }
            guard ready > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 256)
            let count = read(fd, &chunk, chunk.count)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw BenchmarkError("a child ended before it reported (exit: \(exitDescription()))") }
            pending += chunk[..<count]
            guard pending.count < 4096 else { throw BenchmarkError("a child printed a line too long") }
        }
    }

    /// Waits for the child and fails unless it exited with status 0.
    func finish() throws {
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            throw BenchmarkError("a child failed (\(exitDescription()))")
        }
    }

    /// Ends a child that is still running (after a failure here).
    func stop() {
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }

    private func exitDescription() -> String {
        process.isRunning ? "still running" : "\(process.terminationReason == .exit ? "status" : "signal") \(process.terminationStatus)"
    }
}

/// A `tag number` line from a child: the number.
func reportedNumber(_ line: String, _ tag: String) throws -> Double {
    let parts = line.split(separator: " ")
    guard parts.count == 2, parts[0] == tag, let value = Double(parts[1]), value.isFinite, value >= 0 else {
        throw BenchmarkError("a child reported \"\(line.prefix(80))\", not \(tag)")
    }
    return value
}

/// This process's or another's CPU, wake-ups and memory.
func processUsage(_ pid: pid_t) throws -> cshm_bench_usage {
    var usage = cshm_bench_usage()
    let result = cshm_bench_process_usage(pid, &usage)
    guard result == 0 else { throw BenchmarkError("reading /proc/\(pid): \(String(cString: strerror(result)))") }
    return usage
}

func uniqueName(_ role: String) throws -> SegmentName {
    try SegmentName("shm-bench-\(getpid())-\(role)-\(UInt32.random(in: 0...UInt32.max))")
}

/// The parent's side of the fan-out, idle and memory rows.
enum DimensionRuns {
    /// Seconds from the first publish to the last subscriber's last message.
    static func fanout(executable: String, subscribers: Int, messages: Int) throws -> Double {
        let name = try uniqueName("fanout")
        let configuration = PublishSubscribeConfiguration(ring: ringConfiguration(for: 64),
                                                          subscriberSlots: max(8, subscribers), policy: .lossless)
        let publisher = try Publisher.open(name, creating: configuration)
        var children: [ChildWithOutput] = []
        defer { for child in children { child.stop() } }
        for _ in 0..<subscribers {
            children.append(try ChildWithOutput(executable: executable, arguments: [
                "subscriber", "--data", name.posixName, "--count", "\(messages)"]))
        }
        for child in children { guard try child.readLine() == "ready" else { throw BenchmarkError("a subscriber did not join") } }
        var message = [UInt8](repeating: 0xA5, count: 64)
        let start = monotonicNanoseconds()
        for index in 0..<messages {
            withUnsafeBytes(of: UInt64(index).littleEndian) { stamp in
                message.withUnsafeMutableBytes { $0.copyMemory(from: stamp) }
            }
            try publisher.send(message, timeout: .seconds(Int64(CSHM_BENCH_TIMEOUT_SECONDS)))
        }
        publisher.close()
        var end = start
        for child in children {
            end = max(end, UInt64(try reportedNumber(try child.readLine(), "done")))
            try child.finish()
        }
        return Double(end - start) / 1e9
    }

    /// CPU seconds and wake-ups per second of a receiver waiting `seconds` with no traffic.
    static func idle(executable: String, seconds: Int) throws -> (Double, Double) {
        let dataName = try uniqueName("idle"), ackName = try uniqueName("ack")
        let data = try ChannelSender.open(dataName, creating: ringConfiguration(for: 64))
        let ack = try ChannelReceiver.open(ackName, creating: ringConfiguration(for: 64))
        let child = try ChildWithOutput(executable: executable, arguments: [
            "idle-receiver", "--data", dataName.posixName, "--control", ackName.posixName, "--count", "\(seconds)"])
        defer { child.stop() }
        let timeout = Duration.seconds(Int64(CSHM_BENCH_TIMEOUT_SECONDS))
        try data.send([1], timeout: timeout)
        guard try ack.receive(timeout: timeout) == [1] else { throw BenchmarkError("the idle receiver did not answer") }
        usleep(500_000) // let the set-up's last wake-ups pass
        let before = try processUsage(child.pid)
        usleep(UInt32(seconds) * 1_000_000)
        let after = try processUsage(child.pid)
        try data.send([2], timeout: timeout)
        try child.finish()
        // Nanoseconds from schedstat where the kernel gives them; clock ticks (10 ms) otherwise.
        let cpu = before.cpu_seconds_precise >= 0 && after.cpu_seconds_precise >= 0
            ? after.cpu_seconds_precise - before.cpu_seconds_precise : after.cpu_seconds - before.cpu_seconds
        return (cpu, Double(after.voluntary_switches &- before.voluntary_switches) / Double(seconds))
    }

    /// Peak resident kilobytes of a sender process and a receiver process.
    static func resident(executable: String, messages: Int) throws -> (Double, Double) {
        let name = try uniqueName("rss")
        let receiver = try ChildWithOutput(executable: executable, arguments: [
            "rss-receiver", "--data", name.posixName, "--count", "\(messages)"])
        defer { receiver.stop() }
        guard try receiver.readLine() == "ready" else { throw BenchmarkError("the receiver did not start") }
        let sender = try ChildWithOutput(executable: executable, arguments: [
            "rss-sender", "--data", name.posixName, "--count", "\(messages)"])
        defer { sender.stop() }
        let senderKB = try reportedNumber(try sender.readLine(), "rss_kb")
        let receiverKB = try reportedNumber(try receiver.readLine(), "rss_kb")
        try sender.finish()
        try receiver.finish()
        return (senderKB, receiverKB)
    }
}

/// The children's side of the fan-out, idle and memory rows.
enum DimensionChild {
    static let timeout = Duration.seconds(Int64(CSHM_BENCH_TIMEOUT_SECONDS))

    static func say(_ line: String) {
        print(line)
        fflush(nil)
    }

    static func subscriber(data: String, count: Int) throws {
        let subscriber = try Subscriber.open(SegmentName(data), creating: nil)
        say("ready")
        var expected: UInt64 = 0
        while let message = try subscriber.receive(timeout: timeout) {
            guard message.bytes.count == 64,
                  message.bytes.withUnsafeBytes({ $0.loadUnaligned(as: UInt64.self) }) == expected.littleEndian else {
                throw BenchmarkError("message \(expected) arrived wrong")
            }
            expected += 1
        }
        guard expected == UInt64(count) else { throw BenchmarkError("\(expected) of \(count) messages arrived") }
        say("done \(monotonicNanoseconds())")
    }

    static func idleReceiver(data: String, control: String, seconds: Int) throws {
        let receiver = try ChannelReceiver.open(SegmentName(data), creating: nil)
        let ack = try ChannelSender.open(SegmentName(control), creating: nil)
        guard try receiver.receive(timeout: timeout) == [1] else { throw BenchmarkError("no start message") }
        try ack.send([1], timeout: timeout)
        // The idle wait: one receive(), bounded a little past the watch.
        guard try receiver.receive(timeout: .seconds(Int64(seconds) + Int64(CSHM_BENCH_TIMEOUT_SECONDS))) == [2] else {
            throw BenchmarkError("no end message")
        }
    }

    static func residentReceiver(data: String, count: Int) throws {
        var configuration = RingConfiguration()
        configuration.lifetime = .lastClose
        let receiver = try ChannelReceiver.open(SegmentName(data), creating: configuration)
        say("ready")
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 64)
        defer { copy.deallocate() }
        for _ in 0..<count {
            guard try receiver.receive(into: copy, timeout: timeout) == 64 else { throw BenchmarkError("the stream ended early") }
        }
        say("rss_kb \(try processUsage(getpid()).peak_rss_kb)")
    }

    static func residentSender(data: String, count: Int) throws {
        let sender = try ChannelSender.open(SegmentName(data), creating: nil)
        let message = [UInt8](repeating: 0xA5, count: 64)
        for _ in 0..<count { try sender.send(message, timeout: timeout) }
        say("rss_kb \(try processUsage(getpid()).peak_rss_kb)")
        sender.close()
    }
}
