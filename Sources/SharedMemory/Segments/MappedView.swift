/// A range of a segment mapped into this process: the counterpart of the
/// Windows sample's `MapViewOfFile` view.
///
/// Reads and writes through the view are bounds-checked and fail with a
/// ``SharedMemoryError`` (`ERANGE`) instead of touching memory outside it. A
/// read-only view refuses writes with `EACCES`. The view unmaps exactly once,
/// when it is dropped or by ``unmap()``, and stays valid after its segment closes.
///
/// The bytes are shared with other processes: the view guarantees the memory
/// is mapped, not what another process does with it.
public struct MappedView: ~Copyable, @unchecked Sendable {
    /// Where the view starts in the segment, in bytes.
    public let offset: Int
    /// Whether the view may be written.
    public let access: SharedMemorySegment.Access
    private let handle: MappingHandle

    init(offset: Int, access: SharedMemorySegment.Access, handle: consuming MappingHandle) {
        self.offset = offset
        self.access = access
        self.handle = handle
    }

    /// The number of bytes the view covers.
    public var count: Int { handle.length }
    /// Whether the view may be written.
    public var isWritable: Bool { access == .readWrite }
    /// The backend that mapped the view.
    public var backend: SharedMemorySegment.Backend { handle.backend }

    private func failure(_ operation: SharedMemoryError.Operation, _ errno: Errno, _ call: String?, _ reason: String? = nil) -> SharedMemoryError {
        SharedMemoryError(operation: operation, errno: errno, systemCall: call, reason: reason, backend: handle.backend)
    }

    /// Checks that `count` bytes at `position` lie inside the view.
    private func checkRange(_ operation: SharedMemoryError.Operation, _ position: Int, _ count: Int) throws(SharedMemoryError) {
        guard position >= 0, count >= 0 else {
            throw failure(operation, .invalidArgument, nil, "negative position \(position) or count \(count)")
        }
        let (end, overflow) = position.addingReportingOverflow(count)
        guard !overflow, end <= self.count else {
            throw failure(operation, .outOfRange, nil,
                          "\(count) bytes at position \(position) do not fit in a view of \(self.count) bytes")
        }
    }

    /// Checks that the segment still holds the view's bytes from `position`
    /// for `count` bytes: another process may have shrunk it, and touching
    /// memory past its end would raise SIGBUS.
    private func checkBacked(_ operation: SharedMemoryError.Operation, _ position: Int, _ count: Int) throws(SharedMemoryError) {
        guard count > 0 else { return }
        let size: UInt64
        do { size = try handle.backend.implementation.status(handle.descriptor).size } catch { throw failure(operation, error, "fstat") }
        // The view lies inside an Int-sized file, so the sum fits; it is checked all the same.
        let (start, startOverflow) = offset.addingReportingOverflow(position)
        let (last, endOverflow) = start.addingReportingOverflow(count)
        guard !startOverflow, !endOverflow, start >= 0 else {
            throw failure(operation, .overflow, nil, "\(count) bytes at position \(position) of a view at offset \(offset) overflow")
        }
        let end = UInt64(last)
        guard end <= size else {
            throw failure(operation, .badAddress, nil,
                          "the segment was shrunk to \(size) bytes by another process; "
                          + "bytes \(start)..<\(end) are gone")
        }
    }

    private func checkWritable() throws(SharedMemoryError) {
        guard isWritable else { throw failure(.write, .permissionDenied, nil, "the view is read-only") }
    }

    /// Calls `body` with the view's bytes, for reading in place.
    ///
    /// The view checks once, before `body` runs, that the segment still
    /// holds all its bytes; it cannot guard `body` against a process that
    /// shrinks the segment meanwhile.
    /// - Throws: `EFAULT` as ``SharedMemoryError`` when the segment was shrunk, or what `body` throws.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try checkBacked(.read, 0, count)
        return try body(UnsafeRawBufferPointer(start: handle.address, count: handle.length))
    }

    /// Calls `body` with the view's bytes, for writing in place.
    /// - Throws: `EACCES` as ``SharedMemoryError`` for a read-only view,
    ///   `EFAULT` when the segment was shrunk, or what `body` throws.
    public func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) throws -> R {
        try checkWritable()
        try checkBacked(.write, 0, count)
        return try body(UnsafeMutableRawBufferPointer(start: handle.address, count: handle.length))
    }

    /// The view's first byte, for code that manages access itself (channels).
    /// No check is made: the caller must stay inside ``count`` bytes.
    public var unsafeBaseAddress: UnsafeMutableRawPointer { handle.address }

    /// Copies `count` bytes starting at `position` out of the view.
    public func read(at position: Int = 0, count: Int) throws(SharedMemoryError) -> [UInt8] {
        try checkRange(.read, position, count)
        try checkBacked(.read, position, count)
        return Array(UnsafeRawBufferPointer(start: handle.address + position, count: count))
    }

    /// Copies `bytes` into the view at `position`; nothing is written unless all of them fit.
    public func write(_ bytes: some Collection<UInt8>, at position: Int = 0) throws(SharedMemoryError) {
        try checkWritable()
        try checkRange(.write, position, bytes.count)
        try checkBacked(.write, position, bytes.count)
        UnsafeMutableRawBufferPointer(start: handle.address + position, count: bytes.count).copyBytes(from: bytes)
    }

    /// Reads the string that starts at `position`, up to its terminator or the end of the view.
    public func readString(at position: Int = 0, encoding: TextEncoding = .utf8) throws(SharedMemoryError) -> String {
        try checkRange(.read, position, 0)
        try checkBacked(.read, position, count - position)
        return encoding.decode(UnsafeRawBufferPointer(start: handle.address + position, count: count - position))
    }

    /// Writes `text` and its terminator at `position`, as the sample's bounded
    /// `memcpy_s` does: when it does not fit, nothing is written and the error is `ERANGE`.
    /// - Returns: the number of bytes written, terminator included.
    @discardableResult
    public func writeString(_ text: String, at position: Int = 0, encoding: TextEncoding = .utf8) throws(SharedMemoryError) -> Int {
        let bytes = encoding.encode(text)
        try write(bytes, at: position)
        return bytes.count
    }

    /// Writes the view's changes back to the segment (`msync`).
    public func flush() throws(SharedMemoryError) {
        do {
            try handle.backend.implementation.sync(handle.address, length: handle.length)
        } catch {
            throw failure(.flush, error, "msync")
        }
    }

    /// Unmaps the view now and reports the outcome; dropping it unmaps it too, silently.
    public consuming func unmap() throws(SharedMemoryError) {
        let backend = handle.backend
        do {
            try handle.unmap()
        } catch {
            throw SharedMemoryError(operation: .unmap, errno: error, systemCall: "munmap", backend: backend)
        }
    }
}
