internal import CCycloneDDS
internal import CShmBridgeTypes
import Synchronization
import SharedMemory

/// DDS topic -> local ring: takes samples, checks each (``InboundCheck``)
/// before a byte of it reaches shared memory, and republishes it. When the
/// local lossless ring is full it waits and takes nothing more, so the
/// reader's bounded KEEP_ALL history fills and the remote writer blocks.
final class InboundForwarder: @unchecked Sendable {
    // @unchecked: the local endpoint, reader and waitset are used only by this
    // forwarder's thread; `stop` is atomic and the counters are atomics.
    let service: String
    let local: LocalOutbound
    let reader: dds_entity_t
    let waitset: dds_entity_t
    let check: InboundCheck
    let counters: BridgeCounters
    let stop: StopFlag
    /// The last sequence number seen per origin and sender, to count gaps.
    private var lastSequence: [[UInt8]: UInt64] = [:]
    /// Lossless services: put back in order per origin and sender (see ``Reordering``).
    private var reordering: Reordering?

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
        let condition = try ddsCheck(dds_create_readcondition(reader, shm_bridge_any_state()), "creating a read condition")
        try ddsCheck(dds_waitset_attach(waitset, condition, 0), "attaching a read condition")
    }

    func run() {
        let batch = 16
        var samples = [UnsafeMutableRawPointer?](repeating: nil, count: batch)
        var infos = [dds_sample_info_t](repeating: dds_sample_info_t(), count: batch)
        while !stop.isSet {
            _ = dds_waitset_wait(waitset, nil, 0, 200_000_000)
            if var reordering, let flushed = reordering.giveUpIfStale() {
                self.reordering = reordering
                release(flushed)
            }
            while !stop.isSet {
                for index in 0..<batch { samples[index] = nil }
                let count = dds_take(reader, &samples, &infos, batch, UInt32(batch))
                guard count > 0 else { break }
                for index in 0..<Int(count) where infos[index].valid_data {
                    guard let raw = samples[index] else { continue }
                    deliver(raw.assumingMemoryBound(to: shm_bridge_Message.self))
                }
                _ = dds_return_loan(reader, &samples, count)
            }
        }
    }

    private func deliver(_ sample: UnsafeMutablePointer<shm_bridge_Message>) {
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
            send(bytes)
            return
        }
        var key = withUnsafeBytes(of: sample.pointee.origin) { Array($0) }
        withUnsafeBytes(of: sample.pointee.sender_tag.littleEndian) { key.append(contentsOf: $0) }
        let outcome = reordering.accept(key: key, sequence: sample.pointee.sequence_number, bytes: bytes)
        self.reordering = reordering
        switch outcome {
        case .deliver(let released):
            send(bytes)
            release(released)
        case .held:
            break
        case .late:
            counters.droppedLocal.add(1, ordering: .relaxed)
            BridgeLog.log(.warning, "\(service): dropped message \(sample.pointee.sequence_number), which came after the bridge stopped waiting for it")
        case .gaveUp(let flushed):
            release(flushed)
        }
    }

    /// Republishes messages the reordering let go, counting what it gave up waiting for.
    private func release(_ released: Reordering.Released) {
        if released.missed > 0 { counters.missedNetwork.add(released.missed, ordering: .relaxed) }
        for message in released.messages {
            message.withUnsafeBytes { send($0) }
        }
    }

    /// Republishes one message on the local ring, waiting while it is full.
    private func send(_ bytes: UnsafeRawBufferPointer) {
        let length = bytes.count
        while true {
            do {
                try local.send(bytes, timeout: .milliseconds(200))
                counters.messagesIn.add(1, ordering: .relaxed)
                counters.bytesIn.add(UInt64(length), ordering: .relaxed)
                return
            } catch .timedOut {
                // Back-pressure: a local subscriber is behind; take nothing more.
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
