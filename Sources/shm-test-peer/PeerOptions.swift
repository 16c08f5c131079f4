import ArgumentParser
import SharedMemory

/// The kind of ring a peer uses.
enum Flavour: String, CaseIterable, ExpressibleByArgument {
    case channel, pubsub, topic
}

/// How a peer waits for its other side.
enum WaitName: String, CaseIterable, ExpressibleByArgument {
    case spin, adaptive, sleep

    var strategy: WaitStrategy {
        switch self {
        case .spin: .spin
        case .adaptive: .default
        case .sleep: .sleep
        }
    }
}

/// What a publish/subscribe ring does with a slow subscriber.
enum PolicyName: String, CaseIterable, ExpressibleByArgument {
    case lossless, overwrite

    var policy: SlowSubscriberPolicy {
        switch self {
        case .lossless: .lossless
        case .overwrite: .overwrite
        }
    }
}

/// The options both sides of a stream share. Every number is checked before
/// it is used, so a bad option is a usage error (exit 64), never a trap.
struct StreamOptions: ParsableArguments {
    /// Limits that keep the test peer's arithmetic far from overflow.
    static let maxCapacity = 1 << 30
    static let maxCount = 1 << 48
    static let maxTimeoutMilliseconds = 3_600_000

    @Argument(help: "The ring's segment name.") var name: String
    @Option(help: "A channel (one receiver), a publish/subscribe ring (one publisher) or a topic (several publishers).") var flavour: Flavour = .channel
    @Option(help: "What a publish/subscribe ring does with a slow subscriber.") var policy: PolicyName = .lossless
    @Option(help: "The data capacity of a ring this peer creates, 4096 to 2^30 bytes (rounded up to a power of two).")
    var capacity: Int = 1 << 16
    @Option(help: "Subscriber slots of a ring this peer creates, 1 to 64.") var slots: Int = 8
    @Option(help: "The history of a publish/subscribe ring this peer creates: the last messages kept for late joiners, 0 to 1024.")
    var history: Int = 0
    @Option(help: "The stream's length: messages 0 to count - 1.") var count: Int = 1000
    @Option(help: "The first message of this peer's part of the stream (to continue a stream another process began).")
    var from: Int = 0
    @Option(help: "The seed of message sizes and contents.") var seed: UInt64 = 1
    @Option(help: "The smallest message in bytes, at least 8.") var minSize: Int = 8
    @Option(help: "The largest message in bytes, at most the ring's largest message.") var maxSize: Int = 1000
    @Option(help: "How to wait for the other side.") var wait: WaitName = .adaptive
    @Option(help: "Give up each send or receive after this many milliseconds (default: wait as long as it takes).")
    var timeoutMs: Int?
    @Flag(help: "Print a line for each message sent or received, as it happens.") var printEach = false
    @Option(help: "A topic's publisher: wait up to this many milliseconds for the present subscribers to attach before the first message (default 1000).")
    var subscriberWaitMs = 1000
    @Option(help: "Give up the first receive after this many milliseconds (default: --timeout-ms).")
    var firstTimeoutMs: Int?

    func validate() throws {
        guard (4096...Self.maxCapacity).contains(capacity) else {
            throw ValidationError("--capacity must be between 4096 and \(Self.maxCapacity) bytes, not \(capacity)")
        }
        guard (1...64).contains(slots) else {
            throw ValidationError("--slots must be between 1 and 64, not \(slots)")
        }
        guard (0...1024).contains(history) else {
            throw ValidationError("--history must be between 0 and 1024, not \(history)")
        }
        guard (0...Self.maxCount).contains(count) else {
            throw ValidationError("--count must be between 0 and \(Self.maxCount), not \(count)")
        }
        guard (0...count).contains(from) else {
            throw ValidationError("--from must be between 0 and --count (\(count)), not \(from)")
        }
        let largest = ring.maxMessageSize
        guard (8...largest).contains(maxSize) else {
            throw ValidationError("--max-size must be between 8 and \(largest) bytes (the largest message of a ring of \(ring.capacity) bytes), not \(maxSize)")
        }
        guard (8...maxSize).contains(minSize) else {
            throw ValidationError("--min-size must be between 8 and --max-size (\(maxSize)), not \(minSize)")
        }
        if let timeoutMs, !(1...Self.maxTimeoutMilliseconds).contains(timeoutMs) {
            throw ValidationError("--timeout-ms must be between 1 and \(Self.maxTimeoutMilliseconds), not \(timeoutMs)")
        }
        guard (0...Self.maxTimeoutMilliseconds).contains(subscriberWaitMs) else {
            throw ValidationError("--subscriber-wait-ms must be between 0 and \(Self.maxTimeoutMilliseconds), not \(subscriberWaitMs)")
        }
        if let firstTimeoutMs, !(1...Self.maxTimeoutMilliseconds).contains(firstTimeoutMs) {
            throw ValidationError("--first-timeout-ms must be between 1 and \(Self.maxTimeoutMilliseconds), not \(firstTimeoutMs)")
        }
        guard (try? SegmentName(name)) != nil else {
            throw ValidationError("\(name.debugDescription) is not a valid segment name")
        }
    }

    var segmentName: SegmentName {
        get throws { try SegmentName(name) }
    }

    var ring: RingConfiguration { RingConfiguration(capacity: capacity) }

    var pubsub: PublishSubscribeConfiguration {
        PublishSubscribeConfiguration(ring: ring, subscriberSlots: slots, policy: policy.policy, history: history)
    }

    var topic: TopicConfiguration {
        TopicConfiguration(subscriberSlots: slots, policy: policy.policy, ring: ring, history: history)
    }

    /// The limit of each send or receive.
    var timeout: Duration? { timeoutMs.map { .milliseconds($0) } }

    /// The size of message `sequence`.
    func size(of sequence: UInt64) -> Int {
        TestMessages.size(of: sequence, seed: seed, minimum: minSize, maximum: maxSize)
    }
}

/// Checks that an optional number of microseconds or milliseconds is sane.
func checkRange(_ value: Int, _ range: ClosedRange<Int>, _ option: String) throws {
    guard range.contains(value) else {
        throw ValidationError("\(option) must be between \(range.lowerBound) and \(range.upperBound), not \(value)")
    }
}
