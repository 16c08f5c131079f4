import ArgumentParser
import Glibc
import SharedMemory

/// A peer for the channel tests: sends or checks streams of test messages
/// through a channel or a publish/subscribe ring, as a separate process.
@main
struct TestPeerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shm-test-peer",
        abstract: "Send or check test message streams (used by the test suite).",
        subcommands: [Send.self, Receive.self])
}

enum Flavour: String, ExpressibleByArgument { case channel, pubsub }
enum WaitName: String, ExpressibleByArgument {
    case spin, adaptive, sleep
    var strategy: WaitStrategy {
        switch self {
        case .spin: .spin
        case .adaptive: .default
        case .sleep: .sleep
        }
    }
}
extension SlowSubscriberPolicy: ExpressibleByArgument {
    public init?(argument: String) {
        switch argument {
        case "lossless": self = .lossless
        case "overwrite": self = .overwrite
        default: return nil
        }
    }
}

struct StreamOptions: ParsableArguments {
    @Argument var name: String
    @Option var flavour: Flavour = .channel
    @Option var policy: SlowSubscriberPolicy = .lossless
    @Option var capacity: Int = 1 << 16
    @Option var slots: Int = 8
    @Option var count: UInt64 = 1000
    @Option var seed: UInt64 = 1
    @Option var minSize: Int = 8
    @Option var maxSize: Int = 1000
    @Option var wait: WaitName = .adaptive

    var ring: RingConfiguration { RingConfiguration(capacity: capacity) }
    var pubsub: PublishSubscribeConfiguration {
        PublishSubscribeConfiguration(ring: ring, subscriberSlots: slots, policy: policy)
    }
}

struct Send: ParsableCommand {
    @OptionGroup var options: StreamOptions
    @Flag(help: "Write each message in place through a loan.") var loan = false
    @Option(help: "Wait this many milliseconds for a subscriber before publishing.") var startDelay = 0
    @Flag(help: "Stop without closing (the test kills the process).") var hang = false

    func run() throws {
        let name = try SegmentName(options.name)
        if options.flavour == .channel {
            let sender = try ChannelSender.open(name, creating: options.ring, wait: options.wait.strategy)
            print("ready"); fflush(nil)
            try stream { sequence, size in
                if loan {
                    try sender.send(loaning: size) { buffer in
                        TestMessages.fill(buffer, sequence: sequence, seed: options.seed)
                        return size
                    }
                } else {
                    try send(size, sequence) { try sender.send($0) }
                }
            }
            // The sender must live on while the process hangs: use it after the loop.
            while hang { sleep(60); _ = sender.capacity }
            sender.close()
        } else {
            let publisher = try Publisher.open(name, creating: options.pubsub, wait: options.wait.strategy)
            print("ready"); fflush(nil)
            if startDelay > 0 { usleep(UInt32(startDelay) * 1000) }
            try stream { sequence, size in try send(size, sequence) { try publisher.send($0) } }
            while hang { sleep(60); _ = publisher.publishedCount }
            publisher.close()
        }
    }

    private func stream(_ body: (UInt64, Int) throws -> Void) throws {
        for sequence in 0..<options.count {
            let size = TestMessages.size(of: sequence, seed: options.seed, minimum: options.minSize, maximum: options.maxSize)
            try body(sequence, size)
        }
    }

    private func send(_ size: Int, _ sequence: UInt64, _ deliver: (UnsafeRawBufferPointer) throws -> Void) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
        defer { buffer.deallocate() }
        TestMessages.fill(buffer, sequence: sequence, seed: options.seed)
        try deliver(UnsafeRawBufferPointer(buffer))
    }
}

struct Receive: ParsableCommand {
    @OptionGroup var options: StreamOptions
    @Flag(help: "Read each message in place.") var inPlace = false
    @Option(help: "Stop after this many messages (a subscriber leaving early).") var stopAfter: UInt64?
    @Option(help: "Sleep this many microseconds after each message (a slow reader).") var delay: UInt32 = 0

    func run() throws {
        let name = try SegmentName(options.name)
        var checker = StreamChecker(options: options)
        do {
            if options.flavour == .channel {
                try receiveChannel(name, &checker)
            } else {
                try receiveSubscribed(name, &checker)
            }
        } catch {
            print("\(checker.summary); error: \(error)")
            throw ExitCode(3)
        }
        print(checker.summary)
        if checker.problems > 0 { throw ExitCode(2) }
    }

    private func receiveChannel(_ name: SegmentName, _ checker: inout StreamChecker) throws {
        let receiver = try ChannelReceiver.open(name, creating: options.ring, wait: options.wait.strategy)
        print("ready"); fflush(nil)
        while checker.received < (stopAfter ?? .max) {
            let more: Bool?
            if inPlace {
                more = try receiver.receive { checker.accept($0, missed: 0) }
            } else {
                more = try receiver.receive().map { message in message.withUnsafeBytes { checker.accept($0, missed: 0) } }
            }
            guard more != nil else { break }
            if delay > 0 { usleep(delay) }
        }
    }

    private func receiveSubscribed(_ name: SegmentName, _ checker: inout StreamChecker) throws {
        let subscriber = try Subscriber.open(name, creating: options.pubsub, wait: options.wait.strategy)
        print("ready"); fflush(nil)
        while checker.received < (stopAfter ?? .max), let message = try subscriber.receive() {
            message.bytes.withUnsafeBytes { _ = checker.accept($0, missed: message.missedBefore) }
            if delay > 0 { usleep(delay) }
        }
    }
}

/// Checks a received stream: every message intact, in order, none twice,
/// and gaps only where the ring said messages were missed.
struct StreamChecker {
    let options: StreamOptions
    var received: UInt64 = 0
    var missed: UInt64 = 0
    var problems = 0
    var first: UInt64?
    var last: UInt64?
    var firstProblem = ""

    init(options: StreamOptions) { self.options = options }

    mutating func accept(_ message: UnsafeRawBufferPointer, missed gap: UInt64) -> Bool {
        let (sequence, intact) = TestMessages.check(message, seed: options.seed, minimum: options.minSize, maximum: options.maxSize)
        if !intact { note("message \(sequence) is torn or wrong") }
        if let last {
            if sequence != last + 1 + gap { note("message \(sequence) follows \(last) with \(gap) missed") }
        } else {
            first = sequence
            if options.flavour == .channel && sequence != 0 { note("the first message is \(sequence)") }
        }
        last = sequence
        received += 1
        missed += gap
        return true
    }

    private mutating func note(_ problem: String) {
        if problems == 0 { firstProblem = problem }
        problems += 1
    }

    var summary: String {
        "received \(received) first \(first.map(String.init) ?? "-") last \(last.map(String.init) ?? "-") missed \(missed) problems \(problems)"
            + (problems > 0 ? " (\(firstProblem))" : "")
    }
}
