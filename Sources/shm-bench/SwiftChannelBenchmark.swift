import Foundation
import Glibc
import SharedMemory

/// How one of our rows moves messages.
enum ChannelMode: String, CaseIterable, Sendable {
    case spin, adaptive, sleep, loan
    /// The async API (see AsyncChannelBenchmark.swift); `paced`/`pacedAsync`: delivery latency at one message per 20 µs.
    case async, paced, pacedAsync = "paced-async"

    var strategy: WaitStrategy {
        switch self {
        case .spin: .spin
        case .adaptive, .loan, .async, .paced, .pacedAsync: .default
        case .sleep: .sleep
        }
    }

    var mechanism: String { "swift-shm/\(rawValue)" }
}

/// The ring for messages of `size` bytes, as the C baseline sizes its own:
/// the smallest power of two of at least 64 KiB and four messages.
func ringConfiguration(for size: Int) -> RingConfiguration {
    let wanted = max(64 * 1024, 4 * (size + 16))
    var configuration = RingConfiguration(capacity: wanted)
    configuration.maxMessageSize = max(size, 64)
    configuration.lifetime = .lastClose
    return configuration
}

/// Measures our channel between this process and a child started from this
/// executable (`shm-bench child ...`).
struct SwiftChannelBenchmark {
    let mode: ChannelMode
    let executable: String
    /// Loans with this mode's wait strategy (the `loan` mode always loans).
    var loans = false

    private var usesLoans: Bool { mode == .loan || loans }

    private func uniqueName(_ role: String) throws -> SegmentName {
        try SegmentName("shm-bench-\(getpid())-\(mode.rawValue)-\(role)-\(UInt32.random(in: 0...UInt32.max))")
    }

    private func startChild(_ arguments: [String]) throws -> Process {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: executable)
        child.arguments = ["child"] + arguments + ["--mode", mode.rawValue] + (loans ? ["--loans"] : [])
        try child.run()
        return child
    }

    /// Round trips of `size`-byte messages: the child echoes each one back.
    /// With `touchLine` (loans only) each side writes and reads only the
    /// first cache line of the message, in place.
    func latency(size: Int, warmup: Int, roundTrips: Int, touchLine: Bool = false) throws -> [UInt64] {
        let pingName = try uniqueName("ping"), pongName = try uniqueName("pong")
        let configuration = ringConfiguration(for: size)
        let ping = try ChannelSender.open(pingName, creating: configuration, wait: mode.strategy)
        let pong = try ChannelReceiver.open(pongName, creating: configuration, wait: mode.strategy)
        let child = try startChild(["echo", "--ping", pingName.posixName, "--pong", pongName.posixName, "--size", "\(size)"]
                                   + (touchLine ? ["--touch-line"] : []))
        defer { child.waitUntilExit() }
        let message = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
        let reply = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
        defer { message.deallocate(); reply.deallocate() }
        message.initializeMemory(as: UInt8.self, repeating: 0x5A)
        var samples = [UInt64](repeating: 0, count: roundTrips)
        for index in 0..<(warmup + roundTrips) {
            let start = monotonicNanoseconds()
            if usesLoans && touchLine {
                try ping.send(loaning: size) { buffer in
                    touchFirstLine(buffer, UInt64(index))
                    return size
                }
                guard try pong.receive({ bytes in firstWord(bytes) }) == UInt64(index) else {
                    throw BenchmarkError("round trip \(index) came back wrong")
                }
            } else if mode == .loan {
                try ping.send(loaning: size) { buffer in
                    buffer.copyMemory(from: UnsafeRawBufferPointer(message))
                    return size
                }
                _ = try pong.receive { bytes in bytes.count } // read in place
            } else {
                try ping.send(UnsafeRawBufferPointer(message))
                _ = try pong.receive(into: reply)
            }
            let end = monotonicNanoseconds()
            if index >= warmup { samples[index - warmup] = end - start }
        }
        ping.close()
        return samples
    }

    /// A one-way stream of `count` messages of `size` bytes from the child;
    /// this process copies each out (or, for loans, reads it in place).
    /// - Returns: seconds from the start signal to the last message.
    func throughput(size: Int, count: Int) throws -> Double {
        let dataName = try uniqueName("data"), controlName = try uniqueName("go")
        let receiver = try ChannelReceiver.open(dataName, creating: ringConfiguration(for: size), wait: mode.strategy)
        let control = try ChannelSender.open(controlName, creating: ringConfiguration(for: 64), wait: mode.strategy)
        let child = try startChild(["source", "--data", dataName.posixName, "--control", controlName.posixName,
                                    "--size", "\(size)", "--count", "\(count)"])
        defer { child.waitUntilExit() }
        guard try receiver.receive(timeout: .seconds(30)) == [1] else { throw BenchmarkError("the child did not start") }
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
        defer { copy.deallocate() }
        copy.initializeMemory(as: UInt8.self, repeating: 0)
        try control.send([1])
        let start = monotonicNanoseconds()
        var checksum = 0
        for _ in 0..<count {
            let length: Int?
            if mode == .loan {
                length = try receiver.receive { bytes in Int(bytes[0]) &+ Int(bytes[bytes.count - 1]) &+ bytes.count }
            } else {
                length = try receiver.receive(into: copy)
            }
            guard let length else { throw BenchmarkError("the stream ended early") }
            checksum &+= length
        }
        let end = monotonicNanoseconds()
        if checksum == 0 { throw BenchmarkError("no data") }
        return Double(end - start) / 1e9
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The child's side of our rows.
enum ChildRole {
    static func echo(ping: String, pong: String, size: Int, mode: ChannelMode, touchLine: Bool, loans: Bool) throws {
        let receiver = try ChannelReceiver.open(SegmentName(ping), creating: nil, wait: mode.strategy)
        let sender = try ChannelSender.open(SegmentName(pong), creating: nil, wait: mode.strategy)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(size, 64), alignment: 64)
        defer { buffer.deallocate() }
        while true {
            if (mode == .loan || loans) && touchLine {
                // One cache line written and read on each side, in place.
                let echoed: Bool? = try receiver.receive { bytes in
                    let stamp = firstWord(bytes)
                    _ = try? sender.send(loaning: bytes.count) { target in
                        touchFirstLine(target, stamp)
                        return bytes.count
                    }
                    return true
                }
                if echoed == nil { return }
            } else if mode == .loan {
                // In place on both sides: read the ping where it lies, write the pong where it will lie.
                let echoed: Bool? = try receiver.receive { bytes in
                    _ = try? sender.send(loaning: bytes.count) { target in
                        target.copyMemory(from: bytes)
                        return bytes.count
                    }
                    return true
                }
                if echoed == nil { return }
            } else {
                guard let length = try receiver.receive(into: buffer) else { return }
                try sender.send(UnsafeRawBufferPointer(rebasing: buffer[..<length]))
            }
        }
    }

    static func source(data: String, control: String, size: Int, count: Int, mode: ChannelMode) throws {
        let sender = try ChannelSender.open(SegmentName(data), creating: nil, wait: mode.strategy)
        let go = try ChannelReceiver.open(SegmentName(control), creating: nil, wait: mode.strategy)
        let message = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
        defer { message.deallocate() }
        message.initializeMemory(as: UInt8.self, repeating: 0xA5)
        try sender.send([1])
        _ = try go.receive(timeout: .seconds(30))
        for index in 0..<count {
            message.storeBytes(of: UInt64(index), toByteOffset: 0, as: UInt64.self)
            if mode == .loan {
                try sender.send(loaning: size) { buffer in
                    buffer.copyMemory(from: UnsafeRawBufferPointer(message))
                    return size
                }
            } else {
                try sender.send(UnsafeRawBufferPointer(message))
            }
        }
        sender.close()
    }
}

/// Writes `stamp` and fills the rest of the first cache line (or the whole
/// message, if shorter): all a touch-one-line loan writes.
func touchFirstLine(_ buffer: UnsafeMutableRawBufferPointer, _ stamp: UInt64) {
    let line = min(64, buffer.count)
    memset(buffer.baseAddress!, 0x5A, line)
    if line >= 8 { buffer.storeBytes(of: stamp, toByteOffset: 0, as: UInt64.self) }
}

/// The first 8 bytes of a message (its stamp), or its length if shorter.
func firstWord(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
    bytes.count >= 8 ? bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self) : UInt64(bytes.count)
}
