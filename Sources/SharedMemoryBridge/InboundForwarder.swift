internal import CCycloneDDS
internal import CShmBridgeTypes
import Synchronization
import SharedMemory

/// DDS topic -> local ring: takes samples, checks each (``InboundCheck``)
/// before a byte of it reaches shared memory, and republishes it.
///
/// Two paths share one lock:
/// - **The fast path** runs in a DDS listener, on the Cyclone thread that
///   received the sample: it republishes at once and never waits, so a
///   network sample reaches a local subscriber with one thread hand-off, as
///   it reaches a plain DDS program's waitset thread. When the local ring is
///   full, the message is kept (in order) and the forwarding thread is woken.
/// - **The forwarding thread** waits: it republishes what the fast path kept
///   and whatever is in the reader while the local lossless ring is full,
///   waiting for space. Meanwhile the fast path takes nothing, so the
///   reader's bounded KEEP_ALL history fills and the remote writer blocks.
///
/// Whoever holds the lock takes every sample in the reader before letting
/// go; a listener call that finds the lock taken leaves a note (`missed`),
/// which the holder reads after it lets go and goes round again, so no
/// sample waits for the thread's 200 ms tick.
final class InboundForwarder: @unchecked Sendable {
    // @unchecked: the mutable state (reordering, gap counts, kept messages)
    // and the local endpoint are used only while `lock` is held; the reader,
    // waitset and guard condition are handles Cyclone makes thread-safe;
    // `stop`, `missed` and the counters are atomics.
    let service: String
    let local: LocalOutbound
    let reader: dds_entity_t
    let waitset: dds_entity_t
    let wakeThread: dds_entity_t
    let check: InboundCheck
    let counters: BridgeCounters
    let stop: StopFlag
    private let lock = Mutex<Void>(())
    private let missed = Atomic<Bool>(false)
    private let listening = Atomic<Bool>(false)
    /// The last sequence number seen per origin and sender, to count gaps.
    private var lastSequence: [[UInt8]: UInt64] = [:]
    /// Lossless services: put back in order per origin and sender (see ``Reordering``).
    private var reordering: Reordering?
    /// Messages the fast path could not republish (the ring was full), in order.
    /// While any are kept, the fast path takes no samples; at most one batch
    /// and what the reordering let go with it.
    private var kept: [[UInt8]] = []
    private static let batch = 16
    /// Loans and infos of one `dds_take`, reused under the lock.
    private var samples = [UnsafeMutableRawPointer?](repeating: nil, count: batch)
    private var infos = [dds_sample_info_t](repeating: dds_sample_info_t(), count: batch)

    /// How a message is republished: at once or not at all (the listener), or waiting for space (the thread).
    private enum Mode { case immediate, waiting }

    init(service: String, local: LocalOutbound, participant: DDSParticipant, topic: dds_entity_t, qos: BridgeQoS,
         origin: [UInt8], counters: BridgeCounters, stop: StopFlag) throws(DDSError) {
        self.service = service
        self.local = local
        self.counters = counters
        self.stop = stop
        check = InboundCheck(origin: origin, maxMessageSize: local.maxMessageSize, messageType: local.messageType)
        // The reader holds 4 times the writer's queue: a KEEP_ALL reader that
        // is full rejects samples, and each rejection costs a retransmission
        // cycle (measured: 4k instead of 15k+ messages/s for 64 B). Still bounded.
        var readerQoS = qos
        readerQoS.queueDepth = qos.queueDepth &* 4
        reordering = qos.lossless ? Reordering(limit: Int(readerQoS.queueDepth)) : nil
        let q = readerQoS.make(ignoreLocal: true)
        defer { dds_delete_qos(q) }
        reader = try ddsCheck(dds_create_reader(participant.participant, topic, q, nil), "creating a DDS reader for \(service)")
        waitset = try ddsCheck(dds_create_waitset(participant.participant), "creating a DDS waitset")
        wakeThread = try ddsCheck(dds_create_guardcondition(participant.participant), "creating a guard condition")
        try ddsCheck(dds_waitset_attach(waitset, wakeThread, 0), "attaching a guard condition")
    }

    /// Starts the fast path: a data-available listener on the reader, which
    /// holds a reference to this forwarder until ``stopListening()``.
    func startListening() {
        guard !listening.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let listener = dds_create_listener(Unmanaged.passRetained(self).toOpaque())
        defer { dds_delete_listener(listener) }
        dds_lset_data_available(listener) { _, argument in
            guard let argument else { return }
            Unmanaged<InboundForwarder>.fromOpaque(argument).takeUnretainedValue().pump(.immediate)
        }
        if dds_set_listener(reader, listener) != DDS_RETCODE_OK {
            listening.store(false, ordering: .releasing)
            Unmanaged.passUnretained(self).release()
            // The thread then waits for the samples themselves.
            let condition = dds_create_readcondition(reader, shm_bridge_any_state())
            let attached = condition >= 0 && dds_waitset_attach(waitset, condition, 0) == DDS_RETCODE_OK
            BridgeLog.log(.warning, "\(service): no DDS listener; the forwarding thread takes the samples" + (attached ? "" : " every 200 ms"))
        }
        // Samples that arrived before the listener was set.
        _ = dds_set_guardcondition(wakeThread, true)
    }

    /// Stops the fast path; Cyclone waits for a listener call in progress to return.
    func stopListening() {
        guard listening.exchange(false, ordering: .acquiringAndReleasing) else { return }
        _ = dds_set_listener(reader, nil)
        Unmanaged.passUnretained(self).release()
    }

    func run() {
        while !stop.isSet {
            _ = dds_waitset_wait(waitset, nil, 0, 200_000_000)
            _ = dds_set_guardcondition(wakeThread, false)
            pump(.waiting)
        }
    }

    /// Republishes what is kept and every sample in the reader. `.immediate`
    /// (the listener) gives up at once when the thread holds the lock or
    /// the ring is full; `.waiting` (the thread) waits for both.
    private func pump(_ mode: Mode) {
        while true {
            missed.store(true, ordering: .sequentiallyConsistent)
            let done: Bool? = mode == .waiting
                ? lock.withLock { _ in drain(mode) }
                : lock.withLockIfAvailable { _ in drain(mode) }
            // Taken by the other path: it reads `missed` after letting go.
            guard done != nil else { return }
            if !missed.load(ordering: .sequentiallyConsistent) { return }
        }
    }

    /// With the lock held: what was kept first, then the reader's samples.
    private func drain(_ mode: Mode) -> Bool {
        missed.store(false, ordering: .sequentiallyConsistent)
        if mode == .waiting {
            // Kept messages came before anything the reordering still holds.
            while !kept.isEmpty, !stop.isSet {
                let message = kept.removeFirst()
                message.withUnsafeBytes { publish($0, .waiting) }
            }
            if var reordering, let flushed = reordering.giveUpIfStale() {
                self.reordering = reordering
                release(flushed, mode)
            }
        }
        guard kept.isEmpty else {
            _ = dds_set_guardcondition(wakeThread, true)
            return true
        }
        while !stop.isSet, kept.isEmpty {
            let count = dds_take(reader, &samples, &infos, Self.batch, UInt32(Self.batch))
            guard count > 0 else { break }
            for index in 0..<Int(count) where infos[index].valid_data {
                guard let raw = samples[index] else { continue }
                deliver(raw.assumingMemoryBound(to: shm_bridge_Message.self), mode)
            }
            _ = dds_return_loan(reader, &samples, count)
            for index in 0..<Self.batch { samples[index] = nil }
        }
        if !kept.isEmpty { _ = dds_set_guardcondition(wakeThread, true) }
        return true
    }

    private func deliver(_ sample: UnsafeMutablePointer<shm_bridge_Message>, _ mode: Mode) {
        let length = Int(sample.pointee.payload._length)
        let refusal = withUnsafeBytes(of: sample.pointee.origin) { origin in
            check.refusal(origin: origin, payloadLength: length, typeSize: sample.pointee.type_size,
                          typeFingerprint: sample.pointee.type_fingerprint, byteOrder: sample.pointee.byte_order)
        }
        if let refusal {
            switch refusal {
            case .ownSample:
                counters.droppedOwn.add(1, ordering: .relaxed)
            case .tooLarge(let size):
                counters.droppedTooLarge.add(1, ordering: .relaxed)
                BridgeLog.log(.warning, "\(service): dropped a sample of \(size) bytes (the ring's largest message is \(local.maxMessageSize))")
            case .typeMismatch(let why):
                counters.droppedType.add(1, ordering: .relaxed)
                BridgeLog.log(.warning, "\(service): dropped a sample of another type: \(why)")
            }
            return
        }
        guard length == 0 || sample.pointee.payload._buffer != nil else {
            counters.droppedLocal.add(1, ordering: .relaxed)
            return
        }
        let bytes = UnsafeRawBufferPointer(start: sample.pointee.payload._buffer, count: length)
        guard var reordering else {
            countGap(sample)
            publish(bytes, mode)
            return
        }
        var key = withUnsafeBytes(of: sample.pointee.origin) { Array($0) }
        withUnsafeBytes(of: sample.pointee.sender_tag.littleEndian) { key.append(contentsOf: $0) }
        let outcome = reordering.accept(key: key, sequence: sample.pointee.sequence_number, bytes: bytes)
        self.reordering = reordering
        switch outcome {
        case .deliver(let released):
            publish(bytes, mode)
            release(released, mode)
        case .held:
            break
        case .late:
            counters.droppedLocal.add(1, ordering: .relaxed)
            BridgeLog.log(.warning, "\(service): dropped message \(sample.pointee.sequence_number), which came after the bridge stopped waiting for it")
        case .gaveUp(let flushed):
            release(flushed, mode)
        }
    }

    /// Republishes messages the reordering let go, counting what it gave up waiting for.
    private func release(_ released: Reordering.Released, _ mode: Mode) {
        if released.missed > 0 { counters.missedNetwork.add(released.missed, ordering: .relaxed) }
        for message in released.messages {
            message.withUnsafeBytes { publish($0, mode) }
        }
    }

    /// Republishes one message on the local ring. `.immediate` keeps it
    /// (behind any kept before it) when the ring is full; `.waiting` waits.
    private func publish(_ bytes: UnsafeRawBufferPointer, _ mode: Mode) {
        let length = bytes.count
        if mode == .immediate, !kept.isEmpty {
            kept.append(Array(bytes))
            return
        }
        while true {
            do {
                try local.send(bytes, timeout: mode == .immediate ? .zero : .milliseconds(200))
                counters.messagesIn.add(1, ordering: .relaxed)
                counters.bytesIn.add(UInt64(length), ordering: .relaxed)
                return
            } catch .timedOut {
                // Back-pressure: a local subscriber is behind; take nothing more.
                if mode == .immediate {
                    kept.append(Array(bytes))
                    return
                }
                if stop.isSet { return }
            } catch {
                counters.droppedLocal.add(1, ordering: .relaxed)
                BridgeLog.log(.warning, "\(service): the local ring refused a message: \(error)")
                return
            }
        }
    }

    private func countGap(_ sample: UnsafeMutablePointer<shm_bridge_Message>) {
        var key = withUnsafeBytes(of: sample.pointee.origin) { Array($0) }
        withUnsafeBytes(of: sample.pointee.sender_tag.littleEndian) { key.append(contentsOf: $0) }
        let sequence = sample.pointee.sequence_number
        if let last = lastSequence[key], sequence > last &+ 1 {
            counters.missedNetwork.add(sequence - last - 1, ordering: .relaxed)
        }
        if lastSequence[key] == nil, lastSequence.count >= 4096 { lastSequence.removeAll() }
        lastSequence[key] = sequence
    }
}
