import Glibc
@testable import SharedMemory
import Testing

/// A peer with write access can truncate a service segment too: every side
/// of a many-to-one channel, a topic and a request/response service ends
/// with a clear error instead of dying of SIGBUS or hanging.
@Suite("Service segments truncated under their members")
struct ServiceTruncationTests {
    static let ring = RingConfiguration(capacity: 4096, maxMessageSize: 200)
    /// Nothing, inside the service header, inside the member table, inside the first ring.
    static let sizes: [Int] = [0, SegmentHeader.size + 60, SegmentHeader.size + 200, SegmentHeader.size + 4096 + 300]

    /// Calls `body` until it throws (at most `tries` times) and returns the error.
    static func firstError<R>(tries: Int = 50, _ body: () throws(ChannelError) -> R) -> ChannelError? {
        for _ in 0..<tries {
            if let error = channelError(body) { return error }
        }
        return nil
    }

    @Test("Many-to-one: the receiver and a sender report the truncation", arguments: sizes)
    func manyToOne(size: Int) throws {
        try withUniqueName("strunc") { name in
            let segmentName = try SegmentName(name)
            let receiver = try ManyToOneReceiver.open(segmentName, creating: ManyToOneConfiguration(maxSenders: 2, ring: Self.ring))
            let sender = try ManyToOneSender.open(segmentName, creating: nil)
            try sender.send("before")
            try TruncationTests.truncate(name, to: size)
            let received = Self.firstError { () throws(ChannelError) in try receiver.receive(timeout: .seconds(1)) }
            guard case .badChannel(let why) = received else { Issue.record("receive: \(String(describing: received))"); return }
            #expect(why.contains("truncated"), "\(why)")
            let sent = Self.firstError(tries: 1000) { () throws(ChannelError) in try sender.send("after", timeout: .seconds(1)) }
            guard case .badChannel = sent else { Issue.record("send: \(String(describing: sent))"); return }
        }
    }

    @Test("Topic: a subscriber reports the truncation", arguments: sizes)
    func topic(size: Int) throws {
        try withUniqueName("strunc") { name in
            let segmentName = try SegmentName(name)
            let subscriber = try TopicSubscriber.open(segmentName, creating: TopicConfiguration(maxPublishers: 2, subscriberSlots: 2, ring: Self.ring))
            let publisher = try TopicPublisher.open(segmentName, creating: nil, subscriberWait: .zero)
            try publisher.send("before")
            try TruncationTests.truncate(name, to: size)
            let received = Self.firstError { () throws(ChannelError) in try subscriber.receive(timeout: .seconds(1)) }
            guard case .badChannel = received else { Issue.record("receive: \(String(describing: received))"); return }
        }
    }

    @Test("Request/response: a request to a truncated service fails clearly", arguments: sizes)
    func requestResponse(size: Int) throws {
        try withUniqueName("strunc") { name in
            let segmentName = try SegmentName(name)
            let server = try RequestServer.open(segmentName, creating: RequestResponseConfiguration(maxClients: 2, ring: Self.ring))
            let client = try RequestClient.open(segmentName, creating: nil)
            try TruncationTests.truncate(name, to: size)
            let failed = Self.firstError(tries: 5) { () throws(ChannelError) in try client.request("hello", timeout: .seconds(1)) as String }
            #expect(failed != nil && failed != .timedOut, "\(String(describing: failed))")
            let served = Self.firstError(tries: 5) { () throws(ChannelError) in try server.nextRequest(timeout: .seconds(1)) }
            #expect(served != nil && served != .timedOut, "\(String(describing: served))")
        }
    }
}
