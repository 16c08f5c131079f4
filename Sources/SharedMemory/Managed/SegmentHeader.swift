import Synchronization

/// The header at the start of a managed segment, version 1.
///
/// The fields are little-endian, at these byte offsets; the state word is
/// a native atomic, accessed in the machine's byte order (the same on the
/// little-endian machines this library supports). The catalog's
/// <doc:ChannelProtocol> article is the normative description.
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 8 | magic, the ASCII bytes `SWIFTSHM` |
/// | 8 | 4 | layout version, 1 |
/// | 12 | 4 | header size in bytes, 128 |
/// | 16 | 8 | total size of the segment in bytes |
/// | 24 | 4 | state: 0 initialising, 1 ready (written last, with release ordering) |
/// | 28 | 4 | kind of payload: 0 plain bytes; other values are used by channels |
/// | 32 | 4 | creator's process id |
/// | 36 | 4 | creator's user id |
/// | 40 | 8 | creator's start time, in clock ticks since boot (field 22 of `/proc/PID/stat`, counting from 1) |
/// | 48 | 4 | lifetime: 0 posix, 1 last-close |
/// | 52 | 4 | reserved, 0 |
/// | 56 | 8 | payload offset, equal to the header size |
/// | 64 | 8 | payload size in bytes |
/// | 72 | 56 | reserved, 0 |
///
/// A reader that sees state 1 (with acquire ordering) sees every other field
/// as the creator wrote it.
public struct SegmentHeader: Hashable, Sendable {
    /// The magic bytes, `SWIFTSHM`, read as a little-endian integer.
    public static let magic: UInt64 = 0x4D48_5354_4649_5753
    /// The layout version this library writes and reads.
    public static let layoutVersion: UInt32 = 1
    /// The header's size in bytes.
    public static let size = 128

    /// The segment's total size in bytes, header included.
    public var totalSize: UInt64
    /// What the payload holds: 0 for plain bytes.
    public var kind: UInt32
    /// The process that created the segment.
    public var creator: ProcessIdentity
    /// The creator's user id.
    public var creatorUID: UInt32
    /// How long the name lives.
    public var lifetime: ManagedSegment.Lifetime

    /// The payload's size in bytes.
    public var payloadSize: Int { Int(clamping: totalSize) - Self.size }

    enum Offset {
        static let magic = 0, version = 8, headerSize = 12, totalSize = 16, state = 24, kind = 28
        static let creatorPID = 32, creatorUID = 36, creatorStartTime = 40, lifetime = 48
        static let payloadOffset = 56, payloadSize = 64
    }

    enum State: UInt32 {
        case initialising = 0
        case ready = 1
    }

    /// Writes every field but the state, which stays "initialising".
    func write(to base: UnsafeMutableRawPointer) {
        base.initializeMemory(as: UInt8.self, repeating: 0, count: Self.size)
        base.storeBytes(of: Self.magic.littleEndian, toByteOffset: Offset.magic, as: UInt64.self)
        base.storeBytes(of: Self.layoutVersion.littleEndian, toByteOffset: Offset.version, as: UInt32.self)
        base.storeBytes(of: UInt32(Self.size).littleEndian, toByteOffset: Offset.headerSize, as: UInt32.self)
        base.storeBytes(of: totalSize.littleEndian, toByteOffset: Offset.totalSize, as: UInt64.self)
        base.storeBytes(of: kind.littleEndian, toByteOffset: Offset.kind, as: UInt32.self)
        base.storeBytes(of: UInt32(bitPattern: creator.pid).littleEndian, toByteOffset: Offset.creatorPID, as: UInt32.self)
        base.storeBytes(of: creatorUID.littleEndian, toByteOffset: Offset.creatorUID, as: UInt32.self)
        base.storeBytes(of: creator.startTime.littleEndian, toByteOffset: Offset.creatorStartTime, as: UInt64.self)
        base.storeBytes(of: lifetime.rawValue.littleEndian, toByteOffset: Offset.lifetime, as: UInt32.self)
        base.storeBytes(of: UInt64(Self.size).littleEndian, toByteOffset: Offset.payloadOffset, as: UInt64.self)
        base.storeBytes(of: UInt64(payloadSize).littleEndian, toByteOffset: Offset.payloadSize, as: UInt64.self)
    }

    /// The state word, shared with other processes.
    static func state(at base: UnsafeMutableRawPointer) -> UnsafeMutablePointer<Atomic<UInt32>> {
        (base + Offset.state).assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    /// Publishes the header: every field written before is visible to a
    /// reader that sees the state "ready".
    static func markReady(at base: UnsafeMutableRawPointer) {
        state(at: base).pointee.store(State.ready.rawValue, ordering: .releasing)
    }

    /// Why a header could not be read.
    enum Problem: Error, Equatable {
        /// Not yet ready: all zero, or the state still says initialising.
        case initialising
        /// Not a managed segment of this library.
        case foreign(magic: UInt64)
        case unsupportedVersion(UInt32)
        case corrupt(String)
    }

    /// Reads and checks the header at `base` of a segment of `fileSize` bytes.
    static func read(from base: UnsafeMutableRawPointer, fileSize: UInt64) -> Result<SegmentHeader, Problem> {
        func load<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
            T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
        }
        let state = state(at: base).pointee.load(ordering: .acquiring)
        let magic = load(Offset.magic, UInt64.self)
        if state == State.initialising.rawValue && (magic == 0 || magic == Self.magic) {
            return .failure(.initialising)
        }
        guard magic == Self.magic else { return .failure(.foreign(magic: magic)) }
        let version = load(Offset.version, UInt32.self)
        guard version == Self.layoutVersion else { return .failure(.unsupportedVersion(version)) }
        guard state == State.ready.rawValue else { return .failure(.corrupt("the state word is \(state), neither 0 nor 1")) }
        let headerSize = load(Offset.headerSize, UInt32.self)
        guard headerSize == UInt32(Self.size) else {
            return .failure(.corrupt("the header size is \(headerSize) bytes, not \(Self.size)"))
        }
        let totalSize = load(Offset.totalSize, UInt64.self)
        guard totalSize == fileSize else {
            return .failure(.corrupt("the header says \(totalSize) bytes but the segment has \(fileSize)"))
        }
        let payloadOffset = load(Offset.payloadOffset, UInt64.self)
        let payloadSize = load(Offset.payloadSize, UInt64.self)
        guard payloadOffset == UInt64(Self.size), payloadSize == totalSize - UInt64(Self.size) else {
            return .failure(.corrupt("the payload at \(payloadOffset) of \(payloadSize) bytes does not fill the segment"))
        }
        guard let lifetime = ManagedSegment.Lifetime(rawValue: load(Offset.lifetime, UInt32.self)) else {
            return .failure(.corrupt("unknown lifetime \(load(Offset.lifetime, UInt32.self))"))
        }
        return .success(SegmentHeader(
            totalSize: totalSize,
            kind: load(Offset.kind, UInt32.self),
            creator: ProcessIdentity(pid: Int32(bitPattern: load(Offset.creatorPID, UInt32.self)),
                                     startTime: load(Offset.creatorStartTime, UInt64.self)),
            creatorUID: load(Offset.creatorUID, UInt32.self),
            lifetime: lifetime))
    }
}
