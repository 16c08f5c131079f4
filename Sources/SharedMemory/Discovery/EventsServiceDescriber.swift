/// Describes an events segment (kind 2, <doc:EventProtocol>).
///
/// Its one role with a lock is the listener (byte 0). Notifiers take no
/// lock and write nothing but pending bits, so they are not listed, and the
/// layout counts no notifications: the service has no published counter.
enum EventsServiceDescriber: ServiceDescriber {
    static let segmentKind = EventLayout.segmentKind

    static func describe(_ view: ServiceSegmentView, into info: inout ServiceInfo) throws(ServiceProblem) {
        let name = view.name.posixName
        info.kind = .events
        guard view.payloadSize == EventLayout.payloadSize else {
            throw ServiceProblem("\(name) has \(view.payloadSize) bytes of payload; an events segment has \(EventLayout.payloadSize)")
        }
        guard view.load32(EventLayout.Offset.magic) == EventLayout.magic else {
            throw ServiceProblem("\(name) has no events magic")
        }
        let version = view.load32(EventLayout.Offset.version) ?? 0
        info.configuration.layoutVersion = version
        guard version == EventLayout.version else {
            throw ServiceProblem("\(name) has events layout version \(version); this library reads \(EventLayout.version)")
        }
        let ids = view.load32(EventLayout.Offset.idCount) ?? 0
        guard ids == UInt32(EventLayout.idCount) else {
            throw ServiceProblem("\(name) says it has \(ids) event ids; layout \(EventLayout.version) has \(EventLayout.idCount)")
        }
        info.configuration.eventIDs = EventLayout.idCount
        if try view.isLocked(byte: EventLayout.listenerLockByte) {
            info.participants.append(ServiceParticipant(role: .listener, alive: true))
        }
    }
}
