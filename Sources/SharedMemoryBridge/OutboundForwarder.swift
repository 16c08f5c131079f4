internal import CCycloneDDS
internal import CShmBridgeTypes
import Glibc
import Synchronization
import SharedMemory

/// Local ring -> DDS topic: reads the local ring and writes each message as
/// one sample. When `dds_write` blocks (a reliable remote reader is behind
/// and the KEEP_ALL history is full) it retries the same message and reads
/// nothing more, so the local ring fills and its lossless publisher waits.
///
/// With a busy-poll window (``BridgeConfiguration/busyPoll``) the thread
/// stays awake for that long after each message, looking at the ring and
/// yielding its core between looks, so the next message of a conversation
/// is taken without a wake-up.
final class OutboundForwarder: @unchecked Sendable {
    // @unchecked: the local endpoint and writer are used only by this forwarder's thread;
    // `stop` is atomic and the counters are atomics.
    let service: String
    let local: LocalInbound
    let writer: dds_entity_t
    let origin: [UInt8]
    let counters: BridgeCounters
    let stop: StopFlag
    /// How long after a message the thread keeps polling the ring (yielding
    /// its core between looks) before it sleeps again; zero: it sleeps at once.
    let busyPoll: Duration

    init(service: String, local: LocalInbound, participant: DDSParticipant, topic: dds_entity_t, qos: BridgeQoS,
         origin: [UInt8], counters: BridgeCounters, stop: StopFlag, busyPoll: Duration) throws(DDSError) {
        self.service = service
        self.busyPoll = busyPoll
        self.local = local
        self.origin = origin
        self.counters = counters
        self.stop = stop
        let q = qos.make(ignoreLocal: false)
        defer { dds_delete_qos(q) }
        writer = try ddsCheck(dds_create_writer(participant.participant, topic, q, nil), "creating a DDS writer for \(service)")
    }

    /// The readers (of other participants: a bridge's own readers ignore its
    /// writers) matched with this forwarder's DDS writer now.
    var matchedReaders: Int { matchedReaderCount(of: writer) }

    func run() {
        var sample = shm_bridge_Message()
        withUnsafeMutableBytes(of: &sample.origin) { raw in
            for (index, byte) in origin.enumerated() where index < raw.count { raw[index] = byte }
        }
        sample.type_size = UInt32(clamping: local.messageType?.size ?? 0)
        sample.type_fingerprint = local.messageType?.fingerprint ?? 0
        sample.byte_order = InboundCheck.localByteOrder
        let window = busyPoll
        var lastMessage = ContinuousClock.now - .seconds(1)
        // Samples written since the last flush: they go out in as few packets
        // as the ring allows, and no later than the moment the ring is empty.
        var unflushed = false
        while !stop.isSet {
            let message: LocalMessage
            do {
                var next = unflushed ? try local.receive(timeout: .zero) : nil
                if next == nil {
                    if unflushed {
                        dds_write_flush(writer)
                        unflushed = false
                    }
                    let polling = window > .zero && ContinuousClock.now - lastMessage < window
                    next = try local.receive(timeout: polling ? .zero : .milliseconds(200))
                    if next == nil, polling { sched_yield() }
                }
                guard let next else { continue }
                if window > .zero { lastMessage = .now }
                message = next
            } catch {
                BridgeLog.log(.error, "\(service): reading the local ring: \(error)")
                while !stop.isSet { usleepMs(100) }
                return
            }
            if message.missedBefore > 0 {
                counters.missedLocal.add(message.missedBefore, ordering: .relaxed)
            }
            sample.sequence_number = message.sequence
            sample.sender_tag = message.senderTag
            message.bytes.withUnsafeBufferPointer { bytes in
                sample.payload._buffer = UnsafeMutablePointer(mutating: bytes.baseAddress)
                sample.payload._length = UInt32(bytes.count)
                sample.payload._maximum = UInt32(bytes.count)
                sample.payload._release = false
                while true {
                    let rc = dds_write(writer, &sample)
                    if rc == DDS_RETCODE_OK {
                        unflushed = true
                        counters.messagesOut.add(1, ordering: .relaxed)
                        counters.bytesOut.add(UInt64(bytes.count), ordering: .relaxed)
                        break
                    }
                    if rc == DDS_RETCODE_TIMEOUT {
                        // Back-pressure: keep this message, read no more, try again.
                        counters.writeBlocked.add(1, ordering: .relaxed)
                        if stop.isSet { break }
                        continue
                    }
                    BridgeLog.log(.warning, "\(service): dds_write failed (\(DDSError(what: "write", code: rc))); message \(message.sequence) dropped")
                    counters.droppedLocal.add(1, ordering: .relaxed)
                    break
                }
                sample.payload._buffer = nil
            }
        }
    }
}

func usleepMs(_ ms: UInt32) { usleep(ms * 1000) }

