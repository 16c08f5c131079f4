import Synchronization

extension ServiceSegment {
    /// A ring a service's reader sleeps on: the ring and the reader slot
    /// whose `sleeping` flag counts it in the ring's `dataSleepers`.
    struct WaitedRing {
        var core: RingCore
        var slot: Int
    }

    /// Sleeps once, for at most `slice`, until one of `rings` publishes, a
    /// member joins or leaves (when `membershipFlag` is given: the flag
    /// that counts the caller in `membershipSleepers`, such as the owner's),
    /// or `ready()` holds. Counts itself in every sleepers count first and
    /// re-checks `ready()` before it sleeps, as <doc:ChannelProtocol> requires
    /// of every wait, so no publication between the check and the sleep is
    /// missed. The caller re-checks its peers and its deadline afterwards.
    ///
    /// - Returns: `true` when `ready()` held before sleeping.
    func sleep(
        on rings: [WaitedRing], membershipFlag: UnsafeMutablePointer<Atomic<UInt32>>?,
        slice: Duration, until ready: () throws(ChannelError) -> Bool
    ) throws(ChannelError) -> Bool {
        var words: [FutexWord] = []
        words.reserveCapacity(rings.count + 1)
        var counts: [SleeperCount] = []
        counts.reserveCapacity(rings.count + 1)
        if let membershipFlag {
            let seen = membershipEvent.pointee.load(ordering: .acquiring)
            let count = SleeperCount(sleepers: membershipSleepers, sleeping: membershipFlag)
            count.enter()
            counts.append(count)
            words.append(FutexWord(UnsafeMutableRawPointer(membershipEvent).assumingMemoryBound(to: UInt32.self), expected: seen))
        }
        for ring in rings.prefix(FutexWord.maxCount - words.count) {
            // A ring's data event takes the announcement bit, as every ring wait does.
            let count = SleeperCount(sleepers: ring.core.dataSleepers, sleeping: ring.core.sleepingFlag(slot: ring.slot))
            let seen = count.enter(announcingOn: ring.core.dataEvent)
            counts.append(count)
            words.append(FutexWord(UnsafeMutableRawPointer(ring.core.dataEvent).assumingMemoryBound(to: UInt32.self), expected: seen))
        }
        defer { for count in counts { count.leave() } }
        if try ready() { return true }
        if words.isEmpty {
            try? system.futexWait(UnsafeMutableRawPointer(membershipEvent).assumingMemoryBound(to: UInt32.self),
                                  expected: membershipEvent.pointee.load(ordering: .acquiring), timeout: slice)
        } else {
            _ = words.withUnsafeBufferPointer { buffer in try? system.futexWaitMany(buffer, timeout: slice) }
        }
        return false
    }
}
