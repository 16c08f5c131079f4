import Glibc
@testable import SharedMemory
import Synchronization
import Testing

/// Echoes every request back, from inside an actor.
actor EchoServer {
    private(set) var echoed = 0

    func serve(_ requestName: SegmentName, replies replyName: SegmentName, configuration: RingConfiguration) async throws(ChannelError) {
        let requests = try ChannelReceiver.open(requestName, creating: configuration)
        let replies = try ChannelSender.open(replyName, creating: configuration)
        for try await message in requests.messages() {
            try await replies.send(message, timeout: .seconds(10))
            echoed += 1
        }
    }
}

/// Sends numbered requests and checks every reply, from inside an actor.
actor EchoClient {
    func exchange(
        _ count: Int, window: Int, requests requestName: SegmentName, replies replyName: SegmentName,
        configuration: RingConfiguration
    ) async throws(ChannelError) -> Int {
        let requests = try ChannelSender.open(requestName, creating: configuration)
        let replies = try ChannelReceiver.open(replyName, creating: configuration)
        var checked = 0
        var next = 0
        while checked < count {
            let end = min(count, next + window)
            while next < end {
                var value = UInt64(next)
                try await withUnsafeBytes(of: &value) { bytes in Array(bytes) }.asyncSend(on: requests)
                next += 1
            }
            while checked < end {
                guard let reply = try await replies.receive(timeout: .seconds(10)),
                      reply.count == 8,
                      reply.withUnsafeBytes({ $0.loadUnaligned(as: UInt64.self) }) == UInt64(checked) else {
                    throw .badChannel("reply \(checked) is wrong")
                }
                checked += 1
            }
        }
        requests.close()
        return checked
    }
}

extension Array where Element == UInt8 {
    /// Sends these bytes with the async send (a helper so the actor code reads as a user's would).
    fileprivate func asyncSend(on sender: borrowing ChannelSender) async throws(ChannelError) {
        try await sender.send(self, timeout: .seconds(10))
    }
}

/// Runs `body` with two fresh unique names, removing both segments afterwards.
private func withTwoNames<R>(_ body: (SegmentName, SegmentName) async throws -> R) async throws -> R {
    let first = TestNames.unique("as"), second = TestNames.unique("as")
    defer { _ = shm_unlink("/" + first); _ = shm_unlink("/" + second) }
    return try await body(try SegmentName(first), try SegmentName(second))
}

@Suite("Channels with Swift concurrency")
struct AsyncChannelTests {
    static let small = RingConfiguration(capacity: 4096, maxMessageSize: 256)

    @Test("An actor client and an actor server exchange 100 000 messages through the async API")
    func actorsExchange() async throws {
        try await withTwoNames { requestName, replyName in
            let server = EchoServer()
            let client = EchoClient()
            async let served: Void = server.serve(requestName, replies: replyName, configuration: Self.small)
            // A window of 200 requests is more than the 4 KiB ring holds: both sides wait for space too.
            let checked = try await client.exchange(100_000, window: 200, requests: requestName, replies: replyName,
                                                    configuration: Self.small)
            try await served
            #expect(checked == 100_000)
            #expect(await server.echoed == 100_000)
        }
    }

    @Test("Cancelling a task ends its async receive and its async send with cancelled")
    func cancellation() async throws {
        try await withTwoNames { name, _ in
            let sender = try ChannelSender.open(name, creating: Self.small)
            let receiver = try ChannelReceiver.open(name, creating: nil)
            let clock = ContinuousClock()
            let started = clock.now
            let waiting = Task { () async throws -> [UInt8]? in try await receiver.receive(timeout: .seconds(600)) }
            try await Task.sleep(for: .milliseconds(50))
            waiting.cancel()
            let outcome = await waiting.result
            #expect(throws: ChannelError.cancelled) { try outcome.get() }
            // Well before the timeout (generous: a busy machine may starve the task pool for seconds).
            #expect(clock.now - started < .seconds(300))

            // Fill the ring, then cancel a send that waits for space.
            while try sender.trySend([UInt8](repeating: 1, count: 200)) {}
            while try sender.trySend([1]) {}
            let sending = Task { () async throws in try await sender.send([2], timeout: .seconds(30)) }
            try await Task.sleep(for: .milliseconds(50))
            sending.cancel()
            let sendOutcome = await sending.result
            #expect(throws: ChannelError.cancelled) { try sendOutcome.get() }
            // Nothing was sent by the cancelled send: only the 200-byte messages are there.
            var count = 0
            while let message = try receiver.tryReceive() {
                #expect(message.count == 200 || message == [1])
                count += 1
            }
            #expect(count > 0)
        }
    }

    @Test("An async send waits for space and goes on when the receiver makes some")
    func backPressure() async throws {
        try await withTwoNames { name, _ in
            let sender = try ChannelSender.open(name, creating: Self.small)
            let receiver = try ChannelReceiver.open(name, creating: nil)
            var filled = 0
            // Full to the last byte: 200-byte messages, then 1-byte ones.
            while try sender.trySend([UInt8(truncatingIfNeeded: filled)] + [UInt8](repeating: 0, count: 199)) { filled += 1 }
            while try sender.trySend([UInt8(truncatingIfNeeded: filled)]) { filled += 1 }
            let done = Atomic<Bool>(false)
            let sending = Task { () async throws in
                try await sender.send([0xEE], timeout: .seconds(10))
                done.store(true, ordering: .releasing)
            }
            try await Task.sleep(for: .milliseconds(100))
            let finishedEarly = done.load(ordering: .acquiring)
            #expect(!finishedEarly, "the send finished though the ring was full")
            for index in 0..<filled {
                let message = try await receiver.receive(timeout: .seconds(5))
                #expect(message?.first == UInt8(truncatingIfNeeded: index))
            }
            try await sending.value
            let finished = done.load(ordering: .acquiring)
            #expect(finished)
            #expect(try await receiver.receive(timeout: .seconds(5)) == [0xEE])
        }
    }

    @Test("A receiver that closes is reported to a waiting sender as peerLeft, not peerDied")
    func receiverLeaves() async throws {
        try await withTwoNames { name, other in
            let sender = try ChannelSender.open(name, creating: Self.small)
            let receiver = try ChannelReceiver.open(name, creating: nil)
            while try sender.trySend([UInt8](repeating: 1, count: 200)) {}
            while try sender.trySend([1]) {}
            let sending = Task { () async throws in try await sender.send([2], timeout: .seconds(600)) }
            try await Task.sleep(for: .milliseconds(50))
            let clock = ContinuousClock()
            let closed = clock.now
            receiver.close()
            let outcome = await sending.result
            #expect(throws: ChannelError.peerLeft("the receiver of /\(name.posixName.dropFirst())")) { try outcome.get() }
            #expect(clock.now - closed < .seconds(300), "the sender waited out its timeout")

            // The blocking send reports it too, for a receiver that went out of scope.
            let blockingSender = try ChannelSender.open(other, creating: Self.small)
            do { _ = try ChannelReceiver.open(other, creating: nil) }
            while try blockingSender.trySend([UInt8](repeating: 1, count: 200)) {}
            while try blockingSender.trySend([1]) {}
            let error = channelError { () throws(ChannelError) in try blockingSender.send([3], timeout: .seconds(20)) }
            guard case .peerLeft = error else {
                Issue.record("expected peerLeft, got \(String(describing: error))")
                return
            }
        }
    }

    @Test("Iterating a channel's messages twice is refused, and a loop's end detaches the receiver")
    func sequenceEnds() async throws {
        try await withTwoNames { name, _ in
            var configuration = Self.small
            configuration.lifetime = .lastClose
            let sender = try ChannelSender.open(name, creating: configuration)
            let receiver = try ChannelReceiver.open(name, creating: nil)
            let messages = receiver.messages()
            for index in 0..<3 { try await sender.send([UInt8(index)]) }
            sender.close()
            var received: [[UInt8]] = []
            for try await message in messages { received.append(message) }
            #expect(received == [[0], [1], [2]])
            // The loop's end dropped the last holder: the last-close name is gone, though `messages` lives on.
            #expect(!segmentFileExists(String(name.posixName.dropFirst())))
            withExtendedLifetime(messages) {}
        }
    }

    @Test("A receiver whose last use is early stays attached until its scope ends")
    func earlyLastUse() async throws {
        try await withTwoNames { name, _ in
            let sender = try ChannelSender.open(name, creating: Self.small)
            func receiveOnceThenWork() throws {
                let receiver = try ChannelReceiver.open(name, creating: nil)
                try sender.send([1])
                #expect(try receiver.receive(timeout: .seconds(5)) == [1]) // the receiver's last use
                usleep(20_000)
                // Still attached: a second receiver is refused as busy.
                let second = channelError { () throws(ChannelError) in try ChannelReceiver.open(name, creating: nil) }
                #expect(second == .busy("another process is already receiving from \(name.posixName)"))
            }
            try receiveOnceThenWork()
            // Its scope ended: the role is free again.
            let third = try ChannelReceiver.open(name, creating: nil)
            #expect(third.name == name)
        }
    }

    @Test("The fallback without futex_waitv wakes async waits too")
    func fallbackWaiter() async throws {
        let waiter = FutexWaiter(system: CShmBackend())
        waiter.useFallback.store(true, ordering: .relaxed)
        let word = UnsafeMutablePointer<Atomic<UInt32>>.allocate(capacity: 1)
        word.initialize(to: Atomic(0))
        defer { word.deallocate() }
        let raw = UnsafeMutableRawPointer(word).assumingMemoryBound(to: UInt32.self)
        let address = UInt(bitPattern: raw)
        let clock = ContinuousClock()
        let started = clock.now
        let waiting = Task {
            await waiter.wait(on: UnsafeMutablePointer(bitPattern: address)!, expected: 0, until: .now + .seconds(600))
        }
        try await Task.sleep(for: .milliseconds(20))
        word.pointee.store(1, ordering: .releasing)
        _ = try? CShmBackend().futexWake(raw, count: 1)
        await waiting.value
        // Woken by the store, not by the deadline (generous: a busy machine may starve the pool).
        #expect(clock.now - started < .seconds(300))
    }
}
