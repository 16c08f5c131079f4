import Foundation
import Glibc
@testable import SharedMemory
import Testing

/// ``caught(_:)`` for the channel API.
func channelError<R: ~Copyable>(_ body: () throws(ChannelError) -> R) -> ChannelError? { caught(body) }

@Suite("Channels in one process")
struct ChannelTests {
    static let small = RingConfiguration(capacity: 4096, maxMessageSize: 1000)

    @Test("Messages of every size arrive in order, copied or in place", arguments: SharedMemorySegment.Backend.allCases)
    func roundTrip(backend: SharedMemorySegment.Backend) throws {
        try withUniqueName("ch") { name in
            let segmentName = try SegmentName(name)
            let sender = try ChannelSender.open(segmentName, creating: Self.small, backend: backend)
            let receiver = try ChannelReceiver.open(segmentName, creating: nil, backend: backend)
            #expect(sender.maxMessageSize == 1000 && sender.capacity == 4096)
            for size in [1, 2, 7, 8, 9, 15, 16, 17, 100, 999, 1000] {
                let message = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ size) }
                try sender.send(message)
                #expect(try receiver.receive(timeout: .seconds(5)) == message)
            }
            // Many rounds through the ring, wrapping at every size.
            for round in 0..<2000 {
                let size = 1 + (round * 37) % 1000
                try sender.send(loaning: size) { buffer in
                    for index in 0..<size { buffer[index] = UInt8(truncatingIfNeeded: index ^ round) }
                    return size
                }
                let ok = try receiver.receive(timeout: .seconds(5)) { bytes in
                    bytes.count == size && bytes.indices.allSatisfy { bytes[$0] == UInt8(truncatingIfNeeded: $0 ^ round) }
                }
                #expect(ok == true, "round \(round)")
            }
            try sender.send("text")
            #expect(try receiver.receive() == Array("text".utf8))
        }
    }

    @Test("Two threads stream through a small channel: ordered, intact, with every wait strategy",
          arguments: [WaitStrategy.spin, .default, .sleep])
    func twoThreads(strategy: WaitStrategy) throws {
        try withUniqueName("threads") { name in
            let segmentName = try SegmentName(name)
            let count = 20_000
            let receiver = try ChannelReceiver.open(segmentName, creating: Self.small, wait: strategy)
            let producer = Thread {
                do {
                    let sender = try ChannelSender.open(segmentName, creating: nil, wait: strategy)
                    for value in 0..<count {
                        let size = 1 + value % 300
                        try sender.send((0..<size).map { UInt8(truncatingIfNeeded: value &+ $0) })
                    }
                } catch {
                    Issue.record("sender: \(error)")
                }
            }
            producer.start()
            var received = 0
            while let message = try receiver.receive(timeout: .seconds(30)) {
                let size = 1 + received % 300
                #expect(message.count == size && message.first == UInt8(truncatingIfNeeded: received)
                        && message.last == UInt8(truncatingIfNeeded: received &+ size - 1), "message \(received)")
                received += 1
            }
            #expect(received == count)
        }
    }

    @Test("Full and empty: try variants, timeouts, back-pressure, messages too large")
    func fullAndEmpty() throws {
        try withUniqueName("full") { name in
            let segmentName = try SegmentName(name)
            let sender = try ChannelSender.open(segmentName, creating: Self.small)
            let receiver = try ChannelReceiver.open(segmentName, creating: nil, wait: .sleep)
            #expect(try receiver.tryReceive() == nil)
            let start = ContinuousClock.now
            #expect(channelError { () throws(ChannelError) in try receiver.receive(timeout: .milliseconds(100)) } == .timedOut)
            #expect(ContinuousClock.now - start >= .milliseconds(100))

            let message = [UInt8](repeating: 7, count: 496) // a 512-byte record
            var sent = 0
            while try sender.trySend(message) { sent += 1 }
            #expect(sent == 4096 / 512, "a 4 KiB ring holds eight 512-byte records")
            #expect(channelError { () throws(ChannelError) in try sender.send(message, timeout: .milliseconds(50)) } == .timedOut)
            #expect(channelError { () throws(ChannelError) in try sender.send([UInt8](repeating: 0, count: 1001)) }
                    == .messageTooLarge(size: 1001, maximum: 1000))
            #expect(try receiver.receive() == message)
            #expect(try sender.trySend(message), "one record's space is free again")
            for _ in 0..<sent { #expect(try receiver.tryReceive() == message) }
            #expect(try receiver.tryReceive() == nil)
        }
    }

    @Test("Closing: the receiver drains, then sees the end")
    func closing() throws {
        try withUniqueName("close") { name in
            let segmentName = try SegmentName(name)
            let receiver = try ChannelReceiver.open(segmentName, creating: Self.small)
            do {
                let sender = try ChannelSender.open(segmentName, creating: nil)
                try sender.send([1])
                try sender.send([2])
                sender.close()
            }
            #expect(try receiver.receive() == [1])
            #expect(try receiver.tryReceive() == [2])
            #expect(channelError { () throws(ChannelError) in try receiver.tryReceive() } == .closed)
            #expect(try receiver.receive(timeout: .seconds(1)) == nil)
        }
    }

    @Test("One sender and one receiver at a time; bad channels are refused clearly")
    func rolesAndBadChannels() throws {
        try withUniqueName("roles") { name in
            let segmentName = try SegmentName(name)
            let sender = try ChannelSender.open(segmentName, creating: Self.small)
            let receiver = try ChannelReceiver.open(segmentName)
            if case .busy(let why) = channelError({ () throws(ChannelError) in try ChannelSender.open(segmentName) }) {
                #expect(why.contains("already writing"))
            } else { Issue.record("a second sender was not refused") }
            if case .busy = channelError({ () throws(ChannelError) in try ChannelReceiver.open(segmentName) }) {} else {
                Issue.record("a second receiver was not refused")
            }
            if case .badChannel(let why) = channelError({ () throws(ChannelError) in try Subscriber.open(segmentName) }) {
                #expect(why.contains("is a channel, not a publish/subscribe ring"))
            } else { Issue.record("a channel opened as publish/subscribe") }
            _ = (sender.capacity, receiver.maxMessageSize)
        }
        try withUniqueName("raw") { name in
            let segmentName = try SegmentName(name)
            try SharedMemorySegment.create(named: name, size: 8192).map().writeString("not a channel")
            if case .segment(let error) = channelError({ () throws(ChannelError) in try ChannelReceiver.open(segmentName, creating: nil) }) {
                #expect(error.errno == .protocolError)
            } else { Issue.record("a raw segment opened as a channel") }
        }
        try withUniqueName("kind") { name in
            let segmentName = try SegmentName(name)
            _ = try ManagedSegment.create(SegmentName(name), payloadSize: 8192)
            if case .badChannel(let why) = channelError({ () throws(ChannelError) in try ChannelReceiver.open(segmentName, creating: nil) }) {
                #expect(why.contains("kind 0, not a channel"))
            } else { Issue.record("a plain managed segment opened as a channel") }
        }
        try withUniqueName("magic") { name in
            let segmentName = try SegmentName(name)
            _ = try ChannelSender.open(segmentName, creating: Self.small)
            let segment = try SharedMemorySegment.open(named: name, access: .readWrite)
            try segment.map(offset: SegmentHeader.size, length: 4).write([0, 0, 0, 0])
            if case .badChannel(let why) = channelError({ () throws(ChannelError) in try ChannelReceiver.open(segmentName, creating: nil) }) {
                #expect(why.contains("no ring magic"))
            } else { Issue.record("a ring without magic opened") }
            // Rings of older layout versions (1; 2 with 8-byte payloads and no
            // alignment or message type; 3 without history or pids) are refused by name, not misread.
            for old: UInt8 in [1, 2, 3] {
                try segment.map(offset: SegmentHeader.size, length: 8).write([0x52, 0x49, 0x4e, 0x47, old, 0, 0, 0])
                if case .badChannel(let why) = channelError({ () throws(ChannelError) in try ChannelReceiver.open(segmentName, creating: nil) }) {
                    #expect(why.contains("ring layout version \(old); this library reads 4"))
                } else { Issue.record("a ring of layout version \(old) opened") }
            }
            try segment.map(offset: SegmentHeader.size, length: 20).write([0x52, 0x49, 0x4e, 0x47, 4, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f])
            if case .badChannel(let why) = channelError({ () throws(ChannelError) in try ChannelReceiver.open(segmentName, creating: nil) }) {
                #expect(why.contains("largest message"))
            } else { Issue.record("a ring with an impossible maximum opened") }
        }
        let unused = try SegmentName(TestNames.unique("never"))
        #expect(channelError { () throws(ChannelError) in
            try ChannelSender.open(unused, creating: RingConfiguration(capacity: 4096, maxMessageSize: 4000))
        } != nil)
    }

    @Test("A corrupt record gives an error, not a crash")
    func corruptRecord() throws {
        try withUniqueName("rec") { name in
            let segmentName = try SegmentName(name)
            let sender = try ChannelSender.open(segmentName, creating: Self.small)
            let receiver = try ChannelReceiver.open(segmentName)
            try sender.send([1, 2, 3])
            let segment = try SharedMemorySegment.open(named: name, access: .readWrite)
            let dataStart = SegmentHeader.size + RingLayout.dataOffset(slots: 1)
            try segment.map(offset: dataStart, length: 4).write([0xff, 0xff, 0, 0])
            if case .badChannel(let why) = channelError({ () throws(ChannelError) in try receiver.receive(timeout: .seconds(1)) }) {
                #expect(why.contains("claims 65535 bytes"))
            } else { Issue.record("a corrupt record was accepted") }
        }
    }

    @Test("Receiving as an AsyncSequence; cancelling the task ends the wait")
    func asyncSequence() async throws {
        let name = TestNames.unique("async")
        defer { _ = shm_unlink("/" + name) }
        let segmentName = try SegmentName(name)
        let messages = try ChannelReceiver.open(segmentName, creating: Self.small).messages()
        let consumer = Task { () -> [[UInt8]] in
            var all: [[UInt8]] = []
            for try await message in messages { all.append(message) }
            return all
        }
        do {
            let sender = try ChannelSender.open(segmentName, creating: nil)
            for value in 0..<50 { try await sender.send([UInt8(value)]) }
            sender.close()
        }
        #expect(try await consumer.value == (0..<50).map { [UInt8($0)] })

        let other = TestNames.unique("cancel")
        defer { _ = shm_unlink("/" + other) }
        let waiting = try ChannelReceiver.open(SegmentName(other), creating: Self.small, wait: .sleep).messages()
        let blocked = Task { () -> String in
            do {
                for try await _ in waiting {}
                return "ended"
            } catch {
                return "\(error)"
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        blocked.cancel()
        #expect(await blocked.value == ChannelError.cancelled.description)
    }
}

@Suite("Publish/subscribe in one process")
struct PublishSubscribeTests {
    @Test("Every subscriber reads every message in order from where it joined; slots are limited and freed")
    func lossless() throws {
        try withUniqueName("ps") { name in
            let segmentName = try SegmentName(name)
            let configuration = PublishSubscribeConfiguration(
                ring: RingConfiguration(capacity: 8192, maxMessageSize: 100), subscriberSlots: 3)
            let publisher = try Publisher.open(segmentName, creating: configuration)
            let early = try Subscriber.open(segmentName, creating: nil)
            let second = try Subscriber.open(segmentName, creating: nil)
            for value in 0..<10 { try publisher.send([UInt8(value)]) }
            let late = try Subscriber.open(segmentName, creating: nil)
            if case .busy = channelError({ () throws(ChannelError) in try Subscriber.open(segmentName, creating: nil) }) {} else {
                Issue.record("a fourth subscriber got one of three slots")
            }
            for value in 10..<20 { try publisher.send([UInt8(value)]) }
            for subscriber in [0, 1] {
                let reader = subscriber == 0 ? try early.receive(timeout: .seconds(1)) : try second.receive(timeout: .seconds(1))
                #expect(reader?.bytes == [0] && reader?.sequence == 0)
            }
            var seen: [UInt64] = []
            while let message = try late.tryReceive() { seen.append(message.sequence) }
            #expect(seen == Array(10..<20), "the late subscriber starts where it joined")
            late.leave()
            let replacement = try Subscriber.open(segmentName, creating: nil)
            #expect(try replacement.tryReceive() == nil)

            // The publisher waits for the slowest subscriber.
            var sent = 0
            while try publisher.trySend([UInt8](repeating: 1, count: 100)) { sent += 1 }
            #expect(sent > 0 && sent < 100)
            #expect(early.missedCount == 0)
        }
    }

    @Test("Subscribers as AsyncSequences: each sees every message, and the end")
    func asyncSubscribers() async throws {
        let name = TestNames.unique("async-ps")
        defer { _ = shm_unlink("/" + name) }
        let segmentName = try SegmentName(name)
        let configuration = PublishSubscribeConfiguration(ring: RingConfiguration(capacity: 4096, maxMessageSize: 64))
        var tasks: [Task<[UInt64], any Error>] = []
        for _ in 0..<3 {
            let messages = try Subscriber.open(segmentName, creating: configuration).messages()
            tasks.append(Task {
                var sequences: [UInt64] = []
                for try await message in messages { sequences.append(message.sequence) }
                return sequences
            })
        }
        // Blocking sends belong on a thread of their own, not in Swift's cooperative pool,
        // which the subscribers' tasks need. Other tests may hold that pool for a while
        // (they block on processes), hence the generous timeout.
        let sending = Thread {
            do {
                let publisher = try Publisher.open(segmentName, creating: nil)
                for value in 0..<500 { try publisher.send([UInt8(truncatingIfNeeded: value)], timeout: .seconds(600)) }
                publisher.close()
            } catch {
                Issue.record("publisher: \(error)")
            }
        }
        sending.start()
        for task in tasks { #expect(try await task.value == Array(0..<500)) }
    }

    @Test("Overwrite: a slow subscriber skips ahead and learns how many it missed")
    func overwrite() throws {
        try withUniqueName("ow") { name in
            let segmentName = try SegmentName(name)
            let configuration = PublishSubscribeConfiguration(
                ring: RingConfiguration(capacity: 4096, maxMessageSize: 64), subscriberSlots: 2, policy: .overwrite)
            let publisher = try Publisher.open(segmentName, creating: configuration)
            let slow = try Subscriber.open(segmentName, creating: nil)
            for value in UInt64(0)..<1000 { try publisher.send(withUnsafeBytes(of: value) { Array($0) }) }
            var received: [SubscriberMessage] = []
            while let message = try slow.tryReceive() { received.append(message) }
            let first = try #require(received.first)
            #expect(first.sequence > 0 && first.missedBefore == first.sequence)
            #expect(received.last?.sequence == 999)
            #expect(zip(received, received.dropFirst()).allSatisfy { $1.sequence == $0.sequence + 1 && $1.missedBefore == 0 })
            for message in received {
                #expect(message.bytes == withUnsafeBytes(of: message.sequence) { Array($0) })
            }
            #expect(slow.missedCount + UInt64(received.count) == 1000)
            #expect(publisher.publishedCount == 1000)
        }
    }
}
