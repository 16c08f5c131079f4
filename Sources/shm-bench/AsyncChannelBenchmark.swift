import Dispatch
import Foundation
import SharedMemory

/// The rows of the async API and the paced rows. `swift-shm/async` measures
/// what `swift-shm/adaptive` does (the same child, the same messages), with
/// this side's sends and receives `await`ed from a task. The paced rows
/// measure delivery latency: the child sends one message every 20 µs,
/// stamped with CLOCK_MONOTONIC, and this side waits for each, blocking
/// (`swift-shm/paced`) or suspended (`swift-shm/paced-async`); the latency
/// columns hold send-to-receive times, the throughput columns are empty.
extension SwiftChannelBenchmark {
    /// The pacing of the paced rows.
    static let paceNanoseconds: UInt64 = 20_000

    /// The row for the async and paced modes; `nil` for the others.
    func measureAsyncOrPaced(_ settings: (Int, Int, Int, Int)) throws -> BenchmarkRow? {
        switch mode {
        case .async:
            let percentiles = Percentiles(try blockingOn { try await asyncLatency(size: 64, warmup: settings.1, roundTrips: settings.0) })
            let small = try blockingOn { try await asyncThroughput(size: 64, count: settings.2) }
            let large = try blockingOn { try await asyncThroughput(size: 1 << 20, count: settings.3) }
            return BenchmarkRow(mechanism: mode.mechanism, p50: percentiles.p50, p99: percentiles.p99, p999: percentiles.p999,
                                messagesPerSecond: Double(settings.2) / small,
                                gigabytesPerSecond: Double(settings.3) * Double(1 << 20) / large / 1e9)
        case .paced, .pacedAsync:
            // As many messages as a tenth of the round trips (at least 1000): 20 µs each.
            let count = max(1000, settings.0 / 10)
            let samples = try blockingOn { try await pacedLatency(count: count, asynchronous: mode == .pacedAsync) }
            let percentiles = Percentiles(samples)
            return BenchmarkRow(mechanism: mode.mechanism, p50: percentiles.p50, p99: percentiles.p99, p999: percentiles.p999,
                                messagesPerSecond: nil, gigabytesPerSecond: nil, settings: "delivery latency at one message per 20 µs")
        default:
            return nil
        }
    }

    /// Round trips with the async send and receive.
    func asyncLatency(size: Int, warmup: Int, roundTrips: Int) async throws -> [UInt64] {
        let pingName = try benchName("ping"), pongName = try benchName("pong")
        let configuration = ringConfiguration(for: size)
        let ping = try ChannelSender.open(pingName, creating: configuration, wait: mode.strategy)
        let pong = try ChannelReceiver.open(pongName, creating: configuration, wait: mode.strategy)
        let child = try startBenchChild(["echo", "--ping", pingName.posixName, "--pong", pongName.posixName, "--size", "\(size)"],
                                        childMode: .adaptive)
        defer { child.waitUntilExit() }
        let message = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
        let reply = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
        defer { message.deallocate(); reply.deallocate() }
        message.initializeMemory(as: UInt8.self, repeating: 0x5A)
        var samples = [UInt64](repeating: 0, count: roundTrips)
        for index in 0..<(warmup + roundTrips) {
            let start = monotonicNanoseconds()
            try await ping.send(UnsafeRawBufferPointer(message))
            _ = try await pong.receive(into: reply)
            let end = monotonicNanoseconds()
            if index >= warmup { samples[index - warmup] = end - start }
        }
        ping.close()
        return samples
    }

    /// A one-way stream received with the async receive into a buffer.
    func asyncThroughput(size: Int, count: Int) async throws -> Double {
        let dataName = try benchName("data"), controlName = try benchName("go")
        let receiver = try ChannelReceiver.open(dataName, creating: ringConfiguration(for: size), wait: mode.strategy)
        let control = try ChannelSender.open(controlName, creating: ringConfiguration(for: 64), wait: mode.strategy)
        let child = try startBenchChild(["source", "--data", dataName.posixName, "--control", controlName.posixName,
                                         "--size", "\(size)", "--count", "\(count)"], childMode: .adaptive)
        defer { child.waitUntilExit() }
        guard try await receiver.receive(timeout: .seconds(30)) == [1] else { throw BenchmarkError("the child did not start") }
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
        defer { copy.deallocate() }
        copy.initializeMemory(as: UInt8.self, repeating: 0)
        try await control.send([1])
        let start = monotonicNanoseconds()
        var checksum = 0
        for _ in 0..<count {
            guard let length = try await receiver.receive(into: copy) else { throw BenchmarkError("the stream ended early") }
            checksum &+= length
        }
        let end = monotonicNanoseconds()
        if checksum == 0 { throw BenchmarkError("no data") }
        return Double(end - start) / 1e9
    }

    /// Send-to-receive times of `count` paced messages.
    func pacedLatency(count: Int, asynchronous: Bool) async throws -> [UInt64] {
        let dataName = try benchName("paced"), controlName = try benchName("go")
        let receiver = try ChannelReceiver.open(dataName, creating: ringConfiguration(for: 64), wait: mode.strategy)
        let control = try ChannelSender.open(controlName, creating: ringConfiguration(for: 64), wait: mode.strategy)
        let child = try startBenchChild(["paced", "--data", dataName.posixName, "--control", controlName.posixName,
                                         "--count", "\(count)"], childMode: .paced)
        defer { child.waitUntilExit() }
        guard try await receiver.receive(timeout: .seconds(30)) == [1] else { throw BenchmarkError("the child did not start") }
        try await control.send([1])
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 64)
        defer { buffer.deallocate() }
        var samples = [UInt64](repeating: 0, count: count)
        for index in 0..<count {
            let length = asynchronous ? try await receiver.receive(into: buffer) : try Self.blockingReceive(receiver, into: buffer)
            let now = monotonicNanoseconds()
            guard length == 8 else { throw BenchmarkError("the paced stream ended early") }
            samples[index] = now &- buffer.load(as: UInt64.self)
        }
        return samples
    }

    /// The blocking receive (a synchronous context picks it over the async one).
    private static func blockingReceive(_ receiver: borrowing ChannelReceiver, into buffer: UnsafeMutableRawBufferPointer) throws -> Int? {
        try receiver.receive(into: buffer)
    }

    private func benchName(_ role: String) throws -> SegmentName {
        try SegmentName("shm-bench-\(getpid())-\(mode.rawValue)-\(role)-\(UInt32.random(in: 0...UInt32.max))")
    }

    private func startBenchChild(_ arguments: [String], childMode: ChannelMode) throws -> Process {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: executable)
        child.arguments = ["child"] + arguments + ["--mode", childMode.rawValue]
        try child.run()
        return child
    }
}

extension ChildRole {
    /// Sends `count` 8-byte timestamps, one every 20 µs (busy-waiting between them).
    static func paced(data: String, control: String, count: Int, mode: ChannelMode) throws {
        let sender = try ChannelSender.open(SegmentName(data), creating: nil, wait: mode.strategy)
        let go = try ChannelReceiver.open(SegmentName(control), creating: nil, wait: mode.strategy)
        try sender.send([1])
        _ = try go.receive(timeout: .seconds(30))
        var next = monotonicNanoseconds() + SwiftChannelBenchmark.paceNanoseconds
        for _ in 0..<count {
            while monotonicNanoseconds() < next {}
            var stamp = monotonicNanoseconds()
            try withUnsafeBytes(of: &stamp) { try sender.send($0) }
            next += SwiftChannelBenchmark.paceNanoseconds
        }
        sender.close()
    }
}

/// Runs `body` in a task and blocks this (non-pool) thread until it ends.
func blockingOn<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let semaphore = DispatchSemaphore(value: 0)
    let box = ResultBox<T>()
    Task {
        do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
        semaphore.signal()
    }
    semaphore.wait()
    return try box.result!.get()
}

private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}
