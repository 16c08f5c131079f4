/// The shape of a many-to-one channel, chosen when it is created.
public struct ManyToOneConfiguration: Hashable, Sendable {
    /// How many senders may be joined at once (1 to ``ServiceLayout/maxMembers``).
    public var maxSenders: Int
    /// The shape of each sender's ring: its data area, largest message and lifetime.
    public var ring: RingConfiguration

    /// A channel for up to `maxSenders` senders, each with a ring of shape `ring`.
    public init(maxSenders: Int = 16, ring: RingConfiguration = RingConfiguration()) {
        self.maxSenders = maxSenders
        self.ring = ring
    }

    var shape: ServiceShape { ServiceShape(pattern: .manyToOne, members: maxSenders, ring: ring) }
}

/// Which sender a message of a many-to-one channel came from: its sender
/// slot and the session the sender started when it joined. A sender that
/// leaves and joins again, or another sender that takes the same slot, has
/// a new session.
public struct SenderTag: Hashable, Sendable, CustomStringConvertible {
    /// The sender slot, from 0 to the channel's `maxSenders - 1`.
    public var slot: Int
    /// The session number the sender got when it joined (unique per channel, wrapping at 2³²).
    public var session: UInt32

    /// A tag for slot `slot` and session `session`.
    public init(slot: Int, session: UInt32) {
        self.slot = slot
        self.session = session
    }

    /// `slot/session`, such as `3/17`.
    public var description: String { "\(slot)/\(session)" }
}

/// A message as the receiver of a many-to-one channel receives it.
public struct ManyToOneMessage: Hashable, Sendable {
    /// The message's bytes.
    public var bytes: [UInt8]
    /// The sender that sent it.
    public var sender: SenderTag

    /// A message of `bytes` from `sender`.
    public init(bytes: [UInt8], sender: SenderTag) {
        self.bytes = bytes
        self.sender = sender
    }
}
