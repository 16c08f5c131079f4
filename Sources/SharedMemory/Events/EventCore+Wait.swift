import CShm
import Synchronization

extension EventCore {
    /// The longest single sleep: the segment is checked between slices.
    /// The rings' interval, so that every wait wakes as rarely when idle.
    static let checkInterval: Duration = RingCore.checkInterval

    /// Waits until an id is pending: spins as `strategy` says, then sleeps on
    /// the event counter in slices of at most ``checkInterval``. Throws
    /// `.timedOut` at `deadline` and a truncation error when the segment shrank.
    func waitForPending(strategy: WaitStrategy, deadline: ContinuousClock.Instant?) throws(ChannelError) {
        var spins = 0
        let spinLimit = strategy.spinCount
        while spins < spinLimit {
            if anyPending() { return }
            cshm_spin_pause()
            spins &+= 1
            if spins & 1023 == 0 {
                if let deadline, ContinuousClock.now >= deadline { throw .timedOut }
                try checkIntact()
            }
        }
        let futexWord = UnsafeMutableRawPointer(eventCounter).assumingMemoryBound(to: UInt32.self)
        while true {
            let seen = eventCounter.pointee.load(ordering: .acquiring)
            enterSleep()
            if anyPending() {
                leaveSleep()
                return
            }
            var slice = Self.checkInterval
            if let deadline {
                let left = deadline - .now
                if left <= .zero {
                    leaveSleep()
                    throw .timedOut
                }
                slice = min(slice, left)
            }
            try? system.futexWait(futexWord, expected: seen, timeout: slice)
            leaveSleep()
            if anyPending() { return }
            if let deadline, ContinuousClock.now >= deadline { throw .timedOut }
            try checkIntact()
        }
    }

    /// The `async` twin of ``waitForPending(strategy:deadline:)``: the sleep
    /// suspends the task on ``FutexWaiter``; cancellation ends it with `.cancelled`.
    nonisolated(nonsending) func waitForPendingAsync(strategy: WaitStrategy, deadline: ContinuousClock.Instant?) async throws(ChannelError) {
        var spins = 0
        let spinLimit = min(strategy.spinCount, RingCore.asyncSpinLimit)
        while spins < spinLimit {
            if anyPending() { return }
            cshm_spin_pause()
            spins &+= 1
        }
        if Task.isCancelled { throw .cancelled }
        let futexWord = UnsafeMutableRawPointer(eventCounter).assumingMemoryBound(to: UInt32.self)
        while true {
            let seen = eventCounter.pointee.load(ordering: .acquiring)
            enterSleep()
            if anyPending() {
                leaveSleep()
                return
            }
            var until = ContinuousClock.now + Self.checkInterval
            if let deadline {
                if deadline <= .now {
                    leaveSleep()
                    throw .timedOut
                }
                until = min(until, deadline)
            }
            await FutexWaiter.shared.wait(on: futexWord, expected: seen, until: until)
            leaveSleep()
            if anyPending() { return }
            if Task.isCancelled { throw .cancelled }
            if let deadline, ContinuousClock.now >= deadline { throw .timedOut }
            try checkIntact()
        }
    }

    /// Counts the listener asleep: the count first (sequentially consistent,
    /// before the re-check of the pending ids), the flag second, so that a
    /// death between the two leaves the count one too high, never too low.
    @inline(__always)
    private func enterSleep() {
        SleeperCount(sleepers: sleepers, sleeping: listenerSleeping).enter()
    }

    @inline(__always)
    private func leaveSleep() {
        SleeperCount(sleepers: sleepers, sleeping: listenerSleeping).leave()
    }
}
