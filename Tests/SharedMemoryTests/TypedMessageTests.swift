import FoundationEssentials
import SharedMemory
import Testing

/// A 3-lane position with a time, 32 bytes, 16-byte aligned.
private struct Sample: PlainData, Equatable {
    var time: UInt64
    var position: SIMD4<Float>
}

/// Same layout as ``Sample`` under another name.
private struct Imposter: PlainData {
    var time: UInt64
    var position: SIMD4<Float>
}

/// The type of the catalog's worked example of a typed ring.
private struct CacheLine: PlainData {
    var lanes: SIMD16<Float>
}

private struct Order: Codable, Equatable {
    var id: Int
    var symbol: String
    var quantities: [Double]
    var urgent: Bool
}

@Suite("Typed messages")
struct TypedMessageTests {
    static let small = RingConfiguration(capacity: 4096, maxMessageSize: 1000)

    @Test("Values, arrays, strings and Data round-trip; a wrong length is refused and the message stays")
    func roundTrips() throws {
        try withUniqueName("typed") { name in
            let segment = try SegmentName(name)
            let sender = try ChannelSender.open(segment, creating: Self.small)
            let receiver = try ChannelReceiver.open(segment, creating: nil)
            let sample = Sample(time: 7, position: SIMD4(1, 2, 3, 4))
            try sender.send(sample)
            #expect(try receiver.receive(as: Sample.self) == sample)
            try sender.send(contentsOf: [1.5, -2.25, 1e300] as [Double])
            #expect(try receiver.receive(arrayOf: Double.self) == [1.5, -2.25, 1e300])
            try sender.send(contentsOf: [] as [UInt32])
            #expect(try receiver.receive(arrayOf: UInt32.self) == [])
            // 12 bytes are not a Sample: refused, and still there as bytes.
            try sender.send([UInt8](repeating: 9, count: 12))
            if case .typeMismatch(let why) = channelError({ () throws(ChannelError) in try receiver.receive(as: Sample.self) }) {
                #expect(why.contains("12 bytes is not a Sample (32 bytes)"))
            } else { Issue.record("a 12-byte message was read as a Sample") }
            #expect(try receiver.receive(timeout: .zero) == [UInt8](repeating: 9, count: 12))
            // In place, as a span of values, and as raw bytes.
            try sender.send(contentsOf: [10, 20, 30] as [Int32])
            #expect(try receiver.receive(viewing: Int32.self) { span in span[0] + span[1] + span[2] } == 60)
            try sender.send("héllo")
            #expect(try receiver.withBytes { (bytes: RawSpan) in bytes.byteCount } == 6)
            var padded = [UInt8](repeating: 0, count: 3)
            padded[1] = 5
            try sender.send(Data(padded))
            #expect(try receiver.receiveData(timeout: .zero) == Data(padded))
        }
    }

    @Test("A ring aligned to 64 gives 64-aligned payloads, whatever the record before")
    func alignment() throws {
        try withUniqueName("align") { name in
            let segment = try SegmentName(name)
            let sender = try ChannelSender.open(segment, creating: RingConfiguration(capacity: 4096, alignment: 64))
            let receiver = try ChannelReceiver.open(segment, creating: nil)
            // Lengths that leave every remainder modulo 64, across several wraps of the ring.
            for round in 0..<400 {
                let count = round % 23
                try sender.send(contentsOf: (0..<count).map { SIMD4<Float>(repeating: Float($0 + round)) })
                let ok = try receiver.receive(viewing: SIMD4<Float>.self) { span in
                    span.withUnsafeBufferPointer { buffer in
                        (buffer.baseAddress.map { Int(bitPattern: $0) % 64 == 0 } ?? true)
                            && buffer.count == count
                            && buffer.enumerated().allSatisfy { $0.element == SIMD4(repeating: Float($0.offset + round)) }
                    }
                }
                #expect(ok == true, "round \(round)")
            }
            // A ring aligned to 4 cannot be read in place as 16-byte vectors, only copied out.
            let other = try SegmentName(name + "-4")
            defer { try? SharedMemorySegment.remove(other) }
            let narrow = try ChannelSender.open(other, creating: RingConfiguration(capacity: 4096, alignment: 4))
            let narrowReceiver = try ChannelReceiver.open(other, creating: nil)
            try narrow.send(SIMD4<Float>(1, 2, 3, 4))
            #expect(channelError { () throws(ChannelError) in try narrowReceiver.receive(viewing: SIMD4<Float>.self) { $0.count } } != nil)
            #expect(try narrowReceiver.receive(as: SIMD4<Float>.self) == SIMD4(1, 2, 3, 4))
            for bad in [0, 3, 128] {
                #expect(channelError { () throws(ChannelError) in
                    try ChannelSender.open(other, creating: RingConfiguration(capacity: 4096, alignment: bad))
                } != nil)
            }
        }
    }

    @Test("Abandoned loans publish nothing; committed ones publish what they wrote")
    func loans() throws {
        try withUniqueName("loan") { name in
            let segment = try SegmentName(name)
            let sender = try ChannelSender.open(segment, creating: RingConfiguration(capacity: 4096, alignment: 16))
            let receiver = try ChannelReceiver.open(segment, creating: nil)
            // Enough abandoned loans to wrap the ring many times: none is seen.
            for round in 0..<1000 {
                let published = try sender.send(loaning: SIMD4<Float>.self, count: 10) { span in
                    for index in span.indices { span[index] = SIMD4(repeating: Float(round)) }
                    return .abandon
                }
                #expect(published == nil)
            }
            #expect(try receiver.tryReceive() == nil)
            let published = try sender.send(loaning: UInt32.self, count: 8) { span in
                for index in span.indices { span[index] = UInt32(index * 3) }
                return .commitFirst(5)
            }
            #expect(published == 5)
            #expect(try receiver.receive(arrayOf: UInt32.self, timeout: .zero) == [0, 3, 6, 9, 12])
            #expect(try receiver.tryReceive() == nil)
        }
    }

    @Test("Typed channels: both ends agree, and another type or a ring of bytes is refused naming both")
    func typedChannels() throws {
        try withUniqueName("typedchan") { name in
            let segment = try SegmentName(name)
            let sender = try TypedChannelSender<Sample>.open(segment, creating: Self.small)
            let sample = Sample(time: 1, position: SIMD4(5, 6, 7, 8))
            try sender.send(sample)
            let mismatch = channelError { () throws(ChannelError) in try TypedChannelReceiver<Imposter>.open(segment, creating: nil) }
            if case .typeMismatch(let why) = mismatch {
                #expect(why.contains("carries Sample (size 32, alignment 16, stride 32"))
                #expect(why.contains("not Imposter (size 32"))
            } else { Issue.record("a channel of Sample opened as Imposter: \(String(describing: mismatch))") }
            #expect(channelError { () throws(ChannelError) in try TypedChannelReceiver<UInt64>.open(segment, creating: nil) } != nil)
            let receiver = try TypedChannelReceiver<Sample>.open(segment, creating: nil)
            #expect(try receiver.receive(timeout: .zero) == sample)
            let loaned = try sender.send(loaningFor: nil) { value in
                value = Sample(time: 2, position: .zero)
                return .commit
            }
            #expect(loaned)
            #expect(try receiver.receive(timeout: .zero) { (value: borrowing Sample) in value.time } == 2)
            sender.close()
            #expect(try receiver.receive(timeout: .seconds(5)) == nil)
        }
        try withUniqueName("bytechan") { name in
            let segment = try SegmentName(name)
            let bytes = try ChannelSender.open(segment, creating: Self.small)
            if case .typeMismatch(let why) = channelError({ () throws(ChannelError) in try TypedChannelReceiver<Sample>.open(segment, creating: nil) }) {
                #expect(why.contains("is a channel of bytes, not of Sample"))
            } else { Issue.record("a channel of bytes opened as typed") }
            _ = bytes
        }
    }

    @Test("A typed ring's control block is byte for byte the catalog's worked example")
    func workedExample() throws {
        try withUniqueName("example") { name in
            let segment = try SegmentName(name)
            let sender = try TypedChannelSender<CacheLine>.open(segment, creating: RingConfiguration(capacity: 4096, alignment: 64))
            let file = try SharedMemorySegment.open(named: name, access: .readOnly)
            let bytes = try file.map(offset: 0, length: 384).read(count: 384)
            #expect(Array(bytes[160..<184]) == [0x40, 0, 0, 0, 0x40, 0, 0, 0, 0x10, 0, 0, 0, 0x40, 0, 0, 0,
                                                  0x97, 0x83, 0x54, 0x7A, 0xC4, 0x43, 0xD5, 0x39])
            #expect(Array(bytes[272..<281]) == Array("CacheLine".utf8) && bytes[281] == 0)
            _ = sender
        }
    }

    @Test("Codable values round-trip with the default codec; a message that does not decode stays")
    func codable() throws {
        try withUniqueName("codable") { name in
            let segment = try SegmentName(name)
            let publisher = try Publisher.open(segment, creating: PublishSubscribeConfiguration(ring: Self.small, subscriberSlots: 2))
            let subscriber = try Subscriber.open(segment, creating: nil)
            let order = Order(id: 42, symbol: "ÉTÉ", quantities: [1, 2.5], urgent: true)
            try publisher.send(encoding: order)
            #expect(try subscriber.receive(decoding: Order.self, timeout: .zero) == order)
            try publisher.send("not json")
            #expect(channelError { () throws(ChannelError) in try subscriber.receive(decoding: Order.self, timeout: .zero) } != nil)
            #expect(try subscriber.receive(timeout: .zero)?.bytes == Array("not json".utf8))
            try publisher.send(Int16(-3))
            #expect(try subscriber.receive(as: Int16.self, timeout: .zero) == -3)
        }
    }

    @Test("Cost of a small Codable message with the default codec (measured, not asserted beyond sanity)")
    func codableCost() throws {
        try withUniqueName("codablecost") { name in
            let segment = try SegmentName(name)
            let sender = try ChannelSender.open(segment, creating: RingConfiguration(capacity: 1 << 16))
            let receiver = try ChannelReceiver.open(segment, creating: nil)
            let order = Order(id: 1, symbol: "ABC", quantities: [1, 2, 3], urgent: false)
            let rounds = 2000
            let start = ContinuousClock.now
            for _ in 0..<rounds {
                try sender.send(encoding: order)
                _ = try receiver.receive(decoding: Order.self, timeout: .zero)
            }
            let each = (ContinuousClock.now - start) / rounds
            print("Codable round trip through a channel with JSONMessageCodec: \(each) per message")
            #expect(each < .milliseconds(5))
        }
    }
}
