import ArgumentParser
import Glibc
import SampleSupport
import SharedMemory

/// `shm rm NAME...`: removes names.
struct RemoveCommand: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Remove shared-memory segments by name.",
        discussion: """
            Removes each name, as `rm /dev/shm/NAME` does, whether or not a process uses it: \
            processes that have it open or mapped keep their memory, but nobody can open the \
            name any more. A name that does not exist, or cannot be removed, is reported and the \
            others are still removed; the exit status is then 1. To remove only segments nobody \
            uses, see `shm gc`.
            """)

    @Argument(help: ArgumentHelp("The segments' names.", valueName: "name"))
    var names: [String]

    func validate() throws {
        if names.isEmpty { throw ValidationError("Give at least one name to remove.") }
    }

    func execute() throws {
        var failed = false
        for text in names {
            do {
                let name = try segmentName(text)
                try SharedMemorySegment.remove(name)
                print("removed \(name.posixName)")
            } catch {
                fflush(nil)
                _ = Self.fail(error)
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
    }
}
