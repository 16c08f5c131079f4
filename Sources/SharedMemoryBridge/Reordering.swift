/// Puts a lossless service's samples back in order, per origin and sender.
///
/// Cyclone DDS delivers a reliable writer's samples in order, except when a
/// KEEP_ALL reader at its resource limit rejects one: the writer sends it
/// again later, after samples that were accepted meanwhile (seen after a
/// bridge restart, when the writer releases a backlog at once). The samples
/// carry their sequence number per origin and sender, so the bridge holds
/// a sample that comes early, releases it once the ones before it arrive,
/// and never lets a local subscriber see them out of order.
///
/// Bounded: at most `limit` samples are held (copied out of DDS's loans),
/// and none longer than ``patience``; past either, the bridge stops waiting
/// for the missing ones, counts them as missed, and drops them if they come
/// later (they would arrive out of order).
struct Reordering {
    /// What the bridge lets go, in order, and how many it stopped waiting for.
    struct Released {
        var messages: [[UInt8]] = []
        var missed: UInt64 = 0
    }

    enum Outcome {
        /// Deliver this sample now, then `Released`'s messages after it.
        case deliver(Released)
        /// Held until the samples before it arrive.
        case held
        /// Older than what was already let go: drop it.
        case late
        /// The sample was held, and the bridge gave up waiting: deliver these.
        case gaveUp(Released)
    }

    /// How long a sample waits for the ones before it.
    static let patience: Duration = .seconds(1)

    let limit: Int
    /// The next sequence number expected per origin and sender.
    private var expected: [[UInt8]: UInt64] = [:]
    /// Early samples per origin and sender, by sequence number.
    private var held: [[UInt8]: [UInt64: [UInt8]]] = [:]
    private var heldCount = 0
    private var oldestHeld: ContinuousClock.Instant?

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    mutating func accept(key: [UInt8], sequence: UInt64, bytes: UnsafeRawBufferPointer) -> Outcome {
        guard let next = expected[key] else {
            // The first sample of this sender that this bridge sees.
            if expected.count >= 4096 { expected.removeAll() }
            expected[key] = sequence &+ 1
            return .deliver(drain(key))
        }
        if sequence == next {
            expected[key] = sequence &+ 1
            return .deliver(drain(key))
        }
        if sequence < next {
            // Far behind what was let go: not a sample sent again late, but a
            // sender that started its count again (a new single publisher).
            guard next &- sequence > UInt64(limit) else { return .late }
            var released = Released()
            if held[key] != nil { released = giveUp() }
            expected[key] = sequence &+ 1
            return .deliver(released)
        }
        if held[key]?[sequence] == nil {
            held[key, default: [:]][sequence] = Array(bytes)
            heldCount += 1
            if oldestHeld == nil { oldestHeld = .now }
        }
        if heldCount > limit { return .gaveUp(giveUp()) }
        return .held
    }

    /// Gives up waiting when a sample has been held longer than ``patience``.
    mutating func giveUpIfStale() -> Released? {
        guard let oldestHeld, ContinuousClock.now - oldestHeld >= Self.patience else { return nil }
        return giveUp()
    }

    /// Stops waiting for every missing sample: lets every held one go, in order per sender.
    private mutating func giveUp() -> Released {
        var released = Released()
        for key in Array(held.keys) {
            guard let first = held[key]?.keys.min(), let next = expected[key] else { continue }
            released.missed &+= first &- next
            expected[key] = first
            let more = drain(key)
            released.messages += more.messages
            // What is still held after a further gap waits no longer either.
            while let rest = held[key]?.keys.min(), let now = expected[key] {
                released.missed &+= rest &- now
                expected[key] = rest
                released.messages += drain(key).messages
            }
        }
        oldestHeld = heldCount > 0 ? .now : nil
        return released
    }

    /// Takes the held samples that follow the expected one without a gap.
    private mutating func drain(_ key: [UInt8]) -> Released {
        var released = Released()
        guard var waiting = held[key], var next = expected[key] else { return released }
        while let bytes = waiting.removeValue(forKey: next) {
            released.messages.append(bytes)
            heldCount -= 1
            next &+= 1
        }
        expected[key] = next
        held[key] = waiting.isEmpty ? nil : waiting
        if heldCount == 0 { oldestHeld = nil }
        return released
    }
}
