import Foundation
import Glibc
@testable import SharedMemory
import Synchronization
import Testing

/// Unique names for `count` segments, removed afterwards whatever the test does.
private func withNames<R>(_ count: Int, _ body: ([SegmentName]) async throws -> R) async throws -> R {
    let names = (0..<count).map { _ in TestNames.unique("wss") }
    defer { for name in names { _ = shm_unlink("/" + name) } }
    return try await body(try names.map { try SegmentName($0) })
}

/// A message of stream `stream`, number `number`: 16 bytes that say both.
private func message(_ stream: Int, _ number: Int) -> [UInt8] {
    var words = (UInt64(stream), UInt64(number))
    return withUnsafeBytes(of: &words) { Array($0) }
}

private func decode(_ bytes: [UInt8]) -> (stream: Int, number: Int)? {
    guard bytes.count == 16 else { return nil }
    return bytes.withUnsafeBytes { (Int($0.load(as: UInt64.self)), Int($0.load(fromByteOffset: 8, as: UInt64.self))) }
}

private let smallRing = RingConfiguration(capacity: 4096, maxMessageSize: 64)
private let manyShape = ManyToOneConfiguration(maxSenders: 4, ring: smallRing)
private let topicShape = TopicConfiguration(maxPublishers: 4, subscriberSlots: 2, ring: smallRing)
/// The id an event feeder notifies last.
private let doneEvent = EventID(4000)!

/// The keys of a set holding one source of each kind.
private struct MixedKeys {
    var channel: ChannelWaitSet.Key
    var many: ChannelWaitSet.Key
    var topic: ChannelWaitSet.Key
    var events: ChannelWaitSet.Key
}

/// A channel receiver, a many-to-one receiver, a topic subscriber and an
/// event listener over `names[0...3]`, in that order.
private func fillMixed(_ set: inout ChannelWaitSet, _ names: [SegmentName]) throws -> MixedKeys {
    MixedKeys(channel: set.add(try ChannelReceiver.open(names[0], creating: smallRing)),
              many: set.add(try ManyToOneReceiver.open(names[1], creating: manyShape)),
              topic: set.add(try TopicSubscriber.open(names[2], creating: topicShape)),
              events: set.add(try EventListener.open(names[3])))
}

/// A count several threads meet at.
private final class Barrier: Sendable {
    let arrived = Atomic<Int>(0)
    let parties: Int
    init(_ parties: Int) { self.parties = parties }
    func meet() {
        arrived.add(1, ordering: .sequentiallyConsistent)
        let deadline = ContinuousClock.now + .seconds(20)
        while arrived.load(ordering: .sequentiallyConsistent) < parties, ContinuousClock.now < deadline { usleep(200) }
    }
}

private func startThread(_ label: String, _ body: @escaping @Sendable () throws -> Void) -> Thread {
    let thread = Thread {
        do { try body() } catch { Issue.record("\(label): \(error)") }
    }
    thread.start()
    return thread
}

/// Streams: 0 the channel, 10 and 11 the two many-to-one senders, 20 the topic publisher.
/// The two senders join before either sends, so the channel cannot end between them.
private func startFeeders(_ names: [SegmentName], perStream: Int) -> [Thread] {
    let joined = Barrier(2)
    var threads = [
        startThread("channel sender") {
            let sender = try ChannelSender.open(names[0], creating: nil)
            for number in 0..<perStream { try sender.send(message(0, number), timeout: .seconds(20)) }
            sender.close()
        },
        startThread("publisher") {
            let publisher = try TopicPublisher.open(names[2], creating: nil, subscriberWait: .seconds(20))
            for number in 0..<perStream { try publisher.send(message(20, number), timeout: .seconds(20)) }
            publisher.close()
        },
        startThread("notifier") {
            let notifier = try EventNotifier.open(names[3], creating: false)
            for id in 1...20 {
                try notifier.notify(EventID(id)!)
                usleep(500)
            }
            try notifier.notify(doneEvent)
        },
    ]
    for index in 0..<2 {
        threads.append(startThread("many-to-one sender \(index)") {
            let sender = try ManyToOneSender.open(names[1], creating: nil)
            joined.meet()
            for number in 0..<perStream { try sender.send(message(10 + index, number), timeout: .seconds(20)) }
            sender.close()
        })
    }
    return threads
}

/// What a test received, checked as it comes: every stream in order, each from the right source.
private struct Tally {
    let keys: MixedKeys
    var next: [Int: Int] = [0: 0, 10: 0, 11: 0, 20: 0]
    var senders: [Int: SenderTag] = [:]
    var ended: Set<ChannelWaitSet.Key> = []
    var events: Set<EventID> = []
    var doneSeen: Bool { events.contains(doneEvent) }

    mutating func record(_ item: WaitSetMessage) {
        switch item {
        case .received(let key, let bytes):
            #expect(key == keys.channel)
            check(bytes, streams: [0])
        case .fromSender(let key, let message):
            #expect(key == keys.many)
            if let (stream, _) = decode(message.bytes) {
                // One sender tag per stream, and two streams, two tags.
                #expect(senders[stream, default: message.sender] == message.sender)
                senders[stream] = message.sender
            }
            check(message.bytes, streams: [10, 11])
        case .fromPublisher(let key, let message):
            #expect(key == keys.topic)
            #expect(message.missedBefore == 0)
            check(message.bytes, streams: [20])
        case .events(let key, let ids):
            #expect(key == keys.events)
            #expect(!ids.isEmpty && ids == ids.sorted())
            events.formUnion(ids)
        case .ended(let key):
            #expect([keys.channel, keys.many, keys.topic].contains(key))
            #expect(!ended.contains(key), "\(key) ended twice")
            ended.insert(key)
        case .failed(let key, let error):
            Issue.record("\(key) failed: \(error)")
        case .published(let key, _):
            Issue.record("\(key) is no subscriber")
        }
    }

    private mutating func check(_ bytes: [UInt8], streams: Set<Int>) {
        guard let (stream, number) = decode(bytes), streams.contains(stream) else {
            Issue.record("a stranger message of \(bytes.count) bytes")
            return
        }
        #expect(number == next[stream], "stream \(stream): \(number) after \(next[stream]!)")
        next[stream] = number + 1
    }

    func expectComplete(perStream: Int) {
        #expect(next == [0: perStream, 10: perStream, 11: perStream, 20: perStream])
        #expect(ended == [keys.channel, keys.many, keys.topic])
        #expect(Set(senders.values).count == 2)
        #expect(doneSeen)
    }
}

@Suite("Wait sets over every kind of source", .serialized)
struct WaitSetServiceTests {
    static let perStream = 2000

    @Test("Blocking waits over a channel, a many-to-one channel with two senders, a topic and events: every message once, in order, then every end")
    func blockingMixed() async throws {
        try await withNames(4) { names in
            var set = ChannelWaitSet()
            let keys = try fillMixed(&set, names)
            var tally = Tally(keys: keys)
            let threads = startFeeders(names, perStream: Self.perStream)
            let deadline = ContinuousClock.now + .seconds(60)
            while !set.isEmpty, ContinuousClock.now < deadline {
                let ready = blockingWait(set, .seconds(5))
                #expect(!ready.isEmpty, "a wait timed out with sources still sending")
                for item in ready {
                    if case .failed(let error) = item.readiness { Issue.record("\(item.key): \(error)") }
                    // Ready means a receive finds something now: a message, ids, or the end.
                    let received = set.tryReceive(from: item.key)
                    #expect(received != nil, "\(item.key) was reported ready with nothing to receive")
                    if let received { tally.record(received) }
                }
                if tally.doneSeen, set.keys.contains(keys.events) {
                    let handedBack = set.removeListener(keys.events) != nil
                    #expect(handedBack)
                }
            }
            for thread in threads { while !thread.isFinished { usleep(1000) } }
            tally.expectComplete(perStream: Self.perStream)
        }
    }

    @Test("Async waits over the four kinds: every message once, in order, then every end")
    func asyncMixed() async throws {
        try await withNames(4) { names in
            var set = ChannelWaitSet()
            let keys = try fillMixed(&set, names)
            var tally = Tally(keys: keys)
            let threads = startFeeders(names, perStream: Self.perStream)
            let deadline = ContinuousClock.now + .seconds(60)
            while !set.isEmpty, ContinuousClock.now < deadline {
                let ready = try await set.wait(timeout: .seconds(5))
                #expect(!ready.isEmpty, "a wait timed out with sources still sending")
                for item in ready {
                    // Take everything there is, so that waits do not outnumber messages.
                    while let received = set.tryReceive(from: item.key) {
                        tally.record(received)
                        if case .ended = received { break }
                        if case .failed = received { break }
                    }
                }
                if tally.doneSeen, set.keys.contains(keys.events) { set.remove(keys.events) }
            }
            for thread in threads { while !thread.isFinished { usleep(1000) } }
            tally.expectComplete(perStream: Self.perStream)
        }
    }

    @Test("messages() merges the four kinds in one task: every message, the events, every end")
    func mergedMixed() async throws {
        try await withNames(4) { names in
            var set = ChannelWaitSet()
            let keys = try fillMixed(&set, names)
            var tally = Tally(keys: keys)
            let threads = startFeeders(names, perStream: Self.perStream)
            for try await item in set.messages() {
                tally.record(item)
                // The listener never ends: stop once the rest ended and the last id came.
                if tally.ended.count == 3, tally.doneSeen { break }
            }
            for thread in threads { while !thread.isFinished { usleep(1000) } }
            tally.expectComplete(perStream: Self.perStream)
        }
    }

    @Test("A sender that joins while the set sleeps wakes it; a second sender's new ring is waited on; the end is reported")
    func joinWakesTheSet() async throws {
        try await withNames(2) { names in
            var set = ChannelWaitSet()
            let channel = set.add(try ChannelReceiver.open(names[0], creating: smallRing))
            let many = set.add(try ManyToOneReceiver.open(names[1], creating: manyShape))
            #expect(blockingWait(set, .zero).isEmpty, "no sender joined: nothing is ready, not even an end")
            let go = Barrier(2)
            let second = Barrier(2)
            let first = startThread("first sender") {
                usleep(20_000) // the set is asleep by now, most likely: its words do not include this ring yet
                let sender = try ManyToOneSender.open(names[1], creating: nil)
                try sender.send(message(1, 0))
                go.meet()
                second.meet() // stays joined until the second sender sent
                sender.close()
            }
            #expect(blockingWait(set, .seconds(10)) == [ChannelWaitSet.Ready(key: many, readiness: .message)])
            guard case .fromSender(_, let firstMessage)? = set.tryReceive(from: many) else {
                Issue.record("no message from the first sender")
                return
            }
            #expect(decode(firstMessage.bytes).map { [$0.stream, $0.number] } == [1, 0])
            go.meet()
            let later = startThread("second sender") {
                usleep(20_000)
                let sender = try ManyToOneSender.open(names[1], creating: nil)
                try sender.send(message(2, 0))
                second.meet()
                sender.close()
            }
            #expect(blockingWait(set, .seconds(10)) == [ChannelWaitSet.Ready(key: many, readiness: .message)])
            guard case .fromSender(_, let secondMessage)? = set.tryReceive(from: many) else {
                Issue.record("no message from the second sender")
                return
            }
            #expect(decode(secondMessage.bytes).map { [$0.stream, $0.number] } == [2, 0])
            #expect(secondMessage.sender != firstMessage.sender)
            for thread in [first, later] { while !thread.isFinished { usleep(1000) } }
            // Both left and everything is received: the channel ended.
            #expect(blockingWait(set, .seconds(10)) == [ChannelWaitSet.Ready(key: many, readiness: .closed)])
            #expect(set.tryReceive(from: many) == .ended(many))
            #expect(set.keys == [channel])
        }
    }

    @Test("Service sources are lent by key and handed back; a key of another kind gives nil")
    func ownership() async throws {
        try await withNames(3) { names in
            var set = ChannelWaitSet()
            let channel = set.add(try ChannelReceiver.open(names[0], creating: smallRing))
            let many = set.add(try ManyToOneReceiver.open(names[1], creating: manyShape))
            let topic = set.add(try TopicSubscriber.open(names[2], creating: topicShape))
            let senderSlots = set.withManyToOneReceiver(many) { $0.maxSenders }
            let topicName = set.withTopicSubscriber(topic) { $0.name }
            #expect(senderSlots == 4 && topicName == names[2])
            let wrongKinds = [set.withManyToOneReceiver(topic) { _ in 1 }, set.withTopicSubscriber(channel) { _ in 1 },
                              set.withReceiver(many) { _ in 1 }, set.withSubscriber(topic) { _ in 1 }]
            #expect(wrongKinds == [nil, nil, nil, nil])
            let notATopic = set.removeTopicSubscriber(many) == nil
            let notAMany = set.removeManyToOneReceiver(topic) == nil
            #expect(notATopic && notAMany && set.count == 3)
            // Handed back, the receiver still holds the owner role: a second one is refused.
            guard let receiver = set.removeManyToOneReceiver(many) else {
                Issue.record("the many-to-one receiver was not handed back")
                return
            }
            #expect(throws: ChannelError.self) { _ = try ManyToOneReceiver.open(names[1], creating: nil) }
            let sender = try ManyToOneSender.open(names[1], creating: nil)
            try sender.send(message(5, 0))
            let received = try receiver.receive(timeout: .seconds(5))
            #expect(received.flatMap { decode($0.bytes) }.map { [$0.stream, $0.number] } == [5, 0])
            sender.close()
            receiver.close()
            guard let subscriber = set.removeTopicSubscriber(topic) else {
                Issue.record("the topic subscriber was not handed back")
                return
            }
            #expect(subscriber.attachedPublishers.isEmpty)
            subscriber.leave()
            #expect(set.keys == [channel])
        }
    }
}

/// The blocking wait (an async context picks the async overload).
private func blockingWait(_ set: borrowing ChannelWaitSet, _ timeout: Duration?) -> [ChannelWaitSet.Ready] {
    set.wait(timeout: timeout)
}
