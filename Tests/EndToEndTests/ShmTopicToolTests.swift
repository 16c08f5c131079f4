import Foundation
import SharedMemory
import Testing

/// `shm publish` and `shm subscribe` as a user runs them.
@Suite("shm, topics")
struct ShmTopicToolTests {
    /// Waits until `name` is a topic (a subscriber created it).
    static func awaitTopic(_ name: String) {
        let deadline = Date().addingTimeInterval(20)
        while (try? ServicePattern.ofSegment(SegmentName(name))) != .topic, Date() < deadline { usleep(5_000) }
    }

    /// Files of numbered lines `prefix 1` ... `prefix count`, removed afterwards.
    static func withLineFiles<R>(_ prefixes: [String], count: Int, _ body: ([String]) throws -> R) throws -> R {
        let paths = prefixes.map { _ in FileManager.default.temporaryDirectory.appendingPathComponent("shm-topic-\(UUID().uuidString)").path }
        defer { for path in paths { try? FileManager.default.removeItem(atPath: path) } }
        for (prefix, path) in zip(prefixes, paths) {
            try (1...count).map { "\(prefix) \($0)\n" }.joined().write(toFile: path, atomically: false, encoding: .utf8)
        }
        return try body(paths)
    }

    static func expectOrdered(_ output: String, _ prefixes: [String], count: Int) {
        let lines = output.split(separator: "\n")
        #expect(lines.count == prefixes.count * count)
        for prefix in prefixes {
            let numbers = lines.filter { $0.hasPrefix(prefix + " ") }.map { Int($0.dropFirst(prefix.count + 1)) }
            #expect(numbers == (1...count).map(Optional.some), "publisher \(prefix)")
        }
    }

    @Test("publish and subscribe explain themselves with --help")
    func help() throws {
        for command in ["publish", "subscribe"] {
            let run = try ChildProcess.run("shm", [command, "--help"])
            #expect(run.status == 0 && run.output.contains("USAGE: shm \(command)"), "\(command): \(run.output)")
        }
    }

    @Test("Two shm publish at once, two shm subscribe: each gets every line, each publisher's in order")
    func twoPublishers() throws {
        let count = 20_000
        try withUniqueName { name in
            try Self.withLineFiles(["a", "b"], count: count) { paths in
                let subscribers = try (0..<2).map { _ in
                    try ChildProcess("shm", ["subscribe", name, "--count", "\(2 * count)", "--timeout", "60"])
                }
                Self.awaitTopic(name)
                usleep(100_000) // both subscribers hold their slots
                let publishers = try paths.map { try ChildProcess("shm", ["publish", name, "--file", $0]) }
                for publisher in publishers { #expect(try publisher.waitForExit(timeout: 60) == 0, "\(publisher.errorOutput)") }
                for subscriber in subscribers {
                    #expect(try subscriber.waitForExit(timeout: 60) == 0, "\(subscriber.errorOutput)")
                    Self.expectOrdered(subscriber.output, ["a", "b"], count: count)
                }
            }
        }
    }

    @Test("subscribe ends by itself once every publisher left; --policy overwrite publishes without waiting")
    func endAndOverwrite() throws {
        try withUniqueName { name in
            let subscriber = try ChildProcess("shm", ["subscribe", name, "--policy", "overwrite"])
            Self.awaitTopic(name)
            try Self.withLineFiles(["x"], count: 3) { paths in
                let publisher = try ChildProcess("shm", ["publish", name, "--file", paths[0]])
                #expect(try publisher.waitForExit() == 0, "\(publisher.errorOutput)")
            }
            #expect(try subscriber.waitForExit() == 0, "\(subscriber.errorOutput)")
            #expect(subscriber.output == "x 1\nx 2\nx 3\n")
        }
        let history = try ChildProcess.run("shm", ["publish", "shme2e-never", "--history", "-1"])
        #expect(history.status != 0 && history.errors.contains("--history"))
        let refused = try withUniqueName { name in
            let receiver = try ChildProcess("shm", ["recv", name, "--senders", "2"])
            defer { receiver.send(SIGKILL) }
            let deadline = Date().addingTimeInterval(20)
            while (try? ServicePattern.ofSegment(SegmentName(name))) != .manyToOne, Date() < deadline { usleep(5_000) }
            return try ChildProcess.run("shm", ["subscribe", name])
        }
        #expect(refused.status != 0 && refused.errors.contains("is a many-to-one channel, not a topic"), "\(refused.errors)")
    }
}
