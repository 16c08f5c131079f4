import Foundation
import Glibc
@testable import SharedMemory
import Synchronization
import Testing

/// Unique names for `count` segments, removed afterwards whatever the test does.
private func withNames<R>(_ count: Int, _ body: ([SegmentName]) async throws -> R) async throws -> R {
    let names = (0..<count).map { _ in TestNames.unique("ws") }
    defer { for name in names { _ = shm_unlink("/" + name) } }
    return try await body(try names.map { try SegmentName($0) })
}

/// A message of source `source`, number `number`: 16 bytes that say both.
private func message(_ source: Int, _ number: Int) -> [UInt8] {
    var words = (UInt64(source), UInt64(number))
    return withUnsafeBytes(of: &words) { Array($0) }
}

private func decode(_ bytes: [UInt8]) -> (source: Int, number: Int)? {
    guard bytes.count == 16 else { return nil }
    return bytes.withUnsafeBytes { (Int($0.load(as: UInt64.self)), Int($0.load(fromByteOffset: 8, as: UInt64.self))) }
}

/// Sends `count` messages of source `source` on a channel or as a publisher, from a thread of its own, then closes.
private func startWriter(_ name: SegmentName, channel: Bool, source: Int, count: Int, pause: useconds_t = 0) -> Thread {
    let thread = Thread {
        do {
            if channel {
                let sender = try ChannelSender.open(name, creating: nil)
                for number in 0..<count {
                    try sender.send(message(source, number), timeout: .seconds(20))
                    if pause > 0 { usleep(pause) }
                }
                sender.close()
            } else {
                let publisher = try Publisher.open(name, creating: nil)
                for number in 0..<count {
                    try publisher.send(message(source, number), timeout: .seconds(20))
                    if pause > 0 { usleep(pause) }
                }
                publisher.close()
            }
        } catch {
            Issue.record("writer \(source): \(error)")
        }
    }
    thread.start()
    return thread
}

private let smallRing = RingConfiguration(capacity: 4096, maxMessageSize: 64)
private let smallPubSub = PublishSubscribeConfiguration(ring: smallRing, subscriberSlots: 2)

/// Adds 16 receivers and 16 subscribers over `names` (32 of them); the flavour of each key.
private func fillSet(_ set: inout ChannelWaitSet, _ names: [SegmentName], sources: Int) throws -> [ChannelWaitSet.Key: Bool] {
    var channelOf: [ChannelWaitSet.Key: Bool] = [:]
    for (index, name) in names.prefix(sources).enumerated() {
        if index % 2 == 0 {
            channelOf[set.add(try ChannelReceiver.open(name, creating: smallRing))] = true
        } else {
            channelOf[set.add(try Subscriber.open(name, creating: smallPubSub))] = false
        }
    }
    return channelOf
}

@Suite("Wait sets", .serialized)
struct WaitSetTests {
    @Test("32 sources with writers in threads: every message once, in order, readiness right, every end seen")
    func thirtyTwoSources() async throws {
        try await withNames(32) { names in
            var set = ChannelWaitSet()
            let channelOf = try fillSet(&set, names, sources: 32)
            let perSource = 2000
            let threads = names.enumerated().map { index, name in
                startWriter(name, channel: index % 2 == 0, source: index, count: perSource)
            }
            var next = [Int](repeating: 0, count: 32)
            var ended = Set<ChannelWaitSet.Key>()
            var waits = 0
            let deadline = ContinuousClock.now + .seconds(60)
            while !set.isEmpty, ContinuousClock.now < deadline {
                let ready = blockingWait(set, .seconds(5))
                waits += 1
                #expect(!ready.isEmpty, "a wait timed out with writers still sending")
                for item in ready {
                    switch item.readiness {
                    case .message, .closed:
                        // Ready means a receive finds something now: a message, or the end.
                        let received = set.tryReceive(from: item.key)
                        #expect(received != nil, "\(item.key) was reported ready with nothing to receive")
                        var payload: (ChannelWaitSet.Key, [UInt8])?
                        switch received {
                        case .received(let key, let bytes):
                            #expect(channelOf[key] == true)
                            payload = (key, bytes)
                        case .published(let key, let message):
                            #expect(channelOf[key] == false)
                            payload = (key, message.bytes)
                        case .ended(let key):
                            #expect(next[key.rawValue] == perSource)
                            ended.insert(key)
                        case .failed(let key, let error):
                            Issue.record("\(key) failed: \(error)")
                        case .events(let key, _), .fromSender(let key, _), .fromPublisher(let key, _):
                            Issue.record("\(key) is no listener or service reader")
                        case nil:
                            break
                        }
                        if let (key, bytes) = payload {
                            guard let (source, number) = decode(bytes) else {
                                Issue.record("a torn message from \(key)")
                                continue
                            }
                            #expect(source == key.rawValue)
                            #expect(number == next[source], "source \(source): \(number) after \(next[source] - 1)")
                            next[source] = number + 1
                        }
                    case .failed(let error):
                        Issue.record("\(item.key) failed: \(error)")
                        set.remove(item.key)
                    }
                }
            }
            for thread in threads { while !thread.isFinished { usleep(1000) } }
            #expect(ended.count == 32)
            #expect(next == [Int](repeating: perSource, count: 32))
            // Fewer waits than messages: each wait reports every ready source, not one.
            #expect(waits < 32 * perSource)
        }
    }

    @Test("A sleeping set is woken promptly by a message on any one of its sources, and reports only that one")
    func wokenByAnyOne() async throws {
        try await withNames(16) { names in
            var set = ChannelWaitSet()
            _ = try fillSet(&set, names, sources: 16)
            var latencies: [Int] = []
            for index in [3, 10, 15, 0, 7] {
                let sentAt = Atomic<Int>(0)
                // Opened, then a pause, then the message: the set is asleep when it comes.
                let thread = Thread {
                    do {
                        if index % 2 == 0 {
                            let sender = try ChannelSender.open(names[index], creating: nil)
                            usleep(120_000)
                            sentAt.store(monotonicNanoseconds(), ordering: .sequentiallyConsistent)
                            try sender.send(message(index, 0))
                            usleep(200_000)
                        } else {
                            let publisher = try Publisher.open(names[index], creating: nil)
                            usleep(120_000)
                            sentAt.store(monotonicNanoseconds(), ordering: .sequentiallyConsistent)
                            try publisher.send(message(index, 0))
                            usleep(200_000)
                        }
                    } catch { Issue.record("\(error)") }
                }
                thread.start()
                let ready = blockingWait(set, .seconds(10))
                let woken = monotonicNanoseconds()
                #expect(ready == [ChannelWaitSet.Ready(key: ChannelWaitSet.Key(rawValue: index), readiness: .message)])
                latencies.append((woken - sentAt.load(ordering: .sequentiallyConsistent)) / 1000)
                let key = ChannelWaitSet.Key(rawValue: index)
                switch set.tryReceive(from: key) {
                case .received(_, let bytes): #expect(index % 2 == 0 && decode(bytes)?.number == 0)
                case .published(_, let message): #expect(index % 2 == 1 && decode(message.bytes)?.number == 0)
                case let other: Issue.record("\(String(describing: other)) instead of the message")
                }
                while !thread.isFinished { usleep(1000) }
                // The writer closed: the source is drained and closed now, and leaves the set.
                #expect(blockingWait(set, .seconds(5)) == [ChannelWaitSet.Ready(key: key, readiness: .closed)])
                #expect(set.tryReceive(from: key) == .ended(key))
            }
            // Woken by the writer's futex wake, not found at the next 50 ms look.
            let median = latencies.sorted()[latencies.count / 2]
            #expect(median < 25_000, "wake-up latencies in microseconds: \(latencies)")
        }
    }

    @Test("Timeouts: zero only looks, a short one ends on time, an empty set returns at once")
    func timeouts() async throws {
        try await withNames(4) { names in
            #expect(blockingWait(ChannelWaitSet(), nil).isEmpty)
            var set = ChannelWaitSet()
            _ = try fillSet(&set, names, sources: 4)
            #expect(blockingWait(set, .zero).isEmpty)
            let start = ContinuousClock.now
            #expect(blockingWait(set, .milliseconds(120)).isEmpty)
            let elapsed = ContinuousClock.now - start
            #expect(elapsed >= .milliseconds(120) && elapsed < .milliseconds(600), "\(elapsed)")
            let asyncStart = ContinuousClock.now
            #expect(try await set.wait(timeout: .milliseconds(80)).isEmpty)
            let asyncElapsed = ContinuousClock.now - asyncStart
            #expect(asyncElapsed >= .milliseconds(80) && asyncElapsed < .seconds(2), "\(asyncElapsed)")
            // Garbage in a sleepers count (another process may write anything) changes nothing.
            set.withReceiver(ChannelWaitSet.Key(rawValue: 0)) { receiver in
                receiver.reader.core.dataSleepers.pointee.store(UInt32.max, ordering: .relaxed)
            }
            #expect(blockingWait(set, .milliseconds(20)).isEmpty)
        }
    }

    @Test("Sources are lent by key and handed back; a removed one is no longer waited on")
    func ownership() async throws {
        try await withNames(2) { names in
            var set = ChannelWaitSet()
            let channel = set.add(try ChannelReceiver.open(names[0], creating: smallRing))
            let ring = set.add(try Subscriber.open(names[1], creating: smallPubSub))
            #expect(set.keys == [channel, ring])
            #expect(set.withSubscriber(channel) { _ in 1 } == nil)
            #expect(set.withReceiver(channel) { $0.name } == names[0])
            let sender = try ChannelSender.open(names[0], creating: nil)
            try sender.send([1, 2, 3])
            #expect(blockingWait(set, .seconds(5)) == [ChannelWaitSet.Ready(key: channel, readiness: .message)])
            guard let receiver = set.removeReceiver(channel) else {
                Issue.record("the receiver was not handed back")
                return
            }
            #expect(set.count == 1)
            let handedBackTwice = set.removeReceiver(channel) != nil
            #expect(!handedBackTwice)
            #expect(try receiver.tryReceive() == [1, 2, 3])
            #expect(blockingWait(set, .zero).isEmpty)
            #expect(set.remove(ring) && set.isEmpty)
        }
    }

    @Test("An event listener in a set: a sleeping set is woken by a notify from another thread; ids arrive as events")
    func listener() async throws {
        try await withNames(2) { names in
            var set = ChannelWaitSet()
            let channel = set.add(try ChannelReceiver.open(names[0], creating: smallRing))
            let events = set.add(try EventListener.open(names[1]))
            #expect(blockingWait(set, .zero).isEmpty)
            for round in 0..<20 {
                let id = try #require(EventID(round * 100))
                let notifying = Thread {
                    usleep(2_000)
                    do {
                        let notifier = try EventNotifier.open(names[1], creating: false)
                        try notifier.notify(id)
                        try notifier.notify(id)
                    } catch {
                        Issue.record("notifier: \(error)")
                    }
                }
                notifying.start()
                #expect(blockingWait(set, .seconds(5)) == [ChannelWaitSet.Ready(key: events, readiness: .message)])
                // Both notifies are in before the take (the set may wake after the first).
                while !notifying.isFinished { usleep(500) }
                #expect(set.tryReceive(from: events) == .events(events, [id]), "round \(round): repeats coalesce")
            }
            #expect(set.tryReceive(from: events) == nil)
            let back = set.removeListener(events)
            let handedBack = back != nil
            #expect(handedBack && set.keys == [channel])
            let notAListener = set.removeListener(channel) == nil
            #expect(notAListener)
        }
    }

    @Test("The async wait is woken by a message and ends with .cancelled when its task is")
    func asyncWait() async throws {
        try await withNames(3) { names in
            var set = ChannelWaitSet()
            _ = try fillSet(&set, names, sources: 3)
            let thread = startWriter(names[2], channel: true, source: 2, count: 1, pause: 0)
            let ready = try await set.wait(timeout: .seconds(10))
            #expect(ready.map(\.key.rawValue) == [2])
            while !thread.isFinished { usleep(1000) }
            _ = set.tryReceive(from: ChannelWaitSet.Key(rawValue: 2))
            #expect(set.tryReceive(from: ChannelWaitSet.Key(rawValue: 2)) == .ended(ChannelWaitSet.Key(rawValue: 2)))
            let waiting = Task { [set = consume set] () async throws(ChannelError) -> Int in
                try await set.wait(timeout: .seconds(30)).count
            }
            try await Task.sleep(for: .milliseconds(50))
            let start = ContinuousClock.now
            waiting.cancel()
            let outcome = await waiting.result
            #expect(ContinuousClock.now - start < .seconds(2))
            #expect(throws: ChannelError.cancelled) { try outcome.get() }
        }
    }

    @Test("The async merge delivers every message of several sources in one task, then every end")
    func asyncMerge() async throws {
        try await withNames(6) { names in
            var set = ChannelWaitSet()
            _ = try fillSet(&set, names, sources: 6)
            let perSource = 3000
            let threads = names.enumerated().map { index, name in
                startWriter(name, channel: index % 2 == 0, source: index, count: perSource)
            }
            var next = [Int](repeating: 0, count: 6)
            var ended = 0
            for try await item in set.messages() {
                switch item {
                case .received(let key, let bytes):
                    #expect(key.rawValue % 2 == 0)
                    let (source, number) = try #require(decode(bytes))
                    #expect(source == key.rawValue && number == next[source])
                    next[source] = number + 1
                case .published(let key, let message):
                    #expect(key.rawValue % 2 == 1)
                    let (source, number) = try #require(decode(message.bytes))
                    #expect(source == key.rawValue && number == next[source] && message.sequence == UInt64(number))
                    next[source] = number + 1
                case .ended(let key):
                    #expect(next[key.rawValue] == perSource)
                    ended += 1
                case .failed(let key, let error):
                    Issue.record("\(key): \(error)")
                case .events(let key, _), .fromSender(let key, _), .fromPublisher(let key, _):
                    Issue.record("\(key) is no listener or service reader")
                }
            }
            for thread in threads { while !thread.isFinished { usleep(1000) } }
            #expect(ended == 6)
            #expect(next == [Int](repeating: perSource, count: 6))
        }
    }
}

/// The blocking wait (an async context picks the async overload).
private func blockingWait(_ set: borrowing ChannelWaitSet, _ timeout: Duration?) -> [ChannelWaitSet.Ready] {
    set.wait(timeout: timeout)
}

/// CLOCK_MONOTONIC in nanoseconds, comparable between threads.
private func monotonicNanoseconds() -> Int {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return time.tv_sec * 1_000_000_000 + time.tv_nsec
}
