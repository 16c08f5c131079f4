/// Waits on several sources of every kind at once, from one thread or task,
/// and says which are ready; or merges their messages into one asynchronous
/// sequence (``messages()``) without a task per source. A source is a
/// ``ChannelReceiver``, a ``Subscriber``, an ``EventListener``, a
/// ``ManyToOneReceiver`` or a ``TopicSubscriber``. (A ``RequestServer`` is
/// not: it is shared by the tasks that take its requests, so a set cannot
/// own it; see <doc:Concurrency>.)
///
/// The set owns its sources: `add(_:)` consumes one and returns a ``Key``;
/// ``withReceiver(_:_:)``, ``withSubscriber(_:_:)``,
/// ``withManyToOneReceiver(_:_:)`` and ``withTopicSubscriber(_:_:)`` lend
/// one out for the length of a closure (to receive in place, or in any other
/// way), and ``removeReceiver(_:)``, ``removeSubscriber(_:)``,
/// ``removeListener(_:)``, ``removeManyToOneReceiver(_:)`` or
/// ``removeTopicSubscriber(_:)`` hands it back. Owning, rather than
/// borrowing for one wait, keeps the set a plain value: it can be moved into
/// a task, and no receiver can be used by two owners at once.
///
/// `wait(timeout:)` sleeps in one `futex_waitv` on every
/// source's event words: a ring's data event, a listener's event counter,
/// and for a many-to-one receiver or topic subscriber the data event of
/// every sender's ring it is attached to plus the service's membership
/// event. Those words are collected again at every round of the wait, so a
/// sender that joins or leaves while the set waits is taken into account;
/// a message on any source wakes it, and no wake-up is lost (see
/// <doc:Concurrency>). It returns every source that is
/// ready: one with a message, one whose sender closed (a many-to-one
/// channel or topic: that ended) and whose messages are
/// all received, and one whose sender died or whose segment was truncated,
/// with the error, so that one broken source never fails the set. The
/// readiness is level-triggered: a source is reported again, at every wait,
/// until its message is received or it is removed.
///
/// ```swift
/// var set = ChannelWaitSet()
/// let orders = set.add(try ChannelReceiver.open("orders"))
/// let prices = set.add(try Subscriber.open("prices"))
/// for ready in set.wait(timeout: .seconds(1)) {
///     if let message = try set.tryReceive(from: ready.key) { print(message) }
/// }
/// ```
///
/// Up to 128 words (the kernel's limit for one `futex_waitv`) are slept
/// on; a set with more (more than 128 sources, or service sources attached
/// to many rings) is watched too, with the words past 128 looked at every
/// millisecond. Not for use from several threads at once (it is
/// `~Copyable`: only its owner can wait on it).
public struct ChannelWaitSet: ~Copyable, Sendable {
    let members: WaitSetMembers

    /// Names a source in the set; keys are never reused within one set.
    public struct Key: Hashable, Comparable, Sendable, CustomStringConvertible {
        /// The key's number: 0 for the first source added, then 1, 2 and so on.
        public let rawValue: Int

        /// Orders keys by the time their source was added.
        public static func < (lhs: Key, rhs: Key) -> Bool { lhs.rawValue < rhs.rawValue }

        /// The key's number, as `#3`.
        public var description: String { "#\(rawValue)" }
    }

    /// Why a source is ready.
    public enum Readiness: Hashable, Sendable {
        /// A message is there to receive.
        case message
        /// The sender closed and every message is received: the source is drained.
        case closed
        /// The source can no longer deliver: ``ChannelError/peerDied(_:)``
        /// when its sender died (after every whole message was received),
        /// ``ChannelError/badChannel(_:)`` when its segment was truncated or corrupted.
        case failed(ChannelError)
    }

    /// One ready source.
    public struct Ready: Hashable, Sendable {
        /// The source.
        public let key: Key
        /// Why it is ready.
        public let readiness: Readiness
    }

    /// An empty set.
    public init() { members = WaitSetMembers() }

    /// How many sources the set holds.
    public var count: Int { members.entries.count }
    /// Whether the set holds no source.
    public var isEmpty: Bool { members.entries.isEmpty }
    /// The keys of the sources, in the order they were added.
    public var keys: [Key] { members.entries.map(\.key) }

    /// Adds a channel receiver; the set owns it until it is removed.
    @discardableResult
    public mutating func add(_ receiver: consuming ChannelReceiver) -> Key {
        members.add(.receiver(receiver.reader))
    }

    /// Adds a subscriber; the set owns it until it is removed.
    @discardableResult
    public mutating func add(_ subscriber: consuming Subscriber) -> Key {
        members.add(.subscriber(subscriber.reader))
    }

    /// Adds an event listener; the set owns it until it is removed. Its
    /// pending ids arrive as ``WaitSetMessage/events(_:_:)``.
    @discardableResult
    public mutating func add(_ listener: consuming EventListener) -> Key {
        members.add(.listener(listener.state))
    }

    /// Adds a many-to-one channel's receiver; the set owns it until it is
    /// removed. Its messages arrive as ``WaitSetMessage/fromSender(_:_:)``,
    /// and its end (a sender joined once, none is joined now, everything is
    /// received) as ``WaitSetMessage/ended(_:)``, after which it left the
    /// set. A sender that joins while the set waits wakes the wait (the
    /// receiver counts itself in on the membership event).
    @discardableResult
    public mutating func add(_ receiver: consuming ManyToOneReceiver) -> Key {
        members.add(.manyToOne(receiver.inbox))
    }

    /// Adds a topic subscriber; the set owns it until it is removed. Its
    /// messages arrive as ``WaitSetMessage/fromPublisher(_:_:)``, and its end
    /// (a publisher joined once, none is joined now, everything is received)
    /// as ``WaitSetMessage/ended(_:)``. A publisher
    /// that joins is found by the subscriber's scans, at least every 250 ms,
    /// as in ``TopicSubscriber/receive(timeout:)-39ncv``.
    @discardableResult
    public mutating func add(_ subscriber: consuming TopicSubscriber) -> Key {
        members.add(.topic(subscriber.inbox))
    }

    /// Takes the many-to-one receiver `key` out of the set and hands it
    /// back; `nil` when `key` names no many-to-one receiver of this set.
    public mutating func removeManyToOneReceiver(_ key: Key) -> ManyToOneReceiver? {
        guard case .manyToOne(let inbox)? = members.member(key) else { return nil }
        members.remove(key)
        return ManyToOneReceiver(inbox: inbox)
    }

    /// Takes the topic subscriber `key` out of the set and hands it back;
    /// `nil` when `key` names no topic subscriber of this set.
    public mutating func removeTopicSubscriber(_ key: Key) -> TopicSubscriber? {
        guard case .topic(let inbox)? = members.member(key) else { return nil }
        members.remove(key)
        return TopicSubscriber(inbox: inbox)
    }

    /// Takes the listener `key` out of the set and hands it back; `nil` when
    /// `key` names no listener of this set.
    public mutating func removeListener(_ key: Key) -> EventListener? {
        guard case .listener(let state)? = members.member(key) else { return nil }
        members.remove(key)
        return EventListener(state: state)
    }

    /// Takes the receiver `key` out of the set and hands it back; `nil` when
    /// `key` names no receiver of this set.
    public mutating func removeReceiver(_ key: Key) -> ChannelReceiver? {
        guard case .receiver(let reader)? = members.member(key) else { return nil }
        members.remove(key)
        return ChannelReceiver(reader: reader)
    }

    /// Takes the subscriber `key` out of the set and hands it back; `nil`
    /// when `key` names no subscriber of this set.
    public mutating func removeSubscriber(_ key: Key) -> Subscriber? {
        guard case .subscriber(let reader)? = members.member(key) else { return nil }
        members.remove(key)
        return Subscriber(reader: reader)
    }

    /// Removes source `key` and drops it (a receiver closes its end, a
    /// subscriber leaves, a many-to-one receiver stops receiving);
    /// `false` when the set holds no such source.
    @discardableResult
    public mutating func remove(_ key: Key) -> Bool {
        members.remove(key)
    }

    /// Calls `body` with the receiver `key`, lent for the call; `nil` when
    /// `key` names no receiver of this set.
    public func withReceiver<R, E: Error>(_ key: Key, _ body: (borrowing ChannelReceiver) throws(E) -> R) throws(E) -> R? {
        guard case .receiver(let reader)? = members.member(key) else { return nil }
        let receiver = ChannelReceiver(reader: reader)
        return try body(receiver)
    }

    /// Calls `body` with the subscriber `key`, lent for the call; `nil` when
    /// `key` names no subscriber of this set.
    public func withSubscriber<R, E: Error>(_ key: Key, _ body: (borrowing Subscriber) throws(E) -> R) throws(E) -> R? {
        guard case .subscriber(let reader)? = members.member(key) else { return nil }
        let subscriber = Subscriber(reader: reader)
        return try body(subscriber)
    }

    /// Calls `body` with the many-to-one receiver `key`, lent for the call;
    /// `nil` when `key` names no many-to-one receiver of this set.
    public func withManyToOneReceiver<R, E: Error>(_ key: Key, _ body: (borrowing ManyToOneReceiver) throws(E) -> R) throws(E) -> R? {
        guard case .manyToOne(let inbox)? = members.member(key) else { return nil }
        let receiver = ManyToOneReceiver(inbox: inbox)
        return try body(receiver)
    }

    /// Calls `body` with the topic subscriber `key`, lent for the call;
    /// `nil` when `key` names no topic subscriber of this set.
    public func withTopicSubscriber<R, E: Error>(_ key: Key, _ body: (borrowing TopicSubscriber) throws(E) -> R) throws(E) -> R? {
        guard case .topic(let inbox)? = members.member(key) else { return nil }
        let subscriber = TopicSubscriber(inbox: inbox)
        return try body(subscriber)
    }

    /// Receives from source `key` without waiting: its next message, its end
    /// (``WaitSetMessage/ended(_:)``) or its failure
    /// (``WaitSetMessage/failed(_:_:)``), after which the source has left the
    /// set; `nil` when nothing is there now or `key` names no source.
    public mutating func tryReceive(from key: Key) -> WaitSetMessage? {
        members.tryReceive(from: key)
    }

    /// Waits until at least one source is ready, or `timeout` (nil: as long
    /// as it takes) passes, blocking the calling thread.
    /// - Returns: the ready sources in the order they were added; empty when
    ///   the timeout passed first (`.zero` only looks), or the set is empty.
    public func wait(timeout: Duration? = nil) -> [Ready] {
        members.wait(deadline: deadline(after: timeout))
    }

    /// Waits until at least one source is ready or `timeout` passes,
    /// suspending the task (never blocking a thread of the pool); see
    /// `wait(timeout:)`.
    /// - Throws: ``ChannelError/cancelled`` when the task is cancelled.
    nonisolated(nonsending) public func wait(timeout: Duration? = nil) async throws(ChannelError) -> [Ready] {
        try await members.waitAsync(deadline: deadline(after: timeout))
    }

    /// The messages of every source, merged into one asynchronous sequence
    /// that one task iterates; see ``WaitSetMessages``.
    public consuming func messages() -> WaitSetMessages { WaitSetMessages(members: members) }
}

/// One item of a wait set's merged stream, saying which source it comes from.
public enum WaitSetMessage: Hashable, Sendable {
    /// A message from a channel receiver.
    case received(ChannelWaitSet.Key, [UInt8])
    /// A message from a subscriber.
    case published(ChannelWaitSet.Key, SubscriberMessage)
    /// The ids an event listener took, in increasing order (at least one).
    case events(ChannelWaitSet.Key, [EventID])
    /// A message from a many-to-one receiver, tagged with its sender.
    case fromSender(ChannelWaitSet.Key, ManyToOneMessage)
    /// A message from a topic subscriber, tagged with its publisher.
    case fromPublisher(ChannelWaitSet.Key, TopicMessage)
    /// The source's sender closed and every message is received (a
    /// many-to-one channel or topic: it ended, see
    /// ``ManyToOneReceiver/receive(timeout:)-47k5m``); the source left the set.
    case ended(ChannelWaitSet.Key)
    /// The source failed (its sender died after every whole message was
    /// received, or its segment was truncated or corrupted); it left the set.
    case failed(ChannelWaitSet.Key, ChannelError)

    /// The source the item comes from.
    public var key: ChannelWaitSet.Key {
        switch self {
        case .received(let key, _), .published(let key, _), .events(let key, _), .fromSender(let key, _),
             .fromPublisher(let key, _), .ended(let key), .failed(let key, _): key
        }
    }
}
