import Glibc

/// Whether standard output is a terminal.
var standardOutputIsTerminal: Bool { isatty(STDOUT_FILENO) != 0 }

/// Whether escape sequences (bold, clear line) may be written to standard
/// output: it is a terminal, `TERM` is not `dumb` and `NO_COLOR` is not set.
var standardOutputTakesEscapes: Bool {
    guard standardOutputIsTerminal else { return false }
    if let term = getenv("TERM"), String(cString: term) == "dumb" { return false }
    return getenv("NO_COLOR") == nil
}

/// Standard output through one large buffer: bytes are written with few
/// `write` calls, when the buffer is full and when ``flush()`` is called.
///
/// Nothing is flushed implicitly at exit; call ``flush()`` before returning.
final class OutputBuffer {
    private let descriptor: Int32
    private let storage: UnsafeMutableRawBufferPointer
    private var used = 0

    init(descriptor: Int32 = STDOUT_FILENO, capacity: Int = 1 << 20) {
        self.descriptor = descriptor
        storage = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit { storage.deallocate() }

    /// Appends `bytes`; a run larger than the buffer is written directly.
    @inline(__always)
    func append(_ bytes: UnsafeRawBufferPointer) throws(ToolError) {
        if bytes.count > storage.count - used {
            try flush()
            if bytes.count > storage.count {
                try writeAll(bytes)
                return
            }
        }
        if let source = bytes.baseAddress, bytes.count > 0 {
            (storage.baseAddress! + used).copyMemory(from: source, byteCount: bytes.count)
            used += bytes.count
        }
    }

    /// Appends one byte.
    @inline(__always)
    func append(_ byte: UInt8) throws(ToolError) {
        if used == storage.count { try flush() }
        storage[used] = byte
        used += 1
    }

    /// Appends `bytes` and a newline: one message of `recv`.
    @inline(__always)
    func appendLine(_ bytes: UnsafeRawBufferPointer) throws(ToolError) {
        if bytes.count + 1 <= storage.count - used, let source = bytes.baseAddress {
            let target = storage.baseAddress! + used
            target.copyMemory(from: source, byteCount: bytes.count)
            target.storeBytes(of: UInt8(ascii: "\n"), toByteOffset: bytes.count, as: UInt8.self)
            used += bytes.count + 1
        } else {
            try append(bytes)
            try append(UInt8(ascii: "\n"))
        }
    }

    /// The first write failure of ``appendLineRecordingFailure(_:)``.
    private(set) var failure: ToolError?

    /// ``appendLine(_:)`` for a closure that cannot throw: a failure is kept in ``failure``.
    @inline(__always)
    func appendLineRecordingFailure(_ bytes: UnsafeRawBufferPointer) {
        do { try appendLine(bytes) } catch { if failure == nil { failure = error } }
    }

    /// Appends the UTF-8 bytes of `text`.
    func append(_ text: String) throws {
        var text = text
        try text.withUTF8 { try append(UnsafeRawBufferPointer($0)) }
    }

    /// Writes what is buffered.
    func flush() throws(ToolError) {
        guard used > 0 else { return }
        let pending = UnsafeRawBufferPointer(rebasing: storage[..<used])
        used = 0
        try writeAll(pending)
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws(ToolError) {
        var rest = bytes
        while !rest.isEmpty {
            let written = write(descriptor, rest.baseAddress, rest.count)
            if written < 0 {
                if errno == EINTR { continue }
                throw ToolError("cannot write to standard output: \(errorText(errno))")
            }
            rest = UnsafeRawBufferPointer(rebasing: rest[written...])
        }
    }
}
