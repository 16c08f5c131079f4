import ArgumentParser
import Glibc
import SharedMemory

/// `shm-bench instructions`: one process sends and receives `--messages`
/// 64-byte messages through a channel (or a publish/subscribe ring with one
/// subscriber), one at a time, and exits. Run under
/// `valgrind --tool=callgrind` twice with different counts, the difference of
/// the instruction totals divided by the difference of the counts is the
/// cost of one message, send and receive together, without the set-up:
/// a figure that repeats on a noisy machine. `scripts/bench-instructions.sh`
/// does that.
struct Instructions: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send and receive messages in one process, for counting instructions per message under callgrind.")

    enum Flavour: String, ExpressibleByArgument, CaseIterable { case channel, pubsub, manytoone }

    @Option(help: "Messages to send and receive.") var messages = 100_000
    @Option(help: "Message size in bytes.") var size = 64
    @Option(help: "channel, pubsub (one subscriber, lossless) or manytoone (one sender, zero-copy receive).") var flavour: Flavour = .channel

    func validate() throws {
        guard (1...100_000_000).contains(messages) else { throw ValidationError("--messages must be from 1 to 100000000") }
        guard (1...4096).contains(size) else { throw ValidationError("--size must be from 1 to 4096") }
    }

    func run() throws {
        let name = try SegmentName("shm-bench-instructions-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? SharedMemorySegment.remove(name) }
        let configuration = RingConfiguration(capacity: 1 << 16)
        let message = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
        let received = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
        defer { message.deallocate(); received.deallocate() }
        message.initializeMemory(as: UInt8.self, repeating: 0x5A)
        var total = 0
        switch flavour {
        case .channel:
            let sender = try ChannelSender.open(name, creating: configuration, wait: .spin)
            let receiver = try ChannelReceiver.open(name, creating: nil, wait: .spin)
            for _ in 0..<messages {
                try sender.send(UnsafeRawBufferPointer(message))
                total &+= try receiver.receive(into: received) ?? 0
            }
        case .manytoone:
            let channel = ManyToOneConfiguration(maxSenders: 1, ring: configuration)
            let receiver = try ManyToOneReceiver.open(name, creating: channel, wait: .spin)
            let sender = try ManyToOneSender.open(name, creating: nil, wait: .spin)
            for _ in 0..<messages {
                try sender.send(UnsafeRawBufferPointer(message))
                total &+= try receiver.receive { bytes, _ in
                    received.copyMemory(from: bytes)
                    return bytes.count
                } ?? 0
            }
        case .pubsub:
            let publisher = try Publisher.open(name, creating: PublishSubscribeConfiguration(ring: configuration), wait: .spin)
            let subscriber = try Subscriber.open(name, creating: nil, wait: .spin)
            for _ in 0..<messages {
                try publisher.send(UnsafeRawBufferPointer(message))
                total &+= try subscriber.receive()?.bytes.count ?? 0
            }
        }
        guard total == messages * size else { throw BenchmarkError("received \(total) bytes, expected \(messages * size)") }
    }
}
