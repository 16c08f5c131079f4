import ArgumentParser
import SampleSupport
import SharedMemory

/// `shm create NAME --size N`: a raw segment.
struct CreateCommand: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a raw shared-memory segment.",
        discussion: """
            The segment is filled with zeros, its memory reserved at once (a full /dev/shm fails \
            now, not at the first write), and it keeps its name until `shm rm` removes it. A \
            segment that exists already is left as it is, with its size, unless --exclusive makes \
            that an error.
            """)

    @Argument(help: "The segment's name.")
    var name: String

    @Option(parsing: .unconditional, help: ArgumentHelp("The size in bytes (K, M, G suffixes and 0x accepted).", valueName: "bytes"))
    var size: ByteCount

    @Option(help: ArgumentHelp("The permission bits in octal, applied whatever the umask.", valueName: "octal"))
    var mode: FileMode = FileMode(SharedMemorySegment.defaultMode)

    @Flag(help: "Fail if a segment with this name exists.")
    var exclusive = false

    func execute() throws {
        let name = try segmentName(name)
        let segment = try SharedMemorySegment.create(name, size: size.value, mode: mode.bits, exclusive: exclusive)
        let status = try segment.status()
        if segment.wasCreated {
            print("created \(name.posixName): \(status.size) bytes, mode \(Format.mode(status.mode))")
        } else {
            print("\(name.posixName) exists: \(status.size) bytes, mode \(Format.mode(status.mode)); left unchanged")
            if status.size != UInt64(size.value) {
                writeToStandardError("shm create: note: \(name.posixName) keeps its size of \(status.size) bytes, not \(size.value); remove it first to resize it\n")
            }
        }
    }
}
