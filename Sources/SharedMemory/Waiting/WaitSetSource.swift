import Synchronization

/// What a ``ChannelWaitSet`` needs from one of its sources: its part of
/// the waiting protocol (see <doc:Concurrency>), a readiness check and a
/// liveness check. A ring reader and an event listener sleep on one word; a
/// many-to-one receiver or topic subscriber (``ServiceInbox``) on one word
/// per attached ring and the service's membership event, a set of words
/// that it collects again at every round of a wait, as senders join and leave.
protocol WaitSetSource: AnyObject, Sendable {
    /// Counts this waiter in where the source's wakers look (announcing
    /// itself on the event words where the segment's protocol has wakers
    /// look for that), appending the words to sleep on to `words` and the
    /// counts entered to `counts`, which the set leaves after the sleep.
    /// Nothing may change which counts a source entered before they are left.
    func enterSleep(words: inout [FutexWord], counts: inout [SleeperCount])
    /// The backend whose `futex_waitv` the set sleeps in.
    var waitBackend: any SharedMemoryBackend { get }
    /// What a receive would find now, without a system call on the fast path:
    /// `.message`, `.closed` (the writer closed and all is received), or `nil`.
    /// It may tidy the source (a service reader attaches new rings and
    /// detaches drained ones here); it is never called while counted in.
    func readiness() -> ChannelWaitSet.Readiness?
    /// The re-check after ``enterSleep(words:counts:)``, before the sleep:
    /// whether anything may have changed since ``readiness()`` found nothing.
    /// Changes nothing (the counts entered must stay valid).
    func changedSinceLook() -> Bool
    /// Throws when the source can no longer deliver: its writer died, or its
    /// segment was truncated. Called every ``RingCore/checkInterval`` at most.
    func checkAlive() throws(ChannelError)
}

extension RingReader: WaitSetSource {
    var waitBackend: any SharedMemoryBackend { core.system }

    /// A ring's writer wakes only sleepers announced on the data event.
    func enterSleep(words: inout [FutexWord], counts: inout [SleeperCount]) {
        let count = SleeperCount(sleepers: core.dataSleepers, sleeping: core.sleepingFlag(slot: slot))
        let seen = count.enter(announcingOn: core.dataEvent)
        words.append(FutexWord(UnsafeMutableRawPointer(core.dataEvent).assumingMemoryBound(to: UInt32.self), expected: seen))
        counts.append(count)
    }

    func changedSinceLook() -> Bool { readiness() != nil }

    func readiness() -> ChannelWaitSet.Readiness? {
        // Sequentially consistent, as in the single wait: ordered after the
        // sleeper count this waiter announced, so a publish is seen here or
        // the writer sees the count and wakes.
        if core.writePosition.pointee.load(ordering: .sequentiallyConsistent) != currentPosition { return .message }
        if writerClosed {
            // Anything published before the close is visible now.
            return core.writePosition.pointee.load(ordering: .acquiring) != currentPosition ? .message : .closed
        }
        return nil
    }

    func checkAlive() throws(ChannelError) {
        try core.checkIntact()
        try checkWriter()
    }
}

extension ListenerState: WaitSetSource {
    var waitBackend: any SharedMemoryBackend { core.system }

    /// A notifier wakes whenever the count is above 0: the counter is loaded, not announced on.
    func enterSleep(words: inout [FutexWord], counts: inout [SleeperCount]) {
        let seen = core.eventCounter.pointee.load(ordering: .acquiring)
        let count = SleeperCount(sleepers: core.sleepers, sleeping: core.listenerSleeping)
        count.enter()
        words.append(FutexWord(UnsafeMutableRawPointer(core.eventCounter).assumingMemoryBound(to: UInt32.self), expected: seen))
        counts.append(count)
    }

    func changedSinceLook() -> Bool { readiness() != nil }

    /// Pending ids are a message; the loads are sequentially consistent, as
    /// the listener's own re-check before it sleeps.
    func readiness() -> ChannelWaitSet.Readiness? {
        core.anyPending() ? .message : nil
    }

    /// Notifiers hold no role, so only the segment can fail: a truncation.
    func checkAlive() throws(ChannelError) {
        try core.checkIntact()
    }
}

extension ServiceInbox: WaitSetSource {
    var waitBackend: any SharedMemoryBackend { service.system }

    /// One word per attached ring and the membership event; see ``enterWaitSetSleep(words:counts:)``.
    func enterSleep(words: inout [FutexWord], counts: inout [SleeperCount]) {
        enterWaitSetSleep(words: &words, counts: &counts)
    }

    /// Scans, detaches drained rings of departed senders, and reports a
    /// message, the end (`.closed`), or a ring or header that breaks the layout.
    func readiness() -> ChannelWaitSet.Readiness? {
        do { return try waitSetLook() } catch { return .failed(error) }
    }

    func changedSinceLook() -> Bool { changedSinceWaitSetLook }

    /// A sender that dies is not a failure (its ring is drained and
    /// detached); only a truncated segment is.
    func checkAlive() throws(ChannelError) {
        try checkRingsIntact()
    }
}
