import Foundation
import SharedMemory
import Testing

/// A wait set in this process over sources written by other processes.
@Suite("Wait sets over other processes")
struct WaitSetProcessTests {
    @Test("Senders and a publisher in other processes: every message once and in order; a killed sender is reported for its source alone")
    func otherProcesses() throws {
        try withUniqueName { base in
            let names = (0..<4).map { "\(base)-\($0)" }
            defer { for name in names { _ = shm_unlink("/" + name) } }
            let count = 20_000
            var set = ChannelWaitSet()
            let channelA = set.add(try ChannelReceiver.open(SegmentName(names[0])))
            let channelB = set.add(try ChannelReceiver.open(SegmentName(names[1])))
            let ring = set.add(try Subscriber.open(SegmentName(names[2])))
            let doomed = set.add(try ChannelReceiver.open(SegmentName(names[3])))
            let common = ["--count", "\(count)", "--max-size", "200"]
            let peers = [
                try ChildProcess("shm-test-peer", ["send", names[0]] + common),
                try ChildProcess("shm-test-peer", ["send", names[1], "--wait", "sleep"] + common),
                try ChildProcess("shm-test-peer", ["send", names[2], "--flavour", "pubsub", "--await-readers", "1"] + common),
            ]
            let victim = try ChildProcess("shm-test-peer", ["send", names[3], "--count", "5", "--hang"])
            try victim.waitForOutput(containing: "ready")
            usleep(100_000)
            victim.send(SIGKILL)
            _ = try victim.waitForExit()

            var next: [ChannelWaitSet.Key: UInt64] = [channelA: 0, channelB: 0, ring: 0, doomed: 0]
            var ended: Set<ChannelWaitSet.Key> = []
            var failure: ChannelError?
            let deadline = Date().addingTimeInterval(60)
            while !set.isEmpty, Date() < deadline {
                for ready in set.wait(timeout: .seconds(5)) {
                    let bytes: [UInt8]
                    switch set.tryReceive(from: ready.key) {
                    case .received(_, let received): bytes = received
                    case .published(_, let message):
                        #expect(message.sequence == next[ready.key])
                        bytes = message.bytes
                    case .ended(let key):
                        ended.insert(key)
                        continue
                    case .failed(let key, let error):
                        #expect(key == doomed, "\(key): \(error)")
                        failure = error
                        continue
                    case .events(let key, _), .fromSender(let key, _), .fromPublisher(let key, _):
                        Issue.record("\(key) is no listener or service reader")
                        continue
                    case nil:
                        if case .failed(let error) = ready.readiness {
                            #expect(ready.key == doomed, "\(ready.key): \(error)")
                            failure = error
                            set.remove(ready.key)
                        }
                        continue
                    }
                    let sequence = bytes.count >= 8 ? bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) } : .max
                    #expect(sequence == next[ready.key], "\(ready.key): message \(sequence) after \(next[ready.key]!)")
                    next[ready.key] = sequence + 1
                }
            }
            for peer in peers { #expect(try peer.waitForExit(timeout: 30) == 0, "\(peer.errorOutput)") }
            #expect(ended == [channelA, channelB, ring])
            #expect(next == [channelA: UInt64(count), channelB: UInt64(count), ring: UInt64(count), doomed: 5])
            #expect(failure == .peerDied("the sender of /\(names[3])"))
        }
    }
    @Test("A wait set over 32 sources of four kinds, fed by two processes: channels, many-to-one channels with two senders, topics with two publishers, events")
    func thirtyTwoSources() throws {
        try withUniqueName { base in
            let names = (0..<32).map { "\(base)-\($0)" }
            defer { for name in names { _ = shm_unlink("/" + name) } }
            let count = 300
            let ring = RingConfiguration(capacity: 8192, maxMessageSize: 64)
            var set = ChannelWaitSet()
            var kindOf: [ChannelWaitSet.Key: String] = [:]
            for (index, name) in names.enumerated() {
                let segment = try SegmentName(name)
                switch index % 4 {
                case 0: kindOf[set.add(try ChannelReceiver.open(segment, creating: ring))] = "channel"
                case 1: kindOf[set.add(try ManyToOneReceiver.open(segment, creating: ManyToOneConfiguration(maxSenders: 2, ring: ring)))] = "many"
                case 2: kindOf[set.add(try TopicSubscriber.open(segment, creating: TopicConfiguration(maxPublishers: 2, subscriberSlots: 1, ring: ring)))] = "topic"
                default: kindOf[set.add(try EventListener.open(segment))] = "events"
                }
            }
            let sources = set.count
            #expect(sources == 32)
            // Each channel is fed by one of the two feeders; every other source by both.
            func targets(feeder: Int) -> [String] {
                names.enumerated().compactMap { index, name in
                    switch index % 4 {
                    case 0: index / 4 % 2 == feeder ? "channel:\(name)" : nil
                    case 1: "many:\(name)"
                    case 2: "topic:\(name)"
                    default: "events:\(name)"
                    }
                }
            }
            let feeders = try (0..<2).map { feeder in
                try ChildProcess("shm-test-peer", ["feed", "--id", "\(feeder)", "--count", "\(count)"] + targets(feeder: feeder))
            }
            // A publisher waits for the subscribers present to attach, which they do in the set's waits.
            let start = Date()
            while !feeders.allSatisfy({ $0.output.contains("ready") }), Date() < start.addingTimeInterval(30) {
                let early = set.wait(timeout: .milliseconds(20))
                #expect(early.isEmpty, "nothing is sent before the go")
                for feeder in feeders where !feeder.isRunning { Issue.record("a feeder stopped: \(feeder.errorOutput)") }
            }
            for feeder in feeders { feeder.pressEnter() }

            var next: [ChannelWaitSet.Key: [UInt32: UInt32]] = [:]
            var ended: Set<ChannelWaitSet.Key> = []
            var events: [ChannelWaitSet.Key: Set<EventID>] = [:]
            func record(_ key: ChannelWaitSet.Key, _ bytes: [UInt8]) {
                guard bytes.count == 8 else {
                    Issue.record("\(key): a message of \(bytes.count) bytes")
                    return
                }
                let (feeder, sequence) = bytes.withUnsafeBytes {
                    (UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)), UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
                }
                #expect(sequence == next[key, default: [:]][feeder, default: 0], "\(key) feeder \(feeder): \(sequence)")
                next[key, default: [:]][feeder] = sequence + 1
            }
            let deadline = Date().addingTimeInterval(60)
            while !set.isEmpty, Date() < deadline {
                let ready = set.wait(timeout: .seconds(5))
                #expect(!ready.isEmpty, "a wait timed out with feeders still sending")
                for item in ready {
                    switch set.tryReceive(from: item.key) {
                    case .received(let key, let bytes): record(key, bytes)
                    case .fromSender(let key, let message): record(key, message.bytes)
                    case .fromPublisher(let key, let message):
                        #expect(message.missedBefore == 0)
                        record(key, message.bytes)
                    case .events(let key, let ids):
                        events[key, default: []].formUnion(ids)
                        if events[key] == [EventID(1)!, EventID(2)!] { set.remove(key) }
                    case .ended(let key): ended.insert(key)
                    case .failed(let key, let error): Issue.record("\(key) (\(kindOf[key]!)) failed: \(error)")
                    case .published(let key, _): Issue.record("\(key) is no subscriber")
                    case nil: Issue.record("\(item.key) (\(kindOf[item.key]!)) was reported \(item.readiness) with nothing to receive")
                    }
                }
            }
            for feeder in feeders { #expect(try feeder.waitForExit(timeout: 30) == 0, "\(feeder.errorOutput)") }
            let left = set.keys
            #expect(left.isEmpty)
            for (key, kind) in kindOf {
                switch kind {
                case "events": #expect(events[key] == [EventID(1)!, EventID(2)!], "\(key)")
                case "channel":
                    #expect(ended.contains(key) && next[key]?.count == 1 && next[key]?.values.first == UInt32(count), "\(key)")
                default:
                    #expect(ended.contains(key) && next[key] == [0: UInt32(count), 1: UInt32(count)], "\(key) (\(kind))")
                }
            }
        }
    }
    @Test("A many-to-one sender killed while the set waits is no failure: what it sent is delivered, the other sender goes on, then the end")
    func killedSender() throws {
        try withUniqueName { base in
            let names = ["\(base)-many", "\(base)-idle"]
            defer { for name in names { _ = shm_unlink("/" + name) } }
            var set = ChannelWaitSet()
            let shape = ManyToOneConfiguration(maxSenders: 4, ring: RingConfiguration(capacity: 1 << 18, maxMessageSize: 1024))
            let many = set.add(try ManyToOneReceiver.open(SegmentName(names[0]), creating: shape))
            let idle = set.add(try ChannelReceiver.open(SegmentName(names[1])))
            let victim = try ChildProcess("shm-test-peer", ["many-send", names[0], "--count", "5", "--hang"])
            try victim.waitForOutput(containing: "ready")
            let survivor = try ChildProcess("shm-test-peer", ["many-send", names[0], "--count", "50", "--hold-until-input-ends"])
            try survivor.waitForOutput(containing: "holding")
            victim.send(SIGKILL)
            _ = try victim.waitForExit()
            var perSender: [SenderTag: Int] = [:]
            var ended = false
            let deadline = Date().addingTimeInterval(30)
            while !ended, Date() < deadline {
                for ready in set.wait(timeout: .seconds(5)) {
                    #expect(ready.key == many, "\(ready.key) \(ready.readiness)")
                    switch set.tryReceive(from: ready.key) {
                    case .fromSender(_, let message): perSender[message.sender, default: 0] += 1
                    case .ended: ended = true
                    case let other: Issue.record("\(ready.key): \(String(describing: other))")
                    }
                }
                // Both senders' messages are in: the survivor may leave.
                if perSender.values.reduce(0, +) == 55 { survivor.closeInput() }
            }
            #expect(try survivor.waitForExit(timeout: 30) == 0, "\(survivor.errorOutput)")
            #expect(ended)
            #expect(perSender.values.sorted() == [5, 50])
            #expect(set.keys == [idle])
        }
    }
}
