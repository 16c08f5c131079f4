/// The sending end of a typed channel: every message is one `Message`.
///
/// The ring records the message type (its ``PlainData/messageTypeName``,
/// size, alignment and stride, and a fingerprint of them), and its payloads
/// are aligned for the type, so the receiver reads each message in place.
/// An end that expects another type is refused when it opens the channel,
/// with an error that names both types. The byte-level ``ChannelSender`` and
/// ``ChannelReceiver`` can still open a typed channel.
///
/// ```swift
/// struct Tick: PlainData { var time: UInt64; var price: Double }
/// let sender = try TypedChannelSender<Tick>.open(name)
/// try sender.send(Tick(time: 1, price: 2.5))
/// ```
public struct TypedChannelSender<Message: PlainData>: ~Copyable, Sendable {
    let sender: ChannelSender

    /// Opens the typed channel `name` for sending, creating it if it does not exist.
    ///
    /// - Parameters:
    ///   - name: the channel's segment name.
    ///   - configuration: the shape of a new channel; its alignment is raised to
    ///     `Message`'s if lower. `nil` to require an existing channel.
    ///   - mode: the permission bits of a new channel's segment.
    ///   - wait: how to wait when the channel is full.
    ///   - backend: the system calls to use.
    /// - Throws: ``ChannelError/typeMismatch(_:)`` when the channel carries
    ///   another type (or bytes), and the errors of ``ChannelSender/open(_:creating:mode:wait:backend:)``.
    public static func open(
        _ name: SegmentName, creating configuration: RingConfiguration? = RingConfiguration(),
        mode: UInt32 = SharedMemorySegment.defaultMode, wait: WaitStrategy = .default, backend: SharedMemorySegment.Backend = .default
    ) throws(ChannelError) -> TypedChannelSender {
        let core = try openTypedChannel(name, Message.self, configuration, mode, backend)
        return TypedChannelSender(sender: ChannelSender(writer: try RingWriter(core: core, strategy: wait)))
    }

    /// The channel's name.
    public var name: SegmentName { sender.name }

    /// Sends a message, waiting up to `timeout` (nil: as long as it takes) for space.
    public func send(_ message: Message, timeout: Duration? = nil) throws(ChannelError) {
        try sender.send(message, timeout: timeout)
    }

    /// Sends a message if there is space now; `false` when the channel is full.
    public func trySend(_ message: Message) throws(ChannelError) -> Bool {
        try sender.trySend(message)
    }

    /// Sends a message, suspending up to `timeout` for space.
    nonisolated(nonsending) public func send(_ message: Message, timeout: Duration? = nil) async throws(ChannelError) {
        try await sender.send(message, timeout: timeout)
    }

    /// Zero-copy send: lets `fill` write the message in place in the channel.
    /// The slot holds the bytes of an older message until `fill` changes them.
    /// - Returns: `true` when the message was published, `false` when `fill` abandoned it.
    @discardableResult
    public func send(loaningFor timeout: Duration? = nil, _ fill: (inout Message) -> LoanDecision) throws(ChannelError) -> Bool {
        try sender.send(loaning: Message.self, count: 1, timeout: timeout) { (span: inout MutableSpan<Message>) -> LoanDecision in
            fill(&span[0])
        } == 1
    }

    /// Closes the channel: the receiver drains what is left, then sees the end.
    public consuming func close() { sender.writer.close() }
}

/// The receiving end of a typed channel; see ``TypedChannelSender``.
public struct TypedChannelReceiver<Message: PlainData>: ~Copyable, Sendable {
    let receiver: ChannelReceiver

    /// Opens the typed channel `name` for receiving, creating it if it does not exist.
    /// - Throws: the errors of ``TypedChannelSender/open(_:creating:mode:wait:backend:)``,
    ///   and ``ChannelError/busy(_:)`` when another process is receiving.
    public static func open(
        _ name: SegmentName, creating configuration: RingConfiguration? = RingConfiguration(),
        mode: UInt32 = SharedMemorySegment.defaultMode, wait: WaitStrategy = .default, backend: SharedMemorySegment.Backend = .default
    ) throws(ChannelError) -> TypedChannelReceiver {
        let core = try openTypedChannel(name, Message.self, configuration, mode, backend)
        return TypedChannelReceiver(receiver: ChannelReceiver(reader: try RingReader.receiver(core: core, strategy: wait)))
    }

    /// The channel's name.
    public var name: SegmentName { receiver.name }

    /// Receives the next message, copied out, waiting up to `timeout`.
    /// - Returns: the message, or `nil` when the sender closed the channel and all is received.
    /// - Throws: ``ChannelError/typeMismatch(_:)`` for a message of another
    ///   length (a byte-level sender can write one; it stays in the channel),
    ///   and the errors of ``ChannelReceiver/receive(timeout:)-5v87w``.
    public func receive(timeout: Duration? = nil) throws(ChannelError) -> Message? {
        try receiver.receive(as: Message.self, timeout: timeout)
    }

    /// Reads the next message in place: calls `body` with it, then releases it.
    /// - Returns: what `body` returns, or `nil` at the end.
    public func receive<R>(timeout: Duration? = nil, _ body: (borrowing Message) throws(ChannelError) -> R) throws(ChannelError) -> R? {
        try receiver.receive(viewing: Message.self, timeout: timeout) { (span: Span<Message>) throws(ChannelError) -> R in
            guard span.count == 1 else {
                throw .typeMismatch("a message of \(span.count) values is not one \(Message.self); it stays in the channel")
            }
            return try body(span[0])
        }
    }

    /// Receives the next message, suspending up to `timeout`.
    nonisolated(nonsending) public func receive(timeout: Duration? = nil) async throws(ChannelError) -> Message? {
        try await receiver.receive(as: Message.self, timeout: timeout)
    }

    /// Closes the receiving end now; see ``ChannelReceiver/close()``.
    public consuming func close() { receiver.reader.detach() }
}

/// Opens a typed channel and checks that it carries `type`.
private func openTypedChannel<T: PlainData>(
    _ name: SegmentName, _ type: T.Type, _ configuration: RingConfiguration?, _ mode: UInt32, _ backend: SharedMemorySegment.Backend
) throws(ChannelError) -> RingCore {
    let expected = MessageTypeIdentity(T.self)
    var shape = configuration
    if var ring = shape {
        ring.alignment = max(ring.alignment, MemoryLayout<T>.alignment)
        ring.messageType = expected
        guard ring.maxMessageSize >= MemoryLayout<T>.size else {
            throw .messageTooLarge(size: MemoryLayout<T>.size, maximum: ring.maxMessageSize)
        }
        shape = ring
    }
    let core = try RingCore.open(name, flavour: .channel, configuration: shape, slots: 1,
                                 policy: .lossless, mode: mode, backend: backend)
    guard let found = core.messageType else {
        throw .typeMismatch("\(name.posixName) is a channel of bytes, not of \(expected)")
    }
    guard found == expected, core.alignment >= expected.alignment, core.maxMessageSize >= expected.size else {
        throw .typeMismatch("\(name.posixName) carries \(found), not \(expected)")
    }
    return core
}
