import Foundation
import SharedMemory
import Testing

/// `shm recv --senders` and `shm send` as a user runs them: several senders into one receiver.
@Suite("shm, many-to-one channels")
struct ShmManyToOneToolTests {
    @Test("Three shm send at once into one shm recv --senders 4 --count: every line, each sender's in order")
    func threeSenders() throws {
        let perSender = 20_000
        try withUniqueName { name in
            var paths: [String] = []
            defer { for path in paths { try? FileManager.default.removeItem(atPath: path) } }
            for prefix in ["a", "b", "c"] {
                let path = FileManager.default.temporaryDirectory.appendingPathComponent("shm-m2o-\(UUID().uuidString)").path
                try (1...perSender).map { "\(prefix) \($0)\n" }.joined().write(toFile: path, atomically: false, encoding: .utf8)
                paths.append(path)
            }
            let receiver = try ChildProcess("shm", ["recv", name, "--senders", "4", "--count", "\(3 * perSender)", "--timeout", "60"])
            let deadline = Date().addingTimeInterval(20)
            while (try? ServicePattern.ofSegment(SegmentName(name))) != .manyToOne, Date() < deadline { usleep(5_000) }
            let senders = try paths.map { try ChildProcess("shm", ["send", name, "--file", $0]) }
            for sender in senders { #expect(try sender.waitForExit(timeout: 60) == 0, "\(sender.errorOutput)") }
            #expect(try receiver.waitForExit(timeout: 60) == 0, "\(receiver.errorOutput)")
            let lines = receiver.output.split(separator: "\n")
            #expect(lines.count == 3 * perSender)
            for prefix in ["a", "b", "c"] {
                let numbers = lines.filter { $0.hasPrefix(prefix + " ") }.map { Int($0.dropFirst(2)) }
                #expect(numbers == (1...perSender).map(Optional.some), "sender \(prefix)")
            }
        }
    }

    @Test("recv --senders ends by itself once every sender left and removes the name; a bad --senders is refused")
    func endAndRefusals() throws {
        try withUniqueName { name in
            let receiver = try ChildProcess("shm", ["recv", name, "--senders", "2"])
            let deadline = Date().addingTimeInterval(20)
            while (try? ServicePattern.ofSegment(SegmentName(name))) != .manyToOne, Date() < deadline { usleep(5_000) }
            try ShmToolTests.withTemporaryFile("one\ntwo\n") { path in
                let sender = try ChildProcess("shm", ["send", name, "--file", path])
                #expect(try sender.waitForExit() == 0, "\(sender.errorOutput)")
            }
            #expect(try receiver.waitForExit() == 0, "\(receiver.errorOutput)")
            #expect(receiver.output == "one\ntwo\n")
            #expect(!segmentFileExists(name))
        }
        let bad = try ChildProcess.run("shm", ["recv", "shme2e-x", "--senders", "65"])
        #expect(bad.status != 0 && bad.errors.contains("--senders must be between 1 and 64"))
    }
}
