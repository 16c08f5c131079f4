import Foundation
import Glibc
@testable import SharedMemory
import Testing

@Suite("Topics in one process")
struct TopicTests {
    static let small = TopicConfiguration(maxPublishers: 4, subscriberSlots: 2, ring: RingConfiguration(capacity: 4096, maxMessageSize: 200))

    @Test("Two publishers, two subscribers: every subscriber gets every message, tagged, in order per publisher, then the end")
    func twoByTwo() throws {
        try withUniqueName("t1") { name in
            let segmentName = try SegmentName(name)
            let first = try TopicSubscriber.open(segmentName, creating: Self.small)
            let second = try TopicSubscriber.open(segmentName, creating: nil)
            #expect(try first.tryReceive() == nil)
            let a = try TopicPublisher.open(segmentName, creating: nil, subscriberWait: .zero)
            let b = try TopicPublisher.open(segmentName, creating: nil, subscriberWait: .zero)
            #expect(a.tag != b.tag)
            // The subscribers attach to the new publishers' rings when they next look.
            #expect(try first.tryReceive() == nil)
            #expect(try second.tryReceive() == nil)
            #expect(first.attachedPublishers.count == 2 && second.attachedPublishers.count == 2)
            for index in 0..<40 {
                try a.send("a \(index)")
                try b.send("b \(index)")
            }
            let tags = ["a": a.tag, "b": b.tag]
            try Self.expectStreams(first, tags)
            try Self.expectStreams(second, tags)
            a.close()
            b.close()
            #expect(try first.receive(timeout: .seconds(5)) == nil)
            #expect(channelError { () throws(ChannelError) in try second.tryReceive() } == .closed)
        }
    }

    @Test("A subscriber that skips its own publisher (a bridge): never attached to that ring, gets the others' messages, and the skipped publisher never waits for it")
    func skippingOwnPublisher() throws {
        try withUniqueName("t1s") { name in
            let segmentName = try SegmentName(name)
            let own = try TopicPublisher.open(segmentName, creating: Self.small, subscriberWait: .zero)
            let bridge = try TopicSubscriber.open(segmentName, skipping: own.tag, creating: nil)
            let plain = try TopicSubscriber.open(segmentName, creating: nil)
            let other = try TopicPublisher.open(segmentName, creating: nil, subscriberWait: .zero)
            // Both subscribers attach to the new publisher's ring when they next look.
            #expect(try bridge.tryReceive() == nil)
            #expect(try plain.tryReceive() == nil)
            #expect(bridge.attachedPublishers == [other.tag])
            #expect(Set(plain.attachedPublishers) == [own.tag, other.tag])
            // Lossless and a 4 KiB ring: only the plain subscriber holds the own publisher back.
            for index in 0..<20 { try own.send("own \(index)", timeout: .seconds(5)) }
            try other.send("other 0")
            var plainOwn = 0
            for _ in 0..<21 {
                let message = try #require(try plain.receive(timeout: .seconds(5)))
                if message.publisher == own.tag { plainOwn += 1 }
            }
            #expect(plainOwn == 20)
            let message = try #require(try bridge.receive(timeout: .seconds(5)))
            #expect(message.publisher == other.tag && message.bytes == Array("other 0".utf8))
            #expect(try bridge.tryReceive() == nil)
            #expect(bridge.attachedPublishers == [other.tag])
        }
    }

    @Test("A bridge mark: the topic shows as bridged while the marking subscriber lives, and not after")
    func bridgeMark() throws {
        try withUniqueName("t1b") { name in
            let segmentName = try SegmentName(name)
            let publisher = try TopicPublisher.open(segmentName, creating: Self.small, subscriberWait: .zero)
            #expect(try ServiceDirectory.describe(segmentName).bridged == false)
            do {
                let subscriber = try TopicSubscriber.open(segmentName, creating: nil)
                try subscriber.markBridged()
                try subscriber.markBridged() // again through the same mapping: still one mark
                #expect(try ServiceDirectory.describe(segmentName).bridged == true)
                try publisher.markBridged()
                _ = consume subscriber
            }
            #expect(try ServiceDirectory.describe(segmentName).bridged == true)
            _ = consume publisher
            #expect(try ServiceDirectory.describe(segmentName).bridged == false)
        }
    }

    /// Receives 40 messages of each of publishers `a` and `b`, checking tags and order.
    static func expectStreams(_ subscriber: borrowing TopicSubscriber, _ tags: [String: SenderTag]) throws {
        var next = ["a": 0, "b": 0]
        for _ in 0..<80 {
            let message = try #require(try subscriber.receive(timeout: .seconds(5)))
            let parts = String(decoding: message.bytes, as: UTF8.self).split(separator: " ")
            let who = String(parts[0])
            #expect(message.publisher == tags[who])
            #expect(Int(parts[1]) == next[who] && message.sequence == UInt64(next[who]!) && message.missedBefore == 0)
            next[who]! += 1
        }
        #expect(next == ["a": 40, "b": 40])
    }

    @Test("Overwrite policy: a publisher never waits; a slow subscriber learns how many it missed")
    func overwrite() throws {
        try withUniqueName("t2") { name in
            let segmentName = try SegmentName(name)
            var shape = Self.small
            shape.policy = .overwrite
            let subscriber = try TopicSubscriber.open(segmentName, creating: shape)
            let publisher = try TopicPublisher.open(segmentName, creating: nil, subscriberWait: .zero)
            #expect(try subscriber.tryReceive() == nil)
            for index in 0..<1000 { #expect(try publisher.trySend(Array("message \(index)".utf8))) }
            publisher.close()
            var missed: UInt64 = 0
            var last: UInt64 = 0
            var count = 0
            while let message = try subscriber.receive(timeout: .seconds(5)) {
                missed += message.missedBefore
                last = message.sequence
                count += 1
            }
            #expect(last == 999 && missed > 0 && UInt64(count) + missed == 1000)
        }
    }

    @Test("History: a late subscriber gets each publisher's last N messages, then the live stream")
    func history() throws {
        try withUniqueName("t4") { name in
            let segmentName = try SegmentName(name)
            var shape = Self.small
            shape.history = 3
            let a = try TopicPublisher.open(segmentName, creating: shape, subscriberWait: .zero)
            let b = try TopicPublisher.open(segmentName, creating: nil, subscriberWait: .zero)
            for index in 0..<10 {
                try a.send("a \(index)")
                try b.send("b \(index)")
            }
            let late = try TopicSubscriber.open(segmentName, creating: nil)
            var seen: [String] = []
            while let message = try late.tryReceive() { seen.append(String(decoding: message.bytes, as: UTF8.self)) }
            #expect(seen.filter { $0.hasPrefix("a") } == ["a 7", "a 8", "a 9"])
            #expect(seen.filter { $0.hasPrefix("b") } == ["b 7", "b 8", "b 9"])
            try a.send("a 10")
            #expect(try late.receive(timeout: .seconds(5)).map { String(decoding: $0.bytes, as: UTF8.self) } == "a 10")
            let info = try ServiceDirectory.describe(segmentName)
            #expect(info.configuration.historyDepth == 3)
        }
    }

    @Test("Busy slots, history, another pattern: clear errors")
    func refusals() throws {
        try withUniqueName("t3") { name in
            let segmentName = try SegmentName(name)
            let one = TopicConfiguration(maxPublishers: 1, subscriberSlots: 1, ring: Self.small.ring)
            let subscriber = try TopicSubscriber.open(segmentName, creating: one)
            let second = channelError { () throws(ChannelError) in try TopicSubscriber.open(segmentName, creating: nil) }
            guard case .busy = second else { Issue.record("\(String(describing: second))"); return }
            let publisher = try TopicPublisher.open(segmentName, creating: nil, subscriberWait: .zero)
            let another = channelError { () throws(ChannelError) in
                try TopicPublisher.open(segmentName, creating: nil, joinTimeout: .milliseconds(50), subscriberWait: .zero)
            }
            guard case .busy = another else { Issue.record("\(String(describing: another))"); return }
            subscriber.leave()
            _ = try TopicSubscriber.open(segmentName, creating: nil)
            publisher.close()
            let many = channelError { () throws(ChannelError) in try ManyToOneReceiver.open(segmentName, creating: nil) }
            #expect(many == .badChannel("\(segmentName.posixName) is a topic, not a many-to-one channel"))
        }
        try withUniqueName("t3") { name in
            let error = channelError { () throws(ChannelError) in
                try TopicSubscriber.open(try! SegmentName(name), creating: TopicConfiguration(history: 5000))
            }
            guard case .badChannel = error else { Issue.record("\(String(describing: error))"); return }
            let slots = channelError { () throws(ChannelError) in
                try TopicSubscriber.open(try! SegmentName(name), creating: TopicConfiguration(subscriberSlots: 65))
            }
            guard case .badChannel = slots else { Issue.record("\(String(describing: slots))"); return }
            #expect(!segmentFileExists(name))
            _ = try ManyToOneReceiver.open(try SegmentName(name))
            let topic = channelError { () throws(ChannelError) in try TopicPublisher.open(try! SegmentName(name), creating: nil) }
            #expect(topic == .badChannel("/\(name) is a many-to-one channel, not a topic"))
        }
    }
}
