import Glibc
@testable import SharedMemory
import Synchronization
import Testing

/// Service segments in one process: members join by lock and reset their
/// rings, slots come free when their member leaves, the directory describes
/// them, and hostile header words are refused with a reason.
@Suite("Service segments")
struct ServiceSegmentTests {
    static func shape(_ pattern: ServicePattern, members: Int = 4) -> ServiceShape {
        ServiceShape(pattern: pattern, members: members, ring: RingConfiguration(capacity: 4096))
    }

    static func open(_ name: String, _ pattern: ServicePattern, members: Int = 4) throws -> ServiceSegment {
        try ServiceSegment.open(try SegmentName(name), expected: pattern, shape: shape(pattern, members: members),
                                mode: 0o600, lifetime: .posix, backend: .default)
    }

    @Test("Members take distinct slots and sessions; a slot comes free when its member leaves")
    func membersJoinAndLeave() throws {
        try withUniqueName("svc") { name in
            defer { try? SharedMemorySegment.remove(try SegmentName(name)) }
            // Locks belong to open file descriptions: each member opens the service itself.
            let service = try Self.open(name, .requestResponse, members: 2)
            let other = try Self.open(name, .requestResponse, members: 2)
            let first = try service.join(role: "client", timeout: .zero)
            let second = try other.join(role: "client", timeout: .zero)
            #expect(first.member != second.member)
            #expect(first.session != second.session)
            #expect(service.memberSession(first.member) == first.session)
            let third = try Self.open(name, .requestResponse, members: 2)
            let busy = caught { () throws(ChannelError) in try third.join(role: "client", timeout: .milliseconds(30)) }
            #expect(busy.map { "\($0)".contains("all 2 client slots") } == true)
            service.leave(first.member)
            let again = try third.join(role: "client", timeout: .zero)
            #expect(again.member == first.member)
            #expect(again.session != first.session)
        }
    }

    @Test("A many-to-one slot with unread messages stays with them until they are read")
    func unreadMessagesKeepTheirSlot() throws {
        try withUniqueName("svc") { name in
            defer { try? SharedMemorySegment.remove(try SegmentName(name)) }
            let service = try Self.open(name, .manyToOne, members: 1)
            let membership = try service.join(role: "sender", timeout: .zero)
            do {
                let writer = try RingWriter(core: try service.ring(member: membership.member, ring: 0), strategy: .sleep)
                try writer.write(UnsafeRawBufferPointer(start: nil, count: 0), timeout: .zero)
                writer.close()
            }
            service.leave(membership.member)
            let next = try Self.open(name, .manyToOne, members: 1)
            let refused = caught { () throws(ChannelError) in try next.join(role: "sender", timeout: .milliseconds(30)) }
            #expect(refused != nil)
            let receiver = try Self.open(name, .manyToOne, members: 1)
            let reader = try RingReader.receiver(core: try receiver.ring(member: 0, ring: 0), strategy: .sleep)
            #expect(try reader.tryReceive { $0.count } == 0)
            reader.detach()
            #expect(try next.join(role: "sender", timeout: .zero).member == 0)
        }
    }

    @Test("The directory lists the pattern, the owner and the live members")
    func directoryDescribesServices() throws {
        try withUniqueName("svc") { name in
            defer { try? SharedMemorySegment.remove(try SegmentName(name)) }
            let service = try Self.open(name, .manyToOne, members: 3)
            let membership = try service.join(role: "sender", timeout: .zero)
            let info = try ServiceDirectory.describe(try SegmentName(name))
            #expect(info.problem == nil)
            #expect(info.kind == .manyToOne)
            #expect(info.configuration.memberSlots == 3)
            #expect(info.configuration.capacity == 4096)
            #expect(info.alive(.sender).map(\.slot) == [membership.member])
            #expect(info.alive(.sender).first?.pid == getpid())
            #expect(info.alive(.receiver).isEmpty)
        }
    }

    @Test("Hostile header words are refused with a reason, by the API and the directory")
    func hostileHeaderWords() throws {
        for (offset, value) in [(0, UInt32(7)), (4, 9), (8, 77), (12, 0), (12, 1000), (16, 5), (20, 0), (24, 1), (32, 64)] {
            try withUniqueName("svc") { name in
                defer { try? SharedMemorySegment.remove(try SegmentName(name)) }
                do {
                    let service = try Self.open(name, .manyToOne)
                    service.word32(offset).pointee.store(value, ordering: .relaxed)
                }
                let error = caught { () throws(ChannelError) in
                    _ = try ServiceSegment.open(try! SegmentName(name), expected: .manyToOne, shape: nil,
                                                mode: 0o600, lifetime: .posix, backend: .default)
                }
                guard case .badChannel = error else {
                    Issue.record("word \(offset) = \(value): \(String(describing: error))")
                    return
                }
                #expect(try ServiceDirectory.describe(try SegmentName(name)).problem != nil)
            }
        }
    }

    @Test("A forged ring stride whose end overflows is refused, not a trap")
    func overflowingStride() throws {
        try withUniqueName("svc") { name in
            defer { try? SharedMemorySegment.remove(try SegmentName(name)) }
            do {
                // One ring: stride x 1 does not overflow, but the rings' offset plus it does.
                let service = try Self.open(name, .manyToOne, members: 1)
                service.word32(ServiceLayout.Offset.ringStride).pointee.store(0xFFFF_F000, ordering: .relaxed)
                service.word32(ServiceLayout.Offset.ringStride + 4).pointee.store(0xFFFF_FFFF, ordering: .relaxed)
            }
            let error = caught { () throws(ChannelError) in
                _ = try ServiceSegment.open(try! SegmentName(name), expected: .manyToOne, shape: nil,
                                            mode: 0o600, lifetime: .posix, backend: .default)
            }
            guard case .badChannel = error else { Issue.record("\(String(describing: error))"); return }
            #expect(try ServiceDirectory.describe(try SegmentName(name)).problem != nil)
        }
    }

    @Test("A service of another pattern is refused by name")
    func wrongPatternRefused() throws {
        try withUniqueName("svc") { name in
            defer { try? SharedMemorySegment.remove(try SegmentName(name)) }
            _ = try Self.open(name, .topic)
            let error = caught { () throws(ChannelError) in
                _ = try ServiceSegment.open(try! SegmentName(name), expected: .requestResponse, shape: nil,
                                            mode: 0o600, lifetime: .posix, backend: .default)
            }
            #expect(error.map { "\($0)".contains("is a topic, not a request/response service") } == true)
        }
    }
}
