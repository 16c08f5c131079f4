import ArgumentParser
import Foundation
import SampleSupport
import SharedMemory

/// `shm inspect NAME`: one segment in detail, and a channel's state.
struct InspectCommand: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show one segment: its header, and a channel's or ring's state.",
        discussion: """
            A managed segment shows its header: layout version, kind, payload size, creator (and \
            whether it is alive), lifetime, who uses it and whether it is stale. A raw segment \
            shows its size, owner and mode. A channel or publish/subscribe ring (kind 1) also shows \
            its kind, slow-subscriber policy, capacity, largest message, history depth, the writer's \
            state and self-reported pid, the messages and bytes published, how full it is, and for \
            each reader its slot, whether it is attached, its self-reported pid, what it received and \
            missed, and how far behind it is. A self-reported pid is what the process wrote into the \
            ring, as its own pid namespace sees it: any process can write it, so it is a hint only. \
            Any service (a ring, an events segment or a service segment) also shows its \
            participants: each role, its slot, whether it is alive (a process holds the role's \
            lock, as the kernel says), its self-reported pid when the layout has one, and what it \
            received. With --json the service is the object `service`, in the form of \
            `shm list --services --json`.
            """)

    @Argument(help: "The segment's name.")
    var name: String

    @Flag(help: "Print a JSON object instead of text.")
    var json = false

    func execute() throws {
        let name = try segmentName(name)
        let facts = SegmentFacts(try segmentInfo(name))
        var channel: Result<ChannelStatus, ChannelError>?
        if facts.isChannel {
            channel = Result { () throws(ChannelError) in try ChannelStatus.read(name) }
        }
        let service = facts.info.header.map { $0.kind != 0 } == true ? try? ServiceDirectory.describe(name) : nil
        let output = OutputBuffer()
        if json {
            var object = facts.json
            object["channel"] = NSNull()
            switch channel {
            case .success(let status): object["channel"] = Self.json(status)
            case .failure(let error): object["channel_error"] = describe(error)
            case nil: break
            }
            object["service"] = jsonValue(service.map { ServiceFacts($0).json })
            try printJSON(object, to: output)
        } else {
            try output.append(Self.text(facts, channel))
            if let service { try output.append("service:\n" + ServiceFacts(service).text) }
        }
        try output.flush()
    }

    static func text(_ facts: SegmentFacts, _ channel: Result<ChannelStatus, ChannelError>?) -> String {
        let info = facts.info
        var fields: [(String, String)] = [
            ("name", info.name),
            ("size", ByteFormat.describe(Int(clamping: info.size))),
            ("owner", "\(facts.ownerName) (uid \(info.uid))"),
            ("mode", Format.mode(info.mode)),
        ]
        if let header = info.header {
            fields += [
                ("type", "managed, layout version \(SegmentHeader.layoutVersion)"),
                ("kind", "\(facts.kind ?? "?") (\(header.kind))"),
                ("payload", ByteFormat.describe(header.payloadSize)),
                ("creator", "pid \(header.creator.pid), uid \(header.creatorUID), "
                    + (info.creatorAlive == true ? "alive" : "dead")),
                ("lifetime", header.lifetime.description),
            ]
        } else if info.isManaged {
            fields.append(("type", "managed" + (facts.version.map { ", layout version \($0)" } ?? "")))
        } else {
            fields.append(("type", "raw segment (no swift-shm header)"))
        }
        if let problem = facts.problem { fields.append(("problem", problem)) }
        fields += [
            ("users", info.users.isEmpty ? "none" : info.users.map(String.init).joined(separator: ", ")),
            ("locked", info.isLocked ? "yes (a process holds its lock)" : "no"),
            ("stale", info.isStale ? "yes (`shm gc` removes it)" : "no"),
        ]
        var text = aligned(fields, indent: "")
        switch channel {
        case .success(let status):
            text += "\(status.kind == .channel ? "channel" : "publish/subscribe ring"):\n" + channelText(status)
        case .failure(let error):
            text += "channel: cannot read its state: \(describe(error))\n"
        case nil:
            break
        }
        return text
    }

    static func channelText(_ status: ChannelStatus) -> String {
        let percent = status.capacity > 0 ? Double(status.fill) * 100 / Double(status.capacity) : 0
        var fields: [(String, String)] = [
            ("kind", status.kind.rawValue),
            ("policy", Format.policy(status.policy)),
            ("capacity", ByteFormat.describe(status.capacity)),
            ("max message", ByteFormat.describe(status.maxMessageSize)),
            ("reader slots", String(status.slots)),
            ("history", status.historyDepth == 0 ? "none" : "\(status.historyDepth) messages"),
            ("writer", status.writer.rawValue
                + (status.writerSelfReportedPid.map { ", pid \($0) (self-reported)" } ?? "")),
            ("published", "\(status.published) messages, \(ByteFormat.describe(Int(clamping: status.bytesPublished)))"),
            ("fill", "\(status.fill) bytes, \(Format.decimal(percent, places: 1))% of the capacity"),
        ]
        if status.readers.isEmpty { fields.append(("readers", "none")) }
        var text = aligned(fields, indent: "  ")
        if !status.readers.isEmpty {
            text += "  readers:\n"
            var table = Table([("SLOT", .right), ("ATTACHED", .left), ("PID (SELF-REPORTED)", .right), ("RECEIVED", .right),
                               ("MISSED", .right), ("BEHIND", .right), ("BEHIND BYTES", .right)])
            for reader in status.readers {
                table.add([String(reader.slot), reader.attached ? "yes" : "no",
                           reader.selfReportedPid.map(String.init) ?? "-", String(reader.received),
                           String(reader.missed), String(reader.messagesBehind), String(reader.bytesBehind)])
            }
            for line in table.render(bold: false).split(separator: "\n") { text += "    " + line + "\n" }
        }
        return text
    }

    static func aligned(_ fields: [(String, String)], indent: String) -> String {
        let width = fields.map(\.0.count).max() ?? 0
        return fields.map { key, value in
            indent + key + ":" + String(repeating: " ", count: width - key.count + 1) + value + "\n"
        }.joined()
    }

    static func json(_ status: ChannelStatus) -> [String: Any] {
        [
            "kind": status.kind.rawValue,
            "policy": Format.policy(status.policy),
            "capacity": status.capacity,
            "max_message": status.maxMessageSize,
            "slots": status.slots,
            "history_depth": status.historyDepth,
            "writer": status.writer.rawValue,
            "writer_pid_self_reported": status.writerSelfReportedPid.map { $0 as Any } ?? NSNull(),
            "published_messages": status.published,
            "published_bytes": status.bytesPublished,
            "fill_bytes": status.fill,
            "readers": status.readers.map { reader in
                [
                    "slot": reader.slot,
                    "attached": reader.attached,
                    "pid_self_reported": reader.selfReportedPid.map { $0 as Any } ?? NSNull(),
                    "received": reader.received,
                    "missed": reader.missed,
                    "behind_messages": reader.messagesBehind,
                    "behind_bytes": reader.bytesBehind,
                ] as [String: Any]
            },
        ]
    }
}
