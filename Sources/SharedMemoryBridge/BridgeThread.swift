import Glibc
import Synchronization

/// A plain POSIX thread for a forwarding loop that blocks in `dds_write`,
/// `dds_waitset_wait` or a ring wait: such loops must not sit on Swift's
/// cooperative pool. Joined exactly once.
final class BridgeThread: @unchecked Sendable {
    // @unchecked: `thread` is written once by start() before any join and read only by join().
    private var thread: pthread_t?

    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    init(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var handle = pthread_t()
        let rc = pthread_create(&handle, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        if rc == 0 {
            thread = handle
        } else {
            Unmanaged<Box>.fromOpaque(box).release()
            BridgeLog.log(.error, "cannot start a thread: errno \(rc)")
        }
    }

    /// Waits for the thread to end.
    func join() {
        guard let handle = thread else { return }
        thread = nil
        pthread_join(handle, nil)
    }
}

/// The flag that tells every forwarding thread to finish.
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    /// Whether stop was asked for.
    var isSet: Bool { value.load(ordering: .relaxed) }
    /// Asks every thread to stop.
    func set() { value.store(true, ordering: .relaxed) }
}
