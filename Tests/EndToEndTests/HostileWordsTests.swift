import Foundation
import Glibc
@testable import SharedMemory
import Synchronization
import Testing

/// Single words that another process writes into a ring on purpose: the
/// honest ends neither believe them about liveness nor hang on them.
@Suite("Hostile words in a ring")
struct HostileWordsTests {
    static let small = RingConfiguration(capacity: 4096, maxMessageSize: 1000)

    /// What a channel operation threw, if anything.
    static func failure<R: ~Copyable>(_ body: () throws(ChannelError) -> R) -> ChannelError? {
        do { _ = try body(); return nil } catch { return error }
    }
    /// Writes `value` at `payloadOffset` of the ring's payload through a raw view.
    static func poke(_ name: String, _ payloadOffset: Int, _ value: UInt32) throws {
        let segment = try SharedMemorySegment.open(named: name, access: .readWrite)
        try segment.map(offset: SegmentHeader.size + payloadOffset, length: 4)
            .write(withUnsafeBytes(of: value.littleEndian) { Array($0) })
    }

    @Test("A stray 'closed' while the sender is alive is no end of stream")
    func fakeEnd() throws {
        try withUniqueName { name in
            let segmentName = try SegmentName(name)
            let sender = try ChannelSender.open(segmentName, creating: Self.small)
            let receiver = try ChannelReceiver.open(segmentName, wait: .sleep)
            try sender.send([1])
            try Self.poke(name, RingLayout.Offset.writerState, RingLayout.WriterState.closed.rawValue)
            #expect(try receiver.receive(timeout: .seconds(1)) == [1])
            // Nothing more is there and the sender holds its lock: wait, don't end.
            #expect(Self.failure { () throws(ChannelError) in try receiver.receive(timeout: .milliseconds(300)) } == .timedOut)
            #expect(Self.failure { () throws(ChannelError) in try receiver.tryReceive() } == nil)
            try sender.send([2])
            #expect(try receiver.receive(timeout: .seconds(1)) == [2])
            sender.close()
            #expect(try receiver.receive(timeout: .seconds(1)) == nil, "a real close still ends the stream")
        }
    }

    /// Payload offset 108 was the slot lock of layout version 1; it is now
    /// the spinners word of a publish/subscribe ring, a hint whatever it holds.
    @Test("Any value in the spinners word (once the slot lock): subscribers join, wait and receive everything; the publisher publishes",
          arguments: [UInt32.max, 1, UInt32(bitPattern: getpid()), 0x7fff_ffff])
    func spinnersWord(value: UInt32) throws {
        try withUniqueName { name in
            let segmentName = try SegmentName(name)
            let configuration = PublishSubscribeConfiguration(ring: Self.small, subscriberSlots: 2)
            let publisher = try Publisher.open(segmentName, creating: configuration)
            try Self.poke(name, RingLayout.Offset.spinners, value)
            let subscriber = try Subscriber.open(segmentName, creating: nil)
            for value in 0..<100 { try publisher.send([UInt8(value)], timeout: .seconds(2)) }
            var received: [UInt8] = []
            while let message = try subscriber.tryReceive() { received += message.bytes }
            #expect(received == (0..<100).map { UInt8($0) })
            subscriber.leave()
            // Blocking waits: a subscriber on a thread of its own waits for data and the
            // publisher for space, each spinning, napping or sleeping as the word says,
            // and nothing is lost or stuck.
            let joined = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
            let tally = Tally()
            Thread {
                defer { done.signal() }
                do {
                    let subscriber = try Subscriber.open(segmentName, creating: nil)
                    joined.signal()
                    for value in 100..<1100 {
                        let message = try subscriber.receive(timeout: .seconds(30))
                        if message?.bytes != [UInt8(truncatingIfNeeded: value)] { tally.mismatches.add(1, ordering: .relaxed) }
                        tally.count.add(1, ordering: .relaxed)
                    }
                } catch {
                    joined.signal()
                    Issue.record("subscriber: \(error)")
                }
            }.start()
            joined.wait()
            for value in 100..<1100 {
                if value % 200 == 0 { try Self.poke(name, RingLayout.Offset.spinners, UInt32(truncatingIfNeeded: value) | 0x5555) }
                try publisher.send([UInt8(truncatingIfNeeded: value)], timeout: .seconds(30))
            }
            done.wait()
            #expect(tally.count.load(ordering: .relaxed) == 1000 && tally.mismatches.load(ordering: .relaxed) == 0)
        }
    }

    /// Every value but "closed" (2): a writer state of closed with the lock
    /// released is what a clean close leaves, and no word can tell the two
    /// apart once the sender's process is gone (see TrustModel.md).
    @Test("A garbled writer state does not hide a dead sender", arguments: [UInt32(0), 1, 7, .max])
    func garbledWriterState(value: UInt32) throws {
        try withUniqueName { name in
            let receiver = try ChildProcess("shm-test-peer", ["receive", name, "--wait", "sleep", "--count", "1000000"])
            try receiver.waitForOutput(containing: "ready")
            let sender = try ChildProcess("shm-test-peer", ["send", name, "--count", "10", "--hang"])
            try sender.waitForOutput(containing: "ready")
            usleep(200_000)
            try Self.poke(name, RingLayout.Offset.writerState, value)
            sender.send(SIGKILL)
            _ = try sender.waitForExit()
            let start = Date()
            #expect(try receiver.waitForExit(timeout: 10) == 3, "\(receiver.output)")
            #expect(Date().timeIntervalSince(start) < 3, "the death is noticed within the peer checks")
            #expect(receiver.output.contains("received 10 ") && receiver.output.contains("died without closing"), "\(receiver.output)")
        }
    }
}

/// Counts a thread of a test keeps: messages received, and those that were not what was sent.
private final class Tally: Sendable {
    let count = Atomic<Int>(0)
    let mismatches = Atomic<Int>(0)
}
