import Foundation
import Glibc
@testable import SharedMemory
import Testing

/// A peer with write access can always truncate a segment: the ends of a
/// channel report it as an error instead of dying of SIGBUS.
@Suite("Channels truncated under their ends")
struct TruncationTests {
    /// File sizes to truncate a small channel to: nothing, inside the managed
    /// header, inside the control block, inside the reader slot, inside the data.
    static let sizes: [Int] = [0, 64, SegmentHeader.size + 100, SegmentHeader.size + 200, SegmentHeader.size + 256 + 1000]

    static func truncate(_ name: String, to size: Int) throws {
        let segment = try SharedMemorySegment.open(named: name, access: .readWrite)
        #expect(ftruncate(segment.handle.descriptor, off_t(size)) == 0)
    }

    @Test("Sending and receiving after a truncation: a clear error, no signal", arguments: sizes)
    func sendAndReceive(size: Int) throws {
        try withUniqueName("trunc") { name in
            let segmentName = try SegmentName(name)
            let sender = try ChannelSender.open(segmentName, creating: ChannelTests.small)
            let receiver = try ChannelReceiver.open(segmentName)
            try sender.send([1, 2, 3])
            try Self.truncate(name, to: size)
            // Bytes that stay mapped (the rest of a page the file still
            // reaches) read as zeros, like any bytes a peer may write: a
            // receive may still return a (wrong) message, but the next waits
            // notice the truncation.
            var received: ChannelError?
            for _ in 0..<10 where received == nil {
                received = channelError { () throws(ChannelError) in try receiver.receive(timeout: .seconds(2)) }
            }
            guard case .badChannel(let why) = received else { Issue.record("receive after truncation: \(String(describing: received))"); return }
            #expect(why.contains("truncated to \(size) bytes"), "\(why)")
            var sent: ChannelError?
            for _ in 0..<1000 where sent == nil {
                sent = channelError { () throws(ChannelError) in try sender.send([4, 5, 6], timeout: .seconds(2)) }
            }
            guard case .badChannel(let reason) = sent else { Issue.record("send after truncation: \(String(describing: sent))"); return }
            #expect(reason.contains("truncated"), "\(reason)")
            let status = channelError { () throws(ChannelError) in try ChannelStatus.read(segmentName) }
            #expect(status != nil, "a status of a truncated ring is an error")
        }
    }

    @Test("A receiver asleep on an empty channel that is truncated wakes with the error within its peer check",
          arguments: [WaitStrategy.sleep, .default, .spin])
    func waitingReceiver(strategy: WaitStrategy) throws {
        try withUniqueName("trunc-wait") { name in
            let segmentName = try SegmentName(name)
            let sender = try ChannelSender.open(segmentName, creating: ChannelTests.small)
            let receiver = try ChannelReceiver.open(segmentName, wait: strategy)
            let truncating = Thread {
                usleep(100_000)
                try? Self.truncate(name, to: 0)
            }
            truncating.start()
            let start = ContinuousClock.now
            let error = channelError { () throws(ChannelError) in try receiver.receive(timeout: .seconds(10)) }
            guard case .badChannel(let why) = error else { Issue.record("waiting receiver: \(String(describing: error))"); return }
            #expect(why.contains("truncated"), "\(why)")
            #expect(ContinuousClock.now - start < .seconds(3))
            _ = sender
        }
    }
}
