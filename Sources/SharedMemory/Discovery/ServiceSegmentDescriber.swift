/// Describes a service segment (kind 3, <doc:ServiceProtocol>): a
/// many-to-one channel, a topic or a request/response service.
///
/// The owner (a receiver or server), every member slot (sender, publisher or
/// client) and every topic subscriber slot is listed when its lock is held,
/// or when the member table says active although nobody holds the lock (the
/// member died or left). The configuration is the first ring's; the counter
/// is the sum of every member's first ring's, which starts again from 0 for
/// a slot a new member takes over.
enum ServiceSegmentDescriber: ServiceDescriber {
    static let segmentKind = ServiceLayout.segmentKind

    static func describe(_ view: ServiceSegmentView, into info: inout ServiceInfo) throws(ServiceProblem) {
        let name = view.name.posixName
        func word32(_ offset: Int) throws(ServiceProblem) -> UInt32 {
            guard let word = view.load32(offset) else { throw ServiceProblem("\(name): word \(offset) is outside the service header") }
            return word
        }
        func word64(_ offset: Int) throws(ServiceProblem) -> UInt64 {
            guard let word = view.load64(offset) else { throw ServiceProblem("\(name): word \(offset) is outside the service header") }
            return word
        }
        guard try word32(ServiceLayout.Offset.magic) == ServiceLayout.magic else { throw ServiceProblem("\(name) has no service magic") }
        let version = try word32(ServiceLayout.Offset.version)
        info.configuration.layoutVersion = version
        guard version == ServiceLayout.version else {
            throw ServiceProblem("\(name) has service layout version \(version); this library reads \(ServiceLayout.version)")
        }
        let patternWord = try word32(ServiceLayout.Offset.pattern)
        guard let pattern = ServicePattern(rawValue: patternWord) else {
            throw ServiceProblem("\(name) has the unknown service pattern \(patternWord)")
        }
        let kind: ServiceKind = switch pattern {
        case .manyToOne: .manyToOne
        case .topic: .topic
        case .requestResponse: .requestResponse
        }
        info.kind = kind
        let members = Int(try word32(ServiceLayout.Offset.members))
        let readerSlots = Int(try word32(ServiceLayout.Offset.readerSlots))
        guard (1...ServiceLayout.maxMembers).contains(members), (1...ServiceLayout.maxSubscribers).contains(readerSlots),
              Int(try word32(ServiceLayout.Offset.ringsPerMember)) == pattern.ringsPerMember else {
            throw ServiceProblem("\(name) has \(members) member slots and \(readerSlots) reader slots, which a \(pattern.name) cannot have")
        }
        info.configuration.memberSlots = members
        let stride = try word64(ServiceLayout.Offset.ringStride)
        let ringsOffset = try word64(ServiceLayout.Offset.ringsOffset)
        let rings = UInt64(members * pattern.ringsPerMember)
        let (ringBytes, overflow) = stride.multipliedReportingOverflow(by: rings)
        guard ringsOffset == UInt64(ServiceLayout.ringsOffset(members: members)), stride > 0,
              stride % UInt64(ServiceLayout.regionAlignment) == 0, !overflow,
              !ringsOffset.addingReportingOverflow(ringBytes).overflow,
              ringsOffset + ringBytes == UInt64(view.payloadSize) else {
            throw ServiceProblem("\(name): \(rings) rings \(stride) bytes apart from offset \(ringsOffset) do not fill its \(view.payloadSize) bytes")
        }
        func ringOffset(_ member: Int, _ ring: Int) -> Int { Int(ringsOffset) + (member * pattern.ringsPerMember + ring) * Int(stride) }
        func ringLength(_ member: Int, _ ring: Int) throws(ServiceProblem) -> Int {
            let capacity = try word64(ringOffset(member, ring) + RingLayout.Offset.capacity)
            guard capacity >= 4096, capacity <= stride else {
                throw ServiceProblem("\(name): ring \(ring) of member \(member) has a capacity of \(capacity) bytes, more than its region")
            }
            return RingLayout.payloadSize(capacity: Int(capacity), slots: readerSlots)
        }

        let first = RingServiceDescriber.describeRing(view, at: ringOffset(0, 0), length: try ringLength(0, 0),
                                                      lockBase: UInt64(SegmentHeader.size + ringOffset(0, 0)))
        info.configuration.capacity = first.configuration.capacity
        info.configuration.maxMessageSize = first.configuration.maxMessageSize
        info.configuration.slots = first.configuration.slots
        info.configuration.policy = first.configuration.policy
        info.configuration.alignment = first.configuration.alignment
        info.configuration.messageTypeName = first.configuration.messageTypeName
        info.configuration.historyDepth = first.configuration.historyDepth
        if let problem = first.problem { throw problem }

        let ownerRole: ServiceParticipant.Role? = switch pattern {
        case .manyToOne: .receiver
        case .requestResponse: .server
        case .topic: nil
        }
        let memberRole: ServiceParticipant.Role = switch pattern {
        case .manyToOne: .sender
        case .topic: .publisher
        case .requestResponse: .client
        }
        if let ownerRole, try view.isLocked(byte: ServiceLayout.ownerLockByte) {
            info.participants.append(ServiceParticipant(
                role: ownerRole, alive: true, pid: selfReportedPID(try word32(ServiceLayout.Offset.ownerPid))))
        }
        var published: UInt64 = 0
        var bytes: UInt64 = 0
        for member in 0..<members {
            let entry = ServiceLayout.Offset.members0 + ServiceLayout.memberEntrySize * member
            let alive = try view.isLocked(byte: ServiceLayout.memberLockByte(member))
            let active = try word32(entry + ServiceLayout.MemberOffset.state) == ServiceLayout.MemberState.active.rawValue
            let ring = RingServiceDescriber.describeRing(view, at: ringOffset(member, 0), length: try ringLength(member, 0),
                                                         lockBase: UInt64(SegmentHeader.size + ringOffset(member, 0)))
            if let problem = ring.problem { throw problem }
            published &+= ring.counters.published ?? 0
            bytes &+= ring.counters.bytesPublished ?? 0
            // A member whose ring writer is gone and that holds no lock has left: not listed.
            let writer = ring.participants.first { $0.role == .sender || $0.role == .publisher }
            guard alive || (active && writer != nil) else { continue }
            info.participants.append(ServiceParticipant(
                role: memberRole, slot: member, alive: alive,
                pid: selfReportedPID(try word32(entry + ServiceLayout.MemberOffset.pid))))
        }
        if pattern == .topic {
            for subscriber in 0..<readerSlots where try view.isLocked(byte: ServiceLayout.subscriberLockByte(subscriber)) {
                info.participants.append(ServiceParticipant(role: .subscriber, slot: subscriber, alive: true))
            }
        }
        if pattern == .topic || pattern == .requestResponse {
            for mark in 0..<ServiceLayout.bridgeMarks where try view.isLocked(byte: ServiceLayout.bridgeLockByte(mark)) {
                info.bridged = true
                break
            }
        }
        info.counters = ServiceCounters(published: published, bytesPublished: bytes)
    }
}
