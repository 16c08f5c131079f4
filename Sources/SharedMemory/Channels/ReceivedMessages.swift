import Dispatch

/// A channel's messages as an asynchronous sequence, from
/// ``ChannelReceiver/messages()``. It ends when the sender closes the channel;
/// it throws ``ChannelError/peerDied(_:)`` when the sender dies, and
/// ``ChannelError/cancelled`` when the waiting task is cancelled.
///
/// Waiting happens on a thread of its own, outside Swift's cooperative pool.
/// Iterate from one task at a time: like the receiver it comes from, the
/// sequence is one reader, not a queue that tasks can share.
public struct ReceivedMessages: AsyncSequence, Sendable {
    public typealias Element = [UInt8]
    let reader: RingReader

    public func makeAsyncIterator() -> Iterator { Iterator(reader: reader) }

    public struct Iterator: AsyncIteratorProtocol {
        let reader: RingReader

        public mutating func next() async throws -> [UInt8]? {
            do {
                if let message = try reader.tryReceive({ Array($0) }) { return message }
            } catch .closed {
                return nil
            }
            try Task.checkCancellation()
            let reader = self.reader
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[UInt8]?, any Error>) in
                    DispatchQueue.global().async {
                        do {
                            continuation.resume(returning: try reader.receive(timeout: nil) { Array($0) })
                        } catch {
                            continuation.resume(throwing: error)
                        }
                    }
                }
            } onCancel: {
                reader.cancelWait()
            }
        }
    }
}

/// A subscriber's messages as an asynchronous sequence, from
/// ``Subscriber/messages()``: it ends when the publisher closes the ring, and
/// throws as ``ReceivedMessages`` does.
public struct SubscribedMessages: AsyncSequence, Sendable {
    public typealias Element = SubscriberMessage
    let reader: RingReader

    public func makeAsyncIterator() -> Iterator { Iterator(reader: reader) }

    public struct Iterator: AsyncIteratorProtocol {
        let reader: RingReader

        public mutating func next() async throws -> SubscriberMessage? {
            if let message = try reader.receiveMessage(timeout: nil, waits: false) { return message }
            if reader.isDrainedAndClosed { return nil }
            try Task.checkCancellation()
            let reader = self.reader
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<SubscriberMessage?, any Error>) in
                    DispatchQueue.global().async {
                        do {
                            continuation.resume(returning: try reader.receiveMessage(timeout: nil, waits: true))
                        } catch {
                            continuation.resume(throwing: error)
                        }
                    }
                }
            } onCancel: {
                reader.cancelWait()
            }
        }
    }
}
