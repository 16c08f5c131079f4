import Glibc
@testable import SharedMemory
import Testing

/// A 16-byte message for the typed-service test.
private struct Reading: PlainData {
    var time: UInt64
    var value: Double
}

/// The service directory in one process: kinds, configuration, participants
/// (alive as the role locks say), counters, waiting, and hostile segments
/// reported with a problem instead of a crash. Only looks at the segments a
/// test made.
@Suite("Service directory")
struct ServiceDirectoryTests {
    static func service(_ name: String) throws -> ServiceInfo {
        try ServiceDirectory.describe(try SegmentName(name))
    }

    @Test("A channel: its shape, sender and receiver alive, counters; a receiver that leaves is gone")
    func channel() throws {
        try withUniqueName("svc") { name in
            let segmentName = try SegmentName(name)
            let sender = try ChannelSender.open(segmentName, creating: RingConfiguration(capacity: 8192, maxMessageSize: 1000))
            var info = try Self.service(name)
            #expect(info.kind == .channel && info.segmentKind == 1 && info.problem == nil)
            #expect(info.configuration.capacity == 8192 && info.configuration.maxMessageSize == 1000)
            #expect(info.configuration.slots == 1 && info.configuration.alignment == 8 && info.configuration.policy == .lossless)
            #expect(info.configuration.messageTypeName == nil && info.configuration.layoutVersion == RingLayout.version)
            #expect(info.participants == [ServiceParticipant(role: .sender, alive: true, pid: getpid())])
            #expect(info.counters.published == 0)
            do {
                let receiver = try ChannelReceiver.open(segmentName, creating: nil)
                for text in ["one", "two", "three"] { try sender.send(text) }
                _ = try receiver.receive(timeout: .seconds(5))
                info = try Self.service(name)
                #expect(info.counters.published == 3)
                #expect(info.alive(.receiver).map(\.slot) == [0])
                #expect(info.alive(.receiver).first?.received == 1)
                #expect(info.alive(.receiver).first?.pid == getpid()) // self-reported
                try ServiceDirectory.waitForParticipants(segmentName, role: .receiver, timeout: .seconds(5))
                try sender.waitForReceiver(timeout: .seconds(5))
            }
            // The receiver closed cleanly: its slot is left, not a participant.
            info = try Self.service(name)
            #expect(info.participants.map(\.role) == [.sender])
            #expect(caught { () throws(ChannelError) in try sender.waitForReceiver(timeout: .milliseconds(30)) } == .timedOut)
            sender.close()
            #expect(try Self.service(name).participants.isEmpty)
        }
    }

    @Test("A publish/subscribe ring: subscribers counted, waits met or timed out")
    func publishSubscribe() throws {
        try withUniqueName("svc") { name in
            let segmentName = try SegmentName(name)
            let configuration = PublishSubscribeConfiguration(ring: RingConfiguration(capacity: 16384), subscriberSlots: 4, policy: .overwrite)
            let publisher = try Publisher.open(segmentName, creating: configuration)
            let first = try Subscriber.open(segmentName, creating: nil)
            let second = try Subscriber.open(segmentName, creating: nil)
            try publisher.send([1, 2, 3])
            let info = try Self.service(name)
            #expect(info.kind == .publishSubscribe && info.problem == nil)
            #expect(info.configuration.slots == 4 && info.configuration.policy == .overwrite)
            #expect(info.alive(.publisher).count == 1)
            #expect(info.alive(.subscriber).count == 2)
            #expect(Set(info.alive(.subscriber).compactMap(\.slot)).count == 2)
            #expect(info.counters.published == 1)
            try publisher.waitForSubscribers(2, timeout: .seconds(5))
            // Any timeout, however large, is cut before it can overflow the clock.
            try publisher.waitForSubscribers(2, timeout: .seconds(Int64.max))
            #expect(caught { () throws(ChannelError) in try publisher.waitForSubscribers(3, timeout: .milliseconds(30)) } == .timedOut)
            first.leave()
            #expect(try Self.service(name).alive(.subscriber).count == 1)
            _ = consume second
            #expect(try Self.service(name).alive(.subscriber).isEmpty)
        }
    }

    @Test("An events segment: the listener alive, no notifier tracked, no counter")
    func events() throws {
        try withUniqueName("svc") { name in
            let segmentName = try SegmentName(name)
            let notifier = try EventNotifier.open(segmentName)
            var info = try Self.service(name)
            #expect(info.kind == .events && info.segmentKind == 2 && info.problem == nil)
            #expect(info.configuration.eventIDs == 4096 && info.configuration.layoutVersion == 1)
            #expect(info.participants.isEmpty && info.counters.published == nil)
            do {
                let listener = try EventListener.open(segmentName, creating: false)
                try notifier.notify(EventID(7)!)
                info = try ServiceDirectory.waitForParticipants(segmentName, role: .listener, timeout: .seconds(5))
                #expect(info.participants == [ServiceParticipant(role: .listener, alive: true)])
                _ = try listener.tryWait()
            }
            #expect(try Self.service(name).participants.isEmpty)
        }
    }

    @Test("A typed channel reports its message type's name")
    func typedChannel() throws {
        try withUniqueName("svc") { name in
            let sender = try TypedChannelSender<Reading>.open(try SegmentName(name))
            let info = try Self.service(name)
            #expect(info.configuration.messageTypeName == Reading.messageTypeName)
            _ = consume sender
        }
    }

    @Test("list() holds our services and leaves plain segments out; describe refuses what is no service")
    func listing() throws {
        try withUniqueName("svc") { ring in
            try withUniqueName("svc") { plain in
                try withUniqueName("svc") { missing in
                    let sender = try ChannelSender.open(try SegmentName(ring))
                    let data = try ManagedSegment.create(try SegmentName(plain), payloadSize: 64)
                    let listed = ServiceDirectory.list()
                    #expect(listed.filter { $0.name == "/" + ring }.map(\.kind) == [.channel])
                    #expect(!listed.contains { $0.name == "/" + plain })
                    let order = listed.map(\.segmentName.bytes)
                    #expect(order == order.sorted { $0.lexicographicallyPrecedes($1) })
                    let plainName = try SegmentName(plain), missingName = try SegmentName(missing)
                    guard case .badChannel = caught({ () throws(ChannelError) in try ServiceDirectory.describe(plainName) }) else {
                        Issue.record("a plain managed segment was described as a service")
                        return
                    }
                    guard case .segment(let error) = caught({ () throws(ChannelError) in try ServiceDirectory.describe(missingName) }) else {
                        Issue.record("a missing name was described")
                        return
                    }
                    #expect(error.errno == .noSuchFileOrDirectory)
                    // A service that never appears: the wait ends by its timeout.
                    #expect(caught { () throws(ChannelError) in
                        try ServiceDirectory.waitForParticipants(missingName, role: .receiver, timeout: .milliseconds(30))
                    } == .timedOut)
                    _ = consume sender
                    _ = consume data
                }
            }
        }
    }

    @Test("Random bytes in a kind-1 segment, and an unknown kind: listed with a problem, no crash")
    func hostileSegments() throws {
        var generator = SystemRandomNumberGenerator()
        try withUniqueName("svc") { name in
            try withUniqueName("svc") { unknown in
                let hostile = try ManagedSegment.create(try SegmentName(name), payloadSize: 8192, kind: RingLayout.segmentKind) { payload in
                    for index in payload.indices { payload[index] = UInt8.random(in: 0...255, using: &generator) }
                }
                let other = try ManagedSegment.create(try SegmentName(unknown), payloadSize: 64, kind: 9)
                let hostileName = try SegmentName(name)
                let listed = ServiceDirectory.list()
                let entry = try #require(listed.first { $0.name == "/" + name })
                #expect(entry.problem != nil)
                #expect(entry.participants.isEmpty)
                let stranger = try #require(listed.first { $0.name == "/" + unknown })
                #expect(stranger.kind == nil && stranger.segmentKind == 9 && stranger.problem != nil)
                #expect(caught { () throws(ChannelError) in
                    try ServiceDirectory.waitForParticipants(hostileName, role: .receiver, timeout: .seconds(1))
                }.map { if case .badChannel = $0 { true } else { false } } == true)
                _ = consume hostile
                _ = consume other
            }
        }
    }

    @Test("A ring whose control-block words are overwritten at random is described or refused, never trusted")
    func mutatedRings() throws {
        var generator = SystemRandomNumberGenerator()
        for round in 0..<200 {
            try withUniqueName("svc") { name in
                let segmentName = try SegmentName(name)
                let publisher = try Publisher.open(segmentName, creating: PublishSubscribeConfiguration(
                    ring: RingConfiguration(capacity: 4096), subscriberSlots: 4))
                let segment = try ManagedSegment.open(segmentName, access: .readWrite)
                let view = try segment.map(length: RingLayout.Offset.slots0 + 64 * 4)
                let base = view.unsafeBaseAddress
                // One to four 32-bit words of the control block and slots, any value.
                for _ in 0...(round % 4) {
                    let offset = 4 * Int.random(in: 0..<((RingLayout.Offset.slots0 + 64 * 4) / 4), using: &generator)
                    let value: UInt32 = round % 3 == 0 ? .max : UInt32.random(in: 0...UInt32.max, using: &generator)
                    base.storeBytes(of: value, toByteOffset: offset, as: UInt32.self)
                }
                let info = try ServiceDirectory.describe(segmentName)
                if info.problem == nil {
                    // What passed the checks is within the layout's bounds.
                    let slots = try #require(info.configuration.slots)
                    #expect((1...RingLayout.maxSlots).contains(slots))
                    #expect(info.participants.allSatisfy { $0.slot.map { (0..<slots).contains($0) } ?? true })
                    #expect(info.alive(.publisher).count <= 1)
                }
                _ = consume view
                _ = consume segment
                _ = consume publisher
            }
        }
    }

    @Test("Ring layout 4's words are read: the writer's and each reader's pid, the history depth")
    func layoutFourWords() throws {
        try withUniqueName("svc") { name in
            let segmentName = try SegmentName(name)
            let publisher = try Publisher.open(segmentName, creating: PublishSubscribeConfiguration(
                ring: RingConfiguration(capacity: 4096), subscriberSlots: 2))
            let subscriber = try Subscriber.open(segmentName, creating: nil)
            let slot = try #require(try ServiceDirectory.describe(segmentName).alive(.subscriber).first?.slot)
            let segment = try ManagedSegment.open(segmentName, access: .readWrite)
            let view = try segment.map(length: RingLayout.Offset.slots0 + 64 * 2)
            let base = view.unsafeBaseAddress
            // The pids are the writer's and reader's own; other values, written here by hand, are read back.
            base.storeBytes(of: UInt32(16).littleEndian, toByteOffset: RingLayout.Offset.historyDepth, as: UInt32.self)
            base.storeBytes(of: UInt32(4242).littleEndian, toByteOffset: RingLayout.Offset.writerPid, as: UInt32.self)
            base.storeBytes(of: UInt32(777).littleEndian,
                            toByteOffset: RingLayout.Offset.slots0 + 64 * slot + RingLayout.SlotOffset.pid, as: UInt32.self)
            var info = try ServiceDirectory.describe(segmentName)
            #expect(info.problem == nil && info.configuration.layoutVersion == RingLayout.version && info.configuration.historyDepth == 16)
            #expect(info.alive(.publisher).first?.pid == 4242)
            #expect(info.alive(.subscriber).first?.pid == 777)
            // A pid no process can have is no pid; liveness stays the lock's.
            base.storeBytes(of: UInt32.max, toByteOffset: RingLayout.Offset.writerPid, as: UInt32.self)
            info = try ServiceDirectory.describe(segmentName)
            #expect(info.participants.first { $0.role == .publisher } == ServiceParticipant(role: .publisher, alive: true))
            // An unknown later version is refused by name.
            base.storeBytes(of: UInt32(99).littleEndian, toByteOffset: RingLayout.Offset.version, as: UInt32.self)
            info = try ServiceDirectory.describe(segmentName)
            #expect(info.problem?.contains("ring layout version 99") == true)
            _ = consume view
            _ = consume segment
            _ = consume subscriber
            _ = consume publisher
        }
    }

    @Test("Self-reported pids: 0 and impossible values are no pid")
    func selfReportedPIDs() {
        #expect(selfReportedPID(nil) == nil)
        #expect(selfReportedPID(0) == nil)
        #expect(selfReportedPID(1) == 1)
        #expect(selfReportedPID(1 << 22) == 1 << 22)
        #expect(selfReportedPID((1 << 22) + 1) == nil)
        #expect(selfReportedPID(.max) == nil)
    }
}
