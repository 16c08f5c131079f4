internal import CCycloneDDS
internal import CShmBridgeTypes

/// A DDS error: what failed and Cyclone's return code.
struct DDSError: Error, CustomStringConvertible {
    var what: String
    var code: Int32
    var description: String {
        let text = dds_strretcode(code).map { String(cString: $0) } ?? "code \(code)"
        return "\(what): \(text)"
    }
}

/// Checks a DDS entity handle or return code (negative is an error).
@discardableResult
func ddsCheck(_ value: Int32, _ what: @autoclosure () -> String) throws(DDSError) -> Int32 {
    guard value >= 0 else { throw DDSError(what: what(), code: value) }
    return value
}

/// The readers (of other participants, when theirs ignore local writers)
/// matched with `writer` now.
func matchedReaderCount(of writer: dds_entity_t) -> Int {
    var status = dds_publication_matched_status_t()
    guard dds_get_publication_matched_status(writer, &status) == DDS_RETCODE_OK else { return 0 }
    return Int(status.current_count)
}

/// The bridge's DDS domain and participant: created with an explicit
/// configuration, deleted (with every entity under it) exactly once.
final class DDSParticipant: @unchecked Sendable {
    // @unchecked: the handles are plain integers set once in init; Cyclone's
    // API is thread-safe, and deinit runs after every forwarding thread has joined.
    let domain: dds_entity_t
    let participant: dds_entity_t
    let participantReader: dds_entity_t
    let domainId: UInt32

    init(_ configuration: DDSDomainConfiguration) throws(DDSError) {
        domainId = configuration.domain
        domain = try ddsCheck(dds_create_domain(dds_domainid_t(configuration.domain), configuration.xml),
                              "creating DDS domain \(configuration.domain)")
        let qos = dds_create_qos()
        defer { dds_delete_qos(qos) }
        let lease = configuration.leaseDuration.components
        // Cyclone takes a participant's lease duration from its liveliness QoS.
        dds_qset_liveliness(qos, DDS_LIVELINESS_AUTOMATIC, lease.seconds * 1_000_000_000 + lease.attoseconds / 1_000_000_000)
        let participant = dds_create_participant(dds_domainid_t(configuration.domain), qos, nil)
        guard participant >= 0 else {
            dds_delete(domain)
            throw DDSError(what: "creating a participant in DDS domain \(configuration.domain)", code: participant)
        }
        self.participant = participant
        participantReader = shm_bridge_participant_reader(participant)
    }

    /// Remote participants in the domain now (-1 when unknown).
    var remoteParticipants: Int {
        participantReader < 0 ? -1 : Int(shm_bridge_count_remote_participants(participantReader, participant))
    }

    /// The topic of service `service` (its name already checked by ``BridgeNaming``).
    func topic(_ topicName: String) throws(DDSError) -> dds_entity_t {
        try ddsCheck(dds_create_topic(participant, shm_bridge_message_descriptor(), topicName, nil, nil),
                     "creating DDS topic \(topicName)")
    }

    deinit {
        dds_delete(participant)
        dds_delete(domain)
    }
}
