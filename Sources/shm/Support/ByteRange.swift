import ArgumentParser
import SampleSupport
import SharedMemory

/// `--offset` and `--length`, as `read`, `dump` and `write` take them.
struct RangeOptions: ParsableArguments {
    @Option(parsing: .unconditional,
            help: ArgumentHelp("Where to start, in bytes from the start of the segment (K, M, G suffixes and 0x accepted).",
                               valueName: "bytes"))
    var offset: ByteCount = ByteCount(0)

    @Option(parsing: .unconditional,
            help: ArgumentHelp("How many bytes; by default up to the end of the segment.", valueName: "bytes"))
    var length: ByteCount?
}

/// Checks `length` bytes at `offset` (all the rest when `length` is `nil`)
/// against a segment of `size` bytes.
func checkedRange(offset: Int, length: Int?, size: Int, name: String) throws(ToolError) -> Range<Int> {
    guard offset >= 0 else { throw ToolError("the offset \(offset) is negative") }
    guard offset <= size else {
        throw ToolError("the offset \(offset) is beyond the end of \(name) (\(size) bytes)")
    }
    guard let length else { return offset..<size }
    guard length >= 0 else { throw ToolError("the length \(length) is negative") }
    let (end, overflow) = offset.addingReportingOverflow(length)
    guard !overflow, end <= size else {
        throw ToolError("\(length) bytes at offset \(offset) reach beyond the end of \(name) (\(size) bytes)")
    }
    return offset..<end
}

extension RangeOptions {
    /// Opens the segment `name` for reading, checks the range against its
    /// size, and calls `body` with those bytes in place and their offset
    /// (not at all for an empty range). `clamp` may shorten a range given
    /// without `--length`; it gets the range and the segment's size.
    func withBytes(
        of name: String, clamp: (Range<Int>, Int) -> Range<Int> = { range, _ in range },
        _ body: (UnsafeRawBufferPointer, Int) throws -> Void
    ) throws {
        let name = try segmentName(name)
        // Reading harms nobody: another user's segment is fine if its mode lets us in.
        let segment = try SharedMemorySegment.open(name, allowOtherOwner: true)
        let size = try segment.size()
        var bytes = try checkedRange(offset: offset.value, length: length?.value, size: size, name: name.posixName)
        if length == nil { bytes = clamp(bytes, size) }
        guard !bytes.isEmpty else { return }
        let view = try segment.map(offset: bytes.lowerBound, length: bytes.count)
        try view.withUnsafeBytes { try body($0, bytes.lowerBound) }
    }
}
