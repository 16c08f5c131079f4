import Foundation
import Glibc
import SharedMemory
import Testing

/// Service discovery with real processes: participants that join later and
/// die, as the kernel's role locks tell; `shm list --services --json`,
/// `shm inspect` and `shm hz` as a user runs them.
@Suite("Discovery with processes")
struct DiscoveryProcessTests {
    typealias Run = ShmToolTests.Run

    /// The service `name` in `shm list --services --json`, parsed.
    static func listedService(_ name: String) throws -> [String: Any]? {
        let list = try ShmToolTests.shm("list", "--services", "--json")
        try #require(list.status == 0, "\(list.errors)")
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(list.output.utf8)) as? [[String: Any]])
        return parsed.first { $0["name"] as? String == "/" + name }
    }

    @Test("A subscriber process that joins later is waited for; when it is killed, its slot shows dead")
    func subscriberJoinsLater() throws {
        try withUniqueName { name in
            let segmentName = try SegmentName(name)
            let publisher = try Publisher.open(segmentName, creating: PublishSubscribeConfiguration(subscriberSlots: 4))
            #expect(caught { () throws(ChannelError) in try publisher.waitForSubscribers(1, timeout: .milliseconds(20)) } == .timedOut)

            let subscriber = try ChildProcess("shm-test-peer", ["receive", name, "--flavour", "pubsub"])
            try publisher.waitForSubscribers(1, timeout: .seconds(20))
            var info = try ServiceDirectory.describe(segmentName)
            #expect(info.kind == .publishSubscribe && info.problem == nil)
            #expect(info.alive(.subscriber).count == 1)
            #expect(info.alive(.publisher).count == 1)

            subscriber.send(SIGKILL)
            _ = try subscriber.waitForExit()
            info = try ServiceDirectory.describe(segmentName)
            // The kernel dropped the dead subscriber's lock; its slot still says attached.
            #expect(info.alive(.subscriber).isEmpty)
            #expect(info.participants.contains { $0.role == .subscriber && !$0.alive })
            #expect(caught { () throws(ChannelError) in try publisher.waitForSubscribers(1, timeout: .milliseconds(20)) } == .timedOut)
            _ = consume publisher
        }
    }

    @Test("shm list --services --json: a sender process's channel, every documented key; the sender dead once killed")
    func listServicesJSON() throws {
        try withUniqueName { name in
            let sender = try ChildProcess("shm-test-peer", ["send", name, "--count", "5", "--hang", "--print-each"])
            try sender.waitForOutput(containing: "sent message 4")
            let entry = try #require(try Self.listedService(name))
            #expect(Set(entry.keys) == ["name", "name_hex", "segment_kind", "kind", "configuration", "participants", "counters", "bridged", "problem"])
            #expect(entry["bridged"] as? Bool == false)
            #expect(entry["kind"] as? String == "channel")
            #expect(entry["segment_kind"] as? Int == 1)
            #expect(entry["problem"] is NSNull)
            let configuration = try #require(entry["configuration"] as? [String: Any])
            #expect(Set(configuration.keys) == ["layout_version", "capacity", "max_message", "slots", "policy", "alignment",
                                                "message_type", "history_depth", "event_ids"])
            #expect(configuration["slots"] as? Int == 1)
            #expect(configuration["policy"] as? String == "lossless")
            #expect(configuration["message_type"] is NSNull)
            let counters = try #require(entry["counters"] as? [String: Any])
            #expect(counters["published"] as? Int == 5)
            let participants = try #require(entry["participants"] as? [[String: Any]])
            #expect(participants.count == 1)
            #expect(participants.first?["role"] as? String == "sender")
            #expect(participants.first?["alive"] as? Bool == true)
            #expect(Set(participants.first?.keys ?? [:].keys) == ["role", "slot", "alive", "pid", "received"])

            let inspect = try ShmToolTests.inspection(name)
            let service = try #require(inspect["service"] as? [String: Any])
            #expect((service["participants"] as? [[String: Any]])?.first?["role"] as? String == "sender")

            sender.send(SIGKILL)
            _ = try sender.waitForExit()
            let after = try #require(try Self.listedService(name))
            let dead = try #require(after["participants"] as? [[String: Any]])
            #expect(dead.map { $0["alive"] as? Bool } == [false])
            let text = try ShmToolTests.shm("inspect", name)
            #expect(text.output.contains("participants:"), "\(text.output)")
        }
    }

    @Test("shm hz follows a running shm send: each line a rate and the total, the total reaching what was sent")
    func hzFollowsSend() throws {
        try withUniqueName { name in
            let send = try ChildProcess("shm", ["send", name, "--capacity", "64K"])
            send.writeInput((0..<1000).map { "line \($0)\n" }.joined())
            let segmentName = try SegmentName(name)
            try ServiceDirectory.waitForParticipants(segmentName, role: .sender, timeout: .seconds(20))
            let hz = try ChildProcess("shm", ["hz", name, "--window", "0.05"])
            try hz.waitForOutput(containing: "total: 1000\n")
            send.writeInput((1000..<1500).map { "line \($0)\n" }.joined())
            try hz.waitForOutput(containing: "total: 1500\n")
            hz.send(SIGINT)
            #expect(try hz.waitForExit() == 0)
            let lines = hz.output.split(separator: "\n").map(String.init)
            let pattern = /rate: ([0-9]+)\.[0-9] msg\/s  total: ([0-9]+)/
            var totals: [Int] = []
            var rising = false
            for line in lines {
                let match = try #require(line.wholeMatch(of: pattern), "\(line)")
                totals.append(Int(match.2)!)
                if Int(match.1)! > 0 { rising = true }
            }
            #expect(totals == totals.sorted())
            #expect(totals.last == 1500)
            // The counter went from 1000 to 1500 between two lines: that window's rate is not 0.
            #expect(rising)
            send.closeInput()
            #expect(try send.waitForExit() == 0)
            _ = shm_unlink("/" + name)
        }
    }

    @Test("shm hz on an events segment says its rate is not measurable; on no segment, that it does not exist")
    func hzRefuses() throws {
        try withUniqueName { name in
            let notifier = try EventNotifier.open(try SegmentName(name))
            let events = try ShmToolTests.shm("hz", name, "--count", "1", "--window", "0.01")
            #expect(events.status == 1)
            #expect(events.errors.contains("not measurable"), "\(events.errors)")
            _ = consume notifier
        }
        try withUniqueName { name in
            let missing = try ShmToolTests.shm("hz", name, "--count", "1")
            #expect(missing.status == 1)
            #expect(missing.errors.contains("no segment named"), "\(missing.errors)")
        }
    }
}

/// Runs `body`, expecting it to throw; returns the error, or `nil` when none was thrown.
private func caught<E: Error, R: ~Copyable>(_ body: () throws(E) -> R) -> E? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}
