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
            // 20 slots: a victim's replacement joins before the victim is killed, so the channel never looks ended.
            let shape = ["--senders", "20"]
            let receiver = try ChildProcess("shm-test-peer", ["many-receive", name] + shape, environment: ["SHM_MANY_COUNT": "\(count)"])
            try receiver.waitForOutput(containing: "ready")
            var senders: [(id: Int, generation: Int, process: ChildProcess)] = []
            defer { for sender in senders where sender.process.isRunning { sender.process.send(SIGKILL); _ = try? sender.process.waitForExit() } }
            func start(_ id: Int, _ generation: Int) throws -> ChildProcess {
                let process = try ChildProcess("shm-test-peer", ["many-send", name, "--id", "\(id)", "--generation", "\(generation)"] + shape,
                                               environment: ["SHM_MANY_COUNT": "\(count)"])
                senders.append((id, generation, process))
                return process
            }
            for id in 0..<16 { _ = try start(id, 0) }
            // Four victims, each killed at a random point after it joined, once its replacement has joined.
            let victims = Array((0..<16).shuffled(using: &random).prefix(4))
            for victim in victims {
                let process = senders[victim].process
                try process.waitForOutput(containing: "ready", timeout: 60)
                usleep(UInt32.random(in: 1_000...200_000, using: &random))
                let replacement = try start(victim, 1)
                try replacement.waitForOutput(containing: "ready", timeout: 60)
                process.send(SIGKILL)
            }
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
            #expect(senders.count == 20)
            print("many-to-one: \(killed) senders killed, \(total)")
        }
    }
}
