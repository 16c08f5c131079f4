/// Constants of a channel's ring in a managed segment's payload (segment
/// kind ``RingLayout/segmentKind``, ring layout version 2).
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
    static let version: UInt32 = 2
    static let recordHeaderSize = 16
    static let paddingFlag: UInt32 = 1

    enum Offset {
        static let magic = 0, version = 4, capacity = 8, maxMessage = 16, slots = 20, policy = 24, flavour = 28
        static let writePosition = 64, reservePosition = 72, published = 80, oldestPosition = 88, oldestSequence = 96
        static let writerState = 104, writerSleeping = 112
        static let dataEvent = 128, dataSleepers = 132, spaceEvent = 136, spaceSleepers = 140
        static let slots0 = 192
    }

    enum SlotOffset {
        static let readPosition = 0, nextSequence = 8, state = 16, missed = 24, received = 32, sleeping = 40
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

    /// A record's size in the data area: header and payload, padded to 8 bytes.
    @inline(__always)
    static func recordSize(_ length: Int) -> Int {
        (recordHeaderSize + length + 7) & ~7
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
    /// How long the ring's name lives: ``Lifetime/posix`` (until removed) or
    /// ``Lifetime/lastClose`` (until the last process using it closes it).
    public var lifetime: Lifetime = .posix

    /// - Parameters:
    ///   - capacity: bytes of message data the ring holds; rounded up to a power of two, at least 4 KiB.
    ///   - maxMessageSize: the largest message; by default a quarter of the capacity, less the record header; at most half.
    public init(capacity: Int = 1 << 20, maxMessageSize: Int? = nil) {
        let rounded = capacity <= 4096 ? 4096 : 1 << (Int.bitWidth - (capacity - 1).leadingZeroBitCount)
        self.capacity = rounded
        self.maxMessageSize = maxMessageSize ?? (rounded / 4 - RingLayout.recordHeaderSize)
    }

    func validate() throws(ChannelError) {
        guard capacity >= 4096, capacity & (capacity - 1) == 0, capacity <= 1 << 40 else {
            throw .badChannel("the capacity \(capacity) is not a power of two up to 1 TiB")
        }
        guard maxMessageSize > 0, maxMessageSize <= Int(UInt32.max) - 64,
              RingLayout.recordSize(maxMessageSize) <= capacity / 2 else {
            throw .badChannel("the largest message, \(maxMessageSize) bytes, must be between 1 and half the capacity less \(RingLayout.recordHeaderSize) (\(capacity / 2 - RingLayout.recordHeaderSize) bytes)")
        }
    }
}
