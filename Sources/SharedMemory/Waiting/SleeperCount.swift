import Synchronization

/// A role's place in a sleepers count: the count that wakers read before
/// they bump an event counter, and the role's own flag that says it is in
/// it. Every wait (the rings' blocking and async waits, an event listener's,
/// a wait set's) counts itself in and out through this, so the order that
/// the model `Tests/Model/wakeup.pml` checks lives in one place.
///
/// A ring's event words also carry an announcement in their low bit (see
/// ``enter(announcingOn:)``): a waker makes the wake-up system call only
/// when a sleeper announced itself since the last one, so a writer pays one
/// call per round of sleeps, not one per message while its readers sleep.
struct SleeperCount {
    /// The count wakers read. Other processes may write anything there: only
    /// wrapping arithmetic touches it.
    let sleepers: UnsafeMutablePointer<Atomic<UInt32>>
    /// The role's flag: 1 while it is counted.
    let sleeping: UnsafeMutablePointer<Atomic<UInt32>>

    /// Counts the role in: the count first (sequentially consistent, before
    /// the caller's re-check of its condition), the flag second. A death
    /// between the two leaves the count one too high, never one too low.
    @inline(__always)
    func enter() {
        sleepers.pointee.wrappingAdd(1, ordering: .sequentiallyConsistent)
        sleeping.pointee.store(1, ordering: .relaxed)
    }

    /// Announces a sleep on a ring's event word, then counts the role in
    /// (``enter()``); returns the value to sleep on.
    ///
    /// The announcement sets the word's low bit with a sequentially
    /// consistent read-modify-write, before the count and so before the
    /// caller's re-check of its condition. A waker that publishes, finds the
    /// count above 0 and then the bit set moves the word to the next even
    /// value (clearing the bit) and calls FUTEX_WAKE; one that finds the bit
    /// clear knows that every sleeper announced since the last wake-up
    /// was woken by it or will find the word changed, and makes no call.
    /// Other processes may write anything there: a garbled word only costs
    /// a wake-up call or a sleep cut short.
    @inline(__always)
    func enter(announcingOn event: UnsafeMutablePointer<Atomic<UInt32>>) -> UInt32 {
        let expected = event.pointee.bitwiseOr(1, ordering: .sequentiallyConsistent).oldValue | 1
        enter()
        return expected
    }

    /// Counts the role out: the flag first, then the count, with release
    /// ordering so that the cleared flag is visible no later than the decrement.
    @inline(__always)
    func leave() {
        sleeping.pointee.store(0, ordering: .relaxed)
        sleepers.pointee.wrappingSubtract(1, ordering: .releasing)
    }

    /// Taking the role over from a process that died while counted: takes
    /// it out of the count, so that wakers stop making wake-up calls for it.
    func forgetDead() {
        if sleeping.pointee.exchange(0, ordering: .relaxed) != 0 {
            sleepers.pointee.wrappingSubtract(1, ordering: .relaxed)
        }
    }
}
