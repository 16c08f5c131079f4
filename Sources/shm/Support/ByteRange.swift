import ArgumentParser
import SampleSupport

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
