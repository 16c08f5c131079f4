import Glibc

/// A segment that starts with a ``SegmentHeader``: it says who made it, how
/// large it is and whether it is ready, so that a peer never reads a
/// half-initialised segment or one of another layout.
///
/// Creation is safe against fast peers: the object is created with mode 0
/// (no other user can open it), sized, its memory reserved, the header
/// written and published with a release store of "ready", and only then
/// given its final mode. An opener that comes too early waits, up to a
/// timeout, for the state "ready"; anything else gives a clear error.
///
/// Every process that holds a managed segment also holds a shared `flock`
/// on it. The kernel drops that lock when the process exits or crashes, so
/// whether a segment is in use can be told without trusting any counter in
/// shared memory. It is what ``ManagedSegment/Lifetime/lastClose`` and
/// ``SegmentDirectory/removeStale(dryRun:backend:)`` rely on.
///
/// Offsets given to ``map(offset:length:access:)`` count from the payload,
/// the bytes after the header.
public struct ManagedSegment: ~Copyable {
    /// The underlying segment; its offsets count from the header.
    public let segment: SharedMemorySegment
    /// The header as this process read or wrote it.
    public let header: SegmentHeader

    /// The segment's name.
    public var name: SegmentName { segment.name }
    /// Whether this process created the segment.
    public var wasCreated: Bool { segment.wasCreated }
    /// The payload's size in bytes.
    public var payloadSize: Int { header.payloadSize }

    /// How long an opener waits for a segment that is still being initialised.
    public static let defaultReadyTimeout: Duration = .seconds(5)

    private init(segment: consuming SharedMemorySegment, header: SegmentHeader) {
        self.segment = segment
        self.header = header
    }

    /// Creates a managed segment with `payloadSize` bytes after the header, or
    /// opens it if it exists (unless `exclusive`).
    ///
    /// `initializePayload`, when given, fills the new payload before the
    /// segment is marked ready; it is not called for an existing segment.
    ///
    /// - Throws: ``SharedMemoryError`` with operation ``SharedMemoryError/Operation/create``:
    ///   `EINVAL` for a payload size of 0 or less, `EOVERFLOW` when the size
    ///   with the header overflows, `ENOSPC` (saying how much was needed and
    ///   how much is free) when `/dev/shm` cannot hold it, `EEXIST` with
    ///   `exclusive`; for an existing segment, the errors of ``open(_:access:allowOtherOwner:readyTimeout:backend:)``.
    public static func create(
        _ name: SegmentName, payloadSize: Int, mode: UInt32 = SharedMemorySegment.defaultMode,
        exclusive: Bool = false, lifetime: Lifetime = .posix, kind: UInt32 = 0,
        allowOtherOwner: Bool = false, readyTimeout: Duration = defaultReadyTimeout,
        backend: SharedMemorySegment.Backend = .default, initializePayload: ((UnsafeMutableRawBufferPointer) -> Void)? = nil
    ) throws(SharedMemoryError) -> ManagedSegment {
        func failure(_ errno: Errno, _ call: String?, _ reason: String? = nil) -> SharedMemoryError {
            SharedMemoryError(operation: .create, errno: errno, systemCall: call, reason: reason, name: name, backend: backend)
        }
        guard payloadSize > 0 else {
            throw failure(.invalidArgument, nil, "the payload size must be greater than 0 bytes, not \(payloadSize)")
        }
        let (total, overflow) = payloadSize.addingReportingOverflow(SegmentHeader.size)
        guard !overflow else { throw failure(.overflow, nil, "\(payloadSize) bytes and a header overflow") }
        guard mode <= 0o777 else {
            throw failure(.invalidArgument, nil, "the mode 0o\(String(mode, radix: 8)) has bits beyond 0o777")
        }
        let system = backend.implementation
        let deadline = ContinuousClock.now + readyTimeout
        while true {
            var flags: OpenFlags = [.readWrite, .create]
            if exclusive { flags.insert(.exclusive) }
            let opened: (descriptor: Int32, created: Bool)
            do {
                // Mode 0 until the header is ready: other users cannot open it meanwhile.
                opened = try system.open(name.posixBytes, flags: flags, mode: 0)
            } catch .permissionDenied where isInitialising(name, backend) && ContinuousClock.now < deadline {
                waitBriefly()
                continue
            } catch {
                let reason: String? = error == .fileExists ? "a segment named \(name.posixName) already exists"
                    : SharedMemorySegment.openRefusal(error, name: name, backend: backend)
                throw failure(error, exclusive ? "shm_open(O_CREAT|O_EXCL)" : "shm_open(O_CREAT)", reason)
            }
            if !opened.created {
                try? system.close(opened.descriptor)
                do {
                    return try open(name, access: .readWrite, allowOtherOwner: allowOtherOwner,
                                    readyTimeout: readyTimeout, backend: backend, createdByUs: false)
                } catch where error.errno == .noSuchFileOrDirectory && ContinuousClock.now < deadline {
                    continue // removed between the two opens: create it
                } catch {
                    var error = error
                    error.operation = .create
                    throw error
                }
            }
            let handle = DescriptorHandle(descriptor: opened.descriptor, backend: backend,
                                          removeWhenLast: lifetime == .lastClose ? name.posixBytes : nil)
            do {
                try system.lock(opened.descriptor, .shared, wait: false)
            } catch {
                try? system.unlink(name.posixBytes)
                throw failure(error, "flock")
            }
            try SharedMemorySegment.sizeNewSegment(opened.descriptor, name: name, size: total, backend: backend)
            let header = SegmentHeader(totalSize: UInt64(total), kind: kind, creator: .current,
                                       creatorUID: geteuid(), lifetime: lifetime)
            do {
                // The payload is set up before "ready", so no peer sees it half done.
                let mapped = initializePayload == nil ? SegmentHeader.size : total
                let base = try system.map(opened.descriptor, offset: 0, length: mapped, writable: true)
                header.write(to: base)
                initializePayload?(UnsafeMutableRawBufferPointer(start: base + SegmentHeader.size, count: payloadSize))
                SegmentHeader.markReady(at: base)
                try? system.unmap(base, length: mapped)
                try system.chmod(opened.descriptor, mode: mode)
            } catch {
                try? system.unlink(name.posixBytes)
                throw failure(error, "mmap")
            }
            let segment = SharedMemorySegment(name: name, access: .readWrite, backend: backend, wasCreated: true, handle: handle)
            return ManagedSegment(segment: segment, header: header)
        }
    }

    /// Opens an existing managed segment, waiting up to `readyTimeout` for
    /// one that is still being initialised.
    ///
    /// - Throws: ``SharedMemoryError`` with operation ``SharedMemoryError/Operation/open``:
    ///   `ENOENT` when none exists; `EPERM` for another user's segment unless
    ///   `allowOtherOwner`; `EPROTO` when it is not a managed segment (wrong
    ///   magic, or too small); `EPROTONOSUPPORT` for an unknown layout
    ///   version; `EBADMSG` when the header contradicts itself or the
    ///   segment's size; `ETIMEDOUT` when it is still initialising after `readyTimeout`.
    public static func open(
        _ name: SegmentName, access: SharedMemorySegment.Access = .readWrite, allowOtherOwner: Bool = false,
        readyTimeout: Duration = defaultReadyTimeout, backend: SharedMemorySegment.Backend = .default
    ) throws(SharedMemoryError) -> ManagedSegment {
        try open(name, access: access, allowOtherOwner: allowOtherOwner, readyTimeout: readyTimeout,
                 backend: backend, createdByUs: false)
    }

    /// Opens a managed segment read-only to look at it, and nothing more:
    /// without the shared lock, so this process takes no part in the
    /// segment's lifetime (closing it never removes a ``ManagedSegment/Lifetime/lastClose``
    /// segment, and holding it never keeps one from being removed). What
    /// `shm inspect` and `shm watch` use.
    static func openToLook(_ name: SegmentName, readyTimeout: Duration, backend: SharedMemorySegment.Backend) throws(SharedMemoryError) -> ManagedSegment {
        try open(name, access: .readOnly, allowOtherOwner: false, readyTimeout: readyTimeout,
                 backend: backend, createdByUs: false, joinsLifetime: false)
    }

    private static func open(
        _ name: SegmentName, access: SharedMemorySegment.Access, allowOtherOwner: Bool, readyTimeout: Duration,
        backend: SharedMemorySegment.Backend, createdByUs: Bool, joinsLifetime: Bool = true
    ) throws(SharedMemoryError) -> ManagedSegment {
        func failure(_ errno: Errno, _ call: String?, _ reason: String? = nil) -> SharedMemoryError {
            SharedMemoryError(operation: .open, errno: errno, systemCall: call, reason: reason, name: name, backend: backend)
        }
        let system = backend.implementation
        let clock = ContinuousClock()
        let deadline = clock.now + readyTimeout
        var waitedFor = "the segment to become ready"
        while true {
            let descriptor: Int32
            do {
                descriptor = try system.open(name.posixBytes, flags: access == .readWrite ? .readWrite : [], mode: 0).descriptor
            } catch .permissionDenied where isInitialising(name, backend) && clock.now < deadline {
                waitBriefly()
                continue
            } catch {
                throw failure(error, "shm_open",
                              SharedMemorySegment.openFailureReason(error, name: name, access: access, backend: backend))
            }
            // The lifetime is known only from the header; the handle learns it below.
            var handle = DescriptorHandle(descriptor: descriptor, backend: backend)
            if let refusal = SharedMemorySegment.ownerRefusal(of: descriptor, name: name, allowed: allowOtherOwner, backend: backend) {
                throw failure(.operationNotPermitted, "fstat", refusal)
            }
            // A last user removing the name holds the lock exclusively for a moment.
            do {
                if joinsLifetime { try system.lock(descriptor, .shared, wait: false) }
            } catch .wouldBlock where clock.now < deadline {
                waitedFor = "another process to finish removing or checking it"
                waitBriefly()
                continue
            } catch {
                throw failure(error, "flock", error == .wouldBlock ? "timed out waiting for \(waitedFor)" : nil)
            }
            let status: FileStatus
            do { status = try system.status(descriptor) } catch { throw failure(error, "fstat") }
            if status.linkCount == 0 {
                // Removed since we opened it; the name may already hold a new segment.
                if clock.now < deadline { continue }
                throw failure(.noSuchFileOrDirectory, "shm_open", "\(name.posixName) was removed while it was opened")
            }
            if status.size == 0 && clock.now < deadline {
                waitBriefly()
                continue
            }
            guard status.size >= UInt64(SegmentHeader.size) else {
                if status.size == 0 {
                    throw failure(.timedOut, nil, "\(name.posixName) is still empty after \(readyTimeout): not initialised")
                }
                throw failure(.protocolError, nil,
                              "\(name.posixName) has \(status.size) bytes, too few for a managed segment's header of \(SegmentHeader.size)")
            }
            let base: UnsafeMutableRawPointer
            do {
                base = try system.map(descriptor, offset: 0, length: SegmentHeader.size, writable: false)
            } catch {
                throw failure(error, "mmap")
            }
            defer { try? system.unmap(base, length: SegmentHeader.size) }
            var result = SegmentHeader.read(from: base, fileSize: status.size)
            while result == .failure(.initialising) && clock.now < deadline {
                waitBriefly()
                result = SegmentHeader.read(from: base, fileSize: (try? system.status(descriptor).size) ?? status.size)
            }
            switch result {
            case .success(let header):
                if header.lifetime == .lastClose && joinsLifetime {
                    handle = DescriptorHandle(descriptor: try duplicate(descriptor, system, failure), backend: backend,
                                              removeWhenLast: name.posixBytes)
                    // The duplicate shares the open file description, and so the lock.
                }
                let segment = SharedMemorySegment(name: name, access: access, backend: backend,
                                                  wasCreated: createdByUs, handle: handle)
                return ManagedSegment(segment: segment, header: header)
            case .failure(.initialising):
                throw failure(.timedOut, nil, "\(name.posixName) is still initialising after \(readyTimeout), or is not a managed segment")
            case .failure(.foreign(let magic)):
                throw failure(.protocolError, nil,
                              "\(name.posixName) is not a swift-shm managed segment: its first bytes are 0x\(String(magic.byteSwapped, radix: 16)), not \"SWIFTSHM\"")
            case .failure(.unsupportedVersion(let version)):
                throw failure(.protocolNotSupported, nil,
                              "\(name.posixName) has layout version \(version); this library reads version \(SegmentHeader.layoutVersion)")
            case .failure(.corrupt(let reason)):
                throw failure(.badMessage, nil, "the header of \(name.posixName) is corrupt: \(reason)")
            }
        }
    }

    private static func duplicate(
        _ descriptor: Int32, _ system: any SharedMemoryBackend, _ failure: (Errno, String?, String?) -> SharedMemoryError
    ) throws(SharedMemoryError) -> Int32 {
        do { return try system.duplicate(descriptor) } catch { throw failure(error, "fcntl(F_DUPFD_CLOEXEC)", nil) }
    }

    /// Whether `name` looks like a segment another process is creating: mode 0.
    private static func isInitialising(_ name: SegmentName, _ backend: SharedMemorySegment.Backend) -> Bool {
        (try? backend.implementation.status(named: name.posixBytes).mode) == 0
    }

    /// A short sleep between checks of a segment that is not ready yet.
    private static func waitBriefly() { usleep(2_000) }

    /// Maps a view of the payload.
    ///
    /// - Parameters:
    ///   - offset: where the view starts, counted from the payload's first byte.
    ///   - length: the number of bytes; 0 means to the end of the payload.
    ///   - access: how the view may be used; `nil` for the segment's own access.
    /// - Throws: the errors of ``SharedMemorySegment/map(offset:length:access:)``;
    ///   `EOVERFLOW` when the offset after the header does not fit in an `Int`.
    public func map(offset: Int = 0, length: Int = 0, access: SharedMemorySegment.Access? = nil) throws(SharedMemoryError) -> MappedView {
        guard offset >= 0 else {
            throw SharedMemoryError(operation: .map, errno: .invalidArgument, systemCall: nil,
                                    reason: "the view offset \(offset) is negative", name: name, backend: segment.backend)
        }
        let (start, overflow) = offset.addingReportingOverflow(SegmentHeader.size)
        guard !overflow else {
            throw SharedMemoryError(operation: .map, errno: .overflow, systemCall: nil,
                                    reason: "the view offset \(offset) after the \(SegmentHeader.size)-byte header overflows",
                                    name: name, backend: segment.backend)
        }
        return try segment.map(offset: start, length: length, access: access)
    }

    /// Removes the segment's name now, whatever its lifetime.
    public func unlink() throws(SharedMemoryError) { try segment.unlink() }

    /// Closes the segment; with ``ManagedSegment/Lifetime/lastClose``, the last user's close removes the name.
    public consuming func close() throws(SharedMemoryError) { try segment.close() }
}
