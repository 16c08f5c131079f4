import CShm
import Synchronization

extension RingCore {
    /// The `async` twin of ``wait(until:event:sleepers:sleeping:strategy:deadline:check:cancelled:)``:
    /// the same steps (spin, if few enough roles of a publish/subscribe ring spin; announce the sleeper, check, sleep, leave, check the
    /// peer and the segment every ``checkInterval``), but the sleep suspends the
    /// task on ``FutexWaiter`` instead of blocking its thread. The spin is
    /// bounded by `strategy` as in the blocking wait (`.spin` spins at most
    /// ``asyncSpinLimit`` rounds: a task must not hold a pool thread for long).
    /// Task cancellation ends the wait with `.cancelled`.
    nonisolated(nonsending) func waitAsync(
        until ready: () throws(ChannelError) -> Bool,
        event: UnsafeMutablePointer<Atomic<UInt32>>, sleepers: UnsafeMutablePointer<Atomic<UInt32>>,
        sleeping: UnsafeMutablePointer<Atomic<UInt32>>,
        strategy: WaitStrategy, deadline: ContinuousClock.Instant?,
        check: () throws(ChannelError) -> Void
    ) async throws(ChannelError) {
        var spinLimit = min(strategy.spinCount, Self.asyncSpinLimit)
        var spinBit: UInt32 = 0
        if flavour == .publishSubscribe && spinLimit > 0 {
            spinBit = roleSpinBit(sleeping)
            if !startSpinning(spinBit) {
                spinLimit = 0
                spinBit = 0
            }
        }
        var spins = 0
        while spins < spinLimit {
            let readyNow: Bool
            do { readyNow = try ready() } catch {
                stopSpinning(spinBit)
                throw error
            }
            if readyNow {
                stopSpinning(spinBit)
                return
            }
            cshm_spin_pause()
            spins &+= 1
        }
        stopSpinning(spinBit)
        if Task.isCancelled { throw .cancelled }
        let futexWord = UnsafeMutableRawPointer(event).assumingMemoryBound(to: UInt32.self)
        while true {
            let seen = SleeperCount(sleepers: sleepers, sleeping: sleeping).enter(announcingOn: event)
            let readyNow: Bool
            do { readyNow = try ready() } catch {
                leaveAsyncSleep(sleepers, sleeping)
                throw error
            }
            if readyNow {
                leaveAsyncSleep(sleepers, sleeping)
                return
            }
            var until = ContinuousClock.now + Self.checkInterval
            if let deadline {
                if deadline <= .now {
                    leaveAsyncSleep(sleepers, sleeping)
                    throw .timedOut
                }
                until = min(until, deadline)
            }
            await FutexWaiter.shared.wait(on: futexWord, expected: seen, until: until)
            leaveAsyncSleep(sleepers, sleeping)
            if try ready() { return }
            if Task.isCancelled { throw .cancelled }
            if let deadline, ContinuousClock.now >= deadline { throw .timedOut }
            try checkIntact()
            try check()
        }
    }

    /// The most pause rounds an `async` wait spins before it suspends
    /// (about the default strategy's): enough to catch a peer that answers
    /// within microseconds, short enough not to hold a thread of the pool.
    static let asyncSpinLimit = 4000

    @inline(__always)
    private func leaveAsyncSleep(_ sleepers: UnsafeMutablePointer<Atomic<UInt32>>, _ sleeping: UnsafeMutablePointer<Atomic<UInt32>>) {
        SleeperCount(sleepers: sleepers, sleeping: sleeping).leave()
    }
}
