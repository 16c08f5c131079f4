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
}
