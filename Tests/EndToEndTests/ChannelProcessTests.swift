import Foundation
import SharedMemory
import Testing

/// Channels between real processes: `shm-test-peer` sends and checks streams
/// whose every byte follows from the message's sequence number.
@Suite("Channels between processes")
struct ChannelProcessTests {
    /// The receiver's last line when every message arrived intact and in order.
    static func clean(_ count: Int, first: Int = 0) -> String {
        "received \(count) first \(first) last \(first + count - 1) missed 0 problems 0"
    }

    static func lastLine(_ output: String) -> String {
        output.split(separator: "\n").last.map(String.init) ?? ""
    }

    static let streams: [(String, Int, [String], [String])] = [
        ("adaptive", 1_000_000, [], []),
        ("spin", 300_000, [], []),
        ("sleep", 200_000, [], []),
        ("adaptive", 300_000, ["--loan"], ["--in-place"]),
        ("sleep", 100_000, ["--max-size", "30000", "--capacity", "131072"], ["--max-size", "30000", "--capacity", "131072"]),
        // Tiny records in a small ring: every kind of gap before the end of the data area, 8 bytes included.
        ("adaptive", 200_000, ["--capacity", "4096", "--min-size", "8", "--max-size", "16"],
         ["--capacity", "4096", "--min-size", "8", "--max-size", "16"]),
    ]

    @Test("Random sizes, millions of messages: nothing lost, duplicated, reordered or torn", arguments: streams)
    func stream(wait: String, count: Int, senderExtra: [String], receiverExtra: [String]) throws {
        try withUniqueName { name in
            let common = ["--count", "\(count)", "--wait", wait, "--seed", "\(count)"]
            let receiver = try ChildProcess("shm-test-peer", ["receive", name] + common + receiverExtra.filter { $0 != "--loan" })
            try receiver.waitForOutput(containing: "ready")
            let sender = try ChildProcess("shm-test-peer", ["send", name] + common + senderExtra)
            #expect(try sender.waitForExit(timeout: 120) == 0, "\(sender.errorOutput)")
            #expect(try receiver.waitForExit(timeout: 120) == 0)
            #expect(Self.lastLine(receiver.output) == Self.clean(count))
        }
    }

    @Test("The sender may start first: nothing sent before the receiver attaches is lost")
    func senderFirst() throws {
        try withUniqueName { name in
            let sender = try ChildProcess("shm-test-peer", ["send", name, "--count", "50000"])
            try sender.waitForOutput(containing: "ready")
            usleep(100_000)
            let receiver = try ChildProcess("shm-test-peer", ["receive", name, "--count", "50000"])
            #expect(try receiver.waitForExit(timeout: 60) == 0)
            #expect(Self.lastLine(receiver.output) == Self.clean(50000))
            #expect(try sender.waitForExit() == 0)
        }
    }

    @Test("A sender killed mid-stream: the receiver drains what was whole, then reports the death")
    func senderKilled() throws {
        try withUniqueName { name in
            let receiver = try ChildProcess("shm-test-peer", ["receive", name, "--wait", "sleep", "--max-size", "4000"])
            try receiver.waitForOutput(containing: "ready")
            let sender = try ChildProcess("shm-test-peer", ["send", name, "--count", "100000000", "--max-size", "4000"])
            try sender.waitForOutput(containing: "ready")
            usleep(300_000)
            sender.send(SIGKILL)
            _ = try sender.waitForExit()
            let start = Date()
            #expect(try receiver.waitForExit(timeout: 10) == 3)
            #expect(Date().timeIntervalSince(start) < 5, "the death is noticed within seconds")
            let line = Self.lastLine(receiver.output)
            #expect(line.contains("problems 0"), "no torn message: \(line)")
            #expect(line.contains("error: the sender of /\(name) died without closing the channel"), "\(line)")
        }
    }

    @Test("A receiver killed while the sender waits for space: the sender reports it")
    func receiverKilled() throws {
        try withUniqueName { name in
            let receiver = try ChildProcess("shm-test-peer", ["receive", name, "--delay", "1000"])
            try receiver.waitForOutput(containing: "ready")
            let sender = try ChildProcess("shm-test-peer", ["send", name, "--count", "1000000"])
            try sender.waitForOutput(containing: "ready")
            usleep(200_000)
            receiver.send(SIGKILL)
            _ = try receiver.waitForExit()
            #expect(try sender.waitForExit(timeout: 10) != 0)
            #expect(sender.errorOutput.contains("the receiver of /\(name) died without closing the channel"), "\(sender.errorOutput)")
        }
    }

    @Test("Publish/subscribe, lossless: every subscriber, slow or fast, gets every message")
    func publishSubscribeLossless() throws {
        try withUniqueName { name in
            let common = ["--flavour", "pubsub", "--count", "100000", "--max-size", "500"]
            var subscribers: [ChildProcess] = []
            for delay in ["0", "0", "20"] {
                let subscriber = try ChildProcess("shm-test-peer", ["receive", name, "--delay", delay] + common)
                try subscriber.waitForOutput(containing: "ready")
                subscribers.append(subscriber)
            }
            let publisher = try ChildProcess("shm-test-peer", ["send", name] + common)
            #expect(try publisher.waitForExit(timeout: 120) == 0, "\(publisher.errorOutput)")
            for subscriber in subscribers {
                #expect(try subscriber.waitForExit(timeout: 120) == 0)
                #expect(Self.lastLine(subscriber.output) == Self.clean(100_000))
            }
        }
    }

    @Test("Publish/subscribe, overwrite: a slow subscriber misses messages, knows how many, reads none torn")
    func publishSubscribeOverwrite() throws {
        try withUniqueName { name in
            let common = ["--flavour", "pubsub", "--policy", "overwrite", "--count", "300000", "--max-size", "200"]
            let fast = try ChildProcess("shm-test-peer", ["receive", name, "--wait", "spin"] + common)
            try fast.waitForOutput(containing: "ready")
            let slow = try ChildProcess("shm-test-peer", ["receive", name, "--delay", "100"] + common)
            try slow.waitForOutput(containing: "ready")
            let publisher = try ChildProcess("shm-test-peer", ["send", name] + common)
            #expect(try publisher.waitForExit(timeout: 60) == 0)
            #expect(try slow.waitForExit(timeout: 60) == 0)
            _ = try fast.waitForExit(timeout: 60)
            let line = Self.lastLine(slow.output)
            #expect(line.contains("problems 0") && line.contains("last 299999"), "\(line)")
            let missed = line.split(separator: " ")[7]
            #expect(Int(missed) ?? 0 > 0, "the slow subscriber missed messages: \(line)")
        }
    }

    @Test("Subscribers join late and leave early; a dead subscriber does not block the publisher")
    func joinAndLeave() throws {
        try withUniqueName { name in
            let common = ["--flavour", "pubsub", "--count", "200000", "--max-size", "100", "--slots", "2"]
            let publisher = try ChildProcess("shm-test-peer", ["send", name, "--start-delay", "200"] + common)
            try publisher.waitForOutput(containing: "ready")
            let leaving = try ChildProcess("shm-test-peer", ["receive", name, "--stop-after", "1000"] + common)
            let dying = try ChildProcess("shm-test-peer", ["receive", name, "--delay", "100000"] + common)
            try dying.waitForOutput(containing: "ready")
            usleep(400_000)
            dying.send(SIGKILL)
            let late = try ChildProcess("shm-test-peer", ["receive", name] + common)
            #expect(try leaving.waitForExit(timeout: 60) == 0)
            #expect(Self.lastLine(leaving.output).hasPrefix("received 1000 first 0 last 999 missed 0 problems 0"))
            #expect(try publisher.waitForExit(timeout: 60) == 0, "\(publisher.errorOutput)")
            #expect(try late.waitForExit(timeout: 60) == 0)
            let line = Self.lastLine(late.output)
            #expect(line.contains("last 199999 missed 0 problems 0"), "the late subscriber reads on from where it joined: \(line)")
        }
    }

    @Test("A segment that is no channel is refused with a clear error")
    func notAChannel() throws {
        try withUniqueName { name in
            let server = try ChildProcess("shm-server", ["--name", name, "--managed"])
            try server.waitForOutput(containing: "Press ENTER")
            let receiver = try ChildProcess.run("shm-test-peer", ["receive", name])
            #expect(receiver.status == 3)
            #expect(receiver.output.contains("is a managed segment of kind 0, not a channel"), "\(receiver.output)")
            server.pressEnter()
            _ = try server.waitForExit()
        }
    }
}

extension ChannelProcessTests {
    @Test("A receiver that dies asleep is taken out of the sleepers by the next one, so the sender stops waking nobody")
    func deadSleeper() throws {
        try withUniqueName { name in
            let segmentName = try SegmentName(name)
            let receiver = try ChildProcess("shm-test-peer", ["receive", name, "--wait", "sleep"])
            try receiver.waitForOutput(containing: "ready")
            var asleep: UInt32 = 0
            for _ in 0..<200 where asleep == 0 {
                asleep = (try? ChannelStatus.read(segmentName).readersAsleep) ?? 0
                usleep(10_000)
            }
            #expect(asleep == 1, "the receiver sleeps on the empty channel")
            receiver.send(SIGKILL)
            _ = try receiver.waitForExit()
            #expect(try ChannelStatus.read(segmentName).readersAsleep == 1, "a dead sleeper stays counted")
            let next = try ChannelReceiver.open(segmentName, creating: nil)
            #expect(try ChannelStatus.read(segmentName).readersAsleep == 0, "the next receiver takes it out")
            _ = next.maxMessageSize
        }
    }
}
