import Synchronization

/// What a ``ChannelWaitSet`` needs from one of its sources: the three words
/// of the waiting protocol (see <doc:Concurrency>), a readiness check and a
/// liveness check. A ring reader provides them; another kind of segment
/// (an event listener) joins the set by conforming.
protocol WaitSetSource: AnyObject, Sendable {
    /// The event counter the writer bumps (and wakes) after it publishes.
    var waitEvent: UnsafeMutablePointer<Atomic<UInt32>> { get }
    /// The count of sleepers the writer reads to decide whether to wake.
    /// Other processes may write garbage there: only wrapping arithmetic touches it.
    var waitSleepers: UnsafeMutablePointer<Atomic<UInt32>> { get }
    /// This role's flag that says it is counted in ``waitSleepers``.
    var waitSleeping: UnsafeMutablePointer<Atomic<UInt32>> { get }
    /// Counts this waiter into ``waitSleepers`` (announcing itself on
    /// ``waitEvent`` where the segment's protocol has wakers look for it);
    /// the value of ``waitEvent`` to sleep on.
    func enterSleep() -> UInt32
    /// The backend whose `futex_waitv` the set sleeps in.
    var waitBackend: any SharedMemoryBackend { get }
    /// What a receive would find now, without a system call on the fast path:
    /// `.message`, `.closed` (the writer closed and all is received), or `nil`.
    func readiness() -> ChannelWaitSet.Readiness?
    /// Throws when the source can no longer deliver: its writer died, or its
    /// segment was truncated. Called every ``RingCore/checkInterval`` at most.
    func checkAlive() throws(ChannelError)
}

extension RingReader: WaitSetSource {
    var waitEvent: UnsafeMutablePointer<Atomic<UInt32>> { core.dataEvent }
    var waitSleepers: UnsafeMutablePointer<Atomic<UInt32>> { core.dataSleepers }
    var waitSleeping: UnsafeMutablePointer<Atomic<UInt32>> { core.sleepingFlag(slot: slot) }
    var waitBackend: any SharedMemoryBackend { core.system }

    /// A ring's writer wakes only sleepers announced on the data event.
    func enterSleep() -> UInt32 {
        SleeperCount(sleepers: waitSleepers, sleeping: waitSleeping).enter(announcingOn: waitEvent)
    }

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
    var waitEvent: UnsafeMutablePointer<Atomic<UInt32>> { core.eventCounter }
    var waitSleepers: UnsafeMutablePointer<Atomic<UInt32>> { core.sleepers }
    var waitSleeping: UnsafeMutablePointer<Atomic<UInt32>> { core.listenerSleeping }
    var waitBackend: any SharedMemoryBackend { core.system }

    /// A notifier wakes whenever the count is above 0: the counter is loaded, not announced on.
    func enterSleep() -> UInt32 {
        let seen = waitEvent.pointee.load(ordering: .acquiring)
        SleeperCount(sleepers: waitSleepers, sleeping: waitSleeping).enter()
        return seen
    }

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
