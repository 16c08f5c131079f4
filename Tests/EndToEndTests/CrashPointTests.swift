import Foundation
import Glibc
import Testing

/// A peer killed or stopped at each step of the ring protocol (the debug
/// builds' crash points, `SHM_TEST_CRASH_AT`): the other side must notice in
/// bounded time, a new process must take the role over and continue the
/// stream, and nothing committed may be lost: every message whose send
/// returned is received exactly once, except that a receiver that dies
/// after using a message but before releasing it gets it again once.
@Suite("Crash points")
struct CrashPointTests {
    enum Action: String, CaseIterable { case kill, stop }

    struct Case: CustomTestStringConvertible, Sendable {
        let point: String
        let flavour: String
        let action: Action
        var testDescription: String { "\(point), \(flavour), \(action.rawValue)" }
    }

    static let writerPoints = ["send.reserved", "send.filled", "send.committed", "send.published", "close.started"]
    static let readerPoints = ["receive.found", "receive.used", "receive.released"]
    static let joinPoints = ["join.claimed", "join.attached", "leave.started"]

    static func cases(_ points: [String], _ flavours: [String]) -> [Case] {
        points.flatMap { point in flavours.flatMap { flavour in Action.allCases.map { Case(point: point, flavour: flavour, action: $0) } } }
    }

    /// The stream's length, and a ring that holds only a part of it, so that writers wait for space.
    static let count = 600
    static let common = ["--capacity", "4096", "--max-size", "100", "--slots", "2", "--seed", "7"]
    /// Per operation: long enough to tell a death from a timeout, short enough for CI.
    static func timeout(_ action: Action) -> Int { action == .kill ? 3000 : 1000 }
    /// How much longer than its own timeout an honest peer may take to end.
    static let grace = 3.0
    /// The timeout of peers that take a role over, or that only need to end
    /// eventually: generous, since it is reached only when something is wrong,
    /// and a loaded machine may take seconds to start a process.
    static let honestTimeout = 10_000

    static func flavourArguments(_ flavour: String) -> [String] {
        flavour == "channel" ? ["--flavour", "channel"] : ["--flavour", "pubsub", "--policy", "lossless"]
    }

    // MARK: The writer crashes

    @Test("A sender or publisher crashes mid-send or mid-close: readers learn it in bounded time, nothing sent is lost, a new writer continues",
          arguments: cases(writerPoints, ["channel", "pubsub"]))
    func writerCrash(_ test: Case) throws {
        try withUniqueName { name in
            let timeout = Self.timeout(test.action)
            let stream = Self.common + Self.flavourArguments(test.flavour) + ["--count", "\(Self.count)"]
            let reader = try SpawnedProcess("shm-test-peer", ["receive", name, "--print-each", "--in-place", "--wait", "sleep",
                                                            "--timeout-ms", "\(timeout)"] + stream)
            try reader.waitForOutput(containing: "ready")
            let after = test.point == "close.started" ? 1 : 300
            let writer = try SpawnedProcess("shm-test-peer", ["send", name, "--print-each"] + stream,
                                                environment: Self.crash(test, after: after))
            try Self.waitForCrash(writer, test.action)
            let crashed = Date()
            let readerEnd = outcomes(of: [reader], limit: Double(timeout) / 1000 + Self.grace)[0]
            let waited = Date().timeIntervalSince(crashed)
            #expect(readerEnd.isAcceptable, "the reader: \(readerEnd); \(reader.errorOutput)")
            #expect(waited < Double(timeout) / 1000 + Self.grace, "the reader ended \(waited) s after the crash")
            if test.action == .kill && test.point != "close.started" {
                #expect(reader.errorOutput.contains("died without closing"), "a dead writer is reported: \(reader.errorOutput)")
                #expect(waited < 2, "a death is noticed within the peer checks, not at the timeout: \(waited) s")
            }
            let sent = Self.numbers(writer.output, "sent message ")
            let got = Self.numbers(reader.output, "got message ")
            #expect(got == Array(0..<got.count), "the reader got the stream in order, none twice: \(Self.brief(got))")
            #expect(got.count >= sent.count && got.count <= sent.count + 1,
                    "every message whose send returned was received, and at most the one in flight more: sent \(sent.count), got \(got.count)")
            if test.point == "close.started" {
                #expect(got.count == Self.count, "a crash in the close loses nothing sent")
            }
            writer.end()
            try Self.takeOver(name, test.flavour, from: got.count, readers: 1)
        }
    }

    // MARK: A reader crashes

    @Test("A receiver crashes mid-receive: the sender learns it in bounded time; a new receiver gets every message once (the one in use twice at most)",
          arguments: cases(readerPoints, ["channel"]))
    func receiverCrash(_ test: Case) throws {
        try withUniqueName { name in
            let timeout = Self.timeout(test.action)
            let stream = Self.common + Self.flavourArguments("channel") + ["--count", "\(Self.count)"]
            let receiver = try SpawnedProcess("shm-test-peer", ["receive", name, "--print-each", "--in-place"] + stream,
                                                  environment: Self.crash(test, after: 200))
            try receiver.waitForOutput(containing: "ready")
            let sender = try SpawnedProcess("shm-test-peer", ["send", name, "--print-each", "--timeout-ms", "\(timeout)"] + stream)
            try Self.waitForCrash(receiver, test.action)
            let crashed = Date()
            let senderEnd = outcomes(of: [sender], limit: Double(timeout) / 1000 + Self.grace)[0]
            let waited = Date().timeIntervalSince(crashed)
            #expect(senderEnd.isAcceptable && senderEnd != .succeeded, "the sender waits for space and gives up: \(senderEnd)")
            if test.action == .kill {
                #expect(sender.errorOutput.contains("died without closing"), "a dead receiver is reported: \(sender.errorOutput)")
                #expect(waited < 2, "a death is noticed within the peer checks, not at the timeout: \(waited) s")
            }
            receiver.end()
            let sent = Self.numbers(sender.output, "sent message ").count
            let before = Self.numbers(receiver.output, "got message ")
            // A new sender continues the stream; a new receiver takes the cursor over.
            let rest = try SpawnedProcess("shm-test-peer", ["send", name, "--from", "\(sent)", "--timeout-ms", "\(Self.honestTimeout)", "--await-readers", "1"] + stream)
            try rest.waitForOutput(containing: "ready")
            let next = try SpawnedProcess("shm-test-peer", ["receive", name, "--print-each", "--any-start", "--timeout-ms", "\(Self.honestTimeout)"] + stream)
            #expect(rest.waitForEnd(timeout: 30) == .succeeded, "\(rest.errorOutput)")
            #expect(next.waitForEnd(timeout: 30) == .succeeded, "\(next.errorOutput)")
            let after = Self.numbers(next.output, "got message ")
            let all = before + after
            let repeats = all.count - Set(all).count
            #expect(Set(all) == Set(0..<Self.count), "nothing lost: \(Self.brief(before)) then \(Self.brief(after))")
            #expect(all == all.sorted(), "in order: \(Self.brief(before)) then \(Self.brief(after))")
            #expect(repeats <= (test.point == "receive.used" ? 1 : 0),
                    "\(repeats) repeated: \(Self.brief(before)) then \(Self.brief(after))")
        }
    }

    @Test("A subscriber crashes mid-receive, mid-join or mid-leave: the publisher goes on or gives up in bounded time, the others lose nothing, its slot is reused",
          arguments: cases(readerPoints + joinPoints, ["pubsub"]))
    func subscriberCrash(_ test: Case) throws {
        try withUniqueName { name in
            let timeout = Self.timeout(test.action)
            let stream = Self.common + Self.flavourArguments("pubsub") + ["--count", "\(Self.count)", "--timeout-ms", "\(timeout)"]
            // The honest subscriber waits long: it ends when the publisher ends, and
            // must not give up while a loaded machine is still starting the publisher.
            let honest = try SpawnedProcess("shm-test-peer", ["receive", name, "--print-each", "--wait", "sleep"] + stream
                                                + ["--timeout-ms", "\(Self.honestTimeout)"])
            try honest.waitForOutput(containing: "ready")
            let publisher = try SpawnedProcess("shm-test-peer", ["send", name, "--print-each", "--pace-us", "1000"] + stream)
            try publisher.waitForOutput(containing: "ready")
            var arguments = ["receive", name] + stream
            var after = 100
            if test.point.hasPrefix("join") { after = 1 }
            if test.point == "leave.started" { arguments += ["--stop-after", "100"]; after = 1 }
            let crashing = try SpawnedProcess("shm-test-peer", arguments, environment: Self.crash(test, after: after))
            try Self.waitForCrash(crashing, test.action)
            let limit = Double(timeout) / 1000 + Self.grace + Double(Self.count) / 1000
            let ends = outcomes(of: [publisher, honest], limit: limit)
            #expect(ends[0].isAcceptable, "the publisher: \(ends[0]); \(publisher.errorOutput)")
            #expect(ends[1].isAcceptable, "the other subscriber: \(ends[1]); \(honest.errorOutput)")
            if test.action == .kill {
                #expect(ends[0] == .succeeded, "a dead subscriber does not hold the publisher up: \(publisher.errorOutput)")
            }
            let sent = Self.numbers(publisher.output, "sent message ")
            let got = Self.numbers(honest.output, "got message ")
            #expect(got == Array(0..<got.count), "the other subscriber got the stream in order, none twice: \(Self.brief(got))")
            #expect(got.count >= sent.count, "the other subscriber got every message published: sent \(sent.count), got \(got.count)")
            crashing.end()
            // Both slots must be free again: the crashed subscriber's and the honest one's.
            try Self.takeOver(name, "pubsub", from: sent.count, readers: 2)
        }
    }

    // MARK: Helpers

    static func crash(_ test: Case, after: Int) -> [String: String] {
        ["SHM_TEST_CRASH_AT": test.point, "SHM_TEST_CRASH_ACTION": test.action.rawValue, "SHM_TEST_CRASH_AFTER": "\(after)"]
    }

    /// Waits until `peer` killed itself (SIGKILL) or stopped itself (state T).
    static func waitForCrash(_ peer: SpawnedProcess, _ action: Action) throws {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if !peer.isRunning {
                if action == .kill && peer.terminatingSignal == SIGKILL { return }
                throw ChildProcessError(description: "ended with \(peer.outcome.map(\.description) ?? "?") instead of reaching its crash point; output: \(peer.output.suffix(300)); errors: \(peer.errorOutput)")
            }
            if action == .stop && processState(peer.pid) == "T" { return }
            usleep(2_000)
        }
        throw ChildProcessError(description: "never reached its crash point; output: \(peer.output.suffix(300))")
    }

    /// The state letter of `/proc/PID/stat` (R, S, T...).
    static func processState(_ pid: Int32) -> Character? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        return stat[close...].dropFirst(2).first
    }

    /// The numbers after `prefix` on the lines that start with it.
    static func numbers(_ output: String, _ prefix: String) -> [Int] {
        output.split(separator: "\n").compactMap { line in
            line.hasPrefix(prefix) ? Int(line.dropFirst(prefix.count)) : nil
        }
    }

    static func brief(_ list: [Int]) -> String {
        list.count <= 8 ? "\(list)" : "\(list.count) messages, \(list.prefix(3)) ... \(list.suffix(3))"
    }

    /// New readers and a new writer take the ring over: the writer continues
    /// the stream at `from` for 100 messages past its old end, and each reader
    /// gets exactly those.
    static func takeOver(_ name: String, _ flavour: String, from: Int, readers: Int) throws {
        let end = count + 100
        let stream = common + flavourArguments(flavour) + ["--count", "\(end)", "--from", "\(from)", "--timeout-ms", "\(honestTimeout)"]
        // The writer first: a reader that opened a ring whose writer is gone
        // would rightly see the end (or the death) before the new one attached.
        let writer = try SpawnedProcess("shm-test-peer", ["send", name, "--await-readers", "\(readers)"] + stream)
        try writer.waitForOutput(containing: "ready")
        var started: [SpawnedProcess] = []
        for _ in 0..<readers {
            started.append(try SpawnedProcess("shm-test-peer", ["receive", name] + stream))
        }
        #expect(writer.waitForEnd(timeout: 30) == .succeeded, "the new writer: \(writer.errorOutput)")
        for reader in started {
            #expect(reader.waitForEnd(timeout: 30) == .succeeded, "a new reader: \(reader.errorOutput)")
            let line = ChannelProcessTests.lastLine(reader.output)
            #expect(line == ChannelProcessTests.clean(end - from, first: from), "the stream continues at \(from): \(line)")
        }
    }
}
