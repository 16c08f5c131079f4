import CShm
import Synchronization

/// An events segment mapped into this process: its shared words, the
/// listener's role, and the waiting protocol (the rings' protocol, with
/// the pending ids as the condition).
///
/// Every word a peer can write is harmless by construction: a pending bit
/// is an id from 0 to 4095 whatever its value, the counter is only compared
/// by the kernel, a wrong sleepers count only costs or saves a wake-up call
/// (never a wait past its slice), and the sleeping flag is only cleared.
/// The header words (magic, version, id count) and the size are checked
/// when the segment is opened; a truncation under this process is caught
/// by the SIGBUS guard and reported.
final class EventCore: @unchecked Sendable {
    let segment: ManagedSegment
    let view: MappedView
    let base: UnsafeMutableRawPointer
    let system: any SharedMemoryBackend
    let descriptor: Int32
    /// The view's registration with the SIGBUS guard.
    let mappingGuard: MappingGuard

    var name: SegmentName { segment.name }

    /// Checks and maps an events segment.
    init(segment: consuming ManagedSegment) throws(ChannelError) {
        let name = segment.name.posixName
        guard segment.header.kind == EventLayout.segmentKind else {
            throw .badChannel("\(name) is a managed segment of kind \(segment.header.kind), not an events segment (kind \(EventLayout.segmentKind))")
        }
        guard segment.payloadSize == EventLayout.payloadSize else {
            throw .badChannel("\(name) has \(segment.payloadSize) bytes of payload; an events segment has \(EventLayout.payloadSize)")
        }
        let view: MappedView
        do { view = try segment.map(access: .readWrite) } catch { throw .segment(error) }
        guard view.count == EventLayout.payloadSize else {
            throw .badChannel("\(name) maps \(view.count) bytes; an events segment has \(EventLayout.payloadSize)")
        }
        let base = view.unsafeBaseAddress
        let system = segment.segment.backend.implementation
        do {
            mappingGuard = try system.guardMapping(base, length: view.count, writable: true)
        } catch {
            throw .segment(SharedMemoryError(operation: .map, errno: error, systemCall: "cshm_guard_register",
                                             backend: segment.segment.backend))
        }
        func load32(_ offset: Int) -> UInt32 { UInt32(littleEndian: base.load(fromByteOffset: offset, as: UInt32.self)) }
        let magic = load32(EventLayout.Offset.magic)
        let version = load32(EventLayout.Offset.version)
        let count = load32(EventLayout.Offset.idCount)
        self.base = base
        self.system = system
        self.descriptor = segment.segment.handle.descriptor
        self.view = view
        self.segment = segment
        // Checked after the fields are set, so that deinit unregisters the guard.
        guard !mappingGuard.isTripped else { throw truncationError() }
        guard magic == EventLayout.magic else { throw .badChannel("\(name) has no events magic") }
        guard version == EventLayout.version else {
            throw .badChannel("\(name) has events layout version \(version); this library reads \(EventLayout.version)")
        }
        guard count == UInt32(EventLayout.idCount) else {
            throw .badChannel("\(name) says it has \(count) event ids; layout \(EventLayout.version) has \(EventLayout.idCount)")
        }
    }

    deinit {
        system.unguardMapping(mappingGuard)
    }

    /// Opens the events segment `name`, creating it when `create` and it does not exist.
    static func open(_ name: SegmentName, create: Bool, mode: UInt32, backend: SharedMemorySegment.Backend) throws(ChannelError) -> EventCore {
        let segment: ManagedSegment
        do {
            if create {
                segment = try ManagedSegment.create(
                    name, payloadSize: EventLayout.payloadSize, mode: mode, kind: EventLayout.segmentKind, backend: backend
                ) { payload in EventLayout.initialize(payload) }
            } else {
                segment = try ManagedSegment.open(name, access: .readWrite, backend: backend)
            }
        } catch {
            throw .segment(error)
        }
        return try EventCore(segment: segment)
    }

    // MARK: Shared words

    @inline(__always) private func word32(_ offset: Int) -> UnsafeMutablePointer<Atomic<UInt32>> {
        (base + offset).assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    var eventCounter: UnsafeMutablePointer<Atomic<UInt32>> { word32(EventLayout.Offset.eventCounter) }
    var sleepers: UnsafeMutablePointer<Atomic<UInt32>> { word32(EventLayout.Offset.sleepers) }
    var listenerSleeping: UnsafeMutablePointer<Atomic<UInt32>> { word32(EventLayout.Offset.listenerSleeping) }

    /// The pending word `index` (0 to 63).
    @inline(__always) func pendingWord(_ index: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        (base + EventLayout.Offset.pending + 8 * (index & (EventLayout.wordCount - 1))).assumingMemoryBound(to: Atomic<UInt64>.self)
    }

    // MARK: Notifying

    /// Marks `id` pending and wakes the listener if it is counted asleep.
    @inline(__always)
    func mark(_ id: EventID) {
        let value = Int(id.rawValue)
        let bit = UInt64(1) << UInt64(value & 63)
        // Little-endian words: bit n of the stored word is bit n in memory order of the layout.
        pendingWord(value >> 6).pointee.bitwiseOr(bit.littleEndian, ordering: .sequentiallyConsistent)
    }

    /// Wakes the listener when a wait is counted in sleepers. The caller has
    /// just marked ids with sequentially consistent read-modify-writes.
    @inline(__always)
    func wakeIfSleeping() {
        if sleepers.pointee.load(ordering: .sequentiallyConsistent) != 0 {
            eventCounter.pointee.wrappingAdd(1, ordering: .releasing)
            _ = try? system.futexWake(UnsafeMutableRawPointer(eventCounter).assumingMemoryBound(to: UInt32.self),
                                      count: Int32.max)
        }
    }

    // MARK: Taking

    /// Whether any id is pending (sequentially consistent loads, for the re-check of a wait).
    func anyPending() -> Bool {
        for index in 0..<EventLayout.wordCount where pendingWord(index).pointee.load(ordering: .sequentiallyConsistent) != 0 {
            return true
        }
        return false
    }

    /// Takes every pending id, in increasing order, clearing their bits.
    func take() throws(ChannelError) -> [EventID] {
        var ids: [EventID] = []
        for index in 0..<EventLayout.wordCount {
            let word = pendingWord(index)
            guard word.pointee.load(ordering: .relaxed) != 0 else { continue }
            var bits = UInt64(littleEndian: word.pointee.exchange(0, ordering: .acquiring))
            while bits != 0 {
                ids.append(EventID(unchecked: index * 64 + bits.trailingZeroBitCount))
                bits &= bits &- 1
            }
        }
        // Bits read from a mapping whose file was cut are zeros the guard supplied: say so.
        if mappingGuard.isTripped { throw truncationError() }
        return ids
    }

    // MARK: Roles

    /// Takes the listener's lock; `false` when another process holds it.
    func claimListener() throws(ChannelError) -> Bool {
        do {
            try system.rangeLock(descriptor, offset: EventLayout.listenerLockByte, length: 1, exclusive: true)
        } catch .wouldBlock {
            return false
        } catch {
            throw .segment(SharedMemoryError(operation: .open, errno: error, systemCall: "fcntl(F_OFD_SETLK)",
                                             backend: segment.segment.backend))
        }
        // A listener that died counted asleep left its count behind.
        SleeperCount(sleepers: sleepers, sleeping: listenerSleeping).forgetDead()
        return true
    }

    func releaseListener() {
        try? system.rangeUnlock(descriptor, offset: EventLayout.listenerLockByte, length: 1)
    }

    /// Whether some process holds the listener's lock.
    func listenerIsHeld() -> Bool {
        (try? system.rangeIsLocked(descriptor, offset: EventLayout.listenerLockByte, length: 1)) ?? true
    }

    // MARK: Trust

    /// The error for a segment that shrank under this process.
    func truncationError() -> ChannelError {
        let size = (try? system.size(descriptor)).map { "\($0)" } ?? "fewer"
        return .badChannel("\(name.posixName) was truncated to \(size) bytes under this process; it needs \(SegmentHeader.size + EventLayout.payloadSize)")
    }

    /// The periodic check of a wait: the segment is still whole.
    func checkIntact() throws(ChannelError) {
        if mappingGuard.isTripped { throw truncationError() }
        if let size = try? system.size(descriptor), size < UInt64(SegmentHeader.size + EventLayout.payloadSize) {
            throw truncationError()
        }
    }
}
