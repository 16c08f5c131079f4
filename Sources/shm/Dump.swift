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
        let output = OutputBuffer()
        try range.withBytes(of: name, clamp: { bytes, size in
            guard bytes.count > Self.defaultLimit else { return bytes }
            writeToStandardError("shm dump: showing \(Self.defaultLimit) of the \(size - bytes.lowerBound) bytes from offset \(bytes.lowerBound); give --length for more\n")
            return bytes.lowerBound..<(bytes.lowerBound + Self.defaultLimit)
        }) { bytes, offset in
            try hexdump(bytes, offset: offset, to: output)
        }
        try output.flush()
    }
}
