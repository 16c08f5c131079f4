import Glibc
import SharedMemory

/// A message read from the local side, to be written to DDS.
struct LocalMessage {
    var bytes: [UInt8]
    var sequence: UInt64
    /// Which local publisher sent it: a topic's member slot; 0 with a single publisher.
    var senderTag: UInt32
    var missedBefore: UInt64
}

/// Where the bridge reads local messages that go out to DDS.
///
/// A ``TopicSubscriber`` that skips the bridge's own publisher (``TopicInbound``),
/// which makes loop freedom structural: a bridge never reads back what it
/// republished; or the ``Subscriber`` of an existing single-publisher ring (``RingInbound``).
protocol LocalInbound: AnyObject {
    var maxMessageSize: Int { get }
    var messageType: RecordedMessageType? { get }
    var lossless: Bool { get }
    /// The next message, `nil` after `timeout` with none.
    /// - Throws: ``ChannelError/closed`` when the local publisher closed and all is read.
    func receive(timeout: Duration) throws(ChannelError) -> LocalMessage?
}

/// Where the bridge republishes messages that came in from DDS.
///
/// One ``TopicPublisher`` of a topic (``TopicOutbound``), or the ``Publisher``
/// of an existing single-publisher ring (``RingOutbound``; then the bridge
/// cannot also subscribe the name: it could not tell its own messages apart).
protocol LocalOutbound: AnyObject {
    var maxMessageSize: Int { get }
    var messageType: RecordedMessageType? { get }
    var lossless: Bool { get }
    /// Publishes `bytes`, waiting up to `timeout` for space (lossless rings).
    func send(_ bytes: UnsafeRawBufferPointer, timeout: Duration) throws(ChannelError)
}

/// A publish/subscribe ring's shape when the bridge has to create it.
struct LocalRingShape: Sendable {
    var configuration: PublishSubscribeConfiguration
    var wait: WaitStrategy
}

/// ``LocalInbound`` over a single-publisher ring's ``Subscriber``. When the
/// local publisher closes the ring or dies, the bridge leaves and joins again
/// (every half second), so a publisher that starts again is bridged again.
final class RingInbound: LocalInbound, @unchecked Sendable {
    // @unchecked: used by one forwarding thread at a time (handed over at start, joined at stop).
    private final class Joined {
        let subscriber: Subscriber
        init(_ subscriber: consuming Subscriber) { self.subscriber = subscriber }
    }
    private var joined: Joined?
    private var nextJoin = ContinuousClock.now
    let name: SegmentName
    let shape: LocalRingShape
    let maxMessageSize: Int
    let messageType: RecordedMessageType?
    let lossless: Bool

    init(_ name: SegmentName, shape: LocalRingShape) throws(ChannelError) {
        let subscriber = try Subscriber.open(name, creating: shape.configuration, wait: shape.wait)
        let status = try ChannelStatus.read(name)
        self.name = name
        self.shape = shape
        maxMessageSize = status.maxMessageSize
        lossless = status.policy == .lossless
        messageType = subscriber.recordedMessageType
        joined = Joined(subscriber)
    }

    func receive(timeout: Duration) throws(ChannelError) -> LocalMessage? {
        guard let current = joined ?? rejoin(timeout) else { return nil }
        let received: SubscriberMessage?
        do {
            received = try current.subscriber.receive(timeout: timeout)
        } catch .timedOut {
            return nil
        } catch .peerDied(let who) {
            BridgeLog.log(.warning, "\(name.displayName): \(who) died; joining again when a publisher returns")
            leave()
            return nil
        }
        guard let message = received else {
            BridgeLog.log(.info, "\(name.displayName): the local publisher closed the ring; joining again when a publisher returns")
            leave()
            return nil
        }
        return LocalMessage(bytes: message.bytes, sequence: message.sequence, senderTag: 0, missedBefore: message.missedBefore)
    }

    private func leave() {
        joined = nil
        nextJoin = ContinuousClock.now + .milliseconds(500)
    }

    /// Joins the ring again once the last attempt is half a second old, and only
    /// a ring with a live (or no) publisher, of the same type and size. What a
    /// returning publisher sends before the bridge joins (up to half a second) is
    /// not bridged.
    private func rejoin(_ timeout: Duration) -> Joined? {
        let now = ContinuousClock.now
        guard now >= nextJoin else {
            let wait = min(timeout, nextJoin - now)
            usleep(UInt32(clamping: max(1, wait.components.attoseconds / 1_000_000_000_000 + wait.components.seconds * 1_000_000)))
            return nil
        }
        nextJoin = now + .milliseconds(500)
        guard let status = try? ChannelStatus.read(name), status.writer == .attached || status.writer == .none else { return nil }
        guard let subscriber = try? Subscriber.open(name, creating: shape.configuration, wait: shape.wait) else { return nil }
        guard subscriber.recordedMessageType == messageType, status.maxMessageSize == maxMessageSize else {
            BridgeLog.log(.warning, "\(name.displayName): the ring now has another shape or type; not bridged")
            return nil
        }
        let fresh = Joined(subscriber)
        joined = fresh
        BridgeLog.log(.info, "\(name.displayName): joined the ring again")
        return fresh
    }
}

/// ``LocalOutbound`` over a single-publisher ring's ``Publisher``.
final class RingOutbound: LocalOutbound, @unchecked Sendable {
    // @unchecked: used by one forwarding thread at a time (handed over at start, joined at stop).
    let publisher: Publisher
    let maxMessageSize: Int
    let messageType: RecordedMessageType?
    let lossless: Bool

    init(_ name: SegmentName, shape: LocalRingShape) throws(ChannelError) {
        let publisher = try Publisher.open(name, creating: shape.configuration, wait: shape.wait)
        let status = try ChannelStatus.read(name)
        maxMessageSize = publisher.maxMessageSize
        lossless = status.policy == .lossless
        messageType = publisher.recordedMessageType
        self.publisher = publisher
    }

    func send(_ bytes: UnsafeRawBufferPointer, timeout: Duration) throws(ChannelError) {
        try publisher.send(bytes, timeout: timeout)
    }
}

/// ``LocalInbound`` over a ``TopicSubscriber`` that skips the bridge's own
/// publisher (when it has one on the same topic): it never attaches to that
/// publisher's ring, so what the bridge republishes from DDS is never read
/// back and sent out again. Loop freedom is structural, not a filter.
final class TopicInbound: LocalInbound, @unchecked Sendable {
    // @unchecked: used by one forwarding thread at a time (handed over at start, joined at stop).
    let subscriber: TopicSubscriber
    let name: SegmentName
    let maxMessageSize: Int
    let messageType: RecordedMessageType? = nil
    let lossless: Bool

    init(_ name: SegmentName, creating configuration: TopicConfiguration, skipping own: SenderTag?, wait: WaitStrategy) throws(ChannelError) {
        if let own {
            subscriber = try TopicSubscriber.open(name, skipping: own, creating: configuration, wait: wait)
        } else {
            subscriber = try TopicSubscriber.open(name, creating: configuration, wait: wait)
        }
        let info = try ServiceDirectory.describe(name)
        guard info.kind == .topic, let largest = info.configuration.maxMessageSize, largest > 0 else {
            throw .badChannel("\(name.displayName) is no topic with a known largest message")
        }
        self.name = name
        maxMessageSize = largest
        lossless = info.configuration.policy != .overwrite
    }

    /// Marks the topic bridged while this subscriber lives (``ServiceInfo/bridged``).
    func markBridged() throws(ChannelError) { try subscriber.markBridged() }

    func receive(timeout: Duration) throws(ChannelError) -> LocalMessage? {
        let received: TopicMessage?
        do {
            received = try subscriber.receive(timeout: timeout)
        } catch .timedOut {
            return nil
        }
        guard let message = received else {
            // Every local publisher left: the subscriber stays and attaches to the next one that joins.
            usleep(20_000)
            return nil
        }
        return LocalMessage(bytes: message.bytes, sequence: message.sequence, senderTag: UInt32(truncatingIfNeeded: message.publisher.slot) & 0xFF
                                | message.publisher.session << 8,
                            missedBefore: message.missedBefore)
    }
}

/// ``LocalOutbound`` over one ``TopicPublisher`` of a topic: messages from
/// DDS are published under this one publisher's tag.
final class TopicOutbound: LocalOutbound, @unchecked Sendable {
    // @unchecked: used by one forwarding thread at a time (handed over at start, joined at stop).
    let publisher: TopicPublisher
    let maxMessageSize: Int
    let messageType: RecordedMessageType? = nil
    let lossless: Bool

    init(_ name: SegmentName, creating configuration: TopicConfiguration, wait: WaitStrategy) throws(ChannelError) {
        // No wait for subscribers: the bridge joins before it forwards anything.
        publisher = try TopicPublisher.open(name, creating: configuration, subscriberWait: .zero, wait: wait)
        let info = try ServiceDirectory.describe(name)
        maxMessageSize = publisher.maxMessageSize
        lossless = info.configuration.policy != .overwrite
    }

    /// Marks the topic bridged while this publisher lives (``ServiceInfo/bridged``).
    func markBridged() throws(ChannelError) { try publisher.markBridged() }

    /// The tag the bridge's own subscriber skips.
    var tag: SenderTag { publisher.tag }

    func send(_ bytes: UnsafeRawBufferPointer, timeout: Duration) throws(ChannelError) {
        try publisher.send(bytes, timeout: timeout)
    }
}
