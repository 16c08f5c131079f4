import Foundation
import Glibc
@testable import SharedMemory
import Testing

@Suite("Many-to-one channels in one process")
struct ManyToOneTests {
    static let small = ManyToOneConfiguration(maxSenders: 4, ring: RingConfiguration(capacity: 4096, maxMessageSize: 1000))

    /// Writes `bytes` at payload offset `offset` of the segment `name` (as a hostile process could).
    static func poke(_ name: String, payloadOffset offset: Int, _ bytes: [UInt8]) {
        let fd = open("/dev/shm/" + name, O_RDWR)
        precondition(fd >= 0)
        defer { close(fd) }
        let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(SegmentHeader.size + offset)) }
        precondition(written == bytes.count)
    }

    static func le32(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }
    static func le64(_ value: UInt64) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }

    @Test("Three senders: every message tagged with its sender, in order per sender, then the end")
    func tagsAndOrder() throws {
        try withUniqueName("m1") { name in
            let segmentName = try SegmentName(name)
            let receiver = try ManyToOneReceiver.open(segmentName, creating: Self.small)
            #expect(receiver.maxSenders == 4)
            // Before any sender joined, there is no end yet.
            #expect(try receiver.tryReceive() == nil)
            #expect(channelError { () throws(ChannelError) in try receiver.receive(timeout: .milliseconds(20)) } == .timedOut)
            var senders: [SenderBox] = []
            for _ in 0..<3 { senders.append(SenderBox(try ManyToOneSender.open(segmentName, creating: nil))) }
            let tags = senders.map(\.tag)
            #expect(Set(tags.map(\.slot)).count == 3 && Set(tags.map(\.session)).count == 3)
            // Each sender's ring holds a batch: send one, receive all, four times.
            var next = [0, 0, 0]
            var extra = 0
            for batch in 0..<4 {
                for round in (batch * 50)..<(batch * 50 + 50) {
                    for (index, box) in senders.enumerated() { try box.sender?.send("\(index) \(round)") }
                    if round % 7 == 0 { #expect(try senders[0].sender?.trySend("0 x\(round)") == true) }
                }
                while next.reduce(0, +) < (batch + 1) * 150 || extra < (batch * 50 + 49) / 7 + 1 {
                    let message = try #require(try receiver.receive(timeout: .seconds(5)))
                    let text = String(decoding: message.bytes, as: UTF8.self)
                    let parts = text.split(separator: " ")
                    let index = try #require(Int(parts[0]))
                    #expect(message.sender == tags[index], "\(text) tagged \(message.sender)")
                    if parts[1].hasPrefix("x") { extra += 1; continue }
                    #expect(Int(parts[1]) == next[index], "\(text)")
                    next[index] += 1
                }
            }
            #expect(try receiver.tryReceive() == nil)
            #expect(next == [200, 200, 200] && extra == 29)
            #expect(receiver.attachedSenders.count == 3)
            for box in senders { box.sender = nil }
            #expect(try receiver.receive(timeout: .seconds(5)) == nil)
            #expect(channelError { () throws(ChannelError) in try receiver.tryReceive() } == .closed)
        }
    }

    @Test("async: messages() from two sender threads, each sender's in order, ends when both left")
    func asyncMessages() async throws {
        let name = TestNames.unique("m9")
        defer { _ = shm_unlink("/" + name) }
        let segmentName = try SegmentName(name)
        let receiver = try ManyToOneReceiver.open(segmentName, creating: Self.small)
        let threads = (0..<2).map { index in
            Thread {
                guard let sender = try? ManyToOneSender.open(segmentName, creating: nil) else { return }
                for number in 0..<2000 { try? sender.send("\(index) \(number)") }
            }
        }
        for thread in threads { thread.start() }
        var next = [0, 0]
        var senders: [Int: SenderTag] = [:]
        for try await message in receiver.messages() {
            let parts = String(decoding: message.bytes, as: UTF8.self).split(separator: " ")
            let index = try #require(Int(parts[0]))
            #expect(Int(parts[1]) == next[index])
            #expect(senders[index, default: message.sender] == message.sender)
            senders[index] = message.sender
            next[index] += 1
        }
        #expect(next == [2000, 2000])
    }

    @Test("async: receive(timeout:) suspends until a message comes, and times out")
    func asyncReceive() async throws {
        let name = TestNames.unique("m10")
        defer { _ = shm_unlink("/" + name) }
        let segmentName = try SegmentName(name)
        let receiver = try ManyToOneReceiver.open(segmentName, creating: Self.small)
        var timedOut: ChannelError?
        do throws(ChannelError) {
            let _: ManyToOneMessage? = try await receiver.receive(timeout: .milliseconds(30))
        } catch {
            timedOut = error
        }
        #expect(timedOut == .timedOut)
        let thread = Thread {
            usleep(50_000)
            if let sender = try? ManyToOneSender.open(segmentName, creating: nil) { try? sender.send("late") }
        }
        thread.start()
        let message: ManyToOneMessage? = try await receiver.receive(timeout: .seconds(5))
        #expect(message?.bytes == Array("late".utf8))
        let end: ManyToOneMessage? = try await receiver.receive(timeout: .seconds(5))
        #expect(end == nil)
    }

    @Test("A departed sender's unread messages are kept and delivered; its slot is reused afterwards")
    func departedSenderKept() throws {
        try withUniqueName("m2") { name in
            let segmentName = try SegmentName(name)
            let oneSlot = ManyToOneConfiguration(maxSenders: 1, ring: RingConfiguration(capacity: 4096, maxMessageSize: 100))
            var first: ManyToOneSender? = try ManyToOneSender.open(segmentName, creating: oneSlot)
            let maybeTag = first?.tag
            let firstTag = try #require(maybeTag)
            for index in 0..<10 { try first?.send([UInt8(index)]) }
            first = nil
            // The slot still holds unread messages: a new sender cannot take it yet.
            let blocked = channelError { () throws(ChannelError) in
                try ManyToOneSender.open(segmentName, creating: nil, joinTimeout: .milliseconds(50))
            }
            guard case .busy = blocked else { Issue.record("expected busy, got \(String(describing: blocked))"); return }
            let receiver = try ManyToOneReceiver.open(segmentName, creating: nil)
            for index in 0..<10 {
                let message = try #require(try receiver.receive(timeout: .seconds(5)))
                #expect(message.bytes == [UInt8(index)] && message.sender == firstTag)
            }
            #expect(try receiver.receive(timeout: .seconds(5)) == nil)
            // Drained and detached: the slot is free for a new session.
            let second = try ManyToOneSender.open(segmentName, creating: nil, joinTimeout: .seconds(5))
            #expect(second.tag.slot == 0 && second.tag.session != firstTag.session)
            try second.send("again")
            let message = try #require(try receiver.receive(timeout: .seconds(5)))
            #expect(message.bytes == Array("again".utf8) && message.sender == second.tag)
            second.close()
            #expect(try receiver.receive(timeout: .seconds(5)) == nil)
        }
    }

    @Test("Leave and rejoin: a sender's slot is reused with a new session while the receiver runs")
    func leaveAndRejoin() throws {
        try withUniqueName("m3") { name in
            let segmentName = try SegmentName(name)
            let receiver = try ManyToOneReceiver.open(segmentName, creating: ManyToOneConfiguration(maxSenders: 2, ring: Self.small.ring))
            let stay = try ManyToOneSender.open(segmentName, creating: nil)
            var sessions: Set<UInt32> = [stay.tag.session]
            for round in 0..<5 {
                let visitor = try ManyToOneSender.open(segmentName, creating: nil, joinTimeout: .seconds(5))
                #expect(visitor.tag.slot != stay.tag.slot)
                #expect(sessions.insert(visitor.tag.session).inserted)
                try visitor.send("visit \(round)")
                try stay.send("stay \(round)")
                let tag = visitor.tag
                visitor.close()
                var got: Set<String> = []
                for _ in 0..<2 {
                    let message = try #require(try receiver.receive(timeout: .seconds(5)))
                    let text = String(decoding: message.bytes, as: UTF8.self)
                    #expect(message.sender == (text.hasPrefix("visit") ? tag : stay.tag))
                    got.insert(text)
                }
                #expect(got == ["visit \(round)", "stay \(round)"])
                // The receiver notices the close and detaches the drained ring: the slot is free again.
                #expect(try receiver.tryReceive() == nil)
            }
        }
    }

    @Test("All sender slots taken: a joiner gets busy after its join timeout; a second receiver gets busy")
    func allSlotsBusy() throws {
        try withUniqueName("m4") { name in
            let segmentName = try SegmentName(name)
            let two = ManyToOneConfiguration(maxSenders: 2, ring: Self.small.ring)
            let a = try ManyToOneSender.open(segmentName, creating: two)
            let b = try ManyToOneSender.open(segmentName, creating: two)
            #expect(Set([a.tag.slot, b.tag.slot]) == [0, 1])
            let error = channelError { () throws(ChannelError) in
                try ManyToOneSender.open(segmentName, creating: two, joinTimeout: .milliseconds(100))
            }
            guard case .busy = error else { Issue.record("expected busy, got \(String(describing: error))"); return }
            let receiver = try ManyToOneReceiver.open(segmentName, creating: nil)
            let second = channelError { () throws(ChannelError) in try ManyToOneReceiver.open(segmentName, creating: nil) }
            guard case .busy = second else { Issue.record("expected busy, got \(String(describing: second))"); return }
            receiver.close()
            _ = try ManyToOneReceiver.open(segmentName, creating: nil)
        }
    }

    @Test("Shapes out of range are refused")
    func badShapes() throws {
        for senders in [0, -1, 65, Int.max] {
            withUniqueName("m5") { name in
                let error = channelError { () throws(ChannelError) in
                    try ManyToOneReceiver.open(try! SegmentName(name), creating: ManyToOneConfiguration(maxSenders: senders))
                }
                guard case .badChannel = error else { Issue.record("\(senders): \(String(describing: error))"); return }
                #expect(!segmentFileExists(name))
            }
        }
        try withUniqueName("m5") { name in
            _ = try ManyToOneReceiver.open(try SegmentName(name), creating: ManyToOneConfiguration(maxSenders: 64))
        }
    }

    @Test("A segment of another pattern or kind is refused by name")
    func wrongPattern() throws {
        try withUniqueName("m6") { name in
            let segmentName = try SegmentName(name)
            let shape = ServiceShape(pattern: .topic, members: 2, ring: Self.small.ring, readerSlots: 2)
            _ = try ServiceSegment.open(segmentName, expected: .topic, shape: shape, mode: 0o600, lifetime: .posix, backend: .default)
            for error in [channelError { () throws(ChannelError) in try ManyToOneReceiver.open(segmentName, creating: nil) },
                          channelError { () throws(ChannelError) in try ManyToOneSender.open(segmentName, creating: nil) }] {
                #expect(error == .badChannel("\(segmentName.posixName) is a topic, not a many-to-one channel"))
            }
        }
        try withUniqueName("m6") { name in
            let segmentName = try SegmentName(name)
            _ = try ChannelReceiver.open(segmentName)
            let error = channelError { () throws(ChannelError) in try ManyToOneReceiver.open(segmentName, creating: nil) }
            guard case .badChannel(let reason) = error else { Issue.record("\(String(describing: error))"); return }
            #expect(reason.contains("not a service"))
        }
    }

    @Test("Hostile service header words are refused with badChannel, never a trap")
    func hostileHeader() throws {
        let cases: [(offset: Int, bytes: [UInt8], says: String)] = [
            (ServiceLayout.Offset.magic, Self.le32(0x1234), "magic"),
            (ServiceLayout.Offset.version, Self.le32(0), "version 0"),
            (ServiceLayout.Offset.version, Self.le32(2), "version 2"),
            (ServiceLayout.Offset.pattern, Self.le32(99), "unknown service pattern 99"),
            (ServiceLayout.Offset.members, Self.le32(0), "0 members"),
            (ServiceLayout.Offset.members, Self.le32(UInt32.max), "members"),
            (ServiceLayout.Offset.members, Self.le32(3), "fill"),
            (ServiceLayout.Offset.ringsPerMember, Self.le32(2), "rings each"),
            (ServiceLayout.Offset.readerSlots, Self.le32(5), "reader slots"),
            (ServiceLayout.Offset.ringStride, Self.le64(UInt64.max & ~4095), "fill"),
            (ServiceLayout.Offset.ringStride, Self.le64(4097), "fill"),
            (ServiceLayout.Offset.ringStride, Self.le64(0), "fill"),
            (ServiceLayout.Offset.ringsOffset, Self.le64(UInt64.max), "fill"),
        ]
        for hostile in cases {
            try withUniqueName("m7") { name in
                let segmentName = try SegmentName(name)
                _ = try ManyToOneReceiver.open(segmentName, creating: Self.small)
                Self.poke(name, payloadOffset: hostile.offset, hostile.bytes)
                for error in [channelError { () throws(ChannelError) in try ManyToOneReceiver.open(segmentName, creating: nil) },
                              channelError { () throws(ChannelError) in try ManyToOneSender.open(segmentName, creating: nil) }] {
                    guard case .badChannel(let reason) = error else { Issue.record("\(hostile.says): \(String(describing: error))"); continue }
                    #expect(reason.contains(hostile.says), "\(reason)")
                }
            }
        }
    }

    @Test("A hostile ring word in an active sender's ring is refused with badChannel")
    func hostileRing() throws {
        try withUniqueName("m8") { name in
            let segmentName = try SegmentName(name)
            let sender = try ManyToOneSender.open(segmentName, creating: Self.small)
            try sender.send("x")
            let ringOffset = ServiceLayout.ringsOffset(members: 4) + sender.tag.slot * ServiceLayout.ringStride(capacity: 4096, slots: 1)
            // The receiver's cursor far behind the write position.
            Self.poke(name, payloadOffset: ringOffset + RingLayout.Offset.slots0 + RingLayout.SlotOffset.readPosition, Self.le64(3))
            let error = channelError { () throws(ChannelError) in try ManyToOneReceiver.open(segmentName, creating: nil) }
            guard case .badChannel = error else { Issue.record("\(String(describing: error))"); return }
        }
    }
}

/// Holds a sender, so that tests can keep several in an array and drop them at will.
final class SenderBox {
    var sender: ManyToOneSender?
    let tag: SenderTag
    init(_ sender: consuming ManyToOneSender) {
        tag = sender.tag
        self.sender = consume sender
    }
}
