import Synchronization

// The `async` side of many-to-one channels and topics: a wait suspends the
// task on the process's futex waiter (one wait on every attached ring and the
// membership event), never blocking a thread of the cooperative pool;
// cancelling the task ends it with ``ChannelError/cancelled``.

extension ManyToOneReceiver {
    /// Receives the next message of any sender, suspending up to `timeout` (nil: as long as it takes).
    /// - Returns: the message, or `nil` when the channel ended (see ``receive(timeout:)-47k5m``).
    /// - Throws: ``ChannelError/timedOut``, ``ChannelError/cancelled``, and the errors of the blocking receive.
    nonisolated(nonsending) public func receive(timeout: Duration? = nil) async throws(ChannelError) -> ManyToOneMessage? {
        try await inbox.receiveAsync(timeout: timeout, ManyToOneMessages.take)
    }

    /// The messages as an asynchronous sequence, which ends when the channel
    /// ends. Cancelling the task ends a wait with ``ChannelError/cancelled``.
    public consuming func messages() -> ManyToOneMessages { ManyToOneMessages(inbox: inbox) }
}

extension TopicSubscriber {
    /// Receives the next message of any publisher, suspending up to `timeout` (nil: as long as it takes).
    /// - Returns: the message, or `nil` when the topic ended for this subscriber.
    /// - Throws: ``ChannelError/timedOut``, ``ChannelError/cancelled``, and the errors of the blocking receive.
    nonisolated(nonsending) public func receive(timeout: Duration? = nil) async throws(ChannelError) -> TopicMessage? {
        try await inbox.receiveAsync(timeout: timeout, TopicMessages.take)
    }

    /// The messages as an asynchronous sequence, which ends when the topic
    /// ends for this subscriber. Cancelling the task ends a wait with ``ChannelError/cancelled``.
    public consuming func messages() -> TopicMessages { TopicMessages(inbox: inbox) }
}

/// A many-to-one channel's messages as an asynchronous sequence, from
/// ``ManyToOneReceiver/messages()``. The sequence is the receiver: it can be
/// iterated once (a second ``makeAsyncIterator()`` is a precondition
/// failure), from one task.
public struct ManyToOneMessages: AsyncSequence, Sendable {
    /// A message and its sender.
    public typealias Element = ManyToOneMessage
    /// The one error type of the sequence.
    public typealias Failure = ChannelError
    let source: OnceInbox

    init(inbox: ServiceInbox) { source = OnceInbox(inbox) }

    /// The iterator; a second call is a precondition failure.
    public func makeAsyncIterator() -> Iterator { Iterator(inbox: source.take()) }

    /// Receives the messages, each sender's in order.
    public struct Iterator: AsyncIteratorProtocol {
        var inbox: ServiceInbox?

        /// The next message, or `nil` once the channel ended.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws(ChannelError) -> ManyToOneMessage? {
            try await ServiceInbox.nextElement(&inbox, ManyToOneMessages.take)
        }

        /// The next message; see ``next(isolation:)``.
        public mutating func next() async throws(ChannelError) -> ManyToOneMessage? {
            try await ServiceInbox.nextElement(&inbox, ManyToOneMessages.take)
        }
    }

    static func take(_ reader: RingReader, _ tag: SenderTag) throws(ChannelError) -> ManyToOneMessage? {
        do {
            // Released in runs, as every receive of a many-to-one channel (see ServiceInbox.consume).
            return try reader.tryReceiveDeferred { ManyToOneMessage(bytes: Array($0), sender: tag) }
        } catch .closed {
            return nil
        }
    }
}

/// A topic's messages as an asynchronous sequence, from
/// ``TopicSubscriber/messages()``; it behaves as ``ManyToOneMessages`` does.
public struct TopicMessages: AsyncSequence, Sendable {
    /// A message, its publisher and its place in that publisher's stream.
    public typealias Element = TopicMessage
    /// The one error type of the sequence.
    public typealias Failure = ChannelError
    let source: OnceInbox

    init(inbox: ServiceInbox) { source = OnceInbox(inbox) }

    /// The iterator; a second call is a precondition failure.
    public func makeAsyncIterator() -> Iterator { Iterator(inbox: source.take()) }

    /// Receives the messages, each publisher's in order.
    public struct Iterator: AsyncIteratorProtocol {
        var inbox: ServiceInbox?

        /// The next message, or `nil` once the topic ended for this subscriber.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws(ChannelError) -> TopicMessage? {
            try await ServiceInbox.nextElement(&inbox, TopicMessages.take)
        }

        /// The next message; see ``next(isolation:)``.
        public mutating func next() async throws(ChannelError) -> TopicMessage? {
            try await ServiceInbox.nextElement(&inbox, TopicMessages.take)
        }
    }

    static func take(_ reader: RingReader, _ tag: SenderTag) throws(ChannelError) -> TopicMessage? {
        try reader.receiveMessage(timeout: nil, waits: false).map {
            TopicMessage(bytes: $0.bytes, publisher: tag, sequence: $0.sequence, missedBefore: $0.missedBefore)
        }
    }
}

/// The inbox behind a message sequence, handed out to one iterator only.
final class OnceInbox: Sendable {
    private let inbox: Mutex<ServiceInbox?>

    init(_ inbox: ServiceInbox) { self.inbox = Mutex(inbox) }

    func take() -> ServiceInbox {
        let taken = inbox.withLock { value -> ServiceInbox? in
            defer { value = nil }
            return value
        }
        guard let taken else {
            preconditionFailure("a many-to-one channel's or topic's messages can be iterated only once: the sequence is the reader")
        }
        return taken
    }
}

extension ServiceInbox {
    /// The next element of a sequence; drops `inbox` (closing it) when the
    /// sequence ends or fails for good (anything but a timeout or a cancellation).
    nonisolated(nonsending) static func nextElement<R>(
        _ inbox: inout ServiceInbox?, _ take: (RingReader, SenderTag) throws(ChannelError) -> R?
    ) async throws(ChannelError) -> R? {
        guard let current = inbox else { return nil }
        do {
            guard let element = try await current.receiveAsync(timeout: nil, take) else {
                inbox = nil
                return nil
            }
            return element
        } catch .cancelled {
            throw .cancelled
        } catch {
            inbox = nil
            throw error
        }
    }
}
