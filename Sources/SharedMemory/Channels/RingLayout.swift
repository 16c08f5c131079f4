/// Constants of a channel's ring in a managed segment's payload (segment
/// kind ``RingLayout/segmentKind``, ring layout version 4).
///
/// The one normative description of the layout, byte by byte, with the
/// rules a reader applies to every word it loads and the memory-ordering
/// argument, is the catalog's <doc:ChannelProtocol> article, with
/// <doc:MemoryOrdering> and <doc:TrustModel>; this type only names the
/// offsets.
public enum RingLayout {
    /// The managed segment kind of a channel or publish/subscribe ring.
    public static let segmentKind: UInt32 = 1
    static let magic: UInt32 = 0x474E_4952
    static let version: UInt32 = 4
    static let recordHeaderSize = 16
    /// The largest payload alignment a ring may have.
    static let maxAlignment = 64
    /// The bytes of the control block that hold a typed ring's message type name.
    static let typeNameSize = 48
    static let paddingFlag: UInt32 = 1
    /// The deepest history a publish/subscribe ring may keep, in messages.
    static let maxHistoryDepth = 1024

    enum Offset {
        static let magic = 0, version = 4, capacity = 8, maxMessage = 16, slots = 20, policy = 24, flavour = 28
        static let alignment = 32, messageSize = 36, messageAlignment = 40, messageStride = 44, messageFingerprint = 48
        static let historyDepth = 56
        static let writePosition = 64, reservePosition = 72, published = 80, oldestPosition = 88, oldestSequence = 96
        static let writerState = 104, spinners = 108, writerSleeping = 112, writerPid = 116, historyPosition = 120
        static let dataEvent = 128, dataSleepers = 132, spaceEvent = 136, spaceSleepers = 140
        static let messageTypeName = 144
        static let slots0 = 192
    }

    enum SlotOffset {
        static let readPosition = 0, nextSequence = 8, state = 16, missed = 24, received = 32, sleeping = 40, pid = 44
    }

    enum WriterState: UInt32 {
        case never = 0, attached = 1, closed = 2
    }

    enum SlotState: UInt32 {
        /// `left`: a channel's receiver closed or left cleanly; its cursor stays.
        case free = 0, active = 1, attached = 2, left = 3
    }

    /// Where the data area starts for `slots` reader slots.
    static func dataOffset(slots: Int) -> Int {
        (Offset.slots0 + 64 * slots + 63) & ~63
    }

    /// The payload size of a ring.
    static func payloadSize(capacity: Int, slots: Int) -> Int {
        dataOffset(slots: slots) + capacity
    }

    /// Where the payload of a record that starts at data-area offset
    /// `offset` (a multiple of 8) begins: right after the 16-byte header,
    /// moved up to the next multiple of the ring's payload `alignment`.
    @inline(__always)
    static func payloadOffset(at offset: Int, alignment: Int) -> Int {
        (offset + recordHeaderSize + alignment - 1) & ~(alignment - 1)
    }

    /// The size in the data area of a record that starts at `offset` and
    /// carries `length` bytes: from its start to the end of its payload,
    /// padded to a multiple of 8.
    @inline(__always)
    static func recordSize(at offset: Int, length: Int, alignment: Int) -> Int {
        ((payloadOffset(at: offset, alignment: alignment) + length + 7) & ~7) - offset
    }

    /// The largest size a record of `length` bytes can have, wherever it starts.
    static func largestRecordSize(_ length: Int, alignment: Int) -> Int {
        recordHeaderSize + max(alignment, 8) - 8 + ((length + 7) & ~7)
    }
}

/// How a publish/subscribe ring treats a subscriber that falls behind.
public enum SlowSubscriberPolicy: UInt32, Hashable, Sendable, CaseIterable {
    /// The publisher waits for the slowest subscriber: nothing is lost.
    case lossless = 0
    /// The publisher overwrites old messages; a subscriber that falls behind
    /// skips to the oldest intact message and learns how many it missed.
    case overwrite = 1
}

/// The shape of a ring, chosen when it is created.
public struct RingConfiguration: Hashable, Sendable {
    /// The size of the data area in bytes; rounded up to a power of two.
    public var capacity: Int
    /// The largest message in bytes; at most half the capacity, less the record header.
    public var maxMessageSize: Int
    /// How long the ring's name lives: ``ManagedSegment/Lifetime/posix`` (until removed) or
    /// ``ManagedSegment/Lifetime/lastClose`` (until the last process using it closes it).
    public var lifetime: ManagedSegment.Lifetime
    /// The alignment of every message's payload in memory, in bytes: a power
    /// of two from 1 to 64. Payloads aligned for a type can be read in place
    /// as that type; see <doc:ChannelProtocol#Records>.
    public var alignment: Int = 8
    /// The message type of a typed channel (`nil`: bytes of any length).
    var messageType: MessageTypeIdentity?

    /// A ring shape.
    ///
    /// - Parameters:
    ///   - capacity: bytes of message data the ring holds; rounded up to a power of two, at least 4 KiB.
    ///   - maxMessageSize: the largest message; by default a quarter of the capacity, less the record header; at most half.
    ///   - alignment: the payload alignment in bytes, a power of two from 1 to 64 (default 8).
    ///   - lifetime: how long the ring's name lives; ``ManagedSegment/Lifetime/posix`` by default.
    public init(capacity: Int = 1 << 20, maxMessageSize: Int? = nil, alignment: Int = 8,
                lifetime: ManagedSegment.Lifetime = .posix) {
        let rounded = capacity <= 4096 ? 4096 : 1 << (Int.bitWidth - (capacity - 1).leadingZeroBitCount)
        self.capacity = rounded
        self.maxMessageSize = maxMessageSize ?? (rounded / 4 - RingLayout.recordHeaderSize)
        self.alignment = alignment
        self.lifetime = lifetime
    }

    func validate() throws(ChannelError) {
        guard capacity >= 4096, capacity & (capacity - 1) == 0, capacity <= 1 << 40 else {
            throw .badChannel("the capacity \(capacity) is not a power of two up to 1 TiB")
        }
        guard alignment > 0, alignment & (alignment - 1) == 0, alignment <= RingLayout.maxAlignment else {
            throw .badChannel("the payload alignment \(alignment) is not a power of two from 1 to \(RingLayout.maxAlignment)")
        }
        let overhead = RingLayout.largestRecordSize(0, alignment: alignment)
        guard maxMessageSize > 0, maxMessageSize <= Int(UInt32.max) - 128,
              RingLayout.largestRecordSize(maxMessageSize, alignment: alignment) <= capacity / 2 else {
            throw .badChannel("the largest message, \(maxMessageSize) bytes, must be between 1 and half the capacity less \(overhead) (\(capacity / 2 - overhead) bytes)")
        }
    }
}
