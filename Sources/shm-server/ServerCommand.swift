import ArgumentParser
import SampleSupport
import SharedMemory

/// The server of the file-mapping sample: creates the mapping, writes the
/// message into a view and waits until told to quit.
@main
struct ServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shm-server",
        abstract: "Create a shared-memory mapping, write a message into it, and wait.",
        discussion: """
            Waits for ENTER, the end of standard input, SIGINT or SIGTERM, then unmaps \
            the view, closes the mapping and, if this server created it, removes its name. \
            A mapping that already exists is opened and written to, as CreateFileMapping \
            does on Windows, unless --exclusive is given. Exits 1 on failure.
            """)

    @OptionGroup var common: CommonOptions

    @Option(help: ArgumentHelp("The mapping's size in bytes (with --managed: the payload's), when this server creates it.",
                               valueName: "bytes"))
    var size: ByteCount = ByteCount(Sample.mappingSize)

    @Option(help: "The message to write into the view.")
    var message: String = Sample.message

    @Flag(help: "Fail if the mapping exists, instead of opening it.")
    var exclusive = false

    @Option(help: ArgumentHelp("Permission bits of a new mapping, in octal, whatever the umask.", valueName: "octal"))
    var mode: FileMode = FileMode(SharedMemorySegment.defaultMode)

    @Option(help: ArgumentHelp(
        "posix: the name lives until this server removes it; last-close: the last process that closes the managed mapping removes it, even if this server crashes (needs --managed).",
        valueName: "lifetime"))
    var lifetime: ManagedSegment.Lifetime = .posix

    func validate() throws {
        if lifetime == .lastClose && !common.managed {
            throw ValidationError("--lifetime last-close needs --managed: the lifetime is kept in the managed header.")
        }
    }

    func run() throws {
        let stopWatcher = StopWatcher()
        let name = try reporting { () throws(SharedMemoryError) in try SegmentName(common.name) }
        if common.managed {
            let segment = try reporting(name) { () throws(SharedMemoryError) in
                try ManagedSegment.create(name, payloadSize: size.value, mode: mode.bits, exclusive: exclusive,
                                          lifetime: lifetime, allowOtherOwner: common.allowOtherOwner,
                                          backend: common.backend)
            }
            stopWatcher.holdResources()
            // A last-close segment is removed by whoever closes it last.
            try serve(segment, removing: segment.wasCreated && segment.header.lifetime == .posix, stopWatcher)
        } else {
            let segment = try reporting(name) { () throws(SharedMemoryError) in
                try SharedMemorySegment.create(name, size: size.value, mode: mode.bits, exclusive: exclusive,
                                               allowOtherOwner: common.allowOtherOwner, backend: common.backend)
            }
            stopWatcher.holdResources()
            try serve(segment, removing: segment.wasCreated, stopWatcher)
        }
    }

    /// Maps the view, writes the message and waits; then removes the name if asked to.
    private func serve<Segment: ViewSource & ~Copyable>(
        _ segment: borrowing Segment, removing: Bool, _ stopWatcher: StopWatcher
    ) throws(ExitCode) {
        defer { if removing { try? segment.unlink() } }
        if segment.wasCreated {
            print("The file mapping (\(segment.name)) is created")
        } else {
            print("The file mapping (\(segment.name)) already exists and is opened")
        }
        let view = try reporting { () throws(SharedMemoryError) in
            try segment.map(offset: common.viewOffset.value, length: common.viewSize.value, access: .readWrite)
        }
        print("The file view is mapped")
        do {
            try view.writeString(message, encoding: common.encoding)
        } catch {
            throw reportFailure(error, advice: "the message and its terminator need \(common.encoding.encode(message).count) bytes")
        }
        print("This message is written to the view:")
        print("\"\(message)\"")
        _ = stopWatcher.promptAndWait()
    }
}
