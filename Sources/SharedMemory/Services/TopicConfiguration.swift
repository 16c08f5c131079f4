/// The shape of a topic, chosen when it is created.
public struct TopicConfiguration: Hashable, Sendable {
    /// How many publishers may be joined at once (1 to ``ServiceLayout/maxMembers``).
    public var maxPublishers: Int
    /// How many subscribers may be attached at once (1 to ``ServiceLayout/maxSubscribers``).
    public var subscriberSlots: Int
    /// What a publisher does when a subscriber falls behind.
    public var policy: SlowSubscriberPolicy
    /// The shape of each publisher's ring.
    public var ring: RingConfiguration
    /// How many past messages of each publisher a subscriber receives when
    /// it attaches to that publisher's ring (0 to 1024): the last ones still
    /// intact, then the live stream with no gap and no duplicate (see
    /// <doc:ChannelProtocol> for the history position and the join).
    public var history: Int

    /// A topic for up to `maxPublishers` publishers and `subscriberSlots` subscribers.
    public init(maxPublishers: Int = 16, subscriberSlots: Int = 8, policy: SlowSubscriberPolicy = .lossless,
                ring: RingConfiguration = RingConfiguration(), history: Int = 0) {
        self.maxPublishers = maxPublishers
        self.subscriberSlots = subscriberSlots
        self.policy = policy
        self.ring = ring
        self.history = history
    }

    func validate() throws(ChannelError) {
        guard (0...RingLayout.maxHistoryDepth).contains(history) else {
            throw .badChannel("a history of \(history) messages; a topic keeps 0 to \(RingLayout.maxHistoryDepth)")
        }
    }

    var shape: ServiceShape {
        ServiceShape(pattern: .topic, members: maxPublishers, ring: ring, readerSlots: subscriberSlots, policy: policy,
                     historyDepth: history)
    }
}

/// A message as a topic's subscriber receives it.
public struct TopicMessage: Hashable, Sendable {
    /// The message's bytes.
    public var bytes: [UInt8]
    /// The publisher that published it: its slot and session.
    public var publisher: SenderTag
    /// Its number in that publisher's stream, from 0.
    public var sequence: UInt64
    /// How many messages of that publisher the subscriber missed just before
    /// this one (overwrite policy; always 0 when lossless).
    public var missedBefore: UInt64
}
