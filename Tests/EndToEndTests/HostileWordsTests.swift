import Foundation
import Glibc
@testable import SharedMemory
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

    @Test("Any value in the old slot-lock word: subscribers join, the publisher publishes",
          arguments: [UInt32.max, 1, UInt32(bitPattern: getpid()), 0x7fff_ffff])
    func slotLockWord(value: UInt32) throws {
        try withUniqueName { name in
            let segmentName = try SegmentName(name)
            let configuration = PublishSubscribeConfiguration(ring: Self.small, subscriberSlots: 2)
            let publisher = try Publisher.open(segmentName, creating: configuration)
            try Self.poke(name, 108, value)
            let subscriber = try Subscriber.open(segmentName, creating: nil)
            for value in 0..<100 { try publisher.send([UInt8(value)], timeout: .seconds(2)) }
            var received: [UInt8] = []
            while let message = try subscriber.tryReceive() { received += message.bytes }
            #expect(received == (0..<100).map { UInt8($0) })
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
