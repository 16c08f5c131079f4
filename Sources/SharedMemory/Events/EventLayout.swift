/// The layout of an events segment, version 1 (managed segment kind 2).
///
/// The payload after the managed header is 640 bytes, all little-endian:
///
/// | Offset | Size | Field |
/// |-------:|-----:|-------|
/// | 0 | 4 | magic `0x53564545` ("EEVS" in memory order) |
/// | 4 | 4 | layout version, 1 |
/// | 8 | 4 | number of event ids, 4096 |
/// | 12 | 52 | reserved, zero |
/// | 64 | 4 | event counter: the futex word the listener sleeps on |
/// | 68 | 4 | sleepers: how many waits of the listener are counted asleep |
/// | 72 | 4 | the listener's sleeping flag (1 while counted in sleepers) |
/// | 76 | 52 | reserved, zero |
/// | 128 | 512 | pending ids: 64 words of 64 bits; id `n` is bit `n % 64` of word `n / 64` |
///
/// Byte 0 of the segment, locked with an open file description lock, is
/// the listener's role. The normative text is <doc:EventProtocol>.
enum EventLayout {
    /// The managed segment kind of an events segment.
    static let segmentKind: UInt32 = 2
    static let magic: UInt32 = 0x5356_4545
    static let version: UInt32 = 1
    /// How many event ids there are: 0 to 4095.
    static let idCount = 4096
    /// How many 64-bit words hold the pending ids.
    static let wordCount = idCount / 64
    /// The payload's size in bytes.
    static let payloadSize = 640
    /// The lock byte of the listener's role.
    static let listenerLockByte: UInt64 = 0

    enum Offset {
        static let magic = 0
        static let version = 4
        static let idCount = 8
        static let eventCounter = 64
        static let sleepers = 68
        static let listenerSleeping = 72
        static let pending = 128
    }

    /// Writes a new events segment's header words into its zeroed payload.
    static func initialize(_ payload: UnsafeMutableRawBufferPointer) {
        let base = payload.baseAddress!
        base.storeBytes(of: magic.littleEndian, toByteOffset: Offset.magic, as: UInt32.self)
        base.storeBytes(of: version.littleEndian, toByteOffset: Offset.version, as: UInt32.self)
        base.storeBytes(of: UInt32(idCount).littleEndian, toByteOffset: Offset.idCount, as: UInt32.self)
    }
}
