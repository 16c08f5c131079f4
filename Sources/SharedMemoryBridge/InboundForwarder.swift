internal import CCycloneDDS
internal import CShmBridgeTypes
import Synchronization
import SharedMemory

/// DDS topic -> local ring: takes samples, checks each (``InboundCheck``)
/// before a byte of it reaches shared memory, and republishes it.
///
/// A DDS listener republishes at once, on the Cyclone thread that received
/// the sample, and never waits; the forwarding thread republishes what the
/// listener had to keep because the local ring was full, waiting for space
/// (see ``ListenerHandoff``). Meanwhile the listener takes nothing, so the
/// reader's bounded KEEP_ALL history fills and the remote writer blocks.
final class InboundForwarder: ListeningForwarder, @unchecked Sendable {
    // @unchecked: the mutable state (reordering, gap counts, kept messages,
    // and the local endpoint are used only inside the
    // handoff's pump, under its lock; `stop` and the counters are atomics.
    let service: String
    let local: LocalOutbound
    let reader: dds_entity_t
    let handoff: ListenerHandoff
    let check: InboundCheck
    let counters: BridgeCounters
    let stop: StopFlag
    /// The last sequence number seen per origin and sender, to count gaps.
    private var lastSequence: [[UInt8]: UInt64] = [:]
    /// Lossless services: put back in order per origin and sender (see ``Reordering``).
    private var reordering: Reordering?
    /// Messages the listener could not republish (the ring was full), in order.
    /// While any are kept, the listener takes no samples; at most one batch
    /// and what the reordering let go with it.
    private var kept: [[UInt8]] = []

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
        handoff = try ListenerHandoff(reader: reader, participant: participant)
    }

    /// Starts the listener (it holds this forwarder until ``stopListening()``).
    func startListening() {
        handoff.start(what: service) { self.handoff.pump(waiting: false) { self.drain(.immediate) } }
    }

    /// Stops the listener; a call in progress returns first.
    func stopListening() { handoff.stop() }

    func run() {
        while !stop.isSet {
            handoff.waitForWork(timeout: 200_000_000)
            handoff.pump(waiting: true) { drain(.waiting) }
        }
    }

    /// With the lock held: what was kept first, then the reader's samples.
    private func drain(_ mode: Mode) {
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
            handoff.wakeThread()
            return
        }
        while !stop.isSet, kept.isEmpty,
              handoff.takeBatch({ deliver($0.assumingMemoryBound(to: shm_bridge_Message.self), mode) }) > 0 {}
        if !kept.isEmpty { handoff.wakeThread() }
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
        // A copy, changed and stored back. Changing it in place measured
        // slower on the 1 MiB stream (300-345 instead of 350-450 MiB/s, three
        // alternating runs), though it saves copying the tables; not understood.
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
        if let last = lastSequence[key], let missed = Self.gap(after: last, to: sequence) {
            counters.missedNetwork.add(missed, ordering: .relaxed)
        }
        if lastSequence[key] == nil, lastSequence.count >= 4096 { lastSequence.removeAll() }
        lastSequence[key] = sequence
    }

    /// How many sequence numbers a sender skipped between `last` and
    /// `sequence` (both from the network), or `nil` when none were skipped
    /// (the next one, a repeat, or an older one). Never traps: `last` may be
    /// `UInt64.max`, where `last &+ 1` wraps to 0.
    static func gap(after last: UInt64, to sequence: UInt64) -> UInt64? {
        guard sequence > last, sequence - last > 1 else { return nil }
        return sequence - last - 1
    }
}
