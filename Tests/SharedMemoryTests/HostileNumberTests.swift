import Foundation
import Glibc
@testable import SharedMemory
import Testing

/// Offsets, sizes and counts that a caller (or a command line) may pass:
/// every public function that takes one throws for those out of range, and
/// none traps.
@Suite("Hostile numbers through the public API")
struct HostileNumberTests {
    /// Numbers at the edges of `Int`, and pairs whose sum overflows.
    static let edges = [-1, Int.min, Int.min + 1, Int.max, Int.max - 1, Int.max / 2 + 1]

    /// (offset, length) pairs that no view of a small segment can have.
    static let badRanges: [(Int, Int)] = {
        var ranges: [(Int, Int)] = []
        for edge in edges {
            ranges.append((edge, 0))
            ranges.append((edge, 1))
            ranges.append((0, edge))
            ranges.append((1, edge))
        }
        let half = Int.max / 2 + 1
        ranges.append((half, half))
        ranges.append((Int.max, Int.max))
        ranges.append((Int.min, Int.max))
        ranges.append((4096, 0))
        ranges.append((0, 4097))
        ranges.append((4095, 2))
        return ranges
    }()

    @Test("Segment and managed sizes: 0, negative or beyond any file system are refused", arguments: SharedMemorySegment.Backend.allCases)
    func sizes(backend: SharedMemorySegment.Backend) throws {
        for size in [0] + Self.edges {
            withUniqueName("num") { name in
                let segmentName = try! SegmentName(name)
                let raw = expectedError { () throws(SharedMemoryError) in try SharedMemorySegment.create(segmentName, size: size, backend: backend) }
                #expect(raw?.operation == .create, "size \(size): \(String(describing: raw))")
                let managed = expectedError { () throws(SharedMemoryError) in try ManagedSegment.create(segmentName, payloadSize: size, backend: backend) }
                #expect(managed?.operation == .create, "payload size \(size): \(String(describing: managed))")
                #expect(!segmentFileExists(name), "size \(size): a failed creation leaves no name behind")
            }
        }
    }

    @Test("map: every offset and length outside the segment throws", arguments: SharedMemorySegment.Backend.allCases)
    func mapRanges(backend: SharedMemorySegment.Backend) throws {
        try withUniqueName("num") { name in
            let segmentName = try SegmentName(name)
            let segment = try SharedMemorySegment.create(segmentName, size: 4096, backend: backend)
            for (offset, length) in Self.badRanges {
                let error = expectedError { () throws(SharedMemoryError) in try segment.map(offset: offset, length: length) }
                #expect(error?.operation == .map, "map(offset: \(offset), length: \(length))")
            }
            #expect(try segment.map(offset: 4095, length: 1).count == 1, "the last byte is a valid view")
        }
    }

    @Test("ManagedSegment.map: offsets count after the header, and none overflows", arguments: SharedMemorySegment.Backend.allCases)
    func managedMapRanges(backend: SharedMemorySegment.Backend) throws {
        try withUniqueName("num") { name in
            let segmentName = try SegmentName(name)
            let segment = try ManagedSegment.create(segmentName, payloadSize: 4096, backend: backend)
            let beyondHeader = [(Int.max - SegmentHeader.size + 1, 0), (Int.max - SegmentHeader.size, 1), (Int.max - SegmentHeader.size, 0)]
            for (offset, length) in Self.badRanges + beyondHeader {
                let error = expectedError { () throws(SharedMemoryError) in try segment.map(offset: offset, length: length) }
                #expect(error?.operation == .map, "map(offset: \(offset), length: \(length))")
            }
            let overflow = expectedError { () throws(SharedMemoryError) in try segment.map(offset: Int.max, length: 0) }
            #expect(overflow?.errno == .overflow)
            #expect(try segment.map(offset: 4095, length: 1).count == 1)
        }
    }

    @Test("MappedView reads and writes: every position and count outside the view throws", arguments: SharedMemorySegment.Backend.allCases)
    func viewAccess(backend: SharedMemorySegment.Backend) throws {
        try withUniqueName("num") { name in
            let segmentName = try SegmentName(name)
            let segment = try SharedMemorySegment.create(segmentName, size: 8192, backend: backend)
            // A view that does not start at 0, so the view's own offset takes part in every sum.
            let view = try segment.map(offset: 100, length: 4096)
            // Reading 0 bytes at the very end is fine for a view (it is "to the end" for map).
            for (position, count) in Self.badRanges.filter({ $0 != (4096, 0) }) + [(4097, 0)] {
                #expect(expectedError { () throws(SharedMemoryError) in try view.read(at: position, count: count) } != nil, "read(at: \(position), count: \(count))")
            }
            for position in Self.edges + [4097] {
                #expect(expectedError { () throws(SharedMemoryError) in try view.write([1, 2, 3], at: position) } != nil, "write(at: \(position))")
                #expect(expectedError { () throws(SharedMemoryError) in try view.readString(at: position) } != nil, "readString(at: \(position))")
                #expect(expectedError { () throws(SharedMemoryError) in try view.writeString("x", at: position) } != nil, "writeString(at: \(position))")
            }
            #expect(try view.read(at: 4095, count: 1) == [0])
            #expect(try view.readString(at: 4096) == "", "the end of the view is an empty string")
        }
    }

    @Test("Channel shapes and loans: hostile numbers are refused with an error")
    func channelNumbers() throws {
        var configurations: [RingConfiguration] = Self.edges.map { RingConfiguration(capacity: $0) }
            + Self.edges.map { RingConfiguration(capacity: 4096, maxMessageSize: $0) }
        for capacity in Self.edges + [0, 4097, 1 << 41] {
            var configuration = RingConfiguration()
            configuration.capacity = capacity
            configurations.append(configuration)
        }
        for configuration in configurations {
            try withUniqueName("num") { name in
                let segmentName = try SegmentName(name)
                // Rounding turns a negative capacity into the smallest ring, which works; nothing else may.
                let usable = configuration.capacity == 4096 && (1...(2048 - 16)).contains(configuration.maxMessageSize)
                let error = channelError { () throws(ChannelError) in try ChannelSender.open(segmentName, creating: configuration) }
                #expect((error == nil) == usable, "\(configuration): \(String(describing: error))")
                if !usable { #expect(!segmentFileExists(name)) }
            }
        }
        for slots in [0, -1, Int.min, Int.max, 65] {
            let shape = PublishSubscribeConfiguration(ring: RingConfiguration(capacity: 4096), subscriberSlots: slots)
            try withUniqueName("num") { name in
                let ringName = try SegmentName(name)
                #expect(channelError { () throws(ChannelError) in try Publisher.open(ringName, creating: shape) } != nil, "\(slots) subscriber slots")
            }
        }
        let shape = RingConfiguration(capacity: 4096, maxMessageSize: 100)
        try withUniqueName("num") { name in
            let sender = try ChannelSender.open(SegmentName(name), creating: shape)
            for capacity in Self.edges + [101] {
                let error = channelError { () throws(ChannelError) in try sender.send(loaning: capacity) { _ in 0 } }
                #expect(error == .messageTooLarge(size: capacity, maximum: 100), "loaning \(capacity)")
            }
        }
        try withUniqueName("num") { name in
            let publisher = try Publisher.open(SegmentName(name), creating: PublishSubscribeConfiguration(ring: shape))
            for capacity in Self.edges + [101] {
                let error = channelError { () throws(ChannelError) in try publisher.send(loaning: capacity) { _ in 0 } }
                #expect(error == .messageTooLarge(size: capacity, maximum: 100), "loaning \(capacity)")
            }
        }
    }

    @Test("Timeouts of any length: a wait far beyond the clock's range neither traps nor waits when a message is there")
    func hugeTimeouts() throws {
        try withUniqueName("num") { name in
            let segmentName = try SegmentName(name)
            let sender = try ChannelSender.open(segmentName, creating: RingConfiguration(capacity: 4096))
            let receiver = try ChannelReceiver.open(segmentName, creating: nil)
            // Within a second of the largest Duration: the clock's now plus it overflows.
            let huge = Duration.seconds(Int64.max) * 18 + .seconds(4_120_486_797_083_267_187)
            try sender.send([7], timeout: huge)
            #expect(try receiver.receive(timeout: huge) == [7])
            // Nothing there: the receive computes its deadline, then a sender comes and sends.
            try withUniqueName("num-wait") { other in
                let otherName = try SegmentName(other)
                let waiting = try ChannelReceiver.open(otherName, creating: RingConfiguration(capacity: 4096))
                let sending = Thread {
                    usleep(100_000)
                    try? ChannelSender.open(otherName, creating: nil).send([8])
                }
                sending.start()
                #expect(try waiting.receive(timeout: huge) == [8])
            }
            let now = ContinuousClock.now
            #expect(try #require(deadline(after: huge)) - now >= longestTimeout)
            #expect(try #require(deadline(after: .seconds(-5))) <= ContinuousClock.now)
            #expect(deadline(after: nil) == nil)
        }
    }

    @Test("Numbers read back from a segment convert without trapping")
    func statusNumbers() {
        let status = ChannelStatus(
            kind: .channel, policy: .lossless, capacity: Int.min, maxMessageSize: 0, slots: 1, writer: .none,
            published: UInt64.max, bytesPublished: UInt64.max,
            readers: [.init(slot: 0, attached: false, received: 0, missed: 0, bytesBehind: UInt64.max, messagesBehind: 0)],
            readersAsleep: 0, writerAsleep: false)
        #expect(status.fill == 0)
        var header = SegmentHeader(totalSize: UInt64.max, kind: 0, creator: .current, creatorUID: 0, lifetime: .posix)
        #expect(header.payloadSize == Int.max - SegmentHeader.size)
        header.totalSize = 0
        #expect(header.payloadSize == -SegmentHeader.size)
    }
}
