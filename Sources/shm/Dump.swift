import ArgumentParser
import SampleSupport
import SharedMemory

/// `shm dump NAME`: a segment's bytes as `xxd` shows them.
struct DumpCommand: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Show a segment's bytes in hexadecimal and ASCII, as xxd does.",
        discussion: """
            Each line shows the offset in the segment (8 hexadecimal digits), 16 bytes in groups \
            of two, and the same bytes as ASCII with '.' for anything not printable. Offsets count \
            from the start of the object, a managed segment's header included. Without --length \
            the dump goes to the end of the segment but stops after \(defaultLimit / 1024) KiB.
            """)

    static let defaultLimit = 64 * 1024

    @Argument(help: "The segment's name.")
    var name: String

    @OptionGroup var range: RangeOptions

    func execute() throws {
        let name = try segmentName(name)
        // Reading harms nobody: another user's segment is fine if its mode lets us in.
        let segment = try SharedMemorySegment.open(name, allowOtherOwner: true)
        let size = try segment.size()
        var bytes = try checkedRange(offset: range.offset.value, length: range.length?.value, size: size, name: name.posixName)
        if range.length == nil && bytes.count > Self.defaultLimit {
            bytes = bytes.lowerBound..<(bytes.lowerBound + Self.defaultLimit)
            writeToStandardError("shm dump: showing \(Self.defaultLimit) of the \(size - bytes.lowerBound) bytes from offset \(bytes.lowerBound); give --length for more\n")
        }
        guard !bytes.isEmpty else { return }
        let view = try segment.map(offset: bytes.lowerBound, length: bytes.count)
        let output = OutputBuffer()
        try view.withUnsafeBytes { try hexdump($0, offset: bytes.lowerBound, to: output) }
        try output.flush()
    }
}
