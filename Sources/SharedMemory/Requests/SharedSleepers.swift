import Glibc
import Synchronization

/// Several waiting tasks or threads of one process counted as one sleeper
/// of a ring or event: the role's `sleeping` flag is one bit, so the process
/// enters the shared count when its first waiter does and leaves it with
/// its last. Used under the lock that guards the role.
struct SharedSleepers {
    private(set) var waiters = 0

    mutating func enter(_ count: SleeperCount) {
        if waiters == 0 { count.enter() }
        waiters += 1
    }

    mutating func leave(_ count: SleeperCount) {
        guard waiters > 0 else { return }
        waiters -= 1
        if waiters == 0 { count.leave() }
    }

    /// Counts the process out at once (its role is about to go); the
    /// waiters' own ``leave(_:)`` calls then do nothing.
    mutating func leaveAll(_ count: SleeperCount) {
        if waiters > 0 { count.leave() }
        waiters = 0
    }
}

/// One sleep of a waiter: the words it sleeps on, for at most the slice.
struct PlannedSleep {
    var words: [FutexWord]

    /// How long a waiter with no word to sleep on naps between looks.
    static let nap: Duration = .milliseconds(1)

    /// Blocks the thread until a word changes, a wake-up, or `until`.
    func block(system: any SharedMemoryBackend, until: ContinuousClock.Instant) {
        let left = until - .now
        guard left > .zero else { return }
        guard !words.isEmpty else {
            // Nothing to sleep on (the client is closing): a short nap, not a busy loop.
            let nap = min(left, Self.nap).components
            usleep(UInt32(clamping: nap.seconds * 1_000_000 + nap.attoseconds / 1_000_000_000_000))
            return
        }
        _ = words.withUnsafeBufferPointer { buffer in try? system.futexWaitMany(buffer, timeout: left) }
    }

    /// Suspends the task until a word changes, a wake-up, cancellation, or `until`.
    nonisolated(nonsending) func suspend(until: ContinuousClock.Instant) async {
        guard !words.isEmpty else {
            // Nothing to sleep on (the client is closing): suspend for a short
            // nap, so that the caller's executor (the main actor, say) runs
            // other work, such as the server, meanwhile.
            let left = until - .now
            if left > .zero { try? await Task.sleep(for: min(left, Self.nap)) }
            return
        }
        await FutexWaiter.shared.wait(onAny: words, until: until)
    }
}

extension FutexWord {
    /// A ring's event word `event`, with the sleeper's announcement (bit 0)
    /// set first, as every wait on a ring's event does before it counts
    /// itself in (``SleeperCount/enter(announcingOn:)``, <doc:ChannelProtocol>):
    /// a writer makes the wake-up call only when the bit is set.
    init(announcingOn event: UnsafeMutablePointer<Atomic<UInt32>>) {
        let expected = event.pointee.bitwiseOr(1, ordering: .sequentiallyConsistent).oldValue | 1
        self.init(UnsafeMutableRawPointer(event).assumingMemoryBound(to: UInt32.self), expected: expected)
    }

    /// The word `event`, expected to hold what it holds now.
    init(current event: UnsafeMutablePointer<Atomic<UInt32>>) {
        self.init(UnsafeMutableRawPointer(event).assumingMemoryBound(to: UInt32.self),
                  expected: event.pointee.load(ordering: .acquiring))
    }
}
