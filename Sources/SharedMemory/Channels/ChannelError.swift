/// Why a channel operation failed.
public enum ChannelError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The wait ran out of time.
    case timedOut
    /// The process at the other end died without closing the channel.
    case peerDied(String)
    /// The process at the other end closed or left its end while this one
    /// waited for it (a channel's receiver that closed, returned, or went out
    /// of scope while the sender waited for space).
    case peerLeft(String)
    /// The sender closed the channel and every message has been received.
    case closed
    /// A message is larger than the channel's maximum.
    case messageTooLarge(size: Int, maximum: Int)
    /// Another process already holds this role (sender, receiver, or every subscriber slot).
    case busy(String)
    /// The segment is not a channel of this layout, or its control data is corrupt.
    case badChannel(String)
    /// A message or ring does not match the type asked for: a typed receive
    /// found a message of another length (it stays in the channel), or a
    /// typed end opened a ring of another message type.
    case typeMismatch(String)
    /// A message codec could not encode a value, or decode a message (which
    /// stays in the channel).
    case codingFailed(String)
    /// The task waiting was cancelled.
    case cancelled
    /// A request/response server answered the request with an error; the
    /// text is the server's reason (see ``RequestClient``).
    case requestFailed(String)
    /// The segment could not be created, opened or mapped.
    case segment(SharedMemoryError)

    /// What went wrong, in words.
    public var description: String {
        switch self {
        case .timedOut: "the wait timed out"
        case .peerDied(let who): "\(who) died without closing the channel"
        case .peerLeft(let who): "\(who) closed its end and left"
        case .closed: "the channel is closed and drained"
        case .messageTooLarge(let size, let maximum): "a message of \(size) bytes exceeds the maximum of \(maximum)"
        case .busy(let what): what
        case .badChannel(let reason): "not a usable channel: \(reason)"
        case .typeMismatch(let reason): "the message type does not match: \(reason)"
        case .codingFailed(let reason): "a message could not be coded: \(reason)"
        case .cancelled: "the wait was cancelled"
        case .requestFailed(let reason): "the server failed the request: \(reason)"
        case .segment(let error): error.description
        }
    }
}

/// How a side waits for its peer.
public enum WaitStrategy: Hashable, Sendable {
    /// Never sleeps: the lowest latency, one core busy while waiting.
    case spin
    /// Spins for `spins` rounds of the CPU's pause hint, then sleeps on a futex.
    case adaptive(spins: Int)
    /// Sleeps on a futex at once.
    case sleep

    /// The default: about as fast as spinning while messages flow, asleep when they do not.
    public static let `default` = WaitStrategy.adaptive(spins: 2000)

    var spinCount: Int {
        switch self {
        case .spin: Int.max
        case .adaptive(let spins): max(0, spins)
        case .sleep: 0
        }
    }
}

/// Calls `body` with the bytes of `array`, keeping `body`'s typed error.
func withBytes<R>(of array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(ChannelError) -> R) throws(ChannelError) -> R {
    try array.withUnsafeBytes { buffer in Result { () throws(ChannelError) in try body(buffer) } }.get()
}

/// Calls `body` with the UTF-8 bytes of `text`, keeping `body`'s typed error.
func withBytes<R>(of text: String, _ body: (UnsafeRawBufferPointer) throws(ChannelError) -> R) throws(ChannelError) -> R {
    var text = text
    return try text.withUTF8 { buffer in Result { () throws(ChannelError) in try body(UnsafeRawBufferPointer(buffer)) } }.get()
}
