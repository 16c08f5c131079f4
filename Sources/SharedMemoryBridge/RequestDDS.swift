internal import CCycloneDDS
internal import CShmBridgeTypes
import SharedMemory

/// The DDS entities both sides of a bridged request/response service use.
enum RequestDDS {
    /// The three topics of `service` (its name checked by the configuration).
    static func topics(_ participant: DDSParticipant, service: String) throws(DDSError)
        -> (request: dds_entity_t, reply: dds_entity_t, server: dds_entity_t) {
        let names = BridgeNaming.requestTopicNames(forService: service)
            ?? RequestTopicNames(request: "shm/invalid/request", reply: "shm/invalid/reply", server: "shm/invalid/server")
        let request = try ddsCheck(dds_create_topic(participant.participant, shm_bridge_request_descriptor(), names.request, nil, nil),
                                   "creating DDS topic \(names.request)")
        let reply = try ddsCheck(dds_create_topic(participant.participant, shm_bridge_reply_descriptor(), names.reply, nil, nil),
                                 "creating DDS topic \(names.reply)")
        let server = try ddsCheck(dds_create_topic(participant.participant, shm_bridge_responder_descriptor(), names.server, nil, nil),
                                  "creating DDS topic \(names.server)")
        return (request, reply, server)
    }

    /// Requests and replies: RELIABLE, KEEP_ALL, VOLATILE, bounded by
    /// `queueDepth` samples (4 times that on a reader), like a lossless ring.
    static func dataQoS(queueDepth: Int, maxPayload: Int, reader: Bool) -> OpaquePointer? {
        var qos = BridgeQoS(lossless: true, queueDepth: BridgeQoS.depth(requested: queueDepth, maxMessageSize: maxPayload))
        if reader { qos.queueDepth = qos.queueDepth &* 4 }
        return qos.make(ignoreLocal: reader)
    }

    /// Announcements: RELIABLE, TRANSIENT_LOCAL (a requester that joins
    /// later gets the responders' last announcements), KEEP_LAST 1 per origin.
    static func announcementQoS() -> OpaquePointer? {
        let qos = dds_create_qos()
        dds_qset_reliability(qos, DDS_RELIABILITY_RELIABLE, 200_000_000)
        dds_qset_durability(qos, DDS_DURABILITY_TRANSIENT_LOCAL)
        dds_qset_history(qos, DDS_HISTORY_KEEP_LAST, 1)
        // Bounded: a flood of announcements from forged origins takes at most
        // 256 instances of memory (the requester looks at 64 alive ones).
        dds_qset_resource_limits(qos, 256, 256, 1)
        return qos
    }

    static func copy(_ bytes: [UInt8], into raw: UnsafeMutableRawBufferPointer) {
        for (index, byte) in bytes.enumerated() where index < raw.count { raw[index] = byte }
    }

    /// Writes `sample` and sends it at once (the bridge's writers batch, see
    /// ``DDSDomainConfiguration``), trying again while the writer waits out
    /// back-pressure (a full KEEP_ALL history), until `stop`; with `once`,
    /// it waits out one blocking time only and returns `DDS_RETCODE_TIMEOUT`.
    /// Returns the last return code.
    static func write(_ writer: dds_entity_t, _ sample: UnsafeRawPointer, counters: BridgeCounters, stop: StopFlag,
                      once: Bool = false) -> Int32 {
        defer { dds_write_flush(writer) }
        while true {
            let rc = dds_write(writer, sample)
            guard rc == DDS_RETCODE_TIMEOUT else { return rc }
            counters.writeBlocked.add(1, ordering: .relaxed)
            if stop.isSet || once { return rc }
        }
    }


    /// The longest error reason sent on the network, in bytes (a reason is shortened to it).
    static let maxReasonLength = 1024

    static func shortened(_ reason: String, to limit: Int) -> [UInt8] {
        let bytes = Array(reason.utf8)
        guard bytes.count > limit else { return bytes }
        // Cut at a character boundary (String(decoding:) repairs the rest).
        return Array(String(decoding: bytes.prefix(max(0, limit)), as: UTF8.self).utf8.prefix(limit))
    }
}

/// 16 origin bytes as hex, for the log.
func originText<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    bytes.map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}
