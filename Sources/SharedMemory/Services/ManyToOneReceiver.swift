/// The one receiver of a many-to-one channel: it receives the messages of
/// up to ``ManyToOneConfiguration/maxSenders`` senders, each tagged with its
/// sender (``SenderTag``), every sender's messages in the order sent and
/// without loss. Messages of different senders are interleaved round-robin
/// (up to 128 of one sender in a row while others wait).
///
/// Senders join and leave at any time (see ``ManyToOneSender``). What a
/// sender sent before it left or died is still delivered; a record a dying
/// sender had not finished is never published, so it delays no other sender.
/// A sender slot is reused once its ring is drained.
///
/// The channel *ends* (``receive(timeout:)-47k5m`` returns `nil`) when at least
/// one sender session was ever started, no sender is joined, and every
/// message is received. A receiver that starts before any sender joined
/// waits for one; a sender that joins after the end starts the stream again.
///
/// The layout and algorithm are described in <doc:ServiceProtocol>.
public struct ManyToOneReceiver: ~Copyable, Sendable {
    let inbox: ServiceInbox

    /// Opens the many-to-one channel `name` for receiving, creating it if it does not exist.
    ///
    /// - Parameters:
    ///   - name: the channel's segment name.
    ///   - configuration: the shape of a new channel; `nil` to require an existing one.
    ///   - mode: the permission bits of a new channel's segment.
    ///   - wait: kept for symmetry with the one-to-one channel; the receiver
    ///     sleeps on all its senders' rings at once.
    ///   - backend: the system calls to use.
    /// - Throws: ``ChannelError/busy(_:)`` when another process is receiving,
    ///   ``ChannelError/badChannel(_:)`` for a segment that is no many-to-one
    ///   channel, ``ChannelError/segment(_:)`` when it cannot be created or opened.
    public static func open(
        _ name: SegmentName, creating configuration: ManyToOneConfiguration? = ManyToOneConfiguration(),
        mode: UInt32 = SharedMemorySegment.defaultMode, wait: WaitStrategy = .default,
        backend: SharedMemorySegment.Backend = .default
    ) throws(ChannelError) -> ManyToOneReceiver {
        let service = try openManyToOne(name, configuration, mode, backend)
        return ManyToOneReceiver(inbox: try ServiceInbox(service: service, owner: true, strategy: wait))
    }

    /// The channel's name.
    public var name: SegmentName { inbox.service.name }
    /// How many sender slots the channel has.
    public var maxSenders: Int { inbox.service.memberCount }

    /// Receives the next message of any sender, waiting up to `timeout` (nil: as long as it takes).
    /// - Returns: the message, or `nil` when the channel ended: a sender
    ///   joined once, none is joined now, and everything sent is received.
    /// - Throws: ``ChannelError/timedOut``, ``ChannelError/cancelled`` when the
    ///   calling task is cancelled, ``ChannelError/badChannel(_:)`` for a ring
    ///   or header that breaks the layout's rules.
    public func receive(timeout: Duration? = nil) throws(ChannelError) -> ManyToOneMessage? {
        guard let found = try inbox.next(timeout: timeout) else { return nil }
        let message = ManyToOneMessage(bytes: Array(found.bytes), sender: found.tag)
        try inbox.consume(found)
        return message
    }

    /// Zero-copy receive: calls `body` with the next message in place and its
    /// sender, then releases the message's space. Returns what `body` returns,
    /// or `nil` when the channel ended (see ``receive(timeout:)-47k5m``).
    @inlinable
    public func receive<R>(timeout: Duration? = nil, _ body: (UnsafeRawBufferPointer, SenderTag) -> R) throws(ChannelError) -> R? {
        // Inlined into the caller, so that `R` costs no generic metadata per
        // message: the inbox finds the record, `body` reads it, the inbox releases it.
        guard let found = try nextFound(timeout: timeout) else { return nil }
        let result = body(found.bytes, found.tag)
        try consume(found)
        return result
    }

    /// The next message in place, waiting up to `timeout`; `nil` at the end. See ``receive(timeout:_:)``.
    @usableFromInline
    func nextFound(timeout: Duration?) throws(ChannelError) -> FoundMessage? {
        try inbox.next(timeout: timeout)
    }

    /// Releases a message ``nextFound(timeout:)`` returned, once it was read.
    @usableFromInline
    func consume(_ found: FoundMessage) throws(ChannelError) {
        try inbox.consume(found)
    }

    /// Receives a message if one is there now; `nil` when none is.
    /// - Throws: ``ChannelError/closed`` when the channel ended (see ``receive(timeout:)-47k5m``).
    public func tryReceive() throws(ChannelError) -> ManyToOneMessage? {
        guard let found = try inbox.tryNext() else { return nil }
        let message = ManyToOneMessage(bytes: Array(found.bytes), sender: found.tag)
        try inbox.consume(found)
        return message
    }

    /// The senders whose rings the receiver is attached to now: joined
    /// senders, and departed ones whose messages are not all received yet.
    public var attachedSenders: [SenderTag] { inbox.attachedSenders }

    /// The ring's next message copied out and tagged, if there is one now
    /// (for a ``ChannelWaitSet``'s receives, which take one message at a time).
    static func takeMessage(_ reader: RingReader, _ tag: SenderTag) throws(ChannelError) -> ManyToOneMessage? {
        try take(reader) { ManyToOneMessage(bytes: Array($0), sender: tag) }
    }

    /// Calls `body` with the ring's next message in place, if there is one now.
    private static func take<R>(_ reader: RingReader, _ body: (UnsafeRawBufferPointer) -> R) throws(ChannelError) -> R? {
        do {
            return try reader.tryReceive(body)
        } catch .closed {
            return nil // the inbox sees the closed, drained ring and detaches it
        }
    }

    /// Stops receiving: detaches from every ring and lets another process receive.
    public consuming func close() { inbox.close() }
}
