#if DEBUG
import Glibc
import Synchronization
#endif

/// The steps of the ring protocol at which a test can stop or kill the
/// process, to check that its peers recover and nothing committed is lost.
///
/// Only debug builds (which `swift test` makes) look at them; in a release
/// build ``reach(_:)`` is empty and inlined away. A process arms one point
/// through its environment:
///
/// - `SHM_TEST_CRASH_AT`: the point's name, such as `send.committed`;
/// - `SHM_TEST_CRASH_ACTION`: `kill` (the default: the process sends itself
///   `SIGKILL`) or `stop` (`SIGSTOP`);
/// - `SHM_TEST_CRASH_AFTER`: the time the point is reached at which it fires,
///   from 1 (the default).
enum CrashPoint: String, CaseIterable {
    /// Space is reserved (and a padding record written), nothing else.
    case sendReserved = "send.reserved"
    /// The payload is in place; the record header is not written.
    case sendFilled = "send.filled"
    /// The record header is written; the write position is not yet stored.
    case sendCommitted = "send.committed"
    /// The write position is stored; sleeping readers are not yet woken.
    case sendPublished = "send.published"
    /// A reader found a record; the caller has not seen it.
    case receiveFound = "receive.found"
    /// The caller used the record; it is not released.
    case receiveUsed = "receive.used"
    /// The read position is stored; a sleeping writer is not yet woken.
    case receiveReleased = "receive.released"
    /// A joining subscriber holds its slot's lock; the slot is not set up.
    case joinClaimed = "join.claimed"
    /// A joining subscriber's slot is attached; the joiner has not moved to its final position.
    case joinAttached = "join.attached"
    /// A leaving reader changed its slot's state; it still holds its lock.
    case leaveStarted = "leave.started"
    /// A closing writer stored the closed state; it still holds its lock.
    case closeStarted = "close.started"

    /// Stops or kills the process if the environment armed this point.
    @inline(__always)
    static func reach(_ point: CrashPoint) {
        #if DEBUG
        CrashPointTrigger.armed?.reach(point)
        #endif
    }
}

#if DEBUG
/// The armed crash point of this process, read once from its environment.
final class CrashPointTrigger: Sendable {
    let point: CrashPoint
    let signal: Int32
    let after: Int
    let count = Atomic<Int>(0)

    static let armed: CrashPointTrigger? = {
        guard let name = getenv("SHM_TEST_CRASH_AT").map({ String(cString: $0) }),
              let point = CrashPoint(rawValue: name) else { return nil }
        let action = getenv("SHM_TEST_CRASH_ACTION").map { String(cString: $0) } ?? "kill"
        let after = getenv("SHM_TEST_CRASH_AFTER").flatMap { Int(String(cString: $0)) } ?? 1
        return CrashPointTrigger(point: point, signal: action == "stop" ? SIGSTOP : SIGKILL, after: max(1, after))
    }()

    init(point: CrashPoint, signal: Int32, after: Int) {
        self.point = point
        self.signal = signal
        self.after = after
    }

    func reach(_ reached: CrashPoint) {
        guard reached == point else { return }
        if count.wrappingAdd(1, ordering: .relaxed).newValue == after {
            raise(signal)
        }
    }
}
#endif
