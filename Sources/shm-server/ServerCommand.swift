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

    @Option(help: ArgumentHelp("The mapping's size in bytes, when this server creates it.", valueName: "bytes"))
    var size: ByteCount = ByteCount(Sample.mappingSize)

    @Option(help: "The message to write into the view.")
    var message: String = Sample.message

    @Flag(help: "Fail if the mapping exists, instead of opening it.")
    var exclusive = false

    func run() throws {
        let stopWatcher = StopWatcher()
        let name: SegmentName
        do {
            name = try SegmentName(common.name)
        } catch {
            throw reportFailure(error)
        }
        let segment: SharedMemorySegment
        do {
            segment = try .create(name, size: size.value, exclusive: exclusive, backend: common.backend)
        } catch {
            throw reportFailure(error, advice: advice(for: error, name: name))
        }
        if segment.wasCreated {
            print("The file mapping (\(name)) is created")
        } else {
            print("The file mapping (\(name)) already exists and is opened")
        }

        let outcome = serve(segment, stopWatcher: stopWatcher)
        if segment.wasCreated {
            try? segment.unlink()
        }
        if let failure = outcome { throw failure }
    }

    /// Maps the view, writes the message and waits; returns the exit code of a failure.
    private func serve(_ segment: borrowing SharedMemorySegment, stopWatcher: StopWatcher) -> ExitCode? {
        let view: MappedView
        do {
            view = try segment.map(offset: common.viewOffset.value, length: common.viewSize.value, access: .readWrite)
        } catch {
            return reportFailure(error)
        }
        print("The file view is mapped")
        do {
            try view.writeString(message, encoding: common.encoding)
        } catch {
            return reportFailure(error, advice: "the message and its terminator need \(common.encoding.encode(message).count) bytes")
        }
        print("This message is written to the view:")
        print("\"\(message)\"")
        _ = stopWatcher.promptAndWait()
        return nil
    }
}
