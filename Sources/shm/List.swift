import ArgumentParser
import SampleSupport
import SharedMemory

/// `shm list`: every shared-memory object, managed or raw.
struct ListCommand: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List every POSIX shared-memory object in /dev/shm.",
        discussion: """
            For each object: its name, size in bytes, owner, mode, whether it is managed (it starts \
            with the checked swift-shm header) or raw, the header's layout version, what it holds \
            (data or channel), the creator's pid and whether it is alive, the pids that have it open \
            or mapped (without root, only your own processes are seen), and whether it is stale: a \
            managed segment whose creator is dead and that nobody uses, which `shm gc` removes. Raw \
            segments are never stale: nothing tells who made them.
            """)

    @Flag(help: ArgumentHelp("Print a JSON array of objects instead of a table."))
    var json = false

    func execute() throws {
        let facts = SegmentDirectory.list().map(SegmentFacts.init)
        let output = OutputBuffer()
        if json {
            try printJSON(facts.map(\.json), to: output)
        } else {
            var table = Table(SegmentFacts.columns)
            for fact in facts { table.add(fact.row) }
            try output.append(table.render(bold: standardOutputTakesEscapes))
            if facts.isEmpty && standardOutputIsTerminal {
                try output.append("(no shared-memory objects in \(SegmentDirectory.path))\n")
            }
        }
        try output.flush()
    }
}
