/// What kind of service a segment holds, as ``ServiceDirectory`` reports it.
///
/// A new kind of service (a segment kind, or a ring flavour) adds a case
/// here and one describer file in `Sources/SharedMemory/Discovery`.
public enum ServiceKind: String, Hashable, Sendable, CaseIterable {
    /// A one-to-one channel: one sender, one receiver (segment kind 1, flavour 0).
    case channel
    /// A publish/subscribe ring: one publisher, several subscribers (segment kind 1, flavour 1).
    case publishSubscribe = "publish-subscribe"
    /// An events segment: notifiers and one listener (segment kind 2).
    case events
    /// A many-to-one channel: senders and one receiver (segment kind 3, pattern 1).
    case manyToOne = "many-to-one"
    /// A topic: several publishers and several subscribers (segment kind 3, pattern 2).
    case topic
    /// A request/response service: clients and one server (segment kind 3, pattern 3).
    case requestResponse = "request-response"
}

/// A process's part in a service, found by ``ServiceDirectory``.
///
/// Whether a participant is alive comes from the kernel: the open file
/// description lock on its role's byte of the segment file, which the
/// kernel drops when the process closes the segment or dies. No word in
/// the segment decides it.
public struct ServiceParticipant: Hashable, Sendable {
    /// The part a process plays in a service.
    public enum Role: String, Hashable, Sendable, CaseIterable {
        /// The writer of a channel.
        case sender
        /// The reader of a channel.
        case receiver
        /// The writer of a publish/subscribe ring.
        case publisher
        /// A reader of a publish/subscribe ring.
        case subscriber
        /// A process that notifies an events segment. Notifiers take no
        /// lock and leave no trace in the events layout, so the directory
        /// does not list them.
        case notifier
        /// The one process that listens to an events segment.
        case listener
        /// A process that sends requests to a request/response service.
        case client
        /// The one process that answers a request/response service's requests.
        case server
    }

    /// The participant's role.
    public var role: Role
    /// The reader slot of a receiver or subscriber; `nil` for other roles.
    public var slot: Int?
    /// Whether a process holds the role's lock now: the kernel's answer,
    /// never a word of the segment.
    public var alive: Bool
    /// The process id the participant wrote into the segment, when the
    /// layout has a place for it and the word holds a possible pid; `nil`
    /// otherwise.
    ///
    /// It is self-reported: any process that can write the segment can write
    /// any number there, so it identifies nothing by itself. It is the
    /// participant's pid in its own pid namespace, and means nothing (or
    /// another process) in a different pid namespace, such as another
    /// container. Use ``alive`` to tell whether the participant lives.
    public var pid: Int32?
    /// Messages received through the slot, for a receiver or subscriber; `nil` for other roles.
    public var received: UInt64?

    /// A participant.
    public init(role: Role, slot: Int? = nil, alive: Bool, pid: Int32? = nil, received: UInt64? = nil) {
        self.role = role
        self.slot = slot
        self.alive = alive
        self.pid = pid
        self.received = received
    }
}

/// The shape of a service as its creator chose it; a field the service's
/// layout does not have is `nil`.
public struct ServiceConfiguration: Hashable, Sendable {
    /// The layout version of the service's payload (the ring's or the events segment's).
    public var layoutVersion: UInt32?
    /// A ring's data area in bytes.
    public var capacity: Int?
    /// A ring's largest message in bytes.
    public var maxMessageSize: Int?
    /// A ring's reader slots.
    public var slots: Int?
    /// A publish/subscribe ring's slow-subscriber policy (a channel has one too, and it is reported).
    public var policy: SlowSubscriberPolicy?
    /// A ring's payload alignment in bytes.
    public var alignment: Int?
    /// The message type's name of a typed ring, as its creator recorded it
    /// (invalid UTF-8 repaired); `nil` for a ring of bytes.
    public var messageTypeName: String?
    /// How many past messages a ring keeps for late subscribers, when its layout records it.
    public var historyDepth: Int?
    /// How many event ids an events segment has.
    public var eventIDs: Int?
    /// How many senders, publishers or clients a service segment takes at once.
    public var memberSlots: Int?

    /// A configuration with no field known.
    public init() {}
}

/// Counters a service keeps; `nil` when its layout has no such counter.
public struct ServiceCounters: Hashable, Sendable {
    /// Messages published (or sent) so far. An events segment counts no
    /// notifications, so it is `nil` there.
    public var published: UInt64?
    /// Bytes published so far, record headers and padding included.
    public var bytesPublished: UInt64?

    /// Counters with no value known.
    public init(published: UInt64? = nil, bytesPublished: UInt64? = nil) {
        self.published = published
        self.bytesPublished = bytesPublished
    }
}

/// What ``ServiceDirectory`` reports about one service.
///
/// Every field comes from a segment another process wrote, checked before
/// use: a word that breaks its layout's rules leaves the fields it steers
/// out and sets ``problem``.
public struct ServiceInfo: Hashable, Sendable {
    /// The POSIX name as safe text (see ``NameEscaping``).
    public var name: String
    /// The exact name.
    public var segmentName: SegmentName
    /// The managed segment's kind, as its header says.
    public var segmentKind: UInt32
    /// The kind of service; `nil` when it cannot be told (see ``problem``).
    public var kind: ServiceKind?
    /// The service's shape.
    public var configuration: ServiceConfiguration
    /// The roles that a process holds now (``ServiceParticipant/alive``), or
    /// that a process held and left without releasing its slot (it died).
    public var participants: [ServiceParticipant]
    /// The service's counters.
    public var counters: ServiceCounters
    /// Whether a process bridges the service to other machines now: it holds
    /// one of the service's bridge marks, a lock byte (as the kernel says; see
    /// <doc:Discovery#Bridged-Services>). Topics and request/response services
    /// have marks; always `false` for other kinds.
    public var bridged: Bool = false
    /// Why the service cannot be fully described: a word that breaks the
    /// layout's rules, an unknown version, a truncated segment; `nil` when
    /// all is well.
    public var problem: String?

    /// The participants in `role` that are alive.
    public func alive(_ role: ServiceParticipant.Role) -> [ServiceParticipant] {
        participants.filter { $0.role == role && $0.alive }
    }
}
