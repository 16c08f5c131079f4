import Foundation
import Glibc
@testable import SharedMemory
import Synchronization
import Testing

/// What the threads of a test report, behind a lock.
final class ThreadReports<Report: Sendable>: Sendable {
    private let reports = Mutex<[Report]>([])
    func add(_ report: Report) { reports.withLock { $0.append(report) } }
    var all: [Report] { reports.withLock { $0 } }
}

/// Reads the 32-bit word at `payloadOffset` of the ring `name` through a view of its own.
func ringWord(_ name: String, _ payloadOffset: Int) throws -> UInt32 {
    let segment = try SharedMemorySegment.open(named: name, access: .readOnly)
    let bytes = try segment.map(offset: SegmentHeader.size + payloadOffset, length: 4, access: .readOnly).read(count: 4)
    return bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) }
}

/// Polls `condition` every millisecond for up to 10 seconds; whether it held.
func eventually(_ condition: () throws -> Bool) rethrows -> Bool {
    for _ in 0..<10_000 {
        if try condition() { return true }
        usleep(1000)
    }
    return false
}

@Suite("Waiting: announced sleeps, spinners and naps")
struct WaitingTests {
    @Test("A sleeping reader announces itself on the data event; the publish that wakes it clears the announcement")
    func announcement() throws {
        try withUniqueName("announce") { name in
            let segmentName = try SegmentName(name)
            let sender = try ChannelSender.open(segmentName, creating: RingConfiguration(capacity: 4096, maxMessageSize: 64))
            let got = ThreadReports<[UInt8]>()
            let receiving = Thread {
                do {
                    let receiver = try ChannelReceiver.open(segmentName, creating: nil, wait: .sleep)
                    got.add(try receiver.receive(timeout: .seconds(30)) ?? [])
                } catch {
                    Issue.record("receiver: \(error)")
                }
            }
            receiving.start()
            #expect(try eventually { try ringWord(name, RingLayout.Offset.dataSleepers) == 1 }, "the receiver sleeps")
            #expect(try ringWord(name, RingLayout.Offset.dataEvent) & 1 == 1, "and announced itself")
            try sender.send([42])
            #expect(eventually { got.all.count == 1 })
            #expect(got.all == [[42]])
            #expect(try ringWord(name, RingLayout.Offset.dataEvent) & 1 == 0, "the wake-up cleared the announcement")
            #expect(try ringWord(name, RingLayout.Offset.dataSleepers) == 0)
        }
    }

    @Test("Subscribers that outnumber the cores each receive every message, spinning, napping or sleeping")
    func outnumberedSubscribers() throws {
        try withUniqueName("crowd") { name in
            let segmentName = try SegmentName(name)
            let subscribers = max(4, RingCore.spinnerLimit + 3), count = 3000
            let configuration = PublishSubscribeConfiguration(
                ring: RingConfiguration(capacity: 4096, maxMessageSize: 64), subscriberSlots: subscribers)
            let publisher = try Publisher.open(segmentName, creating: configuration)
            let joined = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
            let received = ThreadReports<[UInt64]>()
            for _ in 0..<subscribers {
                Thread {
                    defer { done.signal() }
                    do {
                        let subscriber = try Subscriber.open(segmentName, creating: nil)
                        joined.signal()
                        var values: [UInt64] = []
                        while let message = try subscriber.receive(timeout: .seconds(60)) {
                            values.append(message.bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
                        }
                        received.add(values)
                    } catch {
                        joined.signal()
                        Issue.record("subscriber: \(error)")
                    }
                }.start()
            }
            for _ in 0..<subscribers { joined.wait() }
            for value in UInt64(0)..<UInt64(count) {
                // Pauses long enough for the waiters to get past their naps and sleep.
                if value % 500 == 499 { usleep(5000) }
                try publisher.send(withUnsafeBytes(of: value) { Array($0) }, timeout: .seconds(60))
            }
            publisher.close()
            for _ in 0..<subscribers { done.wait() }
            let reports = received.all
            #expect(reports.count == subscribers)
            for values in reports { #expect(values == Array(0..<UInt64(count))) }
            #expect(try ringWord(name, RingLayout.Offset.spinners) == 0, "every spinner cleared its bit")
            #expect(try ringWord(name, RingLayout.Offset.dataSleepers) == 0)
        }
    }
}
