/// One of up to ``ManyToOneConfiguration/maxSenders`` senders of a
/// many-to-one channel: it sends variable-length messages to the channel's
/// one receiver, in order and without loss, waiting when its ring is full.
/// Each sender has a ring of its own, so a slow or dead sender never holds
/// up another, and a sender that dies mid-message leaves no torn record:
/// a record is visible only once it is complete.
///
/// Senders join and leave at any time. Opening joins: it takes a free sender
/// slot (waiting up to `joinTimeout` for one) and starts a new session in it.
/// Dropping the sender (or ``close()``) closes its ring and leaves; the
/// receiver still gets everything it sent.
///
/// The layout is described in <doc:ServiceProtocol>.
public struct ManyToOneSender: ~Copyable, Sendable {
    let end: MemberWriter

    /// Joins the many-to-one channel `name` as a sender, creating the channel if it does not exist.
    ///
    /// - Parameters:
    ///   - name: the channel's segment name.
    ///   - configuration: the shape of a new channel; `nil` to require an existing one.
    ///   - joinTimeout: how long to wait for a free sender slot.
    ///   - mode: the permission bits of a new channel's segment.
    ///   - wait: how to wait when the ring is full.
    ///   - backend: the system calls to use.
    /// - Throws: ``ChannelError/busy(_:)`` when every sender slot stays taken
    ///   for `joinTimeout`, ``ChannelError/badChannel(_:)`` for a segment that
    ///   is no many-to-one channel, ``ChannelError/segment(_:)`` when it cannot be created or opened.
    public static func open(
        _ name: SegmentName, creating configuration: ManyToOneConfiguration? = ManyToOneConfiguration(),
        joinTimeout: Duration = .seconds(5), mode: UInt32 = SharedMemorySegment.defaultMode,
        wait: WaitStrategy = .default, backend: SharedMemorySegment.Backend = .default
    ) throws(ChannelError) -> ManyToOneSender {
        let service = try openManyToOne(name, configuration, mode, backend)
        return ManyToOneSender(end: try MemberWriter(service: service, role: "sender", joinTimeout: joinTimeout, wait: wait))
    }

    /// The channel's name.
    public var name: SegmentName { end.service.name }
    /// This sender's slot and session, as the receiver sees them in ``ManyToOneMessage/sender``.
    public var tag: SenderTag { SenderTag(slot: end.membership.member, session: end.membership.session) }
    /// The largest message the channel takes, in bytes.
    public var maxMessageSize: Int { end.writer.core.maxMessageSize }
    /// The data capacity of this sender's ring in bytes.
    public var capacity: Int { end.writer.core.capacity }

    /// Sends a message, waiting up to `timeout` (nil: as long as it takes) for space.
    /// - Throws: ``ChannelError/timedOut``, ``ChannelError/messageTooLarge(size:maximum:)``,
    ///   ``ChannelError/peerLeft(_:)`` or ``ChannelError/peerDied(_:)`` when the receiver
    ///   left or died while the ring is full.
    public func send(_ bytes: UnsafeRawBufferPointer, timeout: Duration? = nil) throws(ChannelError) {
        try end.writer.write(bytes, timeout: timeout)
    }

    /// Sends a message, waiting up to `timeout` for space.
    public func send(_ bytes: [UInt8], timeout: Duration? = nil) throws(ChannelError) {
        try withBytes(of: bytes) { (buffer) throws(ChannelError) in try send(buffer, timeout: timeout) }
    }

    /// Sends a string's UTF-8 bytes, waiting up to `timeout` for space.
    public func send(_ text: String, timeout: Duration? = nil) throws(ChannelError) {
        try withBytes(of: text) { (buffer) throws(ChannelError) in try send(buffer, timeout: timeout) }
    }

    /// Sends a message if there is space now; `false` when the ring is full.
    public func trySend(_ bytes: UnsafeRawBufferPointer) throws(ChannelError) -> Bool {
        try end.writer.tryWrite(bytes)
    }

    /// Sends a message if there is space now; `false` when the ring is full.
    public func trySend(_ bytes: [UInt8]) throws(ChannelError) -> Bool {
        try withBytes(of: bytes) { (buffer) throws(ChannelError) in try trySend(buffer) }
    }

    /// Sends a string's UTF-8 bytes if there is space now; `false` when the ring is full.
    public func trySend(_ text: String) throws(ChannelError) -> Bool {
        try withBytes(of: text) { (buffer) throws(ChannelError) in try trySend(buffer) }
    }

    /// Closes this sender's ring and leaves the channel; the receiver still
    /// receives everything sent. Dropping the sender does the same.
    public consuming func close() { end.close() }
}

/// Opens the many-to-one channel `name`, creating it with `configuration` when it is given and the channel does not exist.
func openManyToOne(
    _ name: SegmentName, _ configuration: ManyToOneConfiguration?, _ mode: UInt32, _ backend: SharedMemorySegment.Backend
) throws(ChannelError) -> ServiceSegment {
    try ServiceSegment.open(name, expected: .manyToOne, shape: configuration?.shape, mode: mode,
                            lifetime: configuration?.ring.lifetime ?? .posix, backend: backend)
}
