import Glibc

/// Where a command reads its input: a file, or standard input.
struct InputSource {
    let descriptor: Int32
    /// How errors name the input: the file's path, or "standard input".
    let label: String
    private let ownsDescriptor: Bool

    /// Opens `path`, or standard input when `path` is `nil` or `-`.
    init(path: String?) throws(ToolError) {
        guard let path, path != "-" else {
            descriptor = STDIN_FILENO
            label = "standard input"
            ownsDescriptor = false
            return
        }
        var opened: Int32
        repeat { opened = open(path, O_RDONLY | O_CLOEXEC) } while opened < 0 && errno == EINTR
        guard opened >= 0 else { throw ToolError("cannot open \(path): \(errorText(errno))") }
        descriptor = opened
        label = path
        ownsDescriptor = true
    }

    func close() {
        if ownsDescriptor { _ = Glibc.close(descriptor) }
    }

    /// Reads up to `count` bytes into `buffer`; 0 at the end of the input.
    func read(into buffer: UnsafeMutableRawPointer, count: Int) throws(ToolError) -> Int {
        while true {
            let result = Glibc.read(descriptor, buffer, count)
            if result >= 0 { return result }
            if errno != EINTR { throw ToolError("cannot read \(label): \(errorText(errno))") }
        }
    }

    /// Reads the whole input, but at most `limit` bytes: one byte more than
    /// `limit` is never read, so the caller can tell that the input is longer.
    /// - Returns: the bytes, and whether the input had more than `limit` bytes.
    func readAll(limit: Int) throws -> (bytes: [UInt8], truncated: Bool) {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = try chunk.withUnsafeMutableBytes { buffer in
                try read(into: buffer.baseAddress!, count: buffer.count)
            }
            if count == 0 { return (bytes, false) }
            bytes.append(contentsOf: chunk[..<count])
            if bytes.count > limit { return (Array(bytes[..<limit]), true) }
        }
    }
}

/// Splits an input into lines with large reads: each line is handed over in
/// place, without its newline, straight from the read buffer.
final class LineReader {
    private let input: InputSource
    private var buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    /// How many lines have been handed over.
    private(set) var lineNumber = 0

    init(_ input: InputSource, bufferSize: Int = 1 << 20) {
        self.input = input
        buffer = .allocate(byteCount: bufferSize, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// Calls `body` with every line in order, without its newline; a last
    /// line without a newline counts too. A line longer than `maximumLength`
    /// throws before it is read whole.
    func forEachLine(maximumLength: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var atEnd = false
        while true {
            let base = buffer.baseAddress!
            while start < end, let newline = memchr(base + start, 0x0A, end - start) {
                let length = UnsafeMutableRawPointer(newline) - (base + start)
                lineNumber += 1
                try body(UnsafeRawBufferPointer(start: base + start, count: length))
                start += length + 1
            }
            if end - start > maximumLength {
                throw ToolError("line \(lineNumber + 1) of \(input.label) is longer than \(maximumLength) bytes, the largest message")
            }
            if atEnd {
                if start < end {
                    lineNumber += 1
                    try body(UnsafeRawBufferPointer(start: base + start, count: end - start))
                }
                return
            }
            if start > 0 {
                if end > start { memmove(base, base + start, end - start) }
                end -= start
                start = 0
            }
            if end == buffer.count {
                let larger = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count * 2, alignment: 16)
                larger.baseAddress!.copyMemory(from: base, byteCount: end)
                buffer.deallocate()
                buffer = larger
            }
            let count = try input.read(into: buffer.baseAddress! + end, count: buffer.count - end)
            if count == 0 { atEnd = true } else { end += count }
        }
    }
}
