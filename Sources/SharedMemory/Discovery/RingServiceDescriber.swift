/// Describes a ring segment (kind 1): a channel or a publish/subscribe ring
/// (<doc:ChannelProtocol>).
///
/// Reads ring layout 3, and layout 4 where the writer and each reader slot
/// report their pid and the control block records a history depth. The
/// ring reading itself, ``describeRing(_:at:length:lockBase:)``, takes the
/// ring's place in the payload and its lock bytes, so that a segment that
/// holds several rings can describe each with it.
enum RingServiceDescriber: ServiceDescriber {
    static let segmentKind = RingLayout.segmentKind

    /// Ring layout versions this describer reads.
    static let versions: ClosedRange<UInt32> = 3...4


    static func describe(_ view: ServiceSegmentView, into info: inout ServiceInfo) throws(ServiceProblem) {
        let ring = describeRing(view, at: 0, length: view.payloadSize, lockBase: 0)
        info.kind = ring.kind
        info.configuration = ring.configuration
        info.participants = ring.participants
        info.counters = ring.counters
        if let problem = ring.problem { throw problem }
    }

    /// What one ring holds, as far as it could be read.
    struct Ring {
        var kind: ServiceKind?
        var configuration = ServiceConfiguration()
        var participants: [ServiceParticipant] = []
        var counters = ServiceCounters()
        var problem: ServiceProblem?
    }

    /// Reads the ring whose control block starts at payload offset `offset`
    /// and which fills `length` bytes; its writer's lock is file byte
    /// `lockBase` and reader slot `k`'s is `lockBase + 1 + k`.
    static func describeRing(_ view: ServiceSegmentView, at offset: Int, length: Int, lockBase: UInt64) -> Ring {
        var ring = Ring()
        do throws(ServiceProblem) {
            try read(view, at: offset, length: length, lockBase: lockBase, into: &ring)
        } catch {
            ring.problem = error
        }
        return ring
    }

    private static func read(_ view: ServiceSegmentView, at offset: Int, length: Int, lockBase: UInt64,
                             into ring: inout Ring) throws(ServiceProblem) {
        let name = view.name.posixName
        guard offset >= 0, length >= RingLayout.Offset.slots0, offset <= view.payloadSize - length else {
            throw ServiceProblem("\(name): a ring of \(length) bytes at \(offset) does not fit its \(view.payloadSize)-byte payload")
        }
        func word32(_ field: Int) throws(ServiceProblem) -> UInt32 {
            guard let word = view.load32(offset + field) else { throw ServiceProblem("\(name): word \(field) is outside the ring") }
            return word
        }
        func word64(_ field: Int) throws(ServiceProblem) -> UInt64 {
            guard let word = view.load64(offset + field) else { throw ServiceProblem("\(name): word \(field) is outside the ring") }
            return word
        }
        guard try word32(RingLayout.Offset.magic) == RingLayout.magic else { throw ServiceProblem("\(name) has no ring magic") }
        let version = try word32(RingLayout.Offset.version)
        ring.configuration.layoutVersion = version
        guard versions.contains(version) else {
            throw ServiceProblem("\(name) has ring layout version \(version); this library reads \(versions.lowerBound) to \(versions.upperBound)")
        }
        // The flavour first: it names the kind, and with it the roles.
        let flavour = try word32(RingLayout.Offset.flavour)
        guard let kind: ServiceKind = flavour == 0 ? .channel : flavour == 1 ? .publishSubscribe : nil else {
            throw ServiceProblem("\(name) has the unknown ring flavour \(flavour)")
        }
        ring.kind = kind
        let rawCapacity = try word64(RingLayout.Offset.capacity)
        guard rawCapacity >= 4096, rawCapacity <= 1 << 40, rawCapacity & (rawCapacity - 1) == 0 else {
            throw ServiceProblem("\(name) has a capacity of \(rawCapacity) bytes, not a power of two from 4 KiB to 1 TiB")
        }
        let capacity = Int(rawCapacity)
        var shape = RingConfiguration(exactCapacity: capacity, maxMessageSize: Int(try word32(RingLayout.Offset.maxMessage)))
        shape.alignment = Int(try word32(RingLayout.Offset.alignment))
        do {
            try shape.validate()
        } catch {
            throw ServiceProblem("\(name): \(error)")
        }
        ring.configuration.capacity = capacity
        ring.configuration.maxMessageSize = shape.maxMessageSize
        ring.configuration.alignment = shape.alignment
        let slotWord = try word32(RingLayout.Offset.slots)
        guard (1...UInt32(RingLayout.maxSlots)).contains(slotWord) else {
            throw ServiceProblem("\(name) has \(slotWord) reader slots; 1 to \(RingLayout.maxSlots) are possible")
        }
        let slots = Int(slotWord)
        guard RingLayout.payloadSize(capacity: capacity, slots: slots) == length else {
            throw ServiceProblem("\(name) has \(slots) reader slots and \(capacity) bytes of data, which do not fill its \(length) bytes")
        }
        ring.configuration.slots = slots
        let policyWord = try word32(RingLayout.Offset.policy)
        guard let policy = SlowSubscriberPolicy(rawValue: policyWord) else {
            throw ServiceProblem("\(name) has the unknown slow-subscriber policy \(policyWord)")
        }
        ring.configuration.policy = policy
        let type = try view.withBytes(offset, RingLayout.Offset.slots0) { control throws(ServiceProblem) in
            do { return try MessageTypeIdentity.read(from: control, ringName: name) } catch { throw ServiceProblem("\(error)") }
        }
        ring.configuration.messageTypeName = type??.name
        let reportsPIDs = version >= 4
        if reportsPIDs { ring.configuration.historyDepth = Int(try word32(RingLayout.Offset.historyDepth)) }
        ring.counters = ServiceCounters(published: try word64(RingLayout.Offset.published),
                                        bytesPublished: try word64(RingLayout.Offset.writePosition))

        // The writer: alive when its lock is held; listed dead when the
        // state word says attached but nobody holds the lock (it died).
        let writerRole: ServiceParticipant.Role = kind == .channel ? .sender : .publisher
        let readerRole: ServiceParticipant.Role = kind == .channel ? .receiver : .subscriber
        let writerAlive = try view.isLocked(byte: lockBase)
        let writerState = try word32(RingLayout.Offset.writerState)
        if writerAlive || writerState == RingLayout.WriterState.attached.rawValue {
            ring.participants.append(ServiceParticipant(
                role: writerRole, alive: writerAlive,
                pid: reportsPIDs ? selfReportedPID(try word32(RingLayout.Offset.writerPid)) : nil))
        }
        for slot in 0..<slots {
            let slotBase = RingLayout.Offset.slots0 + 64 * slot
            let alive = try view.isLocked(byte: lockBase + 1 + UInt64(slot))
            let state = try word32(slotBase + RingLayout.SlotOffset.state)
            guard alive || state == RingLayout.SlotState.attached.rawValue else { continue }
            ring.participants.append(ServiceParticipant(
                role: readerRole, slot: slot, alive: alive,
                pid: reportsPIDs ? selfReportedPID(try word32(slotBase + RingLayout.SlotOffset.pid)) : nil,
                received: try word64(slotBase + RingLayout.SlotOffset.received)))
        }
    }
}
