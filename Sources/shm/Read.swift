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
        let output = OutputBuffer(capacity: 0)
        try range.withBytes(of: name) { bytes, _ in try output.append(bytes) }
    }
}
