import Foundation
import SharedMemory

/// What `list --services` and `inspect` say about one service, from a ``ServiceInfo``.
struct ServiceFacts {
    let info: ServiceInfo

    init(_ info: ServiceInfo) { self.info = info }

    /// The kind's name, or `kind N` when it cannot be told.
    var kind: String { info.kind?.rawValue ?? "kind \(info.segmentKind)" }

    /// The participants counted by role: `1 sender, 1 receiver (dead)`,
    /// `1 publisher, 2 subscribers (+1 dead)`; `none` without any.
    var participantSummary: String {
        var order: [ServiceParticipant.Role] = []
        for participant in info.participants where !order.contains(participant.role) { order.append(participant.role) }
        guard !order.isEmpty else { return "none" }
        return order.map { role in
            let alive = info.participants.filter { $0.role == role && $0.alive }.count
            let dead = info.participants.filter { $0.role == role && !$0.alive }.count
            let noun = alive == 1 || (alive == 0 && dead == 1) ? role.rawValue : role.rawValue + "s"
            if alive == 0 { return "\(dead) \(noun) (dead)" }
            return "\(alive) \(noun)" + (dead > 0 ? " (+\(dead) dead)" : "")
        }.joined(separator: ", ")
    }

    /// The row of `shm list --services`.
    var row: [String] {
        let configuration = info.configuration
        return [
            info.name,
            kind,
            configuration.capacity.map { Format.bytes(Double($0)) } ?? "-",
            configuration.slots.map(String.init) ?? "-",
            configuration.messageTypeName ?? "-",
            participantSummary,
            info.counters.published.map(String.init) ?? "-",
            info.bridged ? "yes" : "-",
            info.problem ?? "-",
        ]
    }

    static let columns: [(String, Table.Alignment)] = [
        ("NAME", .left), ("KIND", .left), ("CAPACITY", .right), ("SLOTS", .right), ("TYPE", .left),
        ("PARTICIPANTS", .left), ("PUBLISHED", .right), ("BRIDGED", .left), ("PROBLEM", .left),
    ]

    /// The object of `shm list --services --json` and of `service` in
    /// `shm inspect --json`. Every key is always present, `null` when the
    /// service's layout has no such field; the keys are documented in the
    /// Discovery article.
    var json: [String: Any] {
        let configuration = info.configuration
        return [
            "name": info.name,
            "name_hex": info.segmentName.posixBytes.map(Format.hexByte).joined(),
            "segment_kind": info.segmentKind,
            "kind": jsonValue(info.kind?.rawValue),
            "configuration": [
                "layout_version": jsonValue(configuration.layoutVersion),
                "capacity": jsonValue(configuration.capacity),
                "max_message": jsonValue(configuration.maxMessageSize),
                "slots": jsonValue(configuration.slots),
                "policy": jsonValue(configuration.policy.map(Format.policy)),
                "alignment": jsonValue(configuration.alignment),
                "message_type": jsonValue(configuration.messageTypeName),
                "history_depth": jsonValue(configuration.historyDepth),
                "event_ids": jsonValue(configuration.eventIDs),
            ] as [String: Any],
            "participants": info.participants.map { participant in
                [
                    "role": participant.role.rawValue,
                    "slot": jsonValue(participant.slot),
                    "alive": participant.alive,
                    "pid": jsonValue(participant.pid),
                    "received": jsonValue(participant.received),
                ] as [String: Any]
            },
            "counters": [
                "published": jsonValue(info.counters.published),
                "published_bytes": jsonValue(info.counters.bytesPublished),
            ] as [String: Any],
            "bridged": info.bridged,
            "problem": jsonValue(info.problem),
        ]
    }

    /// The `service:` section of `shm inspect`: configuration, counters and participants.
    var text: String {
        let configuration = info.configuration
        var fields: [(String, String)] = [("kind", kind)]
        if let version = configuration.layoutVersion { fields.append(("layout version", String(version))) }
        if let capacity = configuration.capacity { fields.append(("capacity", ByteFormat.describe(capacity))) }
        if let size = configuration.maxMessageSize { fields.append(("max message", ByteFormat.describe(size))) }
        if let slots = configuration.slots { fields.append(("reader slots", String(slots))) }
        if let policy = configuration.policy { fields.append(("policy", Format.policy(policy))) }
        if let alignment = configuration.alignment { fields.append(("alignment", "\(alignment) bytes")) }
        if let type = configuration.messageTypeName { fields.append(("message type", type)) }
        if let depth = configuration.historyDepth { fields.append(("history depth", String(depth))) }
        if let ids = configuration.eventIDs { fields.append(("event ids", String(ids))) }
        fields.append(("published", info.counters.published.map { "\($0) messages" } ?? "not counted"))
        if info.bridged { fields.append(("bridged", "yes: a process carries it to other machines")) }
        if let problem = info.problem { fields.append(("problem", problem)) }
        if info.participants.isEmpty { fields.append(("participants", "none")) }
        var text = InspectCommand.aligned(fields, indent: "  ")
        if !info.participants.isEmpty {
            text += "  participants:\n"
            var table = Table([("ROLE", .left), ("SLOT", .right), ("ALIVE", .left), ("PID", .right), ("RECEIVED", .right)])
            for participant in info.participants {
                table.add([participant.role.rawValue, participant.slot.map(String.init) ?? "-",
                           participant.alive ? "yes" : "no", participant.pid.map(String.init) ?? "-",
                           participant.received.map(String.init) ?? "-"])
            }
            for line in table.render(bold: false).split(separator: "\n") { text += "    " + line + "\n" }
        }
        return text
    }
}
