import Dispatch
import Foundation
import Glibc
import SharedMemory
import Synchronization
import Testing

/// Sends `m0`, `m1`, ... through a channel from a thread of the test
/// process. A receiver that dies makes a send fail with `peerDied`; the
/// feeder then sends the same message again once a new receiver attaches.
final class NumberedFeeder: Sendable {
    let count: Int
    private let progress = Atomic<Int>(0)
    private let failure = Mutex<String?>(nil)
    private let finished = DispatchSemaphore(value: 0)

    /// Creates the channel `name` and starts sending.
    init(name: SegmentName, count: Int) throws {
        self.count = count
        let sender = try ChannelSender.open(name, creating: RingConfiguration(capacity: 64 * 1024))
        let box = SenderBox(sender)
        DispatchQueue.global().async { [self] in
            feed(box.take())
            finished.signal()
        }
    }

    /// Messages sent so far.
    var sent: Int { progress.load(ordering: .relaxed) }

    private func feed(_ sender: consuming ChannelSender) {
        let giveUp = ContinuousClock.now + .seconds(60)
        var index = 0
        while index < count {
            do throws(ChannelError) {
                try sender.send("m\(index)", timeout: .seconds(30))
                index += 1
                progress.store(index, ordering: .relaxed)
            } catch .peerDied where ContinuousClock.now < giveUp {
                usleep(2_000)  // the receiver died: wait for the next one
            } catch .peerLeft where ContinuousClock.now < giveUp {
                usleep(2_000)  // the receiver was stopped and exited cleanly: wait for the next one
            } catch {
                failure.withLock { $0 = "message \(index): \(error)" }
                return
            }
        }
        sender.close()
    }

    /// Waits until every message is sent and the channel closed; the failure, if any.
    func wait(seconds: Int = 60) -> String? {
        if finished.wait(timeout: .now() + .seconds(seconds)) == .timedOut { return "the feeder did not finish" }
        return failure.withLock { $0 }
    }
}

/// Hands a sender to the feeding thread exactly once.
private final class SenderBox: @unchecked Sendable {
    private var sender: ChannelSender?
    init(_ sender: consuming ChannelSender) { self.sender = consume sender }
    func take() -> ChannelSender { sender.take()! }
}

@Suite("shm recv loses nothing when it dies or is stopped")
struct ReceiveCrashTests {
    static let messages = 300_000

    /// The message numbers in `output`, one `m<n>` per line; a last line
    /// without its newline is the message in flight, cut short, and dropped.
    static func numbers(_ output: String) -> (numbers: [Int], cut: String?) {
        var lines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let cut = lines.removeLast()  // "" after a final newline
        return (lines.map { $0.hasPrefix("m") ? Int($0.dropFirst()) ?? -1 : -1 }, cut.isEmpty ? nil : cut)
    }

    /// Starts a receiver, stops it with `signal` mid-stream, starts a second
    /// one that drains the rest, and checks the two outputs together.
    @Test("Stopped mid-stream, recv and the next recv together print every message in order",
          arguments: [SIGKILL, SIGTERM, SIGINT])
    func stoppedMidStream(signal: Int32) throws {
        try withUniqueName { name in
            let feeder = try NumberedFeeder(name: SegmentName(name), count: Self.messages)
            let first = try ChildProcess("shm", ["recv", name])
            // Let it get well into the stream: the ring is small, so the feeder is far from done.
            let deadline = Date().addingTimeInterval(30)
            while first.output.utf8.count < 40_000 && first.process.isRunning && Date() < deadline { usleep(1_000) }
            first.send(signal)
            let status = try first.waitForExit()
            let sentAtStop = feeder.sent
            #expect(sentAtStop < Self.messages, "the stream was still going when recv was stopped")

            let second = try ChildProcess("shm", ["recv", name])
            #expect(feeder.wait() == nil)
            #expect(try second.waitForExit(timeout: 60) == 0, "\(second.errorOutput)")
            #expect(!segmentFileExists(name), "the second recv removes the finished channel")

            let (before, cut) = Self.numbers(first.output)
            let (after, secondCut) = Self.numbers(second.output)
            #expect(secondCut == nil)
            let inOrder = before == Array(0..<before.count)
            #expect(inOrder, "the first output is the stream's start, in order")
            #expect(!before.isEmpty && before.count < Self.messages)
            var rest = after
            if signal == SIGKILL {
                #expect(first.process.terminationReason == .uncaughtSignal)
                // A cut line is a start of the message in flight, which the next receiver repeats whole.
                if let cut { #expect("m\(before.count)".hasPrefix(cut), "cut line \(cut)") }
                if rest.first == before.count - 1 { rest.removeFirst() }  // at most one repeat, at the boundary
            } else {
                #expect(first.process.terminationReason == .exit)
                #expect(status == 128 + signal, "\(first.errorOutput)")
                #expect(cut == nil, "a stopped recv finishes the line in hand")
                #expect(first.errorOutput.contains("stopped by \(signal == SIGINT ? "SIGINT" : "SIGTERM") after \(before.count) messages"),
                        "\(first.errorOutput)")
            }
            let goesOn = rest == Array(before.count..<Self.messages)
            #expect(goesOn,
                    "the second output goes on where the first stopped: first \(rest.first ?? -1), \(rest.count) lines")
        }
    }
}
