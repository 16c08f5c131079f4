import Glibc
@testable import SharedMemory
import Synchronization
import Testing

/// Calls a blocking function from an async context (where the async overload would be chosen).
func blocking<R>(_ body: () throws(ChannelError) -> R) throws(ChannelError) -> R { try body() }

/// A request/response service in one process: a server and clients on their own descriptors.
@Suite("Request/response")
struct RequestResponseTests {
    static let configuration = RequestResponseConfiguration(maxClients: 4, ring: RingConfiguration(capacity: 4096))

    /// Runs `body` with a unique service name, removed afterwards.
    func withService(_ body: (SegmentName) async throws -> Void) async throws {
        let name = TestNames.unique("rr")
        defer { _ = shm_unlink("/" + name) }
        try await body(try SegmentName(name))
    }

    @Test("Bridge marks: a service shows as bridged while a marking server or client lives; hasServer follows the server")
    func bridgeMarks() async throws {
        try await withService { name in
            let client = try RequestClient.open(name, creating: Self.configuration)
            #expect(!client.hasServer)
            #expect(try ServiceDirectory.describe(name).bridged == false)
            do {
                let server = try RequestServer.open(name, creating: nil)
                #expect(client.hasServer)
                try server.markBridged()
                #expect(try ServiceDirectory.describe(name).bridged == true)
                server.close()
                #expect(!client.hasServer)
                _ = server
            }
            #expect(try ServiceDirectory.describe(name).bridged == false)
            try client.markBridged()
            #expect(try ServiceDirectory.describe(name).bridged == true)
            client.close()
        }
    }

    @Test("Pipelined requests: sent without waiting, answered in any order, streams, errors, and the server's departure")
    func pipelined() async throws {
        try await withService { name in
            let server = try RequestServer.open(name, creating: Self.configuration)
            let client = try RequestClient.open(name, creating: nil)
            var ids: [UInt64] = []
            for text in ["one", "two", "three"] {
                let id = try Array(text.utf8).withUnsafeBytes { (bytes) throws(ChannelError) in
                    try client.sendPipelined(bytes, stream: false, timeout: .seconds(5))
                }
                ids.append(try #require(id))
            }
            let stream = try #require(try Array("s".utf8).withUnsafeBytes { (bytes) throws(ChannelError) in
                try client.sendPipelined(bytes, stream: true, timeout: .seconds(5))
            })
            var requests: [IncomingRequest] = []
            for _ in 0..<4 {
                let request = try blocking { () throws(ChannelError) in try server.nextRequest(timeout: .seconds(5)) }
                requests.append(request)
            }
            // Answered last to first; the second fails.
            try blocking { () throws(ChannelError) in try server.replyStream(to: requests[3]).send(Array("item".utf8)) }
            try blocking { () throws(ChannelError) in try server.reply(to: requests[2], Array("THREE".utf8)) }
            try blocking { () throws(ChannelError) in try server.fail(requests[1], reason: "no two") }
            try blocking { () throws(ChannelError) in try server.reply(to: requests[0], Array("ONE".utf8)) }
            try blocking { () throws(ChannelError) in try server.replyStream(to: requests[3]).finish() }
            var seen: [String] = []
            while seen.count < 5, let answer = try client.nextPipelinedAnswer(timeout: .seconds(5)) {
                switch answer {
                case .reply(let id, let payload): seen.append("\(ids.firstIndex(of: id) ?? -1):\(String(decoding: payload, as: UTF8.self))")
                case .streamItem(let id, let payload): seen.append("\(id == stream ? "s" : "?"):\(String(decoding: payload, as: UTF8.self))")
                case .streamEnd(let id): seen.append("\(id == stream ? "s" : "?"):end")
                case .failed(let id, let error): seen.append("\(ids.firstIndex(of: id) ?? -1):\(error)")
                }
            }
            #expect(Set(seen) == ["0:ONE", "1:\(ChannelError.requestFailed("no two"))", "2:THREE", "s:item", "s:end"])
            #expect(seen.firstIndex(of: "s:item")! < seen.firstIndex(of: "s:end")!)
            #expect(try client.nextPipelinedAnswer(timeout: .milliseconds(50)) == nil)
            // A request the server read but never answers fails when the server leaves.
            let last = try #require(try Array("late".utf8).withUnsafeBytes { (bytes) throws(ChannelError) in
                try client.sendPipelined(bytes, stream: false, timeout: .seconds(5))
            })
            _ = try blocking { () throws(ChannelError) in try server.nextRequest(timeout: .seconds(5)) }
            server.close()
            let answer = try #require(try client.nextPipelinedAnswer(timeout: .seconds(5)))
            guard case .failed(let id, .peerLeft) = answer else {
                Issue.record("expected the request to fail with peerLeft, got \(answer)")
                return
            }
            #expect(id == last)
            client.close()
        }
    }

    @Test("A request gets its reply, blocking and async, bytes and text")
    func requestReply() async throws {
        try await withService { name in
            let server = try RequestServer.open(name, creating: Self.configuration)
            let client = try RequestClient.open(name, creating: nil)
            let serving = Task {
                for _ in 0..<3 {
                    let request = try await server.nextRequest(timeout: .seconds(10))
                    try await server.reply(to: request, Array(request.text.uppercased().utf8))
                }
            }
            let bytes: [UInt8] = try await client.request(Array("abc".utf8), timeout: .seconds(10))
            #expect(bytes == Array("ABC".utf8))
            let text: String = try await client.request("hello", timeout: .seconds(10))
            #expect(text == "HELLO")
            let blocking = try await Task.detached { () throws -> String in
                try client.request("blocking", timeout: .seconds(10)) as String
            }.value
            #expect(blocking == "BLOCKING")
            try await serving.value
        }
    }

    @Test("Several clients with several requests in flight each get exactly their own replies")
    func exactMatching() async throws {
        try await withService { name in
            let server = try RequestServer.open(name, creating: Self.configuration)
            let serving = Task { try await server.serve(concurrency: 3) { request in
                // Answer out of order: later requests sometimes first.
                if request.payload.first.map({ $0 % 3 == 0 }) == true { try await Task.sleep(for: .milliseconds(2)) }
                return request.payload + [0xEE]
            } }
            let clients = try (0..<3).map { _ in try RequestClient.open(name, creating: nil) }
            #expect(Set(clients.map(\.slot)).count == 3)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (c, client) in clients.enumerated() {
                    for task in 0..<4 {
                        group.addTask {
                            for i in 0..<25 {
                                let payload: [UInt8] = [UInt8(i), UInt8(c), UInt8(task)]
                                let reply: [UInt8] = try await client.request(payload, timeout: .seconds(20))
                                #expect(reply == payload + [0xEE])
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            serving.cancel()
            _ = await serving.result
        }
    }

    @Test("A stream request gets every reply in order, then the end")
    func streaming() async throws {
        try await withService { name in
            let server = try RequestServer.open(name, creating: Self.configuration)
            let serving = Task { try await server.serveStreams { request, replies in
                let count = Int(request.payload[0])
                for i in 0..<count { try await replies.send([UInt8(i)]) }
            } }
            let client = try RequestClient.open(name, creating: nil)
            var received: [[UInt8]] = []
            for try await reply in try await client.requestStream([5], timeout: .seconds(10)) {
                received.append(reply)
            }
            #expect(received == (0..<5).map { [UInt8($0)] })
            // An empty stream ends at once; a plain request still works.
            var none = 0
            for try await _ in try await client.requestStream([0], timeout: .seconds(10)) { none += 1 }
            #expect(none == 0)
            serving.cancel()
            _ = await serving.result
        }
    }

    @Test("A client that stops reading a stream cancels it: the server's next send fails with peerLeft")
    func streamCancelled() async throws {
        try await withService { name in
            let server = try RequestServer.open(name, creating: Self.configuration)
            let client = try RequestClient.open(name, creating: nil)
            let sent = Atomic<Int>(0)
            let serving = Task { () async throws(ChannelError) -> ChannelError? in
                let request = try await server.nextRequest(timeout: .seconds(10))
                let replies = server.replyStream(to: request)
                for i in 0..<100_000 {
                    do throws(ChannelError) { try await replies.send([UInt8(truncatingIfNeeded: i)], timeout: .seconds(10)) } catch { return error }
                    sent.add(1, ordering: .relaxed)
                }
                return nil
            }
            do {
                var taken = 0
                for try await _ in try await client.requestStream([1], timeout: .seconds(10)) {
                    taken += 1
                    if taken == 3 { break }
                }
            }
            let ended = try await serving.value
            #expect(ended == .peerLeft("client \(client.slot) of \(name.posixName) (it cancelled request 1)"))
            #expect(sent.load(ordering: .relaxed) < 100_000)
            // The client goes on with other requests.
            let next = Task { try await server.serve { $0.payload } }
            let reply: [UInt8] = try await client.request([4], timeout: .seconds(10))
            #expect(reply == [4])
            next.cancel()
            _ = await next.result
        }
    }

    @Test("A handler that throws answers with an error; the client gets requestFailed")
    func errorReply() async throws {
        struct Refused: Error, CustomStringConvertible { var description: String { "refused" } }
        try await withService { name in
            let server = try RequestServer.open(name, creating: Self.configuration)
            let serving = Task { try await server.serve { _ in throw Refused() } }
            let client = try RequestClient.open(name, creating: nil)
            await #expect(throws: ChannelError.requestFailed("refused")) {
                _ = try await client.request([1], timeout: .seconds(10)) as [UInt8]
            }
            serving.cancel()
            _ = await serving.result
        }
    }

    @Test("A request times out; its late reply is dropped and the next request gets its own")
    func timeoutAndStaleReply() async throws {
        try await withService { name in
            let server = try RequestServer.open(name, creating: Self.configuration)
            let client = try RequestClient.open(name, creating: nil)
            await #expect(throws: ChannelError.timedOut) {
                _ = try await client.request([1], timeout: .milliseconds(50)) as [UInt8]
            }
            #expect(throws: ChannelError.timedOut) {
                _ = try blocking { () throws(ChannelError) in try client.request([2], timeout: .milliseconds(20)) as [UInt8] }
            }
            let first = try blocking { () throws(ChannelError) in try server.nextRequest(timeout: .seconds(5)) }
            let second = try blocking { () throws(ChannelError) in try server.nextRequest(timeout: .seconds(5)) }
            #expect(first.payload == [1] && second.payload == [2])
            try blocking { () throws(ChannelError) in try server.reply(to: first, [0xA1]) }
            try blocking { () throws(ChannelError) in try server.reply(to: second, [0xA2]) }
            let serving = Task {
                let third = try await server.nextRequest(timeout: .seconds(10))
                try await server.reply(to: third, third.payload)
            }
            let reply: [UInt8] = try await client.request([3], timeout: .seconds(10))
            #expect(reply == [3])
            #expect(client.inbox.withLock { $0.pending.isEmpty })
            try await serving.value
        }
    }

    @Test("A second server is refused; a closed server fails waiting requests and a new one answers")
    func serverLeavesAndReturns() async throws {
        try await withService { name in
            let server = try RequestServer.open(name, creating: Self.configuration)
            #expect(throws: ChannelError.self) { _ = try RequestServer.open(name, creating: nil) }
            let client = try RequestClient.open(name, creating: nil)
            let waiting = Task { try await client.request([7], timeout: .seconds(10)) as [UInt8] }
            _ = try await server.nextRequest(timeout: .seconds(5))
            server.close()
            let outcome = await waiting.result
            #expect(throws: ChannelError.peerLeft("the server of \(name.posixName)")) { try outcome.get() }
            let second = try RequestServer.open(name, creating: nil)
            let serving = Task { try await second.serve { $0.payload } }
            let reply: [UInt8] = try await client.request([8], timeout: .seconds(10))
            #expect(reply == [8])
            serving.cancel()
            _ = await serving.result
        }
    }

    @Test("A closed client frees its slot for the next one; all slots taken is busy")
    func clientSlots() async throws {
        try await withService { name in
            let server = try RequestServer.open(name, creating: Self.configuration)
            var clients = try (0..<4).map { _ in try RequestClient.open(name, creating: nil) }
            #expect(throws: ChannelError.self) { _ = try RequestClient.open(name, creating: nil, joinTimeout: .milliseconds(50)) }
            _ = try? await server.nextRequest(timeout: .milliseconds(10)) // attaches everyone
            #expect(server.clientCount == 4)
            clients.removeLast().close()
            let serving = Task { try await server.serve { $0.payload } }
            // The server frees the slot as it serves; the join below blocks its thread, so it comes after.
            for _ in 0..<2000 where server.clientCount > 3 { try await Task.sleep(for: .milliseconds(5)) }
            #expect(server.clientCount == 3)
            let late = try RequestClient.open(name, creating: nil, joinTimeout: .seconds(5))
            let reply: [UInt8] = try await late.request([9], timeout: .seconds(10))
            #expect(reply == [9])
            serving.cancel()
            _ = await serving.result
            _ = clients
        }
    }

    @Test("Hostile frames: a short prefix or an unknown kind is a clear error, not a crash")
    func hostileFrames() async throws {
        try await withService { name in
            let server = try RequestServer.open(name, creating: Self.configuration)
            let client = try RequestClient.open(name, creating: nil)
            // Client to server: 5 bytes, then a frame of kind 99 for id 42.
            try client.sending.withLock { (sending) throws(ChannelError) in
                try withBytes(of: [UInt8](repeating: 1, count: 5)) { (bytes) throws(ChannelError) in
                    try sending.writer.write(bytes, timeout: nil)
                }
                client.inbox.withLock { $0.pending.insert(PendingRequest(id: 42, stream: false, start: .max)) }
                var frame = [UInt8](repeating: 0, count: 16)
                frame.withUnsafeMutableBytes { RequestFrame.writePrefix(id: 42, kind: .reply, to: $0.baseAddress!) }
                frame[8] = 99
                try withBytes(of: frame) { (bytes) throws(ChannelError) in try sending.writer.write(bytes, timeout: nil) }
            }
            var errors: [ChannelError] = []
            for _ in 0..<2 {
                do throws(ChannelError) { _ = try await server.nextRequest(timeout: .seconds(5)) } catch { errors.append(error) }
            }
            #expect(errors.count == 2)
            #expect(errors.allSatisfy { if case .badChannel = $0 { true } else { false } })
            // The unknown kind was answered with an error for its id.
            let answer = try blocking { () throws(ChannelError) in try client.awaitFrame(42, timeout: .seconds(5)) }
            #expect(answer.kind == .error)
            // Server to client: a short frame makes the waiting request fail clearly.
            let waiting = Task { try await client.request([1], timeout: .seconds(10)) as [UInt8] }
            let request = try await server.nextRequest(timeout: .seconds(5))
            try request.link.responses.withLock { (writer) throws(ChannelError) in
                try withBytes(of: [UInt8](repeating: 0, count: 3)) { (bytes) throws(ChannelError) in
                    try writer!.write(bytes, timeout: nil)
                }
            }
            let outcome = await waiting.result
            #expect(throws: ChannelError.self) { try outcome.get() }
            // Both sides still work.
            let serving = Task { try await server.serve { $0.payload } }
            let reply: [UInt8] = try await client.request([5], timeout: .seconds(10))
            #expect(reply == [5])
            serving.cancel()
            _ = await serving.result
        }
    }

    // A server task started on a serial executor that the client's request
    // then holds: the request is in the ring before the server first scans
    // for clients, and the server runs only once `await client.request`
    // suspends. (The README's top-level version of this timed out: there
    // Swift picked the blocking `request` overload despite `await`.)

    @Test("On the main actor, a request sent before the server's first scan is answered")
    @MainActor
    func mainActorServerAndClient() async throws {
        let name = try SegmentName(TestNames.unique("rr"))
        defer { _ = shm_unlink(name.posixName) }
        let text = try await SerialLaneOrdering.askAtOnce(name) { server, body in
            // Inherits the main actor: starts only when this function suspends.
            Task { MainActor.preconditionIsolated(); try await body(server) }
        }
        #expect(text == "HELLO")
    }

    @Test("On an actor's serial executor, a request sent before the server's first scan is answered")
    func actorServerAndClient() async throws {
        let name = try SegmentName(TestNames.unique("rr"))
        defer { _ = shm_unlink(name.posixName) }
        #expect(try await SerialLane().askAtOnce(name) == "HELLO")
    }
}

/// Opens a server, starts it with `start` (a task on the caller's serial
/// executor), opens a client and sends a request at once, before yielding.
enum SerialLaneOrdering {
    typealias Serve = @Sendable (RequestServer) async throws -> Void

    static func askAtOnce(
        _ name: SegmentName, isolation: isolated (any Actor)? = #isolation,
        start: (RequestServer, @escaping Serve) -> Task<Void, any Error>
    ) async throws -> String {
        let server = try RequestServer.open(name, creating: RequestResponseTests.configuration)
        let serving = start(server) { server in
            try await server.serve { request in Array(request.text.uppercased().utf8) }
        }
        let client = try RequestClient.open(name, creating: nil)
        // The server has not looked for clients since this one joined.
        #expect(server.clientCount == 0)
        let text: String = try await client.request("hello", timeout: .seconds(10))
        #expect(server.clientCount == 1)
        serving.cancel()
        _ = await serving.result
        return text
    }
}

/// An actor whose serial executor runs both the server's task and the client's request.
actor SerialLane {
    func askAtOnce(_ name: SegmentName) async throws -> String {
        try await SerialLaneOrdering.askAtOnce(name) { server, body in
            // Captures `self`: isolated to this actor, starts only when it is free.
            Task { self.preconditionIsolated(); try await body(server) }
        }
    }
}
