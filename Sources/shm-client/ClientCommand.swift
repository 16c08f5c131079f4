import ArgumentParser
import SampleSupport
import SharedMemory

/// The client of the file-mapping sample: opens the mapping read-only and
/// prints the message the server wrote.
@main
struct ClientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shm-client",
        abstract: "Open a shared-memory mapping read-only and print the message in it.",
        discussion: """
            The message is read up to its terminator, or up to the end of the view when \
            it has none. Then waits for ENTER, the end of standard input, SIGINT or SIGTERM. \
            Exits 1 on failure, for example when no server has created the mapping.
            """)

    @OptionGroup var common: CommonOptions

    func run() throws {
        let stopWatcher = StopWatcher()
        let name: SegmentName
        do {
            name = try SegmentName(common.name)
        } catch {
            var error = error
            error.operation = .open
            throw reportFailure(error)
        }
        let segment: SharedMemorySegment
        do {
            segment = try .open(name, access: .readOnly, backend: common.backend)
        } catch {
            throw reportFailure(error, advice: advice(for: error, name: name))
        }
        print("The file mapping (\(name)) is opened")
        let view: MappedView
        do {
            view = try segment.map(offset: common.viewOffset.value, length: common.viewSize.value)
        } catch {
            throw reportFailure(error)
        }
        print("The file view is mapped")
        let message: String
        do {
            message = try view.readString(encoding: common.encoding)
        } catch {
            throw reportFailure(error)
        }
        print("Read from the file mapping:")
        print("\"\(message)\"")
        _ = stopWatcher.promptAndWait()
    }
}
