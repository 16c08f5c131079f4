import ArgumentParser
import SampleSupport
import SharedMemory

/// `shm read NAME`: a segment's raw bytes on standard output.
struct ReadCommand: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "read",
        abstract: "Copy a segment's bytes to standard output, as they are.",
        discussion: """
            Offsets count from the start of the object, a managed segment's header included. By \
            default everything from --offset to the end of the segment is written.
            """)

    @Argument(help: "The segment's name.")
    var name: String

    @OptionGroup var range: RangeOptions

    func execute() throws {
        let name = try segmentName(name)
        // Reading harms nobody: another user's segment is fine if its mode lets us in.
        let segment = try SharedMemorySegment.open(name, allowOtherOwner: true)
        let size = try segment.size()
        let bytes = try checkedRange(offset: range.offset.value, length: range.length?.value, size: size, name: name.posixName)
        guard !bytes.isEmpty else { return }
        let view = try segment.map(offset: bytes.lowerBound, length: bytes.count)
        let output = OutputBuffer(capacity: 0)
        try view.withUnsafeBytes { try output.append($0) }
    }
}
