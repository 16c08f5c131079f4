/// The layout of a channel's ring in a managed segment's payload (segment
/// kind ``RingLayout/segmentKind``). All integers are little-endian (the
/// atomic words are stored in the machine's order; this library supports
/// little-endian machines only); all offsets count from the payload's first
/// byte, which is 64-byte aligned.
///
/// | offset | size | field | written by |
/// |---|---|---|---|
/// | 0 | 4 | ring magic `RING` (0x474E4952) | creator |
/// | 4 | 4 | ring layout version, 1 | creator |
/// | 8 | 8 | capacity of the data area in bytes, a power of two | creator |
/// | 16 | 4 | largest message in bytes | creator |
/// | 20 | 4 | number of reader slots (1 for a channel) | creator |
/// | 24 | 4 | policy: 0 lossless (the writer waits), 1 overwrite | creator |
/// | 28 | 4 | flavour: 0 channel, 1 publish/subscribe | creator |
/// | 64 | 8 | write position: bytes published so far (release store) | writer |
/// | 72 | 8 | reserve position: end of the record being written (overwrite policy) | writer |
/// | 80 | 8 | messages published so far | writer |
/// | 88 | 8 | oldest intact record's position (overwrite policy) | writer |
/// | 96 | 8 | oldest intact record's sequence number (overwrite policy) | writer |
/// | 104 | 4 | writer state: 0 never attached, 1 attached, 2 closed | writer |
/// | 108 | 4 | slot lock: 0 free, else the pid of the process joining or scanning | readers, writer |
/// | 112 | 4 | 1 while the writer is counted in the space sleepers | writer |
/// | 128 | 4 | data event: futex word, bumped when data is published to a sleeping reader | writer |
/// | 132 | 4 | number of readers announced asleep on the data event | readers |
/// | 136 | 4 | space event: futex word, bumped when space is freed for a sleeping writer | readers |
/// | 140 | 4 | number of writers announced asleep on the space event | writer |
/// | 192 + 64 i | 64 | reader slot i, below | reader i |
/// | D | capacity | data area; D = 192 + 64 × slots, rounded up to 64 | |
///
/// A reader slot: +0 read position (8, release store), +8 next sequence
/// number (8), +16 state (4: 0 free, 1 active, 2 active with a reader
/// attached), +24 messages missed (8), +32 messages received (8), +40 1 while
/// the reader is counted in the data sleepers (4). A process that takes over
/// a role from one that died asleep clears that flag and takes the dead
/// process out of the count, so writers stop waking nobody.
///
/// A record in the data area starts at an 8-byte aligned position: length
/// (4), flags (4: bit 0 marks padding to the end of the area, after which
/// the next record starts at position 0 of the area), sequence number (8),
/// then the payload (0 bytes up to the largest message), padded to a multiple
/// of 8. A padding record has only its length and flags, since as few as 8
/// bytes may remain before the end. Records never wrap, so a reader can
/// read a payload in place.
///
/// Ownership: the writer holds an exclusive `F_OFD_SETLK` lock on byte 0 of
/// the segment file, reader slot i one on byte 1 + i. The kernel releases
/// them when a process dies, which is how a peer's death is detected.
///
/// Memory ordering: the writer fills a record, then stores the write
/// position (sequentially consistent, which includes release); a reader
/// loads it with acquire ordering before it reads the record, and stores its
/// read position (sequentially consistent) once it is done with it, which
/// the writer loads with acquire ordering before it reuses the space. A
/// sleeper reads the event counter, adds itself to the sleepers
/// (sequentially consistent), checks its condition again, and sleeps only
/// while the counter still has the value it read; a waker publishes with its
/// sequentially consistent store, loads the sleepers count (sequentially
/// consistent), and only if a sleeper is announced bumps the counter and
/// wakes. Closing, cancelling a wait and a reader leaving bump and wake
/// unconditionally. Either the
/// sleeper sees the new data or the waker sees the sleeper: no wake-up is
/// lost, and none is made when nobody sleeps.
public enum RingLayout {
    /// The managed segment kind of a channel or publish/subscribe ring.
    public static let segmentKind: UInt32 = 1
    static let magic: UInt32 = 0x474E_4952
    static let version: UInt32 = 1
    static let recordHeaderSize = 16
    static let paddingFlag: UInt32 = 1

    enum Offset {
        static let magic = 0, version = 4, capacity = 8, maxMessage = 16, slots = 20, policy = 24, flavour = 28
        static let writePosition = 64, reservePosition = 72, published = 80, oldestPosition = 88, oldestSequence = 96
        static let writerState = 104, slotLock = 108, writerSleeping = 112
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
        case free = 0, active = 1, attached = 2
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
