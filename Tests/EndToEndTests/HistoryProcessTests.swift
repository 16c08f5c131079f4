import Foundation
import SharedMemory
import Testing

/// History between real processes: a publisher publishes a numbered stream
/// while subscriber processes join at random moments.
@Suite("Publish/subscribe history between processes")
struct HistoryProcessTests {
    /// What a subscriber's output says: the published counts around its join, and its stream.
    struct Joined {
        var after: UInt64
        var before: UInt64
        /// The first and last message received; `nil` when none was.
        var first: UInt64?
        var last: UInt64?
        var summary: String

        init(_ output: String) throws {
            let lines = output.split(separator: "\n").map(String.init)
            let joined = try #require(lines.first { $0.hasPrefix("joined ") }, "no join line in \(output)")
            let words = joined.split(separator: " ")
            after = try #require(UInt64(words[2]))
            before = try #require(UInt64(words[4]))
            summary = try #require(lines.last)
            let fields = summary.split(separator: " ")
            try #require(fields.count > 5, "\(summary)")
            first = UInt64(fields[3])
            last = UInt64(fields[5])
        }
    }

    @Test("Subscribers joining at random points each get a contiguous stream starting at most N before their join",
          arguments: [UInt64(1), 7])
    func randomJoins(seed: UInt64) throws {
        try withUniqueName { name in
            var random = SeededRandom(seed: seed)
            let depth: UInt64 = 16
            let count = 6000
            let common = ["--flavour", "pubsub", "--count", "\(count)", "--seed", "\(seed)", "--min-size", "8",
                          "--max-size", "64", "--timeout-ms", "30000"]
            let publisher = try ChildProcess("shm-test-peer", ["send", name, "--history", "\(depth)", "--capacity", "4096",
                                                               "--pace-us", "250"] + common)
            try publisher.waitForOutput(containing: "ready")
            if seed == 1 {
                // shm inspect shows the history and the publisher's pid, marked self-reported.
                let inspection = try ShmToolTests.inspection(name)
                let status = try #require(inspection["channel"] as? [String: Any])
                #expect(status["history_depth"] as? Int == Int(depth))
                #expect(status["writer_pid_self_reported"] as? Int == Int(publisher.process.processIdentifier))
                let text = try ShmToolTests.shm("inspect", name)
                #expect(text.output.contains("history:      16 messages"), "\(text.output)")
                #expect(text.output.contains("writer:       attached, pid \(publisher.process.processIdentifier) (self-reported)"), "\(text.output)")
            }
            var subscribers: [(ChildProcess, Bool)] = []
            for index in 0..<6 {
                usleep(UInt32.random(in: 20_000...150_000, using: &random))
                // One subscriber skips history; it joins early enough to see live messages.
                let history = index != 2
                subscribers.append((try ChildProcess("shm-test-peer", ["receive", name] + common
                                                      + (history ? [] : ["--no-history"])), history))
            }
            #expect(try publisher.waitForExit(timeout: 60) == 0, "\(publisher.errorOutput)")
            for (subscriber, history) in subscribers {
                #expect(try subscriber.waitForExit(timeout: 60) == 0, "\(subscriber.errorOutput)")
                let joined = try Joined(subscriber.output)
                guard let first = joined.first, let last = joined.last else {
                    // Only a subscriber without history that joined after the end receives nothing.
                    #expect(!history && joined.after == UInt64(count), "\(joined.summary)")
                    continue
                }
                // Every message from the first to the end, none twice, none torn.
                #expect(joined.summary == "received \(last - first + 1) first \(first) last \(count - 1) missed 0 problems 0")
                let back = history ? depth : 0
                #expect(first + back >= joined.after, "starts at most \(back) before the join: \(joined.summary), published \(joined.after)")
                // The record in flight during the join may not be counted yet.
                #expect(first <= joined.before + 1, "no gap before the live stream: \(joined.summary), published \(joined.before)")
                if history && joined.after >= depth {
                    // The join started at the history position: depth messages back, or one less
                    // when the record at the history position was in flight.
                    #expect(first + depth <= joined.before + 1, "history was delivered: \(joined.summary), published \(joined.before)")
                }
            }
        }
    }
}
