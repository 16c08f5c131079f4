import Foundation
import Glibc
@testable import SharedMemory
import Synchronization
import Testing

/// History in publish/subscribe rings: a subscriber that joins late receives
/// the last messages the ring keeps, then the live stream.
@Suite("Publish/subscribe history")
struct HistoryTests {
    static func bytes(_ value: UInt64) -> [UInt8] { withUnsafeBytes(of: value) { Array($0) } }

    /// Everything the subscriber has now, without waiting.
    static func drain(_ subscriber: borrowing Subscriber) throws -> [SubscriberMessage] {
        var received: [SubscriberMessage] = []
        while let message = try subscriber.tryReceive() { received.append(message) }
        return received
    }

    static func configuration(history: Int, capacity: Int = 1 << 16, maxMessageSize: Int = 64,
                              policy: SlowSubscriberPolicy = .lossless) -> PublishSubscribeConfiguration {
        PublishSubscribeConfiguration(ring: RingConfiguration(capacity: capacity, maxMessageSize: maxMessageSize),
                                      subscriberSlots: 4, policy: policy, history: history)
    }

    /// Writes `bytes` at payload offset `offset` of the ring `name`.
    static func poke(_ name: String, _ offset: Int, _ bytes: [UInt8]) throws {
        let segment = try SharedMemorySegment.open(named: name, access: .readWrite)
        try segment.map(offset: SegmentHeader.size + offset, length: bytes.count).write(bytes)
    }

    @Test("A late joiner gets exactly the last N messages, then the live stream with no gap or duplicate")
    func lastN() throws {
        try withUniqueName("hist") { name in
            let segmentName = try SegmentName(name)
            let publisher = try Publisher.open(segmentName, creating: Self.configuration(history: 5))
            let first = try Subscriber.open(segmentName, creating: nil)
            for value in UInt64(0)..<20 { try publisher.send(Self.bytes(value)) }
            let late = try Subscriber.open(segmentName, creating: nil)
            let live = try Subscriber.open(segmentName, creating: nil, history: false)
            var history = try Self.drain(late)
            #expect(history.map(\.sequence) == Array(15..<20))
            #expect(history.allSatisfy { $0.bytes == Self.bytes($0.sequence) && $0.missedBefore == 0 })
            #expect(try live.tryReceive() == nil, "a subscriber that skips history starts at the live stream")
            for value in UInt64(20)..<30 { try publisher.send(Self.bytes(value)) }
            history += try Self.drain(late)
            #expect(history.map(\.sequence) == Array(15..<30))
            #expect(try Self.drain(live).map(\.sequence) == Array(20..<30))
            #expect(try Self.drain(first).map(\.sequence) == Array(0..<30), "history does not change an early subscriber's stream")
            #expect(late.missedCount == 0)
        }
    }

    @Test("Fewer than N published: the joiner gets all of them; before anything is published, everything")
    func fewerThanN() throws {
        try withUniqueName("hist-few") { name in
            let segmentName = try SegmentName(name)
            let early = try Subscriber.open(segmentName, creating: Self.configuration(history: 10))
            let publisher = try Publisher.open(segmentName, creating: nil)
            for value in UInt64(0)..<3 { try publisher.send(Self.bytes(value)) }
            let late = try Subscriber.open(segmentName, creating: nil)
            #expect(try Self.drain(late).map(\.sequence) == [0, 1, 2])
            try publisher.send(Self.bytes(3))
            #expect(try Self.drain(late).map(\.sequence) == [3])
            #expect(try Self.drain(early).map(\.sequence) == [0, 1, 2, 3])
        }
    }

    @Test("A new publisher restarts history at the write position; the stream goes on")
    func publisherTakesOver() throws {
        try withUniqueName("hist-restart") { name in
            let segmentName = try SegmentName(name)
            var publisher = try Publisher.open(segmentName, creating: Self.configuration(history: 4))
            for value in UInt64(0)..<10 { try publisher.send(Self.bytes(value)) }
            publisher.close()
            publisher = try Publisher.open(segmentName, creating: nil)
            let joined = try Subscriber.open(segmentName, creating: nil)
            #expect(try joined.tryReceive() == nil, "the new publisher does not know the old records' starts")
            for value in UInt64(10)..<12 { try publisher.send(Self.bytes(value)) }
            let later = try Subscriber.open(segmentName, creating: nil)
            #expect(try Self.drain(later).map(\.sequence) == [10, 11])
            #expect(try Self.drain(joined).map(\.sequence) == [10, 11])
            publisher.close()
        }
    }

    @Test("Lossless: history gives way to new messages, never blocks the publisher; subscribers still do")
    func losslessHistoryYields() throws {
        try withUniqueName("hist-lossless") { name in
            let segmentName = try SegmentName(name)
            // 4096 bytes hold about 100 records of 24 bytes: far fewer than the history asks for.
            let publisher = try Publisher.open(segmentName, creating: Self.configuration(history: 1024, capacity: 4096))
            for value in UInt64(0)..<1000 {
                #expect(try publisher.trySend(Self.bytes(value)), "history alone never fills the ring")
            }
            let late = try Subscriber.open(segmentName, creating: nil)
            let kept = try Self.drain(late)
            #expect(kept.count > 50 && kept.count < 1000)
            #expect(kept.last?.sequence == 999)
            #expect(zip(kept, kept.dropFirst()).allSatisfy { $1.sequence == $0.sequence + 1 && $1.missedBefore == 0 })
            // A subscriber holds its place: the publisher now waits for it.
            var sent: UInt64 = 1000
            while try publisher.trySend(Self.bytes(sent)) { sent += 1 }
            #expect(sent > 1000 && sent < 1300)
            let rest = try Self.drain(late)
            #expect(rest.map(\.sequence) == Array(1000..<sent), "nothing lost, nothing twice")
            #expect(late.missedCount == 0)
        }
    }

    @Test("Overwrite: a joiner gets the last N, or as many as are intact")
    func overwrite() throws {
        try withUniqueName("hist-ow") { name in
            let segmentName = try SegmentName(name)
            let publisher = try Publisher.open(segmentName, creating: Self.configuration(history: 5, capacity: 4096, policy: .overwrite))
            for value in UInt64(0)..<1000 { try publisher.send(Self.bytes(value)) }
            let late = try Subscriber.open(segmentName, creating: nil)
            #expect(try Self.drain(late).map(\.sequence) == Array(995..<1000))
        }
        try withUniqueName("hist-ow-deep") { name in
            let segmentName = try SegmentName(name)
            let publisher = try Publisher.open(segmentName, creating: Self.configuration(history: 1024, capacity: 4096, policy: .overwrite))
            for value in UInt64(0)..<1000 { try publisher.send(Self.bytes(value)) }
            let late = try Subscriber.open(segmentName, creating: nil)
            let kept = try Self.drain(late)
            #expect(kept.count > 50 && kept.count < 1000)
            #expect(kept.last?.sequence == 999)
            #expect(zip(kept, kept.dropFirst()).allSatisfy { $1.sequence == $0.sequence + 1 })
            #expect(kept.allSatisfy { $0.missedBefore == 0 && $0.bytes == Self.bytes($0.sequence) })
            // The joiner falls behind by more than the ring: it skips, and counts what it missed.
            for value in UInt64(1000)..<2000 { try publisher.send(Self.bytes(value)) }
            let after = try Self.drain(late)
            #expect(after.last?.sequence == 1999)
            #expect(late.missedCount + UInt64(after.count) == 1000)
        }
    }

    @Test("Hostile history words give badChannel, not a crash; the slot is free again")
    func hostileWords() throws {
        try withUniqueName("hist-hostile") { name in
            let segmentName = try SegmentName(name)
            let publisher = try Publisher.open(segmentName, creating: Self.configuration(history: 3, capacity: 4096))
            for value in UInt64(0)..<10 { try publisher.send(Self.bytes(value)) }
            let write = UInt64(10 * 24)
            // Not a multiple of 8, ahead of the write position, more than a capacity behind it.
            for position in [UInt64(13), write + 8, write &- 4096 &- 8, UInt64(1) << 63] {
                try Self.poke(name, RingLayout.Offset.historyPosition, Self.bytes(position))
                if case .badChannel(let why) = channelError({ () throws(ChannelError) in try Subscriber.open(segmentName, creating: nil) }) {
                    #expect(why.contains("history position"), "\(why)")
                } else { Issue.record("a history position of \(position) was accepted") }
            }
            // The failed joins freed their slots; a subscriber without history ignores the word.
            let one = try Subscriber.open(segmentName, creating: nil, history: false)
            let two = try Subscriber.open(segmentName, creating: nil, history: false)
            let three = try Subscriber.open(segmentName, creating: nil, history: false)
            let four = try Subscriber.open(segmentName, creating: nil, history: false)
            one.leave(); two.leave(); three.leave(); four.leave()
            for depth in [UInt32(RingLayout.maxHistoryDepth + 1), UInt32.max] {
                try Self.poke(name, RingLayout.Offset.historyDepth, withUnsafeBytes(of: depth.littleEndian) { Array($0) })
                if case .badChannel(let why) = channelError({ () throws(ChannelError) in try Subscriber.open(segmentName, creating: nil) }) {
                    #expect(why.contains("history depth"), "\(why)")
                } else { Issue.record("a history depth of \(depth) was accepted") }
            }
            publisher.close()
        }
        try withUniqueName("hist-channel") { name in
            let segmentName = try SegmentName(name)
            _ = try ChannelSender.open(segmentName, creating: RingConfiguration(capacity: 4096))
            try Self.poke(name, RingLayout.Offset.historyDepth, [1, 0, 0, 0])
            if case .badChannel(let why) = channelError({ () throws(ChannelError) in try ChannelReceiver.open(segmentName, creating: nil) }) {
                #expect(why.contains("a channel none"), "\(why)")
            } else { Issue.record("a channel with a history opened") }
        }
        let never = try SegmentName(TestNames.unique("never"))
        if case .badChannel(let why) = channelError({ () throws(ChannelError) in
            try Publisher.open(never, creating: Self.configuration(history: 1025))
        }) {
            #expect(why.contains("history of 1025"))
        } else { Issue.record("a history of 1025 messages was accepted") }
    }

    @Test("Status shows the history depth and the self-reported pids")
    func status() throws {
        try withUniqueName("hist-status") { name in
            let segmentName = try SegmentName(name)
            let publisher = try Publisher.open(segmentName, creating: Self.configuration(history: 7))
            let subscriber = try Subscriber.open(segmentName, creating: nil)
            let status = try ChannelStatus.read(segmentName)
            #expect(status.historyDepth == 7)
            #expect(status.writerSelfReportedPid == UInt32(getpid()))
            #expect(status.readers.map(\.selfReportedPid) == [UInt32(getpid())])
            subscriber.leave()
            publisher.close()
        }
    }

    @Test("Joining while the publisher keeps publishing: every joiner's stream is contiguous and starts at most N back")
    func joinRace() throws {
        try withUniqueName("hist-race") { name in
            let segmentName = try SegmentName(name)
            let depth: UInt64 = 3
            let configuration = Self.configuration(history: Int(depth), capacity: 4096)
            let stop = Atomic<Bool>(false)
            let ready = Atomic<Bool>(false)
            let published = Atomic<UInt64>(0)
            let failure = Mutex<String?>(nil)
            let thread = Thread {
                let publisher: Publisher
                do {
                    publisher = try Publisher.open(segmentName, creating: configuration)
                } catch {
                    failure.withLock { $0 = "publisher: \(error)" }
                    ready.store(true, ordering: .releasing)
                    return
                }
                ready.store(true, ordering: .releasing)
                var value: UInt64 = 0
                while !stop.load(ordering: .relaxed) {
                    do {
                        if try publisher.trySend(Self.bytes(value)) {
                            value += 1
                            published.store(value, ordering: .releasing)
                            // Short pauses leave joiners moments when the history
                            // position stands still, even on a loaded machine.
                            if value % 4 == 0 { usleep(20) }
                        }
                    } catch {
                        failure.withLock { $0 = "publisher: \(error)" }
                        return
                    }
                }
            }
            thread.start()
            defer { stop.store(true, ordering: .relaxed) }
            while !ready.load(ordering: .acquiring) { usleep(1000) }
            try #require(failure.withLock { $0 } == nil)
            var historyJoins = 0
            for _ in 0..<100 {
                let before = published.load(ordering: .acquiring)
                let subscriber = try Subscriber.open(segmentName, creating: nil)
                let after = published.load(ordering: .acquiring)
                var sequences: [UInt64] = []
                while sequences.count < 20, let message = try subscriber.receive(timeout: .seconds(10)) {
                    #expect(message.bytes == Self.bytes(message.sequence))
                    sequences.append(message.sequence)
                }
                let first = try #require(sequences.first)
                #expect(first + depth >= before, "starts at most \(depth) before the join: \(first), \(before)")
                // The record being published while the joiner joined may not be counted yet.
                #expect(first <= after + 1, "no gap between history and the live stream: \(first), \(after)")
                #expect(sequences == Array(first..<first + UInt64(sequences.count)), "contiguous")
                if first < before { historyJoins += 1 }
                subscriber.leave()
            }
            stop.store(true, ordering: .relaxed)
            while !thread.isFinished { usleep(1000) }
            #expect(failure.withLock { $0 } == nil)
            #expect(historyJoins > 0, "some joiners received history")
        }
    }
}
