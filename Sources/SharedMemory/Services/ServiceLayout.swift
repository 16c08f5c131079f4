/// Constants of a service segment (segment kind ``ServiceLayout/segmentKind``,
/// service layout version 1): one segment that holds the rings of a
/// many-to-one channel, a topic with several publishers, or a
/// request/response service.
///
/// The one normative description of the layout, byte by byte, with the
/// join and reset rules and the memory-ordering argument, is the catalog's
/// <doc:ServiceProtocol> article; this type only names the offsets.
public enum ServiceLayout {
    /// The managed segment kind of a service segment.
    public static let segmentKind: UInt32 = 3
    static let magic: UInt32 = 0x4356_5253 // "SRVC" in little-endian bytes
    static let version: UInt32 = 1
    static let headerSize = 128
    static let memberEntrySize = 64
    /// The most members (senders, publishers or clients) a service may have.
    public static let maxMembers = 64
    /// The most subscribers a topic may have.
    public static let maxSubscribers = 64
    /// Ring regions start at multiples of this, so that no ring shares a page with another.
    static let regionAlignment = 4096

    enum Offset {
        static let magic = 0, version = 4, pattern = 8, members = 12, ringsPerMember = 16, readerSlots = 20
        static let ringStride = 24, ringsOffset = 32
        static let membershipEvent = 40, membershipSleepers = 44, ownerPid = 48, ownerSleeping = 52
        static let sessions = 56
        /// Bit `k` set while member `k` spins waiting (a hint; see <doc:ServiceProtocol>).
        static let memberSpinners = 64
        static let members0 = headerSize
    }

    enum MemberOffset {
        static let state = 0, session = 4, pid = 8
    }

    enum MemberState: UInt32 {
        /// Never used, or being reset by a joining member.
        case free = 0
        /// Set up by the member whose session is in the entry.
        case active = 1
    }

    /// The lock byte of the owner: the receiver of a many-to-one channel, the server of a request/response service.
    static let ownerLockByte: UInt64 = 0
    /// The lock byte of member `k`.
    static func memberLockByte(_ member: Int) -> UInt64 { UInt64(1 + member) }
    /// The lock byte of topic subscriber `j`.
    static func subscriberLockByte(_ subscriber: Int) -> UInt64 { UInt64(1 + maxMembers + subscriber) }
    /// How many bridge marks a topic has: processes that carry it to other
    /// machines (`shm-bridge`) each hold one while they bridge it.
    static let bridgeMarks = 16
    /// The lock byte of bridge mark `b` (file offsets 129 to 144, after the
    /// subscriber bytes and before any ring's); no word of the segment changes.
    static func bridgeLockByte(_ mark: Int) -> UInt64 { UInt64(1 + maxMembers + maxSubscribers + mark) }

    /// Where the ring regions start in the payload, for `members` members.
    static func ringsOffset(members: Int) -> Int {
        roundUp(headerSize + memberEntrySize * members, to: regionAlignment)
    }

    /// The distance between two ring regions for rings of `capacity` bytes and `slots` reader slots.
    static func ringStride(capacity: Int, slots: Int) -> Int {
        roundUp(RingLayout.payloadSize(capacity: capacity, slots: slots), to: regionAlignment)
    }

    static func roundUp(_ value: Int, to alignment: Int) -> Int {
        (value + alignment - 1) & ~(alignment - 1)
    }
}

/// The messaging pattern of a service segment.
public enum ServicePattern: UInt32, Hashable, Sendable, CaseIterable {
    /// Many senders, one receiver: one channel ring per sender (``ManyToOneReceiver``).
    case manyToOne = 1
    /// Several publishers, many subscribers: one publish/subscribe ring per publisher.
    case topic = 2
    /// Clients and one server: a request ring and a response ring per client.
    case requestResponse = 3

    /// The rings of each member: one, or a request and a response ring.
    var ringsPerMember: Int { self == .requestResponse ? 2 : 1 }

    /// The name used in messages and listings.
    public var name: String {
        switch self {
        case .manyToOne: "many-to-one channel"
        case .topic: "topic"
        case .requestResponse: "request/response service"
        }
    }
}

extension ServicePattern {
    /// The pattern of the existing service segment `name`: `nil` when no
    /// segment of that name exists or it is not a service segment (a
    /// one-to-one channel, a publish/subscribe ring, events or data).
    /// - Throws: ``ChannelError/badChannel(_:)`` for a service segment whose
    ///   header breaks the layout's rules, and ``ChannelError/segment(_:)``
    ///   for a segment that exists but cannot be opened (not a managed
    ///   segment, never made ready, not permitted).
    public static func ofSegment(_ name: SegmentName, backend: SharedMemorySegment.Backend = .default) throws(ChannelError) -> ServicePattern? {
        let segment: ManagedSegment
        do {
            segment = try ManagedSegment.open(name, access: .readOnly, backend: backend)
        } catch where error.errno == .noSuchFileOrDirectory {
            return nil
        } catch {
            // Reported now: the caller's own open would only wait for it again.
            throw .segment(error)
        }
        guard segment.header.kind == ServiceLayout.segmentKind else { return nil }
        return try ServiceSegment(segment: segment, expected: nil, access: .readOnly).pattern
    }
}
