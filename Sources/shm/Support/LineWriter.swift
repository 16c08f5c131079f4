import Glibc

/// Writes lines straight to a descriptor, one `writev` per line and no
/// buffer in this process: when ``write(_:)`` returns, the kernel has the
/// bytes, and a crash of this process cannot lose them.
struct LineWriter {
    let descriptor: Int32

    init(descriptor: Int32 = STDOUT_FILENO) { self.descriptor = descriptor }

    /// Writes `bytes` and a newline, all of them, before it returns.
    @inline(__always)
    func write(_ bytes: UnsafeRawBufferPointer) throws(ToolError) {
        // A short line is copied with its newline and written with one plain
        // `write`, which costs the kernel less than gathering two pieces.
        if bytes.count < Self.copyLimit {
            try withUnsafeTemporaryAllocation(byteCount: bytes.count + 1, alignment: 1) { (line) throws(ToolError) in
                if let source = bytes.baseAddress { line.baseAddress!.copyMemory(from: source, byteCount: bytes.count) }
                line[bytes.count] = UInt8(ascii: "\n")
                try writeAll(UnsafeRawBufferPointer(line))
            }
            return
        }
        var newline = UInt8(ascii: "\n")
        try withUnsafeMutablePointer(to: &newline) { (newlinePointer) throws(ToolError) in
            var parts = (
                iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress), iov_len: bytes.count),
                iovec(iov_base: UnsafeMutableRawPointer(newlinePointer), iov_len: 1))
            let total = bytes.count + 1
            let written = withUnsafeMutablePointer(to: &parts) { pointer in
                pointer.withMemoryRebound(to: iovec.self, capacity: 2) { writev(descriptor, $0, 2) }
            }
            if written == total { return }
            // A short write, an interruption, or a descriptor that is not ready: write what is left.
            var done = max(written, 0)
            if written < 0 { try recover(errno) }
            while done < total {
                let result: Int
                if done < bytes.count {
                    result = Glibc.write(descriptor, bytes.baseAddress! + done, bytes.count - done)
                } else {
                    result = Glibc.write(descriptor, newlinePointer, 1)
                }
                if result < 0 { try recover(errno) } else { done += result }
            }
        }
    }

    /// Lines shorter than this are copied and written in one piece.
    static let copyLimit = 4096

    /// Writes all of `bytes`.
    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws(ToolError) {
        var done = 0
        while done < bytes.count {
            let result = Glibc.write(descriptor, bytes.baseAddress! + done, bytes.count - done)
            if result < 0 { try recover(errno) } else { done += result }
        }
    }

    /// Carries on after `EINTR`, waits for a descriptor that is not ready
    /// (`EAGAIN`), and throws for any other failure.
    private func recover(_ code: Int32) throws(ToolError) {
        switch code {
        case EINTR:
            return
        case EAGAIN:
            var ready = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            _ = poll(&ready, 1, 1000)
        default:
            throw ToolError("cannot write to standard output: \(errorText(code))")
        }
    }
}
