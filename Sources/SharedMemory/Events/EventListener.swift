/// The listening side of an events segment: one process at a time takes
/// the pending event ids, waiting for them when there are none.
///
/// Each wait returns every id notified since the last one took them, each
/// once, in increasing order: repeats of an id in between coalesce. The
/// listener's role is a lock the kernel releases when the process dies, so
/// a listener that died is replaced by the next one to open the segment.
/// Dropping the listener releases the role; the segment stays until it is
/// removed (``SharedMemorySegment/remove(_:backend:)`` or `shm rm`).
///
/// Events suit users who manage their own memory and need only a "there is
/// something new" signal:
///
/// ```swift
/// // Producer: write into your own segment, then say which part changed.
/// let notifier = try EventNotifier.open(SegmentName("frames-ready"))
/// try notifier.notify(EventID(3)!)        // "buffer 3 is filled"
///
/// // Consumer:
/// let listener = try EventListener.open(SegmentName("frames-ready"))
/// for id in try listener.wait(timeout: .seconds(1)) {
///     print("buffer", id, "is ready") // read buffer `id` of your segment
/// }
/// ```
///
/// A notifier's writes before its ``EventNotifier/notify(_:)`` are visible to
/// the listener after the wait that returns the id (release and acquire
/// through the pending bit).
public struct EventListener: ~Copyable, Sendable {
    let state: ListenerState

    /// Opens the events segment `name` and takes the listener's role.
    ///
    /// - Parameters:
    ///   - name: the segment's name.
    ///   - creating: whether to create the segment when it does not exist.
    ///   - mode: the permission bits of a new segment.
    ///   - wait: how to wait: spinning first, or sleeping at once.
    ///   - backend: the system calls to use.
    /// - Throws: ``ChannelError/busy(_:)`` when another process is listening,
    ///   and the errors of ``EventNotifier/open(_:creating:mode:backend:)``.
    public static func open(
        _ name: SegmentName, creating: Bool = true, mode: UInt32 = SharedMemorySegment.defaultMode,
        wait: WaitStrategy = .default, backend: SharedMemorySegment.Backend = .default
    ) throws(ChannelError) -> EventListener {
        let core = try EventCore.open(name, create: creating, mode: mode, backend: backend)
        guard try core.claimListener() else {
            throw .busy("another process is already listening on \(name.posixName)")
        }
        return EventListener(state: ListenerState(core: core, strategy: wait))
    }

    /// The segment's name.
    public var name: SegmentName { state.core.name }

    /// Takes the pending ids, waiting up to `timeout` (nil: as long as it takes) for one.
    /// - Returns: at least one id, in increasing order.
    /// - Throws: ``ChannelError/timedOut``, or ``ChannelError/badChannel(_:)``
    ///   when the segment was truncated under this process.
    public func wait(timeout: Duration? = nil) throws(ChannelError) -> [EventID] {
        let ids = try state.core.take()
        if !ids.isEmpty { return ids }
        let deadline = deadline(after: timeout)
        while true {
            try state.core.waitForPending(strategy: state.strategy, deadline: deadline)
            let ids = try state.core.take()
            if !ids.isEmpty { return ids }
        }
    }

    /// Takes the pending ids without waiting; empty when there are none.
    /// - Throws: ``ChannelError/badChannel(_:)`` when the segment was truncated under this process.
    public func tryWait() throws(ChannelError) -> [EventID] {
        try state.core.take()
    }

    /// Takes the pending ids, suspending the task (never blocking its
    /// thread) up to `timeout` for one.
    /// - Throws: ``ChannelError/cancelled`` when the task is cancelled, and
    ///   the errors of ``wait(timeout:)-3yp6y``.
    nonisolated(nonsending) public func wait(timeout: Duration? = nil) async throws(ChannelError) -> [EventID] {
        try await state.next(deadline: deadline(after: timeout))
    }

    /// The ids as an asynchronous sequence, one id at a time, in increasing
    /// order within each batch taken; it never ends by itself. Cancelling the
    /// task ends it with ``ChannelError/cancelled``.
    public consuming func events() -> ListenedEvents { ListenedEvents(state: state) }
}

/// The listener's role in this process: released when the last of the
/// listener and its sequences is gone.
final class ListenerState: Sendable {
    let core: EventCore
    let strategy: WaitStrategy

    init(core: EventCore, strategy: WaitStrategy) {
        self.core = core
        self.strategy = strategy
    }

    deinit { core.releaseListener() }

    /// Takes the pending ids, suspending until there is one or `deadline`.
    nonisolated(nonsending) func next(deadline: ContinuousClock.Instant?) async throws(ChannelError) -> [EventID] {
        while true {
            let ids = try core.take()
            if !ids.isEmpty { return ids }
            if Task.isCancelled { throw .cancelled }
            try await core.waitForPendingAsync(strategy: strategy, deadline: deadline)
        }
    }
}

/// A listener's event ids as an asynchronous sequence, from
/// ``EventListener/events()``. It never ends by itself; it throws
/// ``ChannelError/cancelled`` when the waiting task is cancelled.
///
/// Iterate it from one task: two iterators would share the ids between them.
public struct ListenedEvents: AsyncSequence, Sendable {
    /// One event id.
    public typealias Element = EventID
    /// The one error type of the sequence.
    public typealias Failure = ChannelError
    let state: ListenerState

    /// The iterator.
    public func makeAsyncIterator() -> Iterator { Iterator(state: state) }

    /// Takes the ids in batches and hands them out one by one. Ids of a
    /// batch not handed out when the iterator is dropped are marked pending
    /// again, for the next wait.
    public struct Iterator: AsyncIteratorProtocol {
        let batch: Batch

        init(state: ListenerState) { batch = Batch(state: state) }

        /// The next id, waiting for one as long as it takes.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws(ChannelError) -> EventID? {
            try await batch.next()
        }

        /// The next id; see ``next(isolation:)``.
        public mutating func next() async throws(ChannelError) -> EventID? {
            try await batch.next()
        }
    }

    /// The ids taken and not yet handed out.
    final class Batch {
        let state: ListenerState
        var ids: [EventID] = []
        var index = 0

        init(state: ListenerState) { self.state = state }

        deinit {
            guard index < ids.count else { return }
            for id in ids[index...] { state.core.mark(id) }
            state.core.wakeIfSleeping()
        }

        nonisolated(nonsending) func next() async throws(ChannelError) -> EventID? {
            if index == ids.count {
                ids = try await state.next(deadline: nil)
                index = 0
            }
            defer { index += 1 }
            return ids[index]
        }
    }
}
