internal import CCycloneDDS
internal import CShmBridgeTypes
import Synchronization

/// A forwarder whose DDS reader has a listener, started after its thread and stopped before it is joined.
protocol ListeningForwarder: AnyObject, Sendable {
    /// Sets the reader's listener.
    func startListening()
    /// Removes it; a call in progress returns first.
    func stopListening()
}

/// How a DDS reader whose samples go into shared memory shares them between
/// a listener and a forwarding thread.
///
/// - **The listener** (`pump(waiting: false)`) runs on the Cyclone thread
///   that received a sample and delivers at once, never waiting: a network
///   sample reaches the local side with one thread hand-off, as it reaches
///   a plain DDS program's waitset thread. What cannot go now (a full local
///   ring) it keeps for the thread and calls ``wakeThread()``.
/// - **The forwarding thread** (`pump(waiting: true)`, after
///   ``waitForWork(timeout:)``) delivers what was kept, waiting for space.
///
/// One lock: whoever holds it takes every sample in the reader before it
/// lets go. A listener call that finds the lock taken leaves a note
/// (`missed`) and returns; the holder reads the note after it lets go and
/// goes round again (the thread, after ``threadRounds`` rounds, wakes
/// itself instead and comes back at once), so no sample waits for the
/// thread's next tick.
final class ListenerHandoff: @unchecked Sendable {
    // @unchecked: `box` is written by start() and stop() only, which the
    // bridge calls once each, in that order, from one thread; the take
    // buffers are used only under the lock; the rest are handles Cyclone
    // makes thread-safe, a mutex and atomics.
    let reader: dds_entity_t
    let waitset: dds_entity_t
    let wakeCondition: dds_entity_t
    private let lock = Mutex<Void>(())
    private let missed = Atomic<Bool>(false)
    private let listening = Atomic<Bool>(false)
    private var box: Unmanaged<Box>?
    /// The most samples one ``takeBatch(upTo:_:)`` takes.
    static let batch = 16
    /// Loans and infos of one `dds_take`, used only inside ``pump(waiting:_:)`` (under the lock).
    private var samples = [UnsafeMutableRawPointer?](repeating: nil, count: batch)
    private var infos = [dds_sample_info_t](repeating: dds_sample_info_t(), count: batch)

    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    init(reader: dds_entity_t, participant: DDSParticipant) throws(DDSError) {
        self.reader = reader
        waitset = try ddsCheck(dds_create_waitset(participant.participant), "creating a DDS waitset")
        wakeCondition = try ddsCheck(dds_create_guardcondition(participant.participant), "creating a guard condition")
        try ddsCheck(dds_waitset_attach(waitset, wakeCondition, 0), "attaching a guard condition")
    }

    /// Sets the data-available listener, which calls `listener` (holding
    /// it until ``stop()``). When Cyclone refuses it, the thread waits for
    /// the samples themselves.
    func start(what: String, _ listener: @escaping @Sendable () -> Void) {
        guard !listening.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let box = Unmanaged.passRetained(Box(listener))
        let handle = dds_create_listener(box.toOpaque())
        defer { dds_delete_listener(handle) }
        dds_lset_data_available(handle) { _, argument in
            guard let argument else { return }
            Unmanaged<Box>.fromOpaque(argument).takeUnretainedValue().body()
        }
        if dds_set_listener(reader, handle) == DDS_RETCODE_OK {
            self.box = box
        } else {
            box.release()
            listening.store(false, ordering: .releasing)
            let condition = dds_create_readcondition(reader, shm_bridge_any_state())
            let attached = condition >= 0 && dds_waitset_attach(waitset, condition, 0) == DDS_RETCODE_OK
            BridgeLog.log(.warning, "\(what): no DDS listener; the forwarding thread takes the samples" + (attached ? "" : " every 200 ms"))
        }
        // Samples that arrived before the listener was set.
        wakeThread()
    }

    /// Removes the listener; Cyclone waits for a call in progress to return.
    func stop() {
        guard listening.exchange(false, ordering: .acquiringAndReleasing) else { return }
        _ = dds_set_listener(reader, nil)
        box?.release()
        box = nil
    }

    /// Wakes the forwarding thread (it has kept samples to deliver, or samples wait).
    func wakeThread() { _ = dds_set_guardcondition(wakeCondition, true) }

    /// The forwarding thread's wait: until woken, a sample when no listener
    /// could be set, or `timeout` nanoseconds.
    func waitForWork(timeout: Int64) {
        _ = dds_waitset_wait(waitset, nil, 0, timeout)
        _ = dds_set_guardcondition(wakeCondition, false)
    }

    /// Runs `drain` under the lock, again while a listener call found it
    /// taken meanwhile. `waiting: false` (a listener) returns at once when
    /// the lock is taken; `waiting: true` (the thread) waits for it, and
    /// after ``threadRounds`` rounds wakes itself and returns, so that
    /// samples arriving without pause cannot keep it from its periodic work
    /// (deadlines, announcements): it comes back at once, and meanwhile a
    /// listener finds the lock free.
    func pump(waiting: Bool, _ drain: () -> Void) {
        var rounds = 0
        while true {
            missed.store(true, ordering: .sequentiallyConsistent)
            let done: Void? = waiting
                ? lock.withLock { _ in
                    missed.store(false, ordering: .sequentiallyConsistent)
                    drain()
                }
                : lock.withLockIfAvailable { _ in
                    missed.store(false, ordering: .sequentiallyConsistent)
                    drain()
                }
            // Taken by the other side: it reads `missed` after letting go.
            guard done != nil else { return }
            if !missed.load(ordering: .sequentiallyConsistent) { return }
            rounds += 1
            if waiting && rounds >= Self.threadRounds {
                wakeThread()
                return
            }
        }
    }

    /// With the lock held (inside `drain`): takes up to `limit` samples
    /// (at most ``batch``), hands each valid one to `body`, and returns the
    /// loans; returns how many were taken (0: the reader is empty).
    func takeBatch(upTo limit: Int = batch, _ body: (UnsafeMutableRawPointer) -> Void) -> Int {
        let wanted = max(1, min(Self.batch, limit))
        let count = dds_take(reader, &samples, &infos, wanted, UInt32(wanted))
        guard count > 0 else { return 0 }
        for index in 0..<Int(count) where infos[index].valid_data {
            if let raw = samples[index] { body(raw) }
        }
        _ = dds_return_loan(reader, &samples, count)
        for index in 0..<Self.batch { samples[index] = nil }
        return Int(count)
    }

    /// The most rounds of one ``pump(waiting:_:)`` of the thread.
    static let threadRounds = 16
}
