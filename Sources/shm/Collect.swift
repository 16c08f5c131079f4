import ArgumentParser
import SampleSupport
import SharedMemory

/// `shm gc`: removes stale managed segments.
struct CollectCommand: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Remove stale managed segments: creator dead, and nobody uses them.",
        discussion: """
            A managed segment is stale when the process that created it is dead and no process \
            has it open, mapped or locked, or when its creator died before finishing it. Each \
            one is checked again under its exclusive lock just before it is removed, so a segment \
            that any process holds open through this library (every open takes the shared lock) \
            is never removed. Raw segments, unreadable ones and anything that is not a regular \
            file are never stale, since nothing tells who made them; remove those with `shm rm`. \
            Run by a user other than root, gc considers only that user's segments: it cannot see \
            who else has them open. Prints what it removed, or with --dry-run what it would remove.
            """)

    @Flag(help: "Only print what would be removed.")
    var dryRun = false

    @Argument(help: ArgumentHelp("Only consider these names (by default, every segment in /dev/shm).", valueName: "name"))
    var names: [String] = []

    func execute() throws {
        let selected = try names.map { (text) throws(SharedMemoryError) in try segmentName(text) }
        let stale = selected.isEmpty
            ? SegmentDirectory.removeStale(dryRun: dryRun)
            : SegmentDirectory.removeStale(among: selected, dryRun: dryRun)
        for info in stale {
            let why = info.header.map { "creator pid \($0.creator.pid) is dead" } ?? "its creator never finished it"
            print("\(dryRun ? "would remove" : "removed") \(info.name) (\(info.size) bytes, \(why), unused)")
        }
        if stale.isEmpty {
            print(dryRun ? "nothing to remove: no stale segments" : "no stale segments")
        }
    }
}
