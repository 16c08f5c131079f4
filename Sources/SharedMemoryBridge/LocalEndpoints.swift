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
/// Today: a ``Subscriber`` of a single-publisher ring. With topics of several
/// publishers (TopicSubscriber, branch manytoone) this becomes a subscriber
/// that skips the bridge's own publisher slot, which makes loop freedom
/// structural: a bridge never reads back what it republished.
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
/// Today: the ``Publisher`` of a single-publisher ring, so a bridge cannot
/// also subscribe the same name (it could not tell its own messages apart);
/// with topics it becomes one TopicPublisher member slot.
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
}

/// ``LocalInbound`` over a single-publisher ring's ``Subscriber``.
final class RingInbound: LocalInbound, @unchecked Sendable {
    // @unchecked: used by one forwarding thread at a time (handed over at start, joined at stop).
    let subscriber: Subscriber
    let maxMessageSize: Int
    let messageType: RecordedMessageType?
    let lossless: Bool

    init(_ name: SegmentName, shape: LocalRingShape) throws(ChannelError) {
        let subscriber = try Subscriber.open(name, creating: shape.configuration)
        let status = try ChannelStatus.read(name)
        maxMessageSize = status.maxMessageSize
        lossless = status.policy == .lossless
        messageType = subscriber.recordedMessageType
        self.subscriber = subscriber
    }

    func receive(timeout: Duration) throws(ChannelError) -> LocalMessage? {
        let received: SubscriberMessage?
        do {
            received = try subscriber.receive(timeout: timeout)
        } catch .timedOut {
            return nil
        }
        guard let message = received else { throw .closed }
        return LocalMessage(bytes: message.bytes, sequence: message.sequence, senderTag: 0, missedBefore: message.missedBefore)
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
        let publisher = try Publisher.open(name, creating: shape.configuration)
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
