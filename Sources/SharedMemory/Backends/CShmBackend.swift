import CShm
import Glibc

/// The backend that calls the C shim `CShm`.
package struct CShmBackend: SharedMemoryBackend {
    package init() {}

    package func open(_ name: [UInt8], flags: OpenFlags, mode: UInt32) throws(Errno) -> (descriptor: Int32, created: Bool) {
        var descriptor: Int32 = -1
        var created: Int32 = 0
        try withCName(name) { (cName) throws(Errno) in try check(cshm_open(cName, flags.rawValue, mode, &descriptor, &created)) }
        return (descriptor, created != 0)
    }

    package func close(_ descriptor: Int32) throws(Errno) { try check(cshm_close(descriptor)) }

    package func duplicate(_ descriptor: Int32) throws(Errno) -> Int32 {
        var copy: Int32 = -1
        try check(cshm_duplicate(descriptor, &copy))
        return copy
    }

    package func unlink(_ name: [UInt8]) throws(Errno) {
        try withCName(name) { (cName) throws(Errno) in try check(cshm_unlink(cName)) }
    }

    package func truncate(_ descriptor: Int32, size: UInt64) throws(Errno) {
        try check(cshm_truncate(descriptor, size))
    }

    package func reserve(_ descriptor: Int32, size: UInt64) throws(Errno) {
        try check(cshm_reserve(descriptor, size))
    }

    package func size(_ descriptor: Int32) throws(Errno) -> UInt64 {
        var size: UInt64 = 0
        try check(cshm_size(descriptor, &size))
        return size
    }

    package func status(_ descriptor: Int32) throws(Errno) -> FileStatus {
        var status = cshm_status()
        try check(cshm_stat(descriptor, &status))
        return FileStatus(status)
    }

    package func status(named name: [UInt8]) throws(Errno) -> FileStatus {
        var status = cshm_status()
        try withCName(name) { (cName) throws(Errno) in try check(cshm_stat_name(cName, &status)) }
        return FileStatus(status)
    }

    package func freeSpace(_ descriptor: Int32) throws(Errno) -> UInt64 {
        var bytes: UInt64 = 0
        try check(cshm_free_space(descriptor, &bytes))
        return bytes
    }

    package func lock(_ descriptor: Int32, _ operation: LockOperation, wait: Bool) throws(Errno) {
        try check(cshm_lock(descriptor, operation.rawValue | (wait ? 0 : Int32(CSHM_LOCK_NONBLOCKING))))
    }

    package func rangeLock(_ descriptor: Int32, offset: UInt64, length: UInt64, exclusive: Bool) throws(Errno) {
        try check(cshm_range_lock(descriptor, offset, length, exclusive ? 1 : 0))
    }

    package func rangeUnlock(_ descriptor: Int32, offset: UInt64, length: UInt64) throws(Errno) {
        try check(cshm_range_unlock(descriptor, offset, length))
    }

    package func rangeIsLocked(_ descriptor: Int32, offset: UInt64, length: UInt64) throws(Errno) -> Bool {
        var held: Int32 = 0
        try check(cshm_range_test(descriptor, offset, length, &held))
        return held != 0
    }

    package func futexWait(_ address: UnsafeMutablePointer<UInt32>, expected: UInt32, timeout: Duration?) throws(Errno) {
        try check(cshm_futex_wait(address, expected, timeout.map(Self.nanoseconds) ?? -1))
    }

    @discardableResult
    package func futexWake(_ address: UnsafeMutablePointer<UInt32>, count: Int32) throws(Errno) -> Int32 {
        var woken: Int32 = 0
        try check(cshm_futex_wake(address, count, &woken))
        return woken
    }

    package func futexWaitMany(_ words: UnsafeBufferPointer<FutexWord>, timeout: Duration?) throws(Errno) -> Int {
        guard (1...FutexWord.maxCount).contains(words.count) else { throw Errno(rawValue: EINVAL) }
        var woken: Int32 = -1
        let result = withUnsafeTemporaryAllocation(of: cshm_futex_wait_entry.self, capacity: words.count) { entries in
            for (index, word) in words.enumerated() {
                entries[index] = cshm_futex_wait_entry(
                    address: UnsafeMutablePointer(bitPattern: word.address), expected: word.expected)
            }
            return cshm_futex_waitv(entries.baseAddress, UInt32(words.count), timeout.map(Self.nanoseconds) ?? -1, &woken)
        }
        try check(result)
        return Int(woken)
    }

    /// A duration in whole nanoseconds, at least 0.
    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 0 }
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? Int64.max : whole + attoseconds / 1_000_000_000
    }

    package func chmod(_ descriptor: Int32, mode: UInt32) throws(Errno) {
        try check(cshm_chmod(descriptor, mode))
    }

    package func map(_ descriptor: Int32, offset: UInt64, length: Int, writable: Bool) throws(Errno) -> UnsafeMutableRawPointer {
        guard length > 0 else { throw .invalidArgument }
        var address: UnsafeMutableRawPointer?
        try check(cshm_map(descriptor, offset, length, writable ? 1 : 0, &address))
        guard let address else { throw .invalidArgument }
        return address
    }

    package func unmap(_ address: UnsafeMutableRawPointer, length: Int) throws(Errno) {
        try check(cshm_unmap(address, length))
    }

    package func sync(_ address: UnsafeMutableRawPointer, length: Int) throws(Errno) {
        try check(cshm_sync(address, length))
    }

    package func guardMapping(_ address: UnsafeMutableRawPointer, length: Int, writable: Bool) throws(Errno) -> MappingGuard {
        guard length > 0 else { throw .invalidArgument }
        var id: Int32 = -1
        try check(cshm_guard_register(address, length, writable ? 1 : 0, &id))
        guard let flag = cshm_guard_flag(id) else {
            _ = cshm_guard_unregister(id)
            throw .invalidArgument
        }
        return MappingGuard(id: id, flag: UnsafePointer(flag))
    }

    package func unguardMapping(_ mappingGuard: MappingGuard) {
        // Fails only for an id that is not registered, which a MappingGuard never holds twice.
        _ = cshm_guard_unregister(mappingGuard.id)
    }

    package var pageSize: Int { cshm_page_size() }

    package func formatError(operation: String, errno: Errno) -> String {
        cString(capacity: 64) { cshm_format_error($0, $1, operation, errno.rawValue) }
    }

    package func errorName(_ errno: Errno) -> String? {
        cshm_error_name(errno.rawValue).map { String(cString: $0) }
    }

    package func errorText(_ errno: Errno) -> String {
        cString(capacity: 128) { cshm_error_text($0, $1, errno.rawValue) }
    }

    private func check(_ result: Int32) throws(Errno) {
        if result != 0 { throw Errno(rawValue: result) }
    }

    /// Calls an `snprintf`-like function, growing the buffer once if needed.
    private func cString(capacity: Int, _ body: (UnsafeMutablePointer<CChar>, Int) -> Int32) -> String {
        var buffer = [CChar](repeating: 0, count: capacity)
        let needed = Int(buffer.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) })
        if needed >= capacity {
            buffer = [CChar](repeating: 0, count: needed + 1)
            _ = buffer.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
        }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}

extension FileStatus {
    init(_ status: cshm_status) {
        self.init(size: status.size, uid: status.uid, gid: status.gid, mode: status.mode,
                  linkCount: status.link_count, device: status.device, inode: status.inode,
                  type: FileType(formatBits: status.file_type))
    }
}
