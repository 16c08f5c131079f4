/// A subscriber of a topic: it receives the messages of every publisher,
/// each publisher's in order, tagged with the publisher (``TopicMessage``).
/// Messages of different publishers are interleaved round-robin.
///
/// It takes one of the topic's ``TopicConfiguration/subscriberSlots`` and
/// attaches to every joined publisher's ring, receiving from the next
/// message published on it, or, when the topic keeps a history
/// (``TopicConfiguration/history``), from the last messages still intact
/// (see ``TopicPublisher`` for how a new publisher waits for present subscribers).
///
/// The topic *ends* for a subscriber (``receive(timeout:)-39ncv`` returns `nil`)
/// when at least one publisher has joined, none is joined now, and every
/// message published while it was attached is received.
public struct TopicSubscriber: ~Copyable, Sendable {
    let inbox: ServiceInbox

    /// Subscribes to the topic `name`, creating the topic if it does not exist.
    /// - Throws: ``ChannelError/busy(_:)`` when every subscriber slot is
    ///   taken, and the errors of ``TopicPublisher/open(_:creating:joinTimeout:subscriberWait:mode:wait:backend:)``.
    public static func open(
        _ name: SegmentName, creating configuration: TopicConfiguration? = TopicConfiguration(),
        mode: UInt32 = SharedMemorySegment.defaultMode, wait: WaitStrategy = .default,
        backend: SharedMemorySegment.Backend = .default
    ) throws(ChannelError) -> TopicSubscriber {
        let service = try openTopic(name, configuration, mode, backend)
        // A ring with a history gives its last messages to the subscriber as it attaches (RingReader.subscriber).
        return TopicSubscriber(inbox: try ServiceInbox(service: service, owner: false, strategy: wait))
    }

    /// Subscribes to the topic `name` like ``open(_:creating:mode:wait:backend:)``,
    /// but never attaches to the ring of `publisher` (one slot and session):
    /// none of its messages is received, and it never waits for this
    /// subscriber. A process that both publishes and subscribes a topic (a
    /// bridge to another machine) passes its own publisher's
    /// ``TopicPublisher/tag`` so that it never reads back what it published.
    /// A later session in the same slot (another publisher) is received as usual.
    public static func open(
        _ name: SegmentName, skipping publisher: SenderTag,
        creating configuration: TopicConfiguration? = TopicConfiguration(),
        mode: UInt32 = SharedMemorySegment.defaultMode, wait: WaitStrategy = .default,
        backend: SharedMemorySegment.Backend = .default
    ) throws(ChannelError) -> TopicSubscriber {
        let service = try openTopic(name, configuration, mode, backend)
        return TopicSubscriber(inbox: try ServiceInbox(service: service, owner: false, strategy: wait, skipping: publisher))
    }

    /// Marks the topic as bridged to other machines for as long as this
    /// subscriber lives: a process that carries the topic elsewhere (`shm-bridge`)
    /// calls it, and ``ServiceInfo/bridged`` (`shm list --services`) shows it.
    /// The mark is a lock byte the kernel drops when the process closes the
    /// topic or dies (see <doc:ServiceProtocol>); no word of the topic changes.
    /// - Throws: ``ChannelError/busy(_:)`` when all 16 marks are taken.
    public func markBridged() throws(ChannelError) {
        try inbox.service.markBridged()
    }

    /// The topic's name.
    public var name: SegmentName { inbox.service.name }

    /// Receives the next message of any publisher, waiting up to `timeout` (nil: as long as it takes).
    /// - Returns: the message, or `nil` when the topic ended for this subscriber:
    ///   a publisher joined once, none is joined now, and everything is received.
    /// - Throws: ``ChannelError/timedOut``, ``ChannelError/cancelled`` when the
    ///   calling task is cancelled, ``ChannelError/badChannel(_:)`` for a ring
    ///   or header that breaks the layout's rules.
    public func receive(timeout: Duration? = nil) throws(ChannelError) -> TopicMessage? {
        try inbox.receive(timeout: timeout, Self.take)
    }

    /// Receives a message if one is there now; `nil` when none is.
    /// - Throws: ``ChannelError/closed`` when the topic ended (see ``receive(timeout:)-39ncv``).
    public func tryReceive() throws(ChannelError) -> TopicMessage? {
        try inbox.tryReceive(Self.take)
    }

    /// The publishers whose rings this subscriber is attached to now.
    public var attachedPublishers: [SenderTag] { inbox.attachedSenders }

    /// Leaves the topic now; dropping the subscriber leaves it too.
    public consuming func leave() { inbox.close() }

    /// The ring's next message, tagged with its publisher, if there is one now.
    static func take(_ reader: RingReader, _ tag: SenderTag) throws(ChannelError) -> TopicMessage? {
        try reader.receiveMessage(timeout: nil, waits: false).map {
            TopicMessage(bytes: $0.bytes, publisher: tag, sequence: $0.sequence, missedBefore: $0.missedBefore)
        }
    }
}
