import Synchronization

/// A role's place in a sleepers count: the count that wakers read before
/// they bump an event counter, and the role's own flag that says it is in
/// it. Every wait (the rings' blocking and async waits, an event listener's,
/// a wait set's) counts itself in and out through this, so the order that
/// the model `Tests/Model/wakeup.pml` checks lives in one place.
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
