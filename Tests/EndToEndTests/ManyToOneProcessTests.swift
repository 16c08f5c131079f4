import Foundation
import Glibc
import SharedMemory
import Testing

/// Many-to-one channels between real processes: `shm-test-peer many-send`
/// processes join one `many-receive`, which checks every session's stream.
@Suite("Many-to-one channels between processes")
struct ManyToOneProcessTests {
    /// Messages per sender: `SHM_MANY_COUNT` (100000 for the full run the issue describes), or 20000.
    static var count: Int {
        ProcessInfo.processInfo.environment["SHM_MANY_COUNT"].flatMap(Int.init) ?? 20_000
    }

    @Test("16 senders, some killed at random points and restarted: per-session order, no tear, every clean sender's messages all there")
    func sixteenSenders() throws {
        try withUniqueName { name in
            let count = Self.count
            var random = SeededRandom(seed: UInt64(UInt32.random(in: 0...UInt32.max)))
            // 20 slots: the anchor, 16 senders and a victim's replacement, which joins before the victim is killed.
            let shape = ["--senders", "20"]
            let receiver = try ChildProcess("shm-test-peer", ["many-receive", name] + shape, environment: ["SHM_MANY_COUNT": "\(count)"])
            try receiver.waitForOutput(containing: "ready")
            var senders: [(id: Int, generation: Int, process: ChildProcess)] = []
            defer { for sender in senders where sender.process.isRunning { sender.process.send(SIGKILL); _ = try? sender.process.waitForExit() } }
            func start(_ id: Int, _ generation: Int, _ extra: [String] = []) throws -> ChildProcess {
                let process = try ChildProcess("shm-test-peer", ["many-send", name, "--id", "\(id)", "--generation", "\(generation)"] + shape + extra,
                                               environment: ["SHM_MANY_COUNT": "\(count)"])
                senders.append((id, generation, process))
                return process
            }
            // An anchor sender stays joined until every replacement has joined, so the channel cannot end early.
            let anchor = try start(16, 0, ["--hold-until-input-ends"])
            try anchor.waitForOutput(containing: "ready", timeout: 60)
            for id in 0..<16 { _ = try start(id, 0) }
            // Four victims, each killed at a random point after it joined, once its replacement has joined.
            let victims = Array((0..<16).shuffled(using: &random).prefix(4))
            for victim in victims {
                let process = senders[victim + 1].process
                try process.waitForOutput(containing: "ready", timeout: 60)
                usleep(UInt32.random(in: 1_000...200_000, using: &random))
                let replacement = try start(victim, 1)
                try replacement.waitForOutput(containing: "ready", timeout: 60)
                process.send(SIGKILL)
            }
            anchor.closeInput()
            for sender in senders { _ = try sender.process.waitForExit(timeout: 300) }
            #expect(try receiver.waitForExit(timeout: 300) == 0, "\(receiver.output.suffix(500)) \(receiver.errorOutput)")
            let lines = receiver.output.split(separator: "\n").map(String.init)
            let total = try #require(lines.last)
            #expect(total.hasPrefix("total ") && total.hasSuffix(" problems 0"), "\(total)")
            var delivered: [String: Int] = [:]
            for line in lines where line.hasPrefix("session ") {
                let words = line.split(separator: " ")
                #expect(words.last == "0", "\(line)") // problems
                delivered["\(words[3])/\(words[5])", default: 0] += Int(words[7]) ?? -1
            }
            var killed = 0
            for sender in senders {
                let key = "\(sender.id)/\(sender.generation)"
                if sender.process.terminationReason == .exit {
                    #expect(sender.process.terminationStatus == 0, "\(key): \(sender.process.errorOutput)")
                    #expect(delivered[key] == count, "sender \(key) exited cleanly; \(delivered[key] ?? 0) of \(count) arrived")
                } else {
                    killed += 1
                    #expect((delivered[key] ?? 0) <= count, "\(key)")
                }
            }
            #expect(senders.count == 21 && killed <= 4)
            print("many-to-one: \(killed) senders killed, \(total)")
        }
    }

    @Test("A sender killed after filling a record but before publishing it: no torn record, the others go on, its slot is reused")
    func killedMidMessage() throws {
        try withUniqueName { name in
            let count = 5_000
            let environment = ["SHM_MANY_COUNT": "\(count)"]
            let shape = ["--senders", "2"]
            let receiver = try ChildProcess("shm-test-peer", ["many-receive", name] + shape, environment: environment)
            try receiver.waitForOutput(containing: "ready")
            // The steady sender stays joined until the end of the test, so the channel does not end meanwhile.
            let steady = try ChildProcess("shm-test-peer", ["many-send", name, "--id", "1", "--hold-until-input-ends"] + shape,
                                          environment: environment)
            try steady.waitForOutput(containing: "ready")
            // The 300th record is reserved and filled, never published: the process dies there.
            let victim = try ChildProcess("shm-test-peer", ["many-send", name, "--id", "2"] + shape,
                                          environment: environment.merging(["SHM_TEST_CRASH_AT": "send.filled", "SHM_TEST_CRASH_AFTER": "300"]) { $1 })
            _ = try victim.waitForExit(timeout: 60)
            #expect(victim.terminationReason == .uncaughtSignal)
            // Both slots were taken: the newcomer gets the victim's once the receiver drained it.
            let newcomer = try ChildProcess("shm-test-peer", ["many-send", name, "--id", "3"] + shape, environment: environment)
            #expect(try newcomer.waitForExit(timeout: 60) == 0, "\(newcomer.errorOutput)")
            steady.closeInput()
            #expect(try steady.waitForExit(timeout: 60) == 0, "\(steady.errorOutput)")
            #expect(try receiver.waitForExit(timeout: 60) == 0, "\(receiver.output.suffix(300)) \(receiver.errorOutput)")
            let lines = receiver.output.split(separator: "\n").map(String.init)
            #expect(lines.last == "total \(2 * count + 299) problems 0")
            #expect(lines.contains { $0.hasSuffix("sender 2 generation 0 count 299 problems 0") }, "\(lines)")
            #expect(lines.contains { $0.hasSuffix("sender 1 generation 0 count \(count) problems 0") })
            #expect(lines.contains { $0.hasSuffix("sender 3 generation 0 count \(count) problems 0") })
        }
    }
}
