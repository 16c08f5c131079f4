/// The sending end of a channel: one process sends variable-length
/// messages (0 bytes up to the configured maximum) to one receiving
/// process, in order and without loss, waiting when the channel is full.
///
/// Whichever end starts first creates the channel's managed segment (with
/// `creating`); the other opens it. Dropping the sender closes the channel:
/// the receiver drains what is left and then sees the end. If the sending
/// process dies instead, the receiver gets ``ChannelError/peerDied(_:)``
/// once it has drained, within about 250 ms.
///
/// The layout and memory ordering are documented in ``RingLayout``.
public struct ChannelSender: ~Copyable, Sendable {
    let writer: RingWriter

    /// Opens the channel `name` for sending, creating it if it does not exist.
    ///
    /// - Parameters:
    ///   - name: the channel's segment name.
    ///   - configuration: the shape of a new channel; `nil` to require an existing one.
    ///   - mode: the permission bits of a new channel's segment.
    ///   - wait: how to wait when the channel is full.
    ///   - backend: the system calls to use.
    /// - Throws: ``ChannelError/busy(_:)`` when another process is sending,
    ///   ``ChannelError/badChannel(_:)`` for a segment that is no channel,
    ///   ``ChannelError/segment(_:)`` when it cannot be created or opened.
    public static func open(
        _ name: SegmentName, creating configuration: RingConfiguration? = RingConfiguration(),
        mode: UInt32 = SharedMemorySegment.defaultMode, wait: WaitStrategy = .default, backend: SharedMemorySegment.Backend = .default
    ) throws(ChannelError) -> ChannelSender {
        let core = try openChannel(name, configuration, mode, backend)
        return ChannelSender(writer: try RingWriter(core: core, strategy: wait))
    }

    /// The channel's name.
    public var name: SegmentName { writer.core.name }
    /// The largest message the channel takes, in bytes.
    public var maxMessageSize: Int { writer.core.maxMessageSize }
    /// The channel's data capacity in bytes.
    public var capacity: Int { writer.core.capacity }

    /// Sends a message, waiting up to `timeout` (nil: as long as it takes) for space.
    public func send(_ bytes: UnsafeRawBufferPointer, timeout: Duration? = nil) throws(ChannelError) {
        try writer.write(bytes, timeout: timeout)
    }

    /// Sends a message, waiting up to `timeout` for space.
    public func send(_ bytes: [UInt8], timeout: Duration? = nil) throws(ChannelError) {
        try withBytes(of: bytes) { (buffer) throws(ChannelError) in try send(buffer, timeout: timeout) }
    }

    /// Sends a string's UTF-8 bytes, waiting up to `timeout` for space.
    public func send(_ text: String, timeout: Duration? = nil) throws(ChannelError) {
        try withBytes(of: text) { (buffer) throws(ChannelError) in try send(buffer, timeout: timeout) }
    }

    /// Sends a message if there is space now; `false` when the channel is full.
    public func trySend(_ bytes: UnsafeRawBufferPointer) throws(ChannelError) -> Bool {
        try writer.tryWrite(bytes)
    }

    /// Sends a message if there is space now; `false` when the channel is full.
    public func trySend(_ bytes: [UInt8]) throws(ChannelError) -> Bool {
        try withBytes(of: bytes) { (buffer) throws(ChannelError) in try trySend(buffer) }
    }

    /// Zero-copy send: loans `capacity` bytes of the channel, lets `fill` write
    /// the message in place, and commits as many bytes as `fill` returns
    /// (0 to `capacity`). Nothing is visible to the receiver before the commit.
    /// - Throws: ``ChannelError/messageTooLarge(size:maximum:)`` for a
    ///   `capacity` below 0 or above ``maxMessageSize``, and the errors of ``send(_:timeout:)-7yks4``.
    @discardableResult
    public func send(
        loaning capacity: Int, timeout: Duration? = nil, _ fill: (UnsafeMutableRawBufferPointer) -> Int
    ) throws(ChannelError) -> Int {
        guard capacity >= 0, capacity <= maxMessageSize else {
            throw .messageTooLarge(size: capacity, maximum: maxMessageSize)
        }
        return try writer.loan(capacity: capacity, timeout: timeout, fill)
    }

    /// Closes the channel: the receiver drains what is left, then sees the end.
    public consuming func close() { writer.close() }
}

/// The receiving end of a channel; see ``ChannelSender``.
public struct ChannelReceiver: ~Copyable, Sendable {
    @usableFromInline let reader: RingReader

    /// Opens the channel `name` for receiving, creating it if it does not exist.
    ///
    /// - Throws: ``ChannelError/busy(_:)`` when another process is receiving,
    ///   and the errors of ``ChannelSender/open(_:creating:mode:wait:backend:)``.
    public static func open(
        _ name: SegmentName, creating configuration: RingConfiguration? = RingConfiguration(),
        mode: UInt32 = SharedMemorySegment.defaultMode, wait: WaitStrategy = .default, backend: SharedMemorySegment.Backend = .default
    ) throws(ChannelError) -> ChannelReceiver {
        let core = try openChannel(name, configuration, mode, backend)
        return ChannelReceiver(reader: try RingReader.receiver(core: core, strategy: wait))
    }

    /// The channel's name.
    public var name: SegmentName { reader.core.name }
    /// The largest message the channel takes, in bytes.
    public var maxMessageSize: Int { reader.core.maxMessageSize }

    /// Receives the next message, waiting up to `timeout` (nil: as long as it takes).
    /// - Returns: the message, or `nil` when the sender closed the channel and all is received.
    /// - Throws: ``ChannelError/timedOut``, or ``ChannelError/peerDied(_:)``
    ///   when the sender died and all it sent is received.
    public func receive(timeout: Duration? = nil) throws(ChannelError) -> [UInt8]? {
        try reader.receive(timeout: timeout) { Array($0) }
    }

    /// Zero-copy receive: calls `body` with the next message in place, then
    /// releases its space. Returns what `body` returns, or `nil` at the end.
    @inlinable
    public func receive<R>(timeout: Duration? = nil, _ body: (UnsafeRawBufferPointer) -> R) throws(ChannelError) -> R? {
        try reader.receive(timeout: timeout, body)
    }

    /// Receives the next message into `buffer`, waiting up to `timeout`.
    /// - Returns: the message's length, or `nil` when the sender closed the channel and all is received.
    /// - Throws: ``ChannelError/messageTooLarge(size:maximum:)`` when `buffer` is too small
    ///   (the message stays in the channel), and the errors of ``receive(timeout:)-5v87w``.
    public func receive(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration? = nil) throws(ChannelError) -> Int? {
        try reader.receive(into: buffer, timeout: timeout)
    }

    /// Receives a message if one is there now; `nil` when none is.
    /// - Throws: ``ChannelError/closed`` when the sender closed the channel and all is received.
    public func tryReceive() throws(ChannelError) -> [UInt8]? {
        try reader.tryReceive { Array($0) }
    }

    /// The messages as an asynchronous sequence, which ends when the sender
    /// closes the channel. Cancelling the task ends a wait with ``ChannelError/cancelled``.
    public consuming func messages() -> ReceivedMessages { ReceivedMessages(reader: reader) }
}

/// Opens the channel `name`, creating it with `configuration` when it is given and the channel does not exist.
private func openChannel(
    _ name: SegmentName, _ configuration: RingConfiguration?, _ mode: UInt32, _ backend: SharedMemorySegment.Backend
) throws(ChannelError) -> RingCore {
    try RingCore.open(name, flavour: .channel, configuration: configuration, slots: 1,
                      policy: .lossless, mode: mode, backend: backend)
}

/// The deadline `timeout` from now (nil: none), with the timeout cut to
/// between zero and about a century, so that the clock's now plus it cannot
/// overflow, however large a `Duration` the caller gives. Only the slow paths
/// call it: a side that finds a message or space at once takes no clock.
func deadline(after timeout: Duration?) -> ContinuousClock.Instant? {
    timeout.map { ContinuousClock.now + min(max($0, .zero), longestTimeout) }
}

/// The longest wait a timeout asks for: about a century.
let longestTimeout = Duration.seconds(100 * 366 * 86_400)
