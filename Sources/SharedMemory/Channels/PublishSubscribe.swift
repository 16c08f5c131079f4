/// The shape of a publish/subscribe ring, chosen when it is created.
public struct PublishSubscribeConfiguration: Hashable, Sendable {
    /// The data area and largest message.
    public var ring: RingConfiguration
    /// How many subscribers may be attached at once (1 to 64).
    public var subscriberSlots: Int
    /// What happens when a subscriber falls behind.
    public var policy: SlowSubscriberPolicy
    /// How many of the last published messages the ring keeps for a subscriber
    /// that joins late (0 to 1024; 0, the default, keeps none). A joining
    /// subscriber receives those that are still in the ring first, then the
    /// live stream, with no gap and no duplicate between them. History never
    /// makes the publisher wait: under ``SlowSubscriberPolicy/lossless`` it
    /// gives up its oldest messages when their space is needed.
    public var history: Int

    /// A ring of shape `ring` with `subscriberSlots` slots, slow-subscriber
    /// policy `policy`, keeping the last `history` messages for late joiners.
    public init(ring: RingConfiguration = RingConfiguration(), subscriberSlots: Int = 8, policy: SlowSubscriberPolicy = .lossless,
                history: Int = 0) {
        self.ring = ring
        self.subscriberSlots = subscriberSlots
        self.policy = policy
        self.history = history
    }

    func validate() throws(ChannelError) {
        guard (1...RingLayout.maxSlots).contains(subscriberSlots) else {
            throw .badChannel("\(subscriberSlots) subscriber slots; 1 to \(RingLayout.maxSlots) are possible")
        }
        guard (0...RingLayout.maxHistoryDepth).contains(history) else {
            throw .badChannel("a history of \(history) messages; 0 to \(RingLayout.maxHistoryDepth) are possible")
        }
    }
}

/// A message as a subscriber receives it.
public struct SubscriberMessage: Hashable, Sendable {
    /// The message's bytes.
    public var bytes: [UInt8]
    /// Its number in the publisher's stream, from 0.
    public var sequence: UInt64
    /// How many messages the subscriber missed just before this one
    /// (overwrite policy; always 0 when lossless).
    public var missedBefore: UInt64
}

/// The publishing end of a publish/subscribe ring: one publisher, up to
/// ``PublishSubscribeConfiguration/subscriberSlots`` subscribers that join and
/// leave at any time, each reading every message in order from where it joined
/// (or from the last messages the ring keeps, with ``PublishSubscribeConfiguration/history``).
///
/// With ``SlowSubscriberPolicy/lossless`` the publisher waits for the slowest
/// subscriber (a subscriber that dies is dropped, so it cannot block the
/// publisher for long); with ``SlowSubscriberPolicy/overwrite`` it never waits
/// and a subscriber that falls behind learns how many messages it missed.
/// Dropping the publisher closes the ring.
public struct Publisher: ~Copyable, Sendable {
    let writer: RingWriter

    /// Opens the ring `name` for publishing, creating it if it does not exist.
    public static func open(
        _ name: SegmentName, creating configuration: PublishSubscribeConfiguration? = PublishSubscribeConfiguration(),
        mode: UInt32 = SharedMemorySegment.defaultMode, wait: WaitStrategy = .default, backend: SharedMemorySegment.Backend = .default
    ) throws(ChannelError) -> Publisher {
        let core = try openRing(name, configuration, mode, backend)
        return Publisher(writer: try RingWriter(core: core, strategy: wait))
    }

    /// The ring's name.
    public var name: SegmentName { writer.core.name }
    /// The largest message the ring takes, in bytes.
    public var maxMessageSize: Int { writer.core.maxMessageSize }
    /// Messages published so far.
    public var publishedCount: UInt64 { writer.publishedCount }

    /// Publishes a message, waiting up to `timeout` for the slowest subscriber (lossless policy).
    public func send(_ bytes: UnsafeRawBufferPointer, timeout: Duration? = nil) throws(ChannelError) {
        try writer.write(bytes, timeout: timeout)
    }

    /// Publishes a message, waiting up to `timeout` for the slowest subscriber (lossless policy).
    public func send(_ bytes: [UInt8], timeout: Duration? = nil) throws(ChannelError) {
        try withBytes(of: bytes) { (buffer) throws(ChannelError) in try send(buffer, timeout: timeout) }
    }

    /// Publishes a message if there is space now.
    public func trySend(_ bytes: [UInt8]) throws(ChannelError) -> Bool {
        try withBytes(of: bytes) { (buffer) throws(ChannelError) in try writer.tryWrite(buffer) }
    }

    /// Zero-copy publish; see ``ChannelSender/send(loaning:timeout:_:)``.
    @discardableResult
    public func send(
        loaning capacity: Int, timeout: Duration? = nil, _ fill: (UnsafeMutableRawBufferPointer) -> Int
    ) throws(ChannelError) -> Int {
        guard capacity >= 0, capacity <= maxMessageSize else {
            throw .messageTooLarge(size: capacity, maximum: maxMessageSize)
        }
        return try writer.loan(capacity: capacity, timeout: timeout, fill)
    }

    /// Closes the ring: subscribers drain what is left, then see the end.
    public consuming func close() { writer.close() }
}

/// A subscriber of a publish/subscribe ring; see ``Publisher``.
public struct Subscriber: ~Copyable, Sendable {
    let reader: RingReader

    /// Joins the ring `name`, creating it if it does not exist. On a ring
    /// that keeps a history (``PublishSubscribeConfiguration/history``), the
    /// first messages received are the last ones published that the history
    /// still holds, then the live stream follows with no gap and no duplicate;
    /// otherwise, or when `history` is `false`, the first message received is
    /// the next one published.
    /// - Throws: ``ChannelError/busy(_:)`` when every subscriber slot is taken.
    public static func open(
        _ name: SegmentName, creating configuration: PublishSubscribeConfiguration? = PublishSubscribeConfiguration(),
        history: Bool = true,
        mode: UInt32 = SharedMemorySegment.defaultMode, wait: WaitStrategy = .default, backend: SharedMemorySegment.Backend = .default
    ) throws(ChannelError) -> Subscriber {
        let core = try openRing(name, configuration, mode, backend)
        return Subscriber(reader: try RingReader.subscriber(core: core, strategy: wait, history: history))
    }

    /// The ring's name.
    public var name: SegmentName { reader.core.name }
    /// Messages this subscriber missed so far (overwrite policy).
    public var missedCount: UInt64 { reader.missedCount }

    /// Receives the next message, waiting up to `timeout` (nil: as long as it takes).
    /// - Returns: the message, or `nil` when the publisher closed the ring and all is received.
    public func receive(timeout: Duration? = nil) throws(ChannelError) -> SubscriberMessage? {
        try reader.receiveMessage(timeout: timeout, waits: true)
    }

    /// Receives a message if one is there now; `nil` when none is.
    /// - Throws: ``ChannelError/closed`` when the publisher closed the ring and all is received.
    public func tryReceive() throws(ChannelError) -> SubscriberMessage? {
        guard let message = try reader.receiveMessage(timeout: nil, waits: false) else {
            if reader.isDrainedAndClosed { throw .closed }
            return nil
        }
        return message
    }

    /// The messages as an asynchronous sequence, which ends when the publisher
    /// closes the ring. Cancelling the task ends a wait with ``ChannelError/cancelled``.
    public consuming func messages() -> SubscribedMessages { SubscribedMessages(reader: reader) }

    /// Leaves the ring now; dropping the subscriber leaves it too.
    public consuming func leave() { reader.detach() }
}

private func openRing(
    _ name: SegmentName, _ configuration: PublishSubscribeConfiguration?, _ mode: UInt32, _ backend: SharedMemorySegment.Backend
) throws(ChannelError) -> RingCore {
    try configuration?.validate()
    return try RingCore.open(name, flavour: .publishSubscribe, configuration: configuration?.ring,
                             slots: configuration?.subscriberSlots ?? 1, policy: configuration?.policy ?? .lossless,
                             historyDepth: configuration?.history ?? 0, mode: mode, backend: backend)
}
