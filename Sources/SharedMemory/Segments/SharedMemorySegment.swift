import Glibc

/// A named POSIX shared-memory object, open in this process.
///
/// The counterpart of the Windows sample's file-mapping handle. A segment owns
/// its descriptor and closes it exactly once, when it is dropped or by
/// ``close()``. Mapped views stay valid after the segment closes. The name
/// outlives every process until it is removed with ``unlink()`` or
/// ``remove(_:backend:)``, unlike a Windows mapping, which vanishes with its
/// last handle.
public struct SharedMemorySegment: ~Copyable {
    /// The segment's name.
    public let name: SegmentName
    /// Whether this process may write the segment.
    public let access: Access
    /// The backend that performs the system calls.
    public let backend: Backend
    /// `true` when this process created the segment; `false` when it opened
    /// one that existed, including when ``create(_:size:mode:exclusive:allowOtherOwner:backend:)``
    /// found one (the case Windows reports as `ERROR_ALREADY_EXISTS`).
    public let wasCreated: Bool
    let handle: DescriptorHandle

    init(name: SegmentName, access: Access, backend: Backend, wasCreated: Bool, handle: consuming DescriptorHandle) {
        self.name = name
        self.access = access
        self.backend = backend
        self.wasCreated = wasCreated
        self.handle = handle
    }

    /// The default permission bits of a new segment: read and write for the owner only.
    public static let defaultMode: UInt32 = 0o600

    /// Creates a segment of `size` bytes, or opens it read-write if it exists.
    ///
    /// - Parameters:
    ///   - name: the segment's name.
    ///   - size: the size of a new segment, greater than 0. An existing segment keeps its size.
    ///   - mode: permission bits (at most `0o777`), applied whatever the umask.
    ///   - exclusive: fail with `EEXIST` instead of opening an existing segment.
    ///   - allowOtherOwner: accept an existing segment that another user owns.
    ///   - backend: the system calls to use.
    /// - Throws: ``SharedMemoryError`` with operation ``SharedMemoryError/Operation/create``;
    ///   `ENOSPC` when the file system cannot hold `size` bytes, `EPERM` for
    ///   an existing segment of another user.
    public static func create(
        _ name: SegmentName, size: Int, mode: UInt32 = defaultMode, exclusive: Bool = false,
        allowOtherOwner: Bool = false, backend: Backend = .default
    ) throws(SharedMemoryError) -> SharedMemorySegment {
        func failure(_ errno: Errno, _ call: String?, _ reason: String? = nil) -> SharedMemoryError {
            SharedMemoryError(operation: .create, errno: errno, systemCall: call, reason: reason, name: name, backend: backend)
        }
        guard size > 0 else {
            throw failure(.invalidArgument, nil, "the size must be greater than 0 bytes, not \(size)")
        }
        guard mode <= 0o777 else {
            throw failure(.invalidArgument, nil, "the mode 0o\(String(mode, radix: 8)) has bits beyond 0o777")
        }
        let system = backend.implementation
        var flags: OpenFlags = [.readWrite, .create]
        if exclusive { flags.insert(.exclusive) }
        let opened: (descriptor: Int32, created: Bool)
        do {
            opened = try system.open(name.posixBytes, flags: flags, mode: mode)
        } catch {
            let reason: String? = switch error {
            case .fileExists: "a segment named \(name.posixName) already exists"
            case .permissionDenied: "no permission to create or open \(name.posixName)"
            default: openRefusal(error, name: name, backend: backend)
            }
            throw failure(error, exclusive ? "shm_open(O_CREAT|O_EXCL)" : "shm_open(O_CREAT)", reason)
        }
        let handle = DescriptorHandle(descriptor: opened.descriptor, backend: backend)
        if opened.created {
            do {
                try system.chmod(opened.descriptor, mode: mode)
            } catch {
                try? system.unlink(name.posixBytes)
                throw failure(error, "fchmod")
            }
            try sizeNewSegment(opened.descriptor, name: name, size: size, backend: backend)
        } else if let refusal = ownerRefusal(of: opened.descriptor, name: name, allowed: allowOtherOwner, backend: backend) {
            throw failure(.operationNotPermitted, "fstat", refusal)
        }
        try holdSharedLock(opened.descriptor, name: name, operation: .create, backend: backend)
        return SharedMemorySegment(name: name, access: .readWrite, backend: backend,
                                   wasCreated: opened.created, handle: handle)
    }

    /// Opens an existing segment.
    ///
    /// - Parameters:
    ///   - name: the segment's name.
    ///   - access: how the segment may be used; read-only by default.
    ///   - allowOtherOwner: accept a segment that another user owns;
    ///     without it such a segment is refused with `EPERM`, even when its
    ///     mode would let this process in.
    ///   - backend: the system calls to use.
    /// - Throws: ``SharedMemoryError`` with operation ``SharedMemoryError/Operation/open``;
    ///   `ENOENT` when no segment has the name, `EACCES` when its mode
    ///   forbids the access.
    public static func open(
        _ name: SegmentName, access: Access = .readOnly, allowOtherOwner: Bool = false, backend: Backend = .default
    ) throws(SharedMemoryError) -> SharedMemorySegment {
        let descriptor: Int32
        do {
            descriptor = try backend.implementation.open(
                name.posixBytes, flags: access == .readWrite ? .readWrite : [], mode: 0
            ).descriptor
        } catch {
            throw SharedMemoryError(operation: .open, errno: error, systemCall: "shm_open",
                                    reason: openFailureReason(error, name: name, access: access, backend: backend),
                                    name: name, backend: backend)
        }
        let handle = DescriptorHandle(descriptor: descriptor, backend: backend)
        if let refusal = ownerRefusal(of: descriptor, name: name, allowed: allowOtherOwner, backend: backend) {
            throw SharedMemoryError(operation: .open, errno: .operationNotPermitted, systemCall: "fstat",
                                    reason: refusal, name: name, backend: backend)
        }
        try holdSharedLock(descriptor, name: name, operation: .open, backend: backend)
        return SharedMemorySegment(name: name, access: access, backend: backend, wasCreated: false, handle: handle)
    }

    /// Why opening `name` failed with `error`, in words; `nil` when the
    /// error says it all.
    static func openFailureReason(_ error: Errno, name: SegmentName, access: Access, backend: Backend) -> String? {
        switch error {
        case .noSuchFileOrDirectory: "no segment named \(name.posixName) exists"
        case .permissionDenied: "no permission to open \(name.posixName) for \(access == .readWrite ? "writing" : "reading")"
        default: openRefusal(error, name: name, backend: backend)
        }
    }

    /// Why a name that is not a shared-memory segment was refused (`ELOOP`
    /// for a symbolic link, `ENODEV` or `EISDIR` for another kind of file),
    /// such as "/x is a FIFO, not a shared-memory segment"; `nil` for other errors.
    static func openRefusal(_ error: Errno, name: SegmentName, backend: Backend) -> String? {
        let type: FileType
        if let found = try? backend.implementation.status(named: name.posixBytes).type, found != .regular {
            type = found
        } else if error == Errno(rawValue: ELOOP) {
            type = .symbolicLink  // replaced since, but a link when it was opened
        } else if error == Errno(rawValue: ENODEV) {
            type = .unknown
        } else {
            return nil
        }
        return "\(name.posixName) is \(type == .unknown ? "not a regular file" : type.description), "
            + "not a shared-memory segment; it is left alone"
    }

    /// How long an open waits for a process that holds the segment's lock
    /// exclusively (a clean-up checking it, or a last user removing it).
    static let exclusiveLockWait: Duration = .seconds(2)

    /// Takes the shared `flock` that every open segment holds for its
    /// lifetime (it stays with the descriptor, and with the views, which
    /// share it): it tells ``SegmentDirectory/removeStale(dryRun:backend:)``,
    /// whatever user it runs as, that the segment is in use. Waits a little
    /// for a process that holds the lock exclusively for a moment.
    static func holdSharedLock(_ descriptor: Int32, name: SegmentName, operation: SharedMemoryError.Operation,
                               backend: Backend) throws(SharedMemoryError) {
        let deadline = ContinuousClock.now + exclusiveLockWait
        while true {
            do {
                try backend.implementation.lock(descriptor, .shared, wait: false)
                return
            } catch .wouldBlock where ContinuousClock.now < deadline {
                usleep(2_000)
            } catch {
                let reason = error == .wouldBlock
                    ? "another process has held \(name.posixName) locked exclusively for \(exclusiveLockWait)" : nil
                throw SharedMemoryError(operation: operation, errno: error, systemCall: "flock(LOCK_SH)",
                                        reason: reason, name: name, backend: backend)
            }
        }
    }

    /// Why a segment of another user is refused, or `nil` when it is not.
    static func ownerRefusal(of descriptor: Int32, name: SegmentName, allowed: Bool, backend: Backend) -> String? {
        guard !allowed, let status = try? backend.implementation.status(descriptor) else { return nil }
        let me = geteuid()
        guard status.uid != me else { return nil }
        return "\(name.posixName) belongs to \(userName(status.uid)), not to \(userName(me)); "
            + "allow other owners explicitly to use it"
    }

    /// Sizes a segment this process has just created and reserves its
    /// memory, so that a full file system fails here and not with SIGBUS
    /// later; on failure removes the name again.
    static func sizeNewSegment(_ descriptor: Int32, name: SegmentName, size: Int, backend: Backend) throws(SharedMemoryError) {
        let system = backend.implementation
        func failure(_ errno: Errno, _ call: String, _ reason: String) -> SharedMemoryError {
            try? system.unlink(name.posixBytes)
            return SharedMemoryError(operation: .create, errno: errno, systemCall: call, reason: reason, name: name, backend: backend)
        }
        do {
            try system.truncate(descriptor, size: UInt64(size))
        } catch {
            throw failure(error, "ftruncate", "could not size the segment to \(size) bytes")
        }
        do {
            try system.reserve(descriptor, size: UInt64(size))
        } catch {
            throw failure(error, "posix_fallocate", spaceReason(needed: size, free: try? system.freeSpace(descriptor)))
        }
    }

    /// Says how much space a segment needed and how much was free.
    static func spaceReason(needed: Int, free: UInt64?) -> String {
        let available = free.map { "only \(ByteFormat.describe(Int(clamping: $0))) is free" } ?? "the free space is unknown"
        return "the segment needs \(ByteFormat.describe(needed)) but \(available) in /dev/shm"
    }

    /// The segment's status now: size, owner, mode, link count.
    public func status() throws(SharedMemoryError) -> FileStatus {
        do {
            return try backend.implementation.status(handle.descriptor)
        } catch {
            throw SharedMemoryError(operation: .size, errno: error, systemCall: "fstat", name: name, backend: backend)
        }
    }

    /// The segment's current size in bytes, as the system reports it now.
    public func size() throws(SharedMemoryError) -> Int {
        let size: UInt64
        do {
            size = try backend.implementation.size(handle.descriptor)
        } catch {
            throw SharedMemoryError(operation: .size, errno: error, systemCall: "fstat", name: name, backend: backend)
        }
        return try Self.checkedSize(size, operation: .size, backend: backend)
    }

    /// A size the system reported, as an `Int`; `EOVERFLOW` when it does not fit.
    static func checkedSize(_ size: UInt64, operation: SharedMemoryError.Operation, backend: Backend) throws(SharedMemoryError) -> Int {
        guard let value = Int(exactly: size) else {
            throw SharedMemoryError(operation: operation, errno: .overflow, systemCall: "fstat",
                                    reason: "the segment's size \(size) does not fit in an Int", backend: backend)
        }
        return value
    }

    /// Maps a view of the segment.
    ///
    /// - Parameters:
    ///   - offset: the first byte of the view; any offset, aligned or not.
    ///   - length: the number of bytes; 0 means from `offset` to the end of the segment.
    ///   - access: the view's access; by default the segment's. A read-write
    ///     view of a read-only segment fails with `EACCES`.
    /// - Throws: ``SharedMemoryError`` with operation ``SharedMemoryError/Operation/map``: `EINVAL`
    ///   for a negative offset or length or a view that reaches past the end of
    ///   the segment, `EOVERFLOW` when offset plus length overflows.
    public func map(offset: Int = 0, length: Int = 0, access: Access? = nil) throws(SharedMemoryError) -> MappedView {
        func failure(_ errno: Errno, _ call: String?, _ reason: String? = nil) -> SharedMemoryError {
            SharedMemoryError(operation: .map, errno: errno, systemCall: call, reason: reason, name: name, backend: backend)
        }
        let access = access ?? self.access
        if access == .readWrite && self.access == .readOnly {
            throw failure(.permissionDenied, nil, "a writable view of a segment opened read-only")
        }
        guard offset >= 0 else { throw failure(.invalidArgument, nil, "the view offset \(offset) is negative") }
        guard length >= 0 else { throw failure(.invalidArgument, nil, "the view length \(length) is negative") }
        let size: Int
        let reported: UInt64
        do { reported = try backend.implementation.size(handle.descriptor) } catch { throw failure(error, "fstat") }
        size = try Self.checkedSize(reported, operation: .map, backend: backend)
        var count = length
        if length == 0 {
            guard offset < size else {
                throw failure(.invalidArgument, nil, "the view offset \(offset) is not inside the segment of \(size) bytes")
            }
            count = size - offset
        } else {
            let (end, overflow) = offset.addingReportingOverflow(length)
            if overflow { throw failure(.overflow, nil, "the view offset \(offset) plus length \(length) overflows") }
            guard end <= size else {
                throw failure(.invalidArgument, nil,
                              "a view of \(length) bytes at offset \(offset) reaches past the end of the segment (\(size) bytes)")
            }
        }
        let descriptor: Int32
        do { descriptor = try backend.implementation.duplicate(handle.descriptor) } catch { throw failure(error, "fcntl(F_DUPFD_CLOEXEC)") }
        let address: UnsafeMutableRawPointer
        do {
            address = try backend.implementation.map(handle.descriptor, offset: UInt64(offset), length: count,
                                                     writable: access == .readWrite)
        } catch {
            try? backend.implementation.close(descriptor)
            throw failure(error, "mmap")
        }
        return MappedView(offset: offset, access: access,
                          handle: MappingHandle(address: address, length: count, descriptor: descriptor, backend: backend))
    }

    /// Removes the segment's name. Open descriptors and views stay valid.
    public func unlink() throws(SharedMemoryError) {
        try Self.remove(name, backend: backend)
    }

    /// Removes the segment named `name`.
    ///
    /// - Throws: ``SharedMemoryError`` with operation ``SharedMemoryError/Operation/unlink``; `ENOENT` when none exists.
    public static func remove(_ name: SegmentName, backend: Backend = .default) throws(SharedMemoryError) {
        do {
            try backend.implementation.unlink(name.posixBytes)
        } catch {
            let reason: String? = error == .noSuchFileOrDirectory ? "no segment named \(name.posixName) exists" : nil
            throw SharedMemoryError(operation: .unlink, errno: error, systemCall: "shm_unlink", reason: reason, name: name, backend: backend)
        }
    }

    /// Closes the descriptor now and reports the outcome; dropping the segment
    /// closes it too, silently.
    public consuming func close() throws(SharedMemoryError) {
        let backend = self.backend
        do {
            try handle.close()
        } catch {
            throw SharedMemoryError(operation: .close, errno: error, systemCall: "close", name: name, backend: backend)
        }
    }
}

extension SharedMemorySegment {
    /// ``create(_:size:mode:exclusive:allowOtherOwner:backend:)`` with a name to check.
    public static func create(
        named name: String, size: Int, mode: UInt32 = defaultMode, exclusive: Bool = false,
        allowOtherOwner: Bool = false, backend: Backend = .default
    ) throws(SharedMemoryError) -> SharedMemorySegment {
        try create(SegmentName(name), size: size, mode: mode, exclusive: exclusive,
                   allowOtherOwner: allowOtherOwner, backend: backend)
    }

    /// ``open(_:access:allowOtherOwner:backend:)`` with a name to check.
    public static func open(
        named name: String, access: Access = .readOnly, allowOtherOwner: Bool = false, backend: Backend = .default
    ) throws(SharedMemoryError) -> SharedMemorySegment {
        try open(SegmentName(name), access: access, allowOtherOwner: allowOtherOwner, backend: backend)
    }
}
