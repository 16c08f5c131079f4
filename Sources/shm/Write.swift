import ArgumentParser
import SampleSupport
import SharedMemory

/// `shm write NAME`: bytes into a segment, bounded.
struct WriteCommand: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "write",
        abstract: "Write text, a file or standard input into a segment.",
        discussion: """
            Writes the bytes as they are (no terminator is added) at --offset, counted from the \
            start of the object, a managed segment's header included. Nothing is written when they \
            do not fit between the offset and the end of the segment: that is an error. \
            Without --text or --file, standard input is written (read no further than what fits).
            """)

    @Argument(help: "The segment's name.")
    var name: String

    @Option(parsing: .unconditional, help: ArgumentHelp("Where to write, in bytes from the start of the segment.", valueName: "bytes"))
    var offset: ByteCount = ByteCount(0)

    @Option(help: "Write this text's UTF-8 bytes.")
    var text: String?

    @Option(help: ArgumentHelp("Write this file's bytes ('-' for standard input).", valueName: "path"))
    var file: String?

    @Flag(help: "Write into a segment that another user owns (its mode must allow it); refused otherwise.")
    var allowOtherOwner = false

    func validate() throws {
        if text != nil && file != nil { throw ValidationError("Give --text or --file, not both.") }
    }

    func execute() throws {
        let name = try segmentName(name)
        let segment = try Self.open(name, allowOtherOwner: allowOtherOwner)
        let size = try segment.size()
        let start = try checkedRange(offset: offset.value, length: nil, size: size, name: name.posixName).lowerBound
        let room = size - start
        let bytes: [UInt8]
        if let text {
            bytes = Array(text.utf8)
        } else {
            let input = try InputSource(path: file)
            defer { input.close() }
            let read = try input.readAll(limit: room)
            guard !read.truncated else {
                throw ToolError("\(input.label) has more than the \(room) bytes that fit in \(name.posixName) (\(size) bytes) at offset \(start); nothing was written")
            }
            bytes = read.bytes
        }
        guard bytes.count <= room else {
            throw ToolError("\(bytes.count) bytes do not fit in \(name.posixName) (\(size) bytes) at offset \(start): \(room) bytes are left; nothing was written")
        }
        if !bytes.isEmpty {
            let view = try segment.map(offset: start, length: bytes.count)
            try view.write(bytes)
        }
        print("wrote \(bytes.count) bytes to \(name.posixName) at offset \(start)")
    }

    /// Opens the segment for writing; the refusal of another user's segment names the flag that allows it.
    static func open(_ name: SegmentName, allowOtherOwner: Bool) throws -> SharedMemorySegment {
        do throws(SharedMemoryError) {
            return try SharedMemorySegment.open(name, access: .readWrite, allowOtherOwner: allowOtherOwner)
        } catch {
            guard error.errno == .operationNotPermitted else { throw error }
            throw ToolError(error.hint + " with --allow-other-owner")
        }
    }
}
