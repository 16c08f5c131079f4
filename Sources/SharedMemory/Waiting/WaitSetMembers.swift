import Glibc
import Synchronization

/// The sources of a ``ChannelWaitSet`` and the wait over all of them.
///
/// The wait is the single wait of ``RingCore`` over several words: look at
/// every source; for every source, load its event counters, count this
/// waiter into their sleepers and raise its sleeping flags; then look at
/// every source again; only then sleep in one `futex_waitv` on all the
/// counters, each with the value loaded before counting in; then take this
/// waiter out of every count. A writer that publishes after the look sees
/// the count and bumps the counter, so the sleep returns at once or is
/// woken. The words are collected again at every round: a many-to-one
/// receiver or topic subscriber has one per attached ring, and rings come
/// and go as senders join and leave. Not for concurrent use.
final class WaitSetMembers: @unchecked Sendable {
    enum Member {
        case receiver(RingReader)
        case subscriber(RingReader)
        case listener(ListenerState)
        case manyToOne(ServiceInbox)
        case topic(ServiceInbox)

        var source: any WaitSetSource {
            switch self {
            case .receiver(let reader), .subscriber(let reader): reader
            case .listener(let state): state
            case .manyToOne(let inbox), .topic(let inbox): inbox
            }
        }
    }

    struct Entry {
        let key: ChannelWaitSet.Key
        let member: Member
    }

    private(set) var entries: [Entry] = []
    private var nextKey = 0
    /// When the sources' liveness was last checked.
    private var lastCheck: ContinuousClock.Instant?

    /// Set once `futex_waitv` reported `ENOSYS` (Linux before 5.16).
    static let noWaitv = Atomic<Bool>(false)
    /// The slice of a sleep that cannot cover every word.
    static let pollSlice: Duration = .milliseconds(1)

    func add(_ member: Member) -> ChannelWaitSet.Key {
        let key = ChannelWaitSet.Key(rawValue: nextKey)
        nextKey += 1
        entries.append(Entry(key: key, member: member))
        return key
    }

    func member(_ key: ChannelWaitSet.Key) -> Member? {
        entries.first { $0.key == key }?.member
    }

    @discardableResult
    func remove(_ key: ChannelWaitSet.Key) -> Bool {
        guard let index = entries.firstIndex(where: { $0.key == key }) else { return false }
        entries.remove(at: index)
        return true
    }

    // MARK: Looking

    /// One look at every source: those with a message or drained after a
    /// close, and, at most every ``RingCore/checkInterval``, those whose
    /// liveness check fails while nothing is there to receive.
    func look(now: ContinuousClock.Instant) -> [ChannelWaitSet.Ready] {
        let check = lastCheck.map { now - $0 >= RingCore.checkInterval } ?? true
        if check { lastCheck = now }
        var ready: [ChannelWaitSet.Ready] = []
        for entry in entries {
            let source = entry.member.source
            if let readiness = source.readiness() {
                ready.append(ChannelWaitSet.Ready(key: entry.key, readiness: readiness))
            } else if check {
                do { try source.checkAlive() } catch {
                    ready.append(ChannelWaitSet.Ready(key: entry.key, readiness: .failed(error)))
                }
            }
        }
        return ready
    }

    /// Counts this waiter into every source's sleepers; the words to sleep
    /// on, and the counts to leave after the sleep (``withdraw(_:)``).
    private func announce() -> (words: [FutexWord], counts: [SleeperCount]) {
        var words: [FutexWord] = []
        var counts: [SleeperCount] = []
        words.reserveCapacity(entries.count)
        counts.reserveCapacity(entries.count)
        for entry in entries {
            entry.member.source.enterSleep(words: &words, counts: &counts)
        }
        return (words, counts)
    }

    /// The re-check after ``announce()``: whether any source may have
    /// something that the look before it did not find. Changes nothing.
    private func changedSinceLook() -> Bool {
        entries.contains { $0.member.source.changedSinceLook() }
    }

    /// Takes this waiter out of the sleepers ``announce()`` counted it in.
    private func withdraw(_ counts: [SleeperCount]) {
        for count in counts { count.leave() }
    }

    // MARK: Waiting

    /// Waits until a source is ready or `deadline`; empty at the deadline.
    func wait(deadline: ContinuousClock.Instant?) -> [ChannelWaitSet.Ready] {
        guard !entries.isEmpty else { return [] }
        while true {
            let now = ContinuousClock.now
            let ready = look(now: now)
            if !ready.isEmpty { return ready }
            if let deadline, now >= deadline { return [] }
            let (words, counts) = announce()
            if changedSinceLook() {
                // The next look reports it (or tidies a service reader's rings).
                withdraw(counts)
                continue
            }
            var slice = RingCore.checkInterval
            if let deadline { slice = min(slice, deadline - now) }
            sleep(on: words, slice: slice)
            withdraw(counts)
        }
    }

    /// The `async` twin of ``wait(deadline:)``: the sleep suspends the task on ``FutexWaiter``.
    nonisolated(nonsending) func waitAsync(deadline: ContinuousClock.Instant?) async throws(ChannelError) -> [ChannelWaitSet.Ready] {
        guard !entries.isEmpty else { return [] }
        while true {
            if Task.isCancelled { throw .cancelled }
            let now = ContinuousClock.now
            let ready = look(now: now)
            if !ready.isEmpty { return ready }
            if let deadline, now >= deadline { return [] }
            let (words, counts) = announce()
            if changedSinceLook() {
                // The next look reports it (or tidies a service reader's rings).
                withdraw(counts)
                continue
            }
            var until = now + RingCore.checkInterval
            if let deadline { until = min(until, deadline) }
            await FutexWaiter.shared.wait(onAny: words, until: until)
            withdraw(counts)
        }
    }

    /// One sleep of at most `slice` on `words` (one or more per source).
    private func sleep(on words: [FutexWord], slice: Duration) {
        let system = entries[0].member.source.waitBackend
        var slice = slice
        if words.count > FutexWord.maxCount { slice = min(slice, Self.pollSlice) }
        if !Self.noWaitv.load(ordering: .relaxed) {
            let count = min(words.count, FutexWord.maxCount)
            let result = words.withUnsafeBufferPointer { buffer in
                Result { () throws(Errno) in
                    try system.futexWaitMany(UnsafeBufferPointer(rebasing: buffer[0..<count]), timeout: slice)
                }
            }
            switch result {
            case .success, .failure(.wouldBlock), .failure(.timedOut), .failure(.interrupted):
                return
            case .failure(let error) where error.rawValue == ENOSYS:
                Self.noWaitv.store(true, ordering: .relaxed)
            case .failure:
                // A word the kernel cannot read (a truncated segment): the
                // next look checks every source's liveness, which reports it.
                lastCheck = nil
                usleep(1000)
                return
            }
        }
        // One word at a time, in short slices, the others looked at between them.
        let word = words[0]
        _ = try? system.futexWait(word.pointer, expected: word.expected,
                                  timeout: words.count > 1 ? min(slice, Self.pollSlice) : slice)
    }

    // MARK: Receiving

    /// Receives from `key` without waiting; see ``ChannelWaitSet/tryReceive(from:)``.
    func tryReceive(from key: ChannelWaitSet.Key) -> WaitSetMessage? {
        guard let index = entries.firstIndex(where: { $0.key == key }) else { return nil }
        return tryReceive(at: index)
    }

    /// Receives from the source at `index` without waiting; a source that
    /// ended or failed leaves the set.
    func tryReceive(at index: Int) -> WaitSetMessage? {
        let entry = entries[index]
        do throws(ChannelError) {
            switch entry.member {
            case .receiver(let reader):
                if let bytes = try reader.tryReceive({ Array($0) }) { return .received(entry.key, bytes) }
                return nil
            case .subscriber(let reader):
                if let message = try reader.receiveMessage(timeout: nil, waits: false) {
                    return .published(entry.key, message)
                }
                if reader.isDrainedAndClosed { throw ChannelError.closed }
                return nil
            case .listener(let state):
                let ids = try state.core.take()
                return ids.isEmpty ? nil : .events(entry.key, ids)
            case .manyToOne(let inbox):
                // `.closed` once the channel ended: no sender joined, everything received.
                return try inbox.tryReceive(ManyToOneReceiver.takeMessage).map { .fromSender(entry.key, $0) }
            case .topic(let inbox):
                return try inbox.tryReceive(TopicSubscriber.take).map { .fromPublisher(entry.key, $0) }
            }
        } catch .closed {
            entries.remove(at: index)
            return .ended(entry.key)
        } catch {
            entries.remove(at: index)
            return .failed(entry.key, error)
        }
    }
}
