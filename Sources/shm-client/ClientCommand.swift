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
        let name = try reporting(as: .open) { () throws(SharedMemoryError) in try SegmentName(common.name) }
        if common.managed {
            let segment = try reporting(name) { () throws(SharedMemoryError) in
                try ManagedSegment.open(name, access: .readOnly, allowOtherOwner: common.allowOtherOwner,
                                        backend: common.backend)
            }
            try show(segment, stopWatcher)
        } else {
            let segment = try reporting(name) { () throws(SharedMemoryError) in
                try SharedMemorySegment.open(name, access: .readOnly, allowOtherOwner: common.allowOtherOwner,
                                             backend: common.backend)
            }
            try show(segment, stopWatcher)
        }
    }

    /// Maps the view, prints the message and waits; the segment stays open
    /// (and a last-close segment alive) until then.
    private func show<Segment: ViewSource & ~Copyable>(_ segment: borrowing Segment, _ stopWatcher: StopWatcher) throws(ExitCode) {
        print("The file mapping (\(segment.name)) is opened")
        let view = try reporting { () throws(SharedMemoryError) in
            try segment.map(offset: common.viewOffset.value, length: common.viewSize.value, access: nil)
        }
        print("The file view is mapped")
        let message = try reporting { () throws(SharedMemoryError) in try view.readString(encoding: common.encoding) }
        print("Read from the file mapping:")
        print("\"\(message)\"")
        _ = stopWatcher.promptAndWait()
    }
}
