import Glibc

/// The backend that calls the C library from Swift, without the C shim.
package struct PosixBackend: SharedMemoryBackend {
    package init() {}

    package func open(_ name: [UInt8], flags: OpenFlags, mode: UInt32) throws(Errno) -> (descriptor: Int32, created: Bool) {
        // O_NONBLOCK: a FIFO planted under the name must not block the open;
        // it changes nothing for the regular file a segment is.
        let base = (flags.contains(.readWrite) ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK
        while true {
            if flags.contains(.create) {
                let descriptor = try withCName(name) { cName in retryingInterrupts { shm_open(cName, base | O_CREAT | O_EXCL, mode_t(mode)) } }
                if descriptor >= 0 { return (descriptor, true) }
                let error = Errno.current
                if error != .fileExists || flags.contains(.exclusive) { throw error }
            }
            let descriptor = try withCName(name) { cName in retryingInterrupts { shm_open(cName, base, 0) } }
            if descriptor >= 0 {
                var info = stat()
                let statFailed = fstat(descriptor, &info) != 0
                let error: Errno = statFailed ? .current : Errno(rawValue: ENODEV)
                if statFailed || (info.st_mode & S_IFMT) != S_IFREG {
                    Glibc.close(descriptor)
                    throw error
                }
                return (descriptor, false)
            }
            let error = Errno.current
            // The object vanished between the two calls: try to create it again.
            if error == .noSuchFileOrDirectory && flags.contains(.create) { continue }
            throw error
        }
    }

    package func close(_ descriptor: Int32) throws(Errno) {
        if Glibc.close(descriptor) != 0 { throw .current }
    }

    package func duplicate(_ descriptor: Int32) throws(Errno) -> Int32 {
        let copy = fcntl(descriptor, F_DUPFD_CLOEXEC, 0)
        if copy < 0 { throw .current }
        return copy
    }

    package func unlink(_ name: [UInt8]) throws(Errno) {
        if try withCName(name, { shm_unlink($0) }) != 0 { throw .current }
    }

    package func truncate(_ descriptor: Int32, size: UInt64) throws(Errno) {
        guard let length = off_t(exactly: size) else { throw .invalidArgument }
        if retryingInterrupts({ ftruncate(descriptor, length) }) != 0 { throw .current }
    }

    package func reserve(_ descriptor: Int32, size: UInt64) throws(Errno) {
        guard size > 0 else { return }
        guard let length = off_t(exactly: size) else { throw Errno(rawValue: EFBIG) }
        var result: Int32
        repeat { result = posix_fallocate(descriptor, 0, length) } while result == EINTR
        if result != 0 { throw Errno(rawValue: result) }
    }

    package func size(_ descriptor: Int32) throws(Errno) -> UInt64 {
        var info = stat()
        if fstat(descriptor, &info) != 0 { throw .current }
        return UInt64(info.st_size)
    }

    package func status(_ descriptor: Int32) throws(Errno) -> FileStatus {
        var info = stat()
        if fstat(descriptor, &info) != 0 { throw .current }
        return FileStatus(info)
    }

    package func status(named name: [UInt8]) throws(Errno) -> FileStatus {
        let file = name.drop { $0 == UInt8(ascii: "/") }
        guard file.count <= 255 else { throw .nameTooLong }
        var info = stat()
        if try withCName(Array("/dev/shm/".utf8) + file, { lstat($0, &info) }) != 0 { throw .current }
        return FileStatus(info)
    }

    package func freeSpace(_ descriptor: Int32) throws(Errno) -> UInt64 {
        var info = statvfs()
        if retryingInterrupts({ fstatvfs(descriptor, &info) }) != 0 { throw .current }
        return UInt64(info.f_bavail) * UInt64(info.f_frsize)
    }

    package func lock(_ descriptor: Int32, _ operation: LockOperation, wait: Bool) throws(Errno) {
        var how: Int32 = switch operation {
        case .shared: LOCK_SH
        case .exclusive: LOCK_EX
        case .release: LOCK_UN
        }
        if !wait { how |= LOCK_NB }
        if retryingInterrupts({ flock(descriptor, how) }) != 0 { throw .current }
    }

    package func rangeLock(_ descriptor: Int32, offset: UInt64, length: UInt64, exclusive: Bool) throws(Errno) {
        var lock = try Self.rangeLock(type: exclusive ? F_WRLCK : F_RDLCK, offset: offset, length: length)
        try rangeCommand(descriptor, Self.setOFDLock, &lock)
    }

    package func rangeUnlock(_ descriptor: Int32, offset: UInt64, length: UInt64) throws(Errno) {
        var lock = try Self.rangeLock(type: F_UNLCK, offset: offset, length: length)
        try rangeCommand(descriptor, Self.setOFDLock, &lock)
    }

    package func rangeIsLocked(_ descriptor: Int32, offset: UInt64, length: UInt64) throws(Errno) -> Bool {
        var lock = try Self.rangeLock(type: F_WRLCK, offset: offset, length: length)
        try rangeCommand(descriptor, Self.getOFDLock, &lock)
        return lock.l_type != Int16(F_UNLCK)
    }

    /// `F_OFD_GETLK` and `F_OFD_SETLK` from `<fcntl.h>`, which Glibc's module
    /// does not export without `_GNU_SOURCE`.
    private static let getOFDLock: Int32 = 36
    private static let setOFDLock: Int32 = 37

    private static func rangeLock(type: Int32, offset: UInt64, length: UInt64) throws(Errno) -> flock {
        guard let start = off_t(exactly: offset), let count = off_t(exactly: length) else { throw .invalidArgument }
        var lock = flock()
        lock.l_type = Int16(type)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = start
        lock.l_len = count
        return lock
    }

    private func rangeCommand(_ descriptor: Int32, _ command: Int32, _ lock: inout flock) throws(Errno) {
        let result = retryingInterrupts { withUnsafeMutablePointer(to: &lock) { fcntl(descriptor, command, $0) } }
        if result != 0 {
            let error = Errno.current
            throw error == .permissionDenied ? .wouldBlock : error
        }
    }

    /// Futexes need the `syscall` function, which Swift cannot call (it is
    /// variadic): this one operation goes through the C shim on both backends.
    package func futexWait(_ address: UnsafeMutablePointer<UInt32>, expected: UInt32, timeout: Duration?) throws(Errno) {
        try CShmBackend().futexWait(address, expected: expected, timeout: timeout)
    }

    @discardableResult
    package func futexWake(_ address: UnsafeMutablePointer<UInt32>, count: Int32) throws(Errno) -> Int32 {
        try CShmBackend().futexWake(address, count: count)
    }

    /// Through the C shim, like the other futex calls: Glibc has no wrapper for the system call.
    package func futexWaitMany(_ words: UnsafeBufferPointer<FutexWord>, timeout: Duration?) throws(Errno) -> Int {
        try CShmBackend().futexWaitMany(words, timeout: timeout)
    }

    /// The SIGBUS guard is a signal handler, which must be async-signal-safe:
    /// Swift code cannot promise that (it may allocate, take locks or retain),
    /// so the guard goes through the C shim on both backends, like futexes.
    package func guardMapping(_ address: UnsafeMutableRawPointer, length: Int, writable: Bool) throws(Errno) -> MappingGuard {
        try CShmBackend().guardMapping(address, length: length, writable: writable)
    }

    package func unguardMapping(_ mappingGuard: MappingGuard) {
        CShmBackend().unguardMapping(mappingGuard)
    }

    package func chmod(_ descriptor: Int32, mode: UInt32) throws(Errno) {
        if retryingInterrupts({ fchmod(descriptor, mode_t(mode)) }) != 0 { throw .current }
    }

    package func map(_ descriptor: Int32, offset: UInt64, length: Int, writable: Bool) throws(Errno) -> UnsafeMutableRawPointer {
        guard length > 0 else { throw .invalidArgument }
        let page = UInt64(pageSize)
        let aligned = offset & ~(page - 1)
        let lead = Int(offset - aligned)
        guard length <= Int.max - lead, let start = off_t(exactly: aligned) else { throw .overflow }
        let protection = writable ? (PROT_READ | PROT_WRITE) : PROT_READ
        let base = mmap(nil, length + lead, protection, MAP_SHARED, descriptor, start)
        guard let base, base != MAP_FAILED else { throw .current }
        return base + lead
    }

    package func unmap(_ address: UnsafeMutableRawPointer, length: Int) throws(Errno) {
        guard length > 0 else { throw .invalidArgument }
        let (base, span) = pageSpan(address, length)
        if munmap(base, span) != 0 { throw .current }
    }

    package func sync(_ address: UnsafeMutableRawPointer, length: Int) throws(Errno) {
        guard length > 0 else { throw .invalidArgument }
        let (base, span) = pageSpan(address, length)
        if msync(base, span, MS_SYNC) != 0 { throw .current }
    }

    package var pageSize: Int { Int(sysconf(Int32(_SC_PAGESIZE))) }

    package func formatError(operation: String, errno: Errno) -> String {
        let hex = String(UInt32(bitPattern: errno.rawValue), radix: 16)
        return "\(operation) failed w/err 0x\(String(repeating: "0", count: max(0, 8 - hex.count)))\(hex)"
    }

    package func errorName(_ errno: Errno) -> String? { errno.name }

    package func errorText(_ errno: Errno) -> String { errno.text }

    /// The page-aligned start of the mapping that holds `address`, and its length.
    private func pageSpan(_ address: UnsafeMutableRawPointer, _ length: Int) -> (UnsafeMutableRawPointer, Int) {
        let lead = Int(bitPattern: address) & (pageSize - 1)
        return (address - lead, length + lead)
    }

    private func retryingInterrupts(_ call: () -> Int32) -> Int32 {
        while true {
            let result = call()
            if result >= 0 || errno != EINTR { return result }
        }
    }
}

extension FileStatus {
    init(_ info: stat) {
        self.init(size: UInt64(info.st_size), uid: info.st_uid, gid: info.st_gid, mode: info.st_mode & 0o7777,
                  linkCount: UInt32(info.st_nlink), device: UInt64(info.st_dev), inode: UInt64(info.st_ino),
                  type: FileType(formatBits: info.st_mode))
    }
}
