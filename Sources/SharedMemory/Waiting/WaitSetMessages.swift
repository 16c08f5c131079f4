import Synchronization

/// The merged messages of a ``ChannelWaitSet``, from ``ChannelWaitSet/messages()``:
/// one task receives from every source, without a task per source.
///
/// Each element says which source it comes from (``WaitSetMessage``). The
/// sources are served in turn, one message each, so that a busy source
/// cannot starve the others; when none has a message, the task suspends on
/// all of them at once (see `ChannelWaitSet.wait(timeout:)`).
/// A source whose sender closed (a many-to-one channel or topic: that
/// ended) yields ``WaitSetMessage/ended(_:)`` once,
/// a source whose sender died or whose segment broke yields
/// ``WaitSetMessage/failed(_:_:)`` once, and either leaves; the sequence ends
/// when no source is left. Cancelling the task ends a wait with
/// ``ChannelError/cancelled``. The sequence can be iterated once (a second
/// ``makeAsyncIterator()`` is a precondition failure), from one task.
public struct WaitSetMessages: AsyncSequence, Sendable {
    /// A message, end or failure, with its source's key.
    public typealias Element = WaitSetMessage
    /// The one error type of the sequence.
    public typealias Failure = ChannelError

    private let box: Box

    init(members: WaitSetMembers) { box = Box(members) }

    /// The iterator; a second call is a precondition failure.
    public func makeAsyncIterator() -> Iterator { Iterator(members: box.take()) }

    /// Receives the merged messages.
    public struct Iterator: AsyncIteratorProtocol {
        var members: WaitSetMembers
        /// The index of the source served first in the next round.
        var cursor = 0

        /// The next message, end or failure; `nil` once no source is left.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws(ChannelError) -> WaitSetMessage? {
            try await step()
        }

        /// The next message, end or failure; see ``next(isolation:)``.
        public mutating func next() async throws(ChannelError) -> WaitSetMessage? {
            try await step()
        }

        nonisolated(nonsending) private mutating func step() async throws(ChannelError) -> WaitSetMessage? {
            while !members.entries.isEmpty {
                let count = members.entries.count
                for offset in 0..<count {
                    let index = (cursor + offset) % count
                    if let item = members.tryReceive(at: index) {
                        cursor = index + 1
                        return item
                    }
                }
                let ready = try await members.waitAsync(deadline: nil)
                for item in ready {
                    if case .failed(let error) = item.readiness, members.remove(item.key) {
                        return .failed(item.key, error)
                    }
                }
            }
            return nil
        }
    }

    /// Hands the members to the one iterator.
    final class Box: Sendable {
        private let members: Mutex<WaitSetMembers?>

        init(_ members: WaitSetMembers) { self.members = Mutex(members) }

        func take() -> WaitSetMembers {
            guard let members = members.withLock({ $0.take() }) else {
                preconditionFailure("a WaitSetMessages sequence can be iterated once")
            }
            return members
        }
    }
}
