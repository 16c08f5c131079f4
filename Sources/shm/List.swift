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

            With --services, only the services: channels, publish/subscribe rings and events \
            segments, with their kind, capacity, reader slots, message type, participants (by \
            role, alive or dead: whether a process holds the role's lock, as the kernel says) and \
            messages published, and whether a topic is bridged to other machines (a shm-bridge holds \
            one of its bridge marks). A service whose words break its layout's rules is listed with the \
            problem. With --json, each service is an object with the keys name, name_hex, \
            segment_kind, kind, configuration (layout_version, capacity, max_message, slots, \
            policy, alignment, message_type, history_depth, event_ids), participants (an array of \
            role, slot, alive, pid, received), counters (published, published_bytes), bridged (true or false) and problem; \
            every key is always present, null when the service has no such field. Pids are \
            self-reported by the participants and mean nothing across pid namespaces.
            """)

    @Flag(help: ArgumentHelp("Print a JSON array of objects instead of a table."))
    var json = false

    @Flag(help: ArgumentHelp("List the services (channels, publish/subscribe rings, events) and their participants."))
    var services = false

    func execute() throws {
        if services { return try listServices() }
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

    func listServices() throws {
        let facts = ServiceDirectory.list().map(ServiceFacts.init)
        let output = OutputBuffer()
        if json {
            try printJSON(facts.map(\.json), to: output)
        } else {
            var table = Table(ServiceFacts.columns)
            for fact in facts { table.add(fact.row) }
            try output.append(table.render(bold: standardOutputTakesEscapes))
            if facts.isEmpty && standardOutputIsTerminal {
                try output.append("(no services in \(SegmentDirectory.path))\n")
            }
        }
        try output.flush()
    }
}
