import ArgumentParser
import Glibc
import SharedMemory

/// `shm-bench instructions`: one process sends and receives `--messages`
/// 64-byte messages through a channel (or a publish/subscribe ring with one
/// subscriber, or as requests and replies of a request/response service),
/// one at a time, and exits. Run under
/// `valgrind --tool=callgrind` twice with different counts, the difference of
/// the instruction totals divided by the difference of the counts is the
/// cost of one message, send and receive together, without the set-up:
/// a figure that repeats on a noisy machine. `scripts/bench-instructions.sh`
/// does that.
struct Instructions: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send and receive messages in one process, for counting instructions per message under callgrind.")

    enum Flavour: String, ExpressibleByArgument, CaseIterable { case channel, pubsub, manytoone, request }

    @Option(help: "Messages to send and receive.") var messages = 100_000
    @Option(help: "Message size in bytes.") var size = 64
    @Option(help: "channel, pubsub (one subscriber, lossless), manytoone (one sender, zero-copy receive) or request (a request and its reply).")
    var flavour: Flavour = .channel

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
        case .request:
            total = try Self.requests(name, count: messages, size: size)
        }
        guard total == messages * size else { throw BenchmarkError("received \(total) bytes, expected \(messages * size)") }
    }

    /// Requests and replies on one thread: a stream request is sent without
    /// waiting (the blocking `request` would wait for a server that cannot
    /// run), the server takes it and answers with one reply (which ends the
    /// stream), and the client reads that reply. The client's send and its
    /// reading of replies, and the server's poll and reply, are those of a
    /// blocking request; the stream adds its ticket, its iterator and a task.
    static func requests(_ name: SegmentName, count: Int, size: Int) throws -> Int {
        let configuration = RequestResponseConfiguration(maxClients: 1, ring: RingConfiguration(capacity: 1 << 16))
        let server = try RequestServer.open(name, creating: configuration, wait: .spin)
        let client = try RequestClient.open(name, creating: nil, wait: .spin)
        let message = [UInt8](repeating: 0x5A, count: size)
        return try blockingOn {
            var total = 0
            for _ in 0..<count {
                let replies = try await client.requestStream(message, timeout: .seconds(5))
                try serveOne(server)
                var iterator = replies.makeAsyncIterator()
                total &+= try await iterator.next()?.count ?? 0
            }
            return total
        }
    }

    /// The server's blocking calls, as `shm-bench run` makes them (in an `async` function the `async` overloads would be picked).
    static func serveOne(_ server: RequestServer) throws {
        let request = try server.nextRequest(timeout: .seconds(5))
        try server.reply(to: request, request.payload, timeout: .seconds(5))
    }
}
