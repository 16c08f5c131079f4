/// One of up to ``TopicConfiguration/maxPublishers`` publishers of a topic:
/// every subscriber receives its messages in order. Each publisher has a
/// ring of its own, so publishers never wait for each other.
///
/// Publishers join and leave at any time. Opening joins: it takes a free
/// publisher slot (waiting up to `joinTimeout` for one), then waits up to
/// `subscriberWait` until the subscribers already attached to the topic have
/// attached to its ring, so that they receive its first message. A
/// subscriber receives a publisher's messages from when it attached to that
/// publisher's ring. With ``SlowSubscriberPolicy/lossless`` a publisher waits
/// for its slowest subscriber; with ``SlowSubscriberPolicy/overwrite`` it
/// never waits. Dropping the publisher (or ``close()``) closes its ring.
///
/// The layout is described in <doc:ServiceProtocol>.
public struct TopicPublisher: ~Copyable, Sendable {
    let end: MemberWriter

    /// Joins the topic `name` as a publisher, creating the topic if it does not exist.
    ///
    /// - Parameters:
    ///   - name: the topic's segment name.
    ///   - configuration: the shape of a new topic; `nil` to require an existing one.
    ///   - joinTimeout: how long to wait for a free publisher slot.
    ///   - subscriberWait: how long to wait for present subscribers to attach to this publisher's ring.
    ///   - mode: the permission bits of a new topic's segment.
    ///   - wait: how to wait for the slowest subscriber (lossless policy).
    ///   - backend: the system calls to use.
    /// - Throws: ``ChannelError/busy(_:)`` when every publisher slot stays
    ///   taken for `joinTimeout`, ``ChannelError/badChannel(_:)`` for a segment
    ///   that is no topic, ``ChannelError/segment(_:)`` when it cannot be created or opened.
    public static func open(
        _ name: SegmentName, creating configuration: TopicConfiguration? = TopicConfiguration(),
        joinTimeout: Duration = .seconds(5), subscriberWait: Duration = .seconds(1),
        mode: UInt32 = SharedMemorySegment.defaultMode, wait: WaitStrategy = .default,
        backend: SharedMemorySegment.Backend = .default
    ) throws(ChannelError) -> TopicPublisher {
        let service = try openTopic(name, configuration, mode, backend)
        let end = try MemberWriter(service: service, role: "publisher", joinTimeout: joinTimeout, wait: wait)
        end.awaitSubscribers(timeout: subscriberWait)
        return TopicPublisher(end: end)
    }

    /// Marks the topic as bridged to other machines for as long as this
    /// publisher lives: a process that carries the topic elsewhere (`shm-bridge`)
    /// calls it, and ``ServiceInfo/bridged`` (`shm list --services`) shows it.
    /// The mark is a lock byte the kernel drops when the process closes the
    /// topic or dies (see <doc:ServiceProtocol>); no word of the topic changes.
    /// - Throws: ``ChannelError/busy(_:)`` when all 16 marks are taken.
    public func markBridged() throws(ChannelError) {
        try end.service.markBridged()
    }

    /// The topic's name.
    public var name: SegmentName { end.service.name }
    /// This publisher's slot and session, as subscribers see them in ``TopicMessage/publisher``.
    public var tag: SenderTag { SenderTag(slot: end.membership.member, session: end.membership.session) }
    /// The largest message the topic takes, in bytes.
    public var maxMessageSize: Int { end.writer.core.maxMessageSize }
    /// Messages published so far.
    public var publishedCount: UInt64 { end.writer.publishedCount }

    /// Publishes a message, waiting up to `timeout` (nil: as long as it takes) for the slowest subscriber (lossless policy).
    public func send(_ bytes: UnsafeRawBufferPointer, timeout: Duration? = nil) throws(ChannelError) {
        try end.writer.write(bytes, timeout: timeout)
    }

    /// Publishes a message, waiting up to `timeout` for the slowest subscriber (lossless policy).
    public func send(_ bytes: [UInt8], timeout: Duration? = nil) throws(ChannelError) {
        try withBytes(of: bytes) { (buffer) throws(ChannelError) in try send(buffer, timeout: timeout) }
    }

    /// Publishes a string's UTF-8 bytes, waiting up to `timeout` for the slowest subscriber (lossless policy).
    public func send(_ text: String, timeout: Duration? = nil) throws(ChannelError) {
        try withBytes(of: text) { (buffer) throws(ChannelError) in try send(buffer, timeout: timeout) }
    }

    /// Publishes a message if there is space now; `false` when the slowest subscriber is a ring behind.
    public func trySend(_ bytes: [UInt8]) throws(ChannelError) -> Bool {
        try withBytes(of: bytes) { (buffer) throws(ChannelError) in try end.writer.tryWrite(buffer) }
    }

    /// Closes this publisher's ring and leaves the topic; subscribers still
    /// receive what was published. Dropping the publisher does the same.
    public consuming func close() { end.close() }
}

/// Opens the topic `name`, creating it with `configuration` when it is given and the topic does not exist.
func openTopic(
    _ name: SegmentName, _ configuration: TopicConfiguration?, _ mode: UInt32, _ backend: SharedMemorySegment.Backend
) throws(ChannelError) -> ServiceSegment {
    try configuration?.validate()
    return try ServiceSegment.open(name, expected: .topic, shape: configuration?.shape, mode: mode,
                                   lifetime: configuration?.ring.lifetime ?? .posix, backend: backend)
}
