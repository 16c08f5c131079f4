import Foundation
import Glibc
import Testing

/// Whether this machine lets the tests make pid namespaces.
enum PidNamespaces {
    /// Why these tests cannot run here, or `nil` when they can.
    static let unavailable: String? = {
        let reason = probe()
        if let reason { print("Channels across pid namespaces: skipped: \(reason)") }
        return reason
    }()

    private static func probe() -> String? {
        guard geteuid() == 0 else { return "new pid namespaces need root" }
        guard access("/usr/bin/unshare", X_OK) == 0 else { return "unshare (util-linux) is missing" }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        probe.arguments = ["--pid", "--fork", "--mount-proc", "--kill-child", "true"]
        guard (try? probe.run()) != nil else { return "unshare cannot start" }
        probe.waitUntilExit()
        return probe.terminationStatus == 0 ? nil : "this machine refuses new pid namespaces (unshare --pid failed)"
    }

}

/// Channels between processes in different pid namespaces, as two containers
/// sharing `/dev/shm` are: nothing in the protocol may depend on a pid.
@Suite("Channels across pid namespaces", .enabled(if: PidNamespaces.unavailable == nil, "needs root and new pid namespaces (unshare --pid); the reason is printed"))
struct PidNamespaceTests {
    /// `shm-test-peer` in a pid namespace of its own, killed with it when `unshare` is killed.
    static func isolatedPeer(_ arguments: [String]) throws -> ChildProcess {
        try ChildProcess(absolute: "/usr/bin/unshare",
                         ["--pid", "--fork", "--mount-proc", "--kill-child", BuiltProducts.path("shm-test-peer")] + arguments)
    }

    @Test("A sender in another pid namespace: the stream arrives intact; killed, the receiver reports its death")
    func senderInAnotherNamespace() throws {
        try withUniqueName { name in
            let receiver = try ChildProcess("shm-test-peer", ["receive", name, "--count", "100000", "--wait", "sleep"])
            try receiver.waitForOutput(containing: "ready")
            let sender = try Self.isolatedPeer(["send", name, "--count", "100000"])
            #expect(try sender.waitForExit(timeout: 60) == 0, "\(sender.errorOutput)")
            #expect(try receiver.waitForExit(timeout: 60) == 0)
            #expect(ChannelProcessTests.lastLine(receiver.output) == ChannelProcessTests.clean(100_000))
        }
        try withUniqueName { name in
            let receiver = try ChildProcess("shm-test-peer", ["receive", name, "--wait", "sleep", "--max-size", "4000"])
            try receiver.waitForOutput(containing: "ready")
            let sender = try Self.isolatedPeer(["send", name, "--count", "100000000", "--max-size", "4000"])
            try sender.waitForOutput(containing: "ready")
            usleep(200_000)
            sender.send(SIGKILL)
            _ = try sender.waitForExit()
            let start = Date()
            #expect(try receiver.waitForExit(timeout: 10) == 3)
            #expect(Date().timeIntervalSince(start) < 5, "the death is noticed within seconds")
            #expect(ChannelProcessTests.lastLine(receiver.output).contains("died without closing"), "\(receiver.output.suffix(300))")
        }
    }

    @Test("Subscribers in three pid namespaces join, leave and die; the publisher goes on and each gets its stream")
    func subscribersInSeveralNamespaces() throws {
        try withUniqueName { name in
            let common = ["--flavour", "pubsub", "--count", "100000", "--max-size", "100", "--slots", "3"]
            let publisher = try Self.isolatedPeer(["send", name, "--start-delay", "300"] + common)
            try publisher.waitForOutput(containing: "ready")
            let local = try ChildProcess("shm-test-peer", ["receive", name] + common)
            let isolated = try Self.isolatedPeer(["receive", name] + common)
            // A subscriber that dies in its own namespace holds a slot the publisher must free.
            let dying = try Self.isolatedPeer(["receive", name, "--delay", "100000"] + common)
            try local.waitForOutput(containing: "ready")
            try isolated.waitForOutput(containing: "ready")
            try dying.waitForOutput(containing: "ready")
            usleep(400_000)
            dying.send(SIGKILL)
            _ = try dying.waitForExit()
            #expect(try publisher.waitForExit(timeout: 60) == 0, "\(publisher.errorOutput)")
            for subscriber in [local, isolated] {
                #expect(try subscriber.waitForExit(timeout: 60) == 0)
                #expect(ChannelProcessTests.lastLine(subscriber.output) == ChannelProcessTests.clean(100_000))
            }
        }
    }
}
