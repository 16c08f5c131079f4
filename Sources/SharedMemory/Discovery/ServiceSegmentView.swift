import Synchronization

/// A managed segment mapped read-only to be described: the only way the
/// discovery code reads shared memory.
///
/// It opens the file read-only, without the shared `flock` (so it takes no
/// part in the segment's lifetime) and without any role lock; it never
/// writes. Every load is bounds-checked against the mapping and returns
/// `nil` outside it, and the mapping is registered with the SIGBUS guard, so
/// a peer that truncates the file meanwhile makes ``isTruncated`` true
/// instead of killing this process. Offsets count from the payload (the
/// bytes after the 128-byte managed header).
final class ServiceSegmentView {
    /// Why a segment cannot be looked at as a service.
    enum Failure: Error {
        /// No object has the name.
        case missing(ChannelError)
        /// A managed segment whose creator has not marked it ready yet.
        case initialising
        /// Anything else: not a regular file, a raw or corrupt segment, a refused open.
        case refused(ChannelError)
    }

    let name: SegmentName
    let header: SegmentHeader
    private let system: any SharedMemoryBackend
    private let descriptor: Int32
    private let base: UnsafeMutableRawPointer
    private let mappedLength: Int
    private let mappingGuard: MappingGuard

    /// The payload's size in bytes.
    var payloadSize: Int { mappedLength - SegmentHeader.size }

    /// Opens and maps `name` read-only and reads its managed header.
    init(_ name: SegmentName, backend: SharedMemorySegment.Backend) throws(Failure) {
        let system = backend.implementation
        func error(_ errno: Errno, _ call: String?, _ reason: String? = nil) -> ChannelError {
            .segment(SharedMemoryError(operation: .open, errno: errno, systemCall: call, reason: reason, name: name, backend: backend))
        }
        let named: FileStatus
        do {
            named = try system.status(named: name.posixBytes)
        } catch .noSuchFileOrDirectory {
            throw .missing(error(.noSuchFileOrDirectory, "stat", "no segment named \(name.posixName) exists"))
        } catch let errno {
            throw .refused(error(errno, "stat"))
        }
        // A FIFO or a device planted under the name is never opened.
        guard named.type == .regular else { throw .refused(.badChannel("\(name.posixName) is not a regular file")) }
        let descriptor: Int32
        do {
            descriptor = try system.open(name.posixBytes, flags: [], mode: 0).descriptor
        } catch .noSuchFileOrDirectory {
            throw .missing(error(.noSuchFileOrDirectory, "shm_open", "no segment named \(name.posixName) exists"))
        } catch let errno {
            throw .refused(error(errno, "shm_open"))
        }
        var owned = true
        defer { if owned { try? system.close(descriptor) } }
        guard let status = try? system.status(descriptor), status.type == .regular else {
            throw .refused(.badChannel("\(name.posixName) is not a regular file"))
        }
        guard status.size >= UInt64(SegmentHeader.size) else {
            if status.size == 0 { throw .initialising }
            throw .refused(.badChannel("\(name.posixName) has \(status.size) bytes, too few for a managed header"))
        }
        // Nothing this library makes comes near 2^46 bytes; a larger size is not mapped.
        guard status.size <= 1 << 46 else {
            throw .refused(.badChannel("\(name.posixName) has \(status.size) bytes, more than a service can have"))
        }
        let length = Int(status.size)
        let base: UnsafeMutableRawPointer
        do {
            base = try system.map(descriptor, offset: 0, length: length, writable: false)
        } catch let errno {
            throw .refused(error(errno, "mmap"))
        }
        let mappingGuard: MappingGuard
        do {
            mappingGuard = try system.guardMapping(base, length: length, writable: false)
        } catch let errno {
            try? system.unmap(base, length: length)
            throw .refused(error(errno, "cshm_guard_register"))
        }
        let header = SegmentHeader.read(from: base, fileSize: status.size)
        guard !mappingGuard.isTripped, case .success(let header) = header else {
            system.unguardMapping(mappingGuard)
            try? system.unmap(base, length: length)
            if case .failure(.initialising) = header { throw .initialising }
            throw .refused(.badChannel("\(name.posixName) is not a readable managed segment"))
        }
        owned = false
        self.name = name
        self.header = header
        self.system = system
        self.descriptor = descriptor
        self.base = base
        self.mappedLength = length
        self.mappingGuard = mappingGuard
    }

    deinit {
        system.unguardMapping(mappingGuard)
        try? system.unmap(base, length: mappedLength)
        try? system.close(descriptor)
    }

    /// Whether `count` bytes at payload offset `offset`, aligned to
    /// `alignment`, lie inside the mapping.
    private func fits(_ offset: Int, _ count: Int, alignment: Int) -> Bool {
        offset >= 0 && offset % alignment == 0 && offset <= payloadSize - count
    }

    /// The 32-bit little-endian word at payload offset `offset` (a multiple
    /// of 4), loaded atomically with acquire ordering; `nil` outside the mapping.
    func load32(_ offset: Int) -> UInt32? {
        guard fits(offset, 4, alignment: 4) else { return nil }
        let word = (base + SegmentHeader.size + offset).assumingMemoryBound(to: Atomic<UInt32>.self)
        return UInt32(littleEndian: word.pointee.load(ordering: .acquiring))
    }

    /// The 64-bit little-endian word at payload offset `offset` (a multiple
    /// of 8), loaded atomically with acquire ordering; `nil` outside the mapping.
    func load64(_ offset: Int) -> UInt64? {
        guard fits(offset, 8, alignment: 8) else { return nil }
        let word = (base + SegmentHeader.size + offset).assumingMemoryBound(to: Atomic<UInt64>.self)
        return UInt64(littleEndian: word.pointee.load(ordering: .acquiring))
    }

    /// Calls `body` with the payload bytes from `offset`, `count` of them;
    /// `nil` when they are not all inside the mapping. The bytes may change
    /// under `body`: it must check whatever it reads.
    func withBytes<R>(_ offset: Int, _ count: Int, _ body: (UnsafeRawPointer) throws(ServiceProblem) -> R) throws(ServiceProblem) -> R? {
        guard count >= 0, fits(offset, count, alignment: 1) else { return nil }
        return try body(UnsafeRawPointer(base + SegmentHeader.size + offset))
    }

    /// Whether another open file description holds a lock on byte `byte`
    /// of the segment file (counted from the file's start, as role locks
    /// are): `F_OFD_GETLK`, which takes no lock.
    func isLocked(byte: UInt64) throws(ServiceProblem) -> Bool {
        do {
            return try system.rangeIsLocked(descriptor, offset: byte, length: 1)
        } catch {
            throw ServiceProblem("cannot ask the kernel who holds byte \(byte) of \(name.posixName): \(error)")
        }
    }

    /// Whether the segment shrank under this process: a fault in the
    /// mapping was absorbed, or the file is now shorter than the mapping.
    var isTruncated: Bool {
        if mappingGuard.isTripped { return true }
        guard let size = try? system.size(descriptor) else { return false }
        return size < UInt64(mappedLength)
    }
}

/// Why a service cannot be fully described, in words for a person.
struct ServiceProblem: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
