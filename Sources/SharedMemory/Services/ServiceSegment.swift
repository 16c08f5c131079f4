import Synchronization

/// The shape of a new service segment.
struct ServiceShape {
    var pattern: ServicePattern
    /// Member slots: senders, publishers or clients.
    var members: Int
    /// The shape of every ring.
    var ring: RingConfiguration
    /// Reader slots per ring: 1, or a topic's subscriber slots.
    var readerSlots: Int = 1
    var policy: SlowSubscriberPolicy = .lossless
    /// Messages each topic ring keeps for late subscribers (0 for the other patterns).
    var historyDepth: Int = 0

    func validate() throws(ChannelError) {
        try ring.validate()
        guard (1...ServiceLayout.maxMembers).contains(members) else {
            throw .badChannel("\(members) member slots; 1 to \(ServiceLayout.maxMembers) are possible")
        }
        guard (1...ServiceLayout.maxSubscribers).contains(readerSlots), pattern == .topic || readerSlots == 1 else {
            throw .badChannel("\(readerSlots) reader slots per ring; a \(pattern.name) has 1, a topic 1 to \(ServiceLayout.maxSubscribers)")
        }
        guard (0...RingLayout.maxHistoryDepth).contains(historyDepth), pattern == .topic || historyDepth == 0 else {
            throw .badChannel("a history of \(historyDepth) messages; a topic keeps 0 to \(RingLayout.maxHistoryDepth), other services none")
        }
    }

    var flavour: RingCore.Flavour { pattern == .topic ? .publishSubscribe : .channel }
    var ringStride: Int { ServiceLayout.ringStride(capacity: ring.capacity, slots: readerSlots) }
    var ringsOffset: Int { ServiceLayout.ringsOffset(members: members) }

    /// The payload size, or `nil` when it overflows.
    var payloadSize: Int? {
        let (rings, o1) = ringStride.multipliedReportingOverflow(by: members * pattern.ringsPerMember)
        let (total, o2) = rings.addingReportingOverflow(ringsOffset)
        return o1 || o2 ? nil : total
    }
}

/// A service segment mapped into this process: its header, member table and
/// rings. The patterns' types (``ManyToOneReceiver`` and the others) build on it.
///
/// `@unchecked Sendable`: its stored properties are immutable after `init`;
/// the shared words are reached only through atomics and checked reads.
final class ServiceSegment: @unchecked Sendable {
    let mapping: RingMapping
    let base: UnsafeMutableRawPointer
    let pattern: ServicePattern
    let memberCount: Int
    let readerSlots: Int
    let ringStride: Int
    let ringsOffset: Int

    var name: SegmentName { mapping.segment.name }
    var system: any SharedMemoryBackend { mapping.system }

    /// Checks the header of a mapped service segment. `expected` is the
    /// pattern the caller needs (`nil`: any); `access` is `.readOnly` for inspection.
    init(segment: consuming ManagedSegment, expected: ServicePattern?, access: SharedMemorySegment.Access = .readWrite) throws(ChannelError) {
        let name = segment.name.posixName
        guard segment.header.kind == ServiceLayout.segmentKind else {
            throw .badChannel("\(name) is a managed segment of kind \(segment.header.kind), not a service")
        }
        let mapping = try RingMapping(segment: segment, access: access)
        let base = mapping.view.unsafeBaseAddress
        let size = mapping.view.count
        guard size >= ServiceLayout.headerSize else {
            throw .badChannel("\(name) is too small for a service header: \(size) bytes")
        }
        func load32(_ offset: Int) -> UInt32 { UInt32(littleEndian: base.load(fromByteOffset: offset, as: UInt32.self)) }
        func load64(_ offset: Int) -> UInt64 { UInt64(littleEndian: base.load(fromByteOffset: offset, as: UInt64.self)) }
        guard load32(ServiceLayout.Offset.magic) == ServiceLayout.magic else {
            throw .badChannel("\(name) has no service magic")
        }
        let version = load32(ServiceLayout.Offset.version)
        guard version == ServiceLayout.version else {
            throw .badChannel("\(name) has service layout version \(version); this library reads \(ServiceLayout.version)"
                              + (version < ServiceLayout.version ? " (remove the service and create it again)" : ""))
        }
        guard let pattern = ServicePattern(rawValue: load32(ServiceLayout.Offset.pattern)) else {
            throw .badChannel("\(name) has an unknown service pattern \(load32(ServiceLayout.Offset.pattern))")
        }
        if let expected, expected != pattern {
            throw .badChannel("\(name) is a \(pattern.name), not a \(expected.name)")
        }
        let members = Int(load32(ServiceLayout.Offset.members))
        let readerSlots = Int(load32(ServiceLayout.Offset.readerSlots))
        guard (1...ServiceLayout.maxMembers).contains(members),
              Int(load32(ServiceLayout.Offset.ringsPerMember)) == pattern.ringsPerMember,
              (1...ServiceLayout.maxSubscribers).contains(readerSlots), pattern == .topic || readerSlots == 1 else {
            throw .badChannel("\(name) has \(members) members, \(load32(ServiceLayout.Offset.ringsPerMember)) rings each and \(readerSlots) reader slots, which a \(pattern.name) cannot have")
        }
        let stride = load64(ServiceLayout.Offset.ringStride)
        let ringsOffset = load64(ServiceLayout.Offset.ringsOffset)
        let rings = UInt64(members * pattern.ringsPerMember)
        let (ringBytes, overflow) = stride.multipliedReportingOverflow(by: rings)
        // Overflow-checked: a forged stride must not trap the sum.
        let (end, endOverflow) = ringsOffset.addingReportingOverflow(ringBytes)
        guard ringsOffset == UInt64(ServiceLayout.ringsOffset(members: members)),
              stride > 0, stride % UInt64(ServiceLayout.regionAlignment) == 0, !overflow, !endOverflow,
              end == UInt64(size) else {
            throw .badChannel("\(name): \(rings) rings \(stride) bytes apart from offset \(ringsOffset) do not fill its \(size) bytes")
        }
        self.mapping = mapping
        self.base = base
        self.pattern = pattern
        self.memberCount = members
        self.readerSlots = readerSlots
        self.ringStride = Int(stride)
        self.ringsOffset = Int(ringsOffset)
    }

    /// Opens the service `name`, creating it with `shape` when it does not exist.
    static func open(
        _ name: SegmentName, expected pattern: ServicePattern, shape: ServiceShape?, mode: UInt32,
        lifetime: ManagedSegment.Lifetime, backend: SharedMemorySegment.Backend
    ) throws(ChannelError) -> ServiceSegment {
        let segment: ManagedSegment
        do {
            if let shape {
                try shape.validate()
                guard let payloadSize = shape.payloadSize else {
                    throw ChannelError.badChannel("a \(shape.pattern.name) of \(shape.members) members with \(shape.ring.capacity)-byte rings is too large")
                }
                segment = try ManagedSegment.create(
                    name, payloadSize: payloadSize, mode: mode, lifetime: lifetime,
                    kind: ServiceLayout.segmentKind, backend: backend
                ) { payload in
                    ServiceSegment.initialize(payload, shape: shape)
                }
            } else {
                segment = try ManagedSegment.open(name, access: .readWrite, backend: backend)
            }
        } catch let error as ChannelError {
            throw error
        } catch let error as SharedMemoryError {
            throw .segment(error)
        } catch {
            throw .badChannel("\(error)")
        }
        return try ServiceSegment(segment: segment, expected: pattern)
    }

    /// Writes a new service's header and rings into its zeroed payload.
    static func initialize(_ payload: UnsafeMutableRawBufferPointer, shape: ServiceShape) {
        let base = payload.baseAddress!
        func store32(_ value: UInt32, _ offset: Int) { base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt32.self) }
        func store64(_ value: UInt64, _ offset: Int) { base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt64.self) }
        store32(ServiceLayout.magic, ServiceLayout.Offset.magic)
        store32(ServiceLayout.version, ServiceLayout.Offset.version)
        store32(shape.pattern.rawValue, ServiceLayout.Offset.pattern)
        store32(UInt32(shape.members), ServiceLayout.Offset.members)
        store32(UInt32(shape.pattern.ringsPerMember), ServiceLayout.Offset.ringsPerMember)
        store32(UInt32(shape.readerSlots), ServiceLayout.Offset.readerSlots)
        store64(UInt64(shape.ringStride), ServiceLayout.Offset.ringStride)
        store64(UInt64(shape.ringsOffset), ServiceLayout.Offset.ringsOffset)
        let ringSize = RingLayout.payloadSize(capacity: shape.ring.capacity, slots: shape.readerSlots)
        for index in 0..<(shape.members * shape.pattern.ringsPerMember) {
            let region = UnsafeMutableRawBufferPointer(start: base + shape.ringsOffset + index * shape.ringStride, count: ringSize)
            RingLayout.initialize(region, configuration: shape.ring, slots: shape.readerSlots,
                                  policy: shape.policy, flavour: shape.flavour, historyDepth: shape.historyDepth)
        }
    }

    // MARK: Shared words

    func word32(_ offset: Int) -> UnsafeMutablePointer<Atomic<UInt32>> {
        (base + offset).assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    func word64(_ offset: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        (base + offset).assumingMemoryBound(to: Atomic<UInt64>.self)
    }

    /// A word of member `member`'s entry.
    func memberWord(_ member: Int, _ offset: Int) -> UnsafeMutablePointer<Atomic<UInt32>> {
        word32(ServiceLayout.Offset.members0 + ServiceLayout.memberEntrySize * member + offset)
    }

    var membershipEvent: UnsafeMutablePointer<Atomic<UInt32>> { word32(ServiceLayout.Offset.membershipEvent) }
    var membershipSleepers: UnsafeMutablePointer<Atomic<UInt32>> { word32(ServiceLayout.Offset.membershipSleepers) }
    var ownerSleeping: UnsafeMutablePointer<Atomic<UInt32>> { word32(ServiceLayout.Offset.ownerSleeping) }
    /// How many member sessions have started, ever.
    var sessions: UnsafeMutablePointer<Atomic<UInt64>> { word64(ServiceLayout.Offset.sessions) }

    /// Whether member `member`'s entry is active, and its session.
    func memberSession(_ member: Int) -> UInt32? {
        guard memberWord(member, ServiceLayout.MemberOffset.state).pointee.load(ordering: .acquiring)
                == ServiceLayout.MemberState.active.rawValue else { return nil }
        return memberWord(member, ServiceLayout.MemberOffset.session).pointee.load(ordering: .acquiring)
    }

    /// Wakes whoever waits for members to join or leave.
    func announceMembership() {
        membershipEvent.pointee.wrappingAdd(1, ordering: .sequentiallyConsistent)
        if membershipSleepers.pointee.load(ordering: .sequentiallyConsistent) != 0 {
            _ = try? system.futexWake(UnsafeMutableRawPointer(membershipEvent).assumingMemoryBound(to: UInt32.self), count: Int32.max)
        }
    }

    // MARK: Rings

    /// The payload offset of ring `ring` (0, or 1 for a response ring) of member `member`.
    func ringOffset(member: Int, ring: Int) -> Int {
        ringsOffset + (member * pattern.ringsPerMember + ring) * ringStride
    }

    /// The file offset of the ring's first byte: its writer's lock byte.
    func ringLockBase(member: Int, ring: Int) -> UInt64 {
        UInt64(SegmentHeader.size + ringOffset(member: member, ring: ring))
    }

    /// A core for ring `ring` of member `member`, checked like any ring.
    func ring(member: Int, ring: Int) throws(ChannelError) -> RingCore {
        precondition((0..<memberCount).contains(member) && (0..<pattern.ringsPerMember).contains(ring))
        let offset = ringOffset(member: member, ring: ring)
        let region = base + offset
        let capacity = UInt64(littleEndian: region.load(fromByteOffset: RingLayout.Offset.capacity, as: UInt64.self))
        let slots = UInt32(littleEndian: region.load(fromByteOffset: RingLayout.Offset.slots, as: UInt32.self))
        guard capacity <= UInt64(ringStride), slots == UInt32(readerSlots) else {
            throw .badChannel("\(name.posixName): ring \(ring) of member \(member) has \(capacity) bytes and \(slots) reader slots, which its \(ringStride)-byte region cannot hold")
        }
        let size = RingLayout.payloadSize(capacity: Int(capacity), slots: readerSlots)
        guard size <= ringStride else {
            throw .badChannel("\(name.posixName): ring \(ring) of member \(member) needs \(size) bytes, more than its \(ringStride)-byte region")
        }
        return try RingCore(mapping: mapping, offset: offset, size: size,
                            lockBase: ringLockBase(member: member, ring: ring),
                            expected: pattern == .topic ? .publishSubscribe : .channel)
    }

    // MARK: Locks

    /// Takes `length` lock bytes from `byte` exclusively; `false` when some process holds one of them.
    func tryLock(_ byte: UInt64, length: UInt64 = 1) throws(ChannelError) -> Bool {
        try mapping.tryLock(byte, length: length)
    }

    func unlock(_ byte: UInt64, length: UInt64 = 1) { mapping.unlock(byte, length: length) }

    /// Whether some process holds one of `length` lock bytes from `byte`.
    func isLocked(_ byte: UInt64, length: UInt64 = 1) -> Bool { mapping.isLocked(byte, length: length) }

    /// Takes a free bridge mark (``ServiceLayout/bridgeLockByte(_:)``) on this
    /// segment's open file description, held until it closes: the process
    /// says it bridges the service, and discovery sees it by the kernel's lock.
    /// Taking it again through the same mapping is a no-op.
    func markBridged() throws(ChannelError) {
        for mark in 0..<ServiceLayout.bridgeMarks where try tryLock(ServiceLayout.bridgeLockByte(mark)) { return }
        throw .busy("all \(ServiceLayout.bridgeMarks) bridge marks of \(name.posixName) are taken")
    }

    /// The periodic check of a waiting side: the segment is still whole. A
    /// peer that truncates it makes every side report it, rather than read
    /// the zero pages the SIGBUS guard maps in as an empty service.
    func checkIntact() throws(ChannelError) {
        if mapping.isTruncated() { throw mapping.truncationError(of: "service") }
    }

    /// Whether a member process holds member slot `member`.
    func memberIsAlive(_ member: Int) -> Bool { isLocked(ServiceLayout.memberLockByte(member)) }

    /// Whether the owner (a receiver or server) is attached.
    var ownerIsAlive: Bool { isLocked(ServiceLayout.ownerLockByte) }
}
