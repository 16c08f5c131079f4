import Synchronization

/// A channel's messages as an asynchronous sequence, from
/// ``ChannelReceiver/messages()``. It ends when the sender closes the channel;
/// it throws ``ChannelError/peerDied(_:)`` when the sender dies, and
/// ``ChannelError/cancelled`` when the waiting task is cancelled.
///
/// A wait suspends the task on the process's futex waiter and never blocks
/// a thread of the cooperative pool; a message that is there already is
/// taken without suspending. The sequence is the receiver: it can be
/// iterated once (a second ``makeAsyncIterator()`` is a precondition
/// failure), from one task; `for try await` in an actor or any other
/// isolation uses ``Iterator/next(isolation:)``, so nothing is sent between
/// isolation domains. The receiver stays attached until the sequence and its
/// iterator are gone.
public struct ReceivedMessages: AsyncSequence, Sendable {
    /// A message's bytes.
    public typealias Element = [UInt8]
    /// The one error type of the sequence.
    public typealias Failure = ChannelError
    let source: OnceIterable

    init(reader: RingReader) { source = OnceIterable(reader: reader) }

    /// The iterator; a second call is a precondition failure.
    public func makeAsyncIterator() -> Iterator { Iterator(reader: source.take()) }

    /// Receives the messages in order.
    public struct Iterator: AsyncIteratorProtocol {
        var reader: RingReader?

        /// The next message, or `nil` once the sender closed the channel and all is received.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws(ChannelError) -> [UInt8]? {
            try await RingReader.nextElement(&reader) { bytes, _ in Array(bytes) }
        }

        /// The next message; see ``next(isolation:)``.
        public mutating func next() async throws(ChannelError) -> [UInt8]? {
            try await RingReader.nextElement(&reader) { bytes, _ in Array(bytes) }
        }
    }
}

/// A subscriber's messages as an asynchronous sequence, from
/// ``Subscriber/messages()``: it ends when the publisher closes the ring, and
/// behaves as ``ReceivedMessages`` does.
public struct SubscribedMessages: AsyncSequence, Sendable {
    /// A message with its sequence number.
    public typealias Element = SubscriberMessage
    /// The one error type of the sequence.
    public typealias Failure = ChannelError
    let source: OnceIterable

    init(reader: RingReader) { source = OnceIterable(reader: reader) }

    /// The iterator; a second call is a precondition failure.
    public func makeAsyncIterator() -> Iterator { Iterator(reader: source.take()) }

    /// Receives the messages in order.
    public struct Iterator: AsyncIteratorProtocol {
        var reader: RingReader?

        /// The next message, or `nil` once the publisher closed the ring and all is received.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws(ChannelError) -> SubscriberMessage? {
            try await RingReader.nextElement(&reader, Self.message)
        }

        /// The next message; see ``next(isolation:)``.
        public mutating func next() async throws(ChannelError) -> SubscriberMessage? {
            try await RingReader.nextElement(&reader, Self.message)
        }

        private static func message(_ bytes: UnsafeRawBufferPointer, _ record: RingRecord) -> SubscriberMessage {
            SubscriberMessage(bytes: Array(bytes), sequence: record.sequence, missedBefore: record.missedBefore)
        }
    }
}

/// The reader behind a message sequence, handed out to one iterator only:
/// the iterator then holds the only reference, and drops it when the
/// sequence ends, so the receiver detaches (and a last-close channel's name
/// goes) as soon as the loop is over.
final class OnceIterable: Sendable {
    private let reader: Mutex<RingReader?>

    init(reader: RingReader) { self.reader = Mutex(reader) }

    func take() -> RingReader {
        let taken = reader.withLock { value -> RingReader? in
            defer { value = nil }
            return value
        }
        guard let taken else {
            preconditionFailure("a channel's messages can be iterated only once: the sequence is the one receiver")
        }
        return taken
    }
}

extension RingReader {
    /// The next message of a sequence, made by `make`; drops `reader` when
    /// the sequence ends (`nil`) or fails for good (anything but a timeout
    /// or a cancellation, after which the next call may still succeed).
    nonisolated(nonsending) static func nextElement<R>(
        _ reader: inout RingReader?, _ make: (UnsafeRawBufferPointer, RingRecord) -> R
    ) async throws(ChannelError) -> R? {
        guard let current = reader else { return nil }
        do {
            guard let element = try await current.receiveAsync(timeout: nil, make) else {
                reader = nil
                return nil
            }
            return element
        } catch .cancelled {
            throw .cancelled
        } catch {
            reader = nil
            throw error
        }
    }
}
