import ArgumentParser
import Glibc
import SharedMemory

/// Self-checking messages of a many-to-one test stream: the logical sender,
/// its generation (restart), a sequence number, filler that follows from
/// them, and an FNV-1a checksum of all that.
enum ManyMessages {
    static let headerSize = 16
    static let checksumSize = 8

    static func size(id: UInt32, generation: UInt32, sequence: UInt64) -> Int {
        var generator = TestMessages.Generator(state: UInt64(id) << 40 ^ UInt64(generation) << 32 ^ sequence)
        return headerSize + Int(generator.next() % 120) + checksumSize
    }

    static func fill(_ buffer: UnsafeMutableRawBufferPointer, id: UInt32, generation: UInt32, sequence: UInt64) {
        buffer.storeBytes(of: id.littleEndian, toByteOffset: 0, as: UInt32.self)
        buffer.storeBytes(of: generation.littleEndian, toByteOffset: 4, as: UInt32.self)
        buffer.storeBytes(of: sequence.littleEndian, toByteOffset: 8, as: UInt64.self)
        var generator = TestMessages.Generator(state: sequence &* 31 &+ UInt64(id))
        let end = buffer.count - checksumSize
        for index in headerSize..<end { buffer[index] = UInt8(truncatingIfNeeded: generator.next()) }
        buffer.storeBytes(of: checksum(UnsafeRawBufferPointer(rebasing: buffer[0..<end])).littleEndian, toByteOffset: end, as: UInt64.self)
    }

    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return hash
    }

    /// The id, generation and sequence a message claims, or `nil` when it is torn.
    static func check(_ message: [UInt8]) -> (id: UInt32, generation: UInt32, sequence: UInt64)? {
        guard message.count >= headerSize + checksumSize else { return nil }
        return message.withUnsafeBytes { bytes in
            let id = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
            let generation = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            let sequence = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            let end = bytes.count - checksumSize
            guard bytes.count == size(id: id, generation: generation, sequence: sequence),
                  UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: end, as: UInt64.self))
                    == checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<end])) else { return nil }
            return (id, generation, sequence)
        }
    }
}

/// Joins a many-to-one channel and sends `--count` self-checking messages.
struct ManySend: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "many-send", abstract: "Send test messages as one sender of a many-to-one channel.")

    @Argument(help: "The channel's segment name.") var name: String
    @Option(help: "The logical sender id, carried in every message.") var id: UInt32 = 0
    @Option(help: "The generation (restart) of this logical sender.") var generation: UInt32 = 0
    @Option(help: "Messages to send (default: SHM_MANY_COUNT, or 20000).") var count: Int?
    @Option(help: "Sender slots of a channel this peer creates, 1 to 64.") var senders: Int = 16
    @Option(help: "Ring capacity of a channel this peer creates, 4096 to 2^30 bytes.") var capacity: Int = 1 << 16
    @Flag(help: "Stop without closing (the test kills the process).") var hang = false
    @Flag(help: "After the last message, stay joined until standard input ends.") var holdUntilInputEnds = false

    func validate() throws {
        try checkRange(senders, 1...64, "--senders")
        try checkRange(capacity, 4096...StreamOptions.maxCapacity, "--capacity")
        try checkRange(count ?? 0, 0...StreamOptions.maxCount, "--count")
    }

    func run() throws {
        let total = count ?? manyCount()
        var sent = 0
        do {
            let segmentName = try SegmentName(name)
            let configuration = ManyToOneConfiguration(maxSenders: senders, ring: RingConfiguration(capacity: capacity, maxMessageSize: 1024))
            let sender = try ManyToOneSender.open(segmentName, creating: configuration, joinTimeout: .seconds(30))
            say("ready \(sender.tag)")
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1024, alignment: 8)
            defer { buffer.deallocate() }
            for sequence in 0..<UInt64(total) {
                let message = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<ManyMessages.size(id: id, generation: generation, sequence: sequence)])
                ManyMessages.fill(message, id: id, generation: generation, sequence: sequence)
                try sender.send(UnsafeRawBufferPointer(message), timeout: .seconds(60))
                sent += 1
            }
            while hang { sleep(60); _ = sender.capacity }
            if holdUntilInputEnds {
                say("sent \(sent), holding")
                var byte: UInt8 = 0
                while read(0, &byte, 1) > 0 {}
            }
            sender.close()
        } catch {
            throw sendingFailed(after: sent, error)
        }
        say("sent \(sent)")
    }
}

/// Receives from a many-to-one channel until it ends, checking every session's stream.
struct ManyReceive: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "many-receive",
        abstract: "Receive and check test messages from a many-to-one channel until it ends.",
        discussion: "Prints one line per sender session, then `total N problems P`; exit 2 when P > 0.")

    @Argument(help: "The channel's segment name.") var name: String
    @Option(help: "Sender slots of a channel this peer creates, 1 to 64.") var senders: Int = 16
    @Option(help: "Ring capacity of a channel this peer creates, 4096 to 2^30 bytes.") var capacity: Int = 1 << 16
    @Option(help: "Give up when no message comes for this many milliseconds.") var timeoutMs: Int = 60_000

    func validate() throws {
        try checkRange(senders, 1...64, "--senders")
        try checkRange(capacity, 4096...StreamOptions.maxCapacity, "--capacity")
        try checkRange(timeoutMs, 1...StreamOptions.maxTimeoutMilliseconds, "--timeout-ms")
    }

    struct Session {
        var id: UInt32
        var generation: UInt32
        var count: UInt64 = 0
        var last: UInt64?
        var problems = 0
    }

    func run() throws {
        var sessions: [SenderTag: Session] = [:]
        var order: [SenderTag] = []
        var total = 0
        var problems = 0
        var firstProblem = ""
        func note(_ problem: String) {
            problems += 1
            if firstProblem.isEmpty { firstProblem = problem }
        }
        do {
            let segmentName = try SegmentName(name)
            let configuration = ManyToOneConfiguration(maxSenders: senders, ring: RingConfiguration(capacity: capacity, maxMessageSize: 1024))
            let receiver = try ManyToOneReceiver.open(segmentName, creating: configuration)
            say("ready")
            while let message = try receiver.receive(timeout: .milliseconds(Int64(timeoutMs))) {
                total += 1
                guard let (id, generation, sequence) = ManyMessages.check(message.bytes) else {
                    note("a torn message of \(message.bytes.count) bytes from \(message.sender)")
                    continue
                }
                var session = sessions[message.sender] ?? {
                    order.append(message.sender)
                    return Session(id: id, generation: generation)
                }()
                if session.id != id || session.generation != generation {
                    note("session \(message.sender) carries sender \(id)/\(generation) after \(session.id)/\(session.generation)")
                    session.problems += 1
                }
                let expected = session.last.map { $0 + 1 } ?? 0
                if sequence != expected {
                    note("session \(message.sender): message \(sequence) where \(expected) was due")
                    session.problems += 1
                }
                session.last = sequence
                session.count += 1
                sessions[message.sender] = session
            }
        } catch {
            complain("\(error) after \(total) messages")
            throw ExitCode(3)
        }
        for tag in order {
            let session = sessions[tag]!
            say("session \(tag) sender \(session.id) generation \(session.generation) count \(session.count) problems \(session.problems)")
        }
        say("total \(total) problems \(problems)" + (problems > 0 ? " (\(firstProblem))" : ""))
        if problems > 0 { throw ExitCode(2) }
    }
}

/// The default message count of a many-to-one test sender: `SHM_MANY_COUNT`, or 20000.
func manyCount() -> Int {
    guard let text = getenv("SHM_MANY_COUNT").map({ String(cString: $0) }), let count = Int(text),
          (0...StreamOptions.maxCount).contains(count) else { return 20_000 }
    return count
}
