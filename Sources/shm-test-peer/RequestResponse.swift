import ArgumentParser
import Dispatch
import Synchronization
import Glibc
import SharedMemory

/// The reply a test server gives: the request's bytes reversed, so that a
/// client can check it got the answer to its own request.
func testReply(to request: [UInt8]) -> [UInt8] { request.reversed() }

/// Item `index` of the stream a test server sends for a stream request:
/// the index and `:`, then the request reversed.
func testStreamItem(_ index: Int, of request: [UInt8]) -> [UInt8] { Array("\(index):".utf8) + request.reversed() }

/// Serves a request/response service until killed: each reply is the request reversed.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a request/response service: each reply is the request reversed.",
        discussion: "Prints \"ready\" once it serves, then serves until killed or --count requests are answered.")

    @Argument(help: "The service's segment name.") var name: String
    @Option(help: "Client slots of a service this peer creates, 1 to 64.") var maxClients = 8
    @Option(help: "Answer this many requests, then exit (default: until killed).") var count: Int?
    @Option(help: "Items of the stream that answers a stream request (then the end).") var streamItems = 3

    func validate() throws {
        try checkRange(maxClients, 1...64, "--max-clients")
        try checkRange(streamItems, 0...100_000_000, "--stream-items")
        if let count { try checkRange(count, 0...StreamOptions.maxCount, "--count") }
    }

    func run() throws {
        let configuration = RequestResponseConfiguration(maxClients: maxClients, ring: RingConfiguration(capacity: 1 << 16))
        do {
            let server = try RequestServer.open(try SegmentName(name), creating: configuration)
            say("ready")
            var answered = 0
            while count.map({ answered < $0 }) ?? true {
                guard let request = try nextRequest(server) else { continue }
                // A client that died meanwhile is no failure of the server.
                if request.isStream {
                    let stream = server.replyStream(to: request)
                    for index in 0..<streamItems {
                        do { try stream.send(testStreamItem(index, of: request.payload), timeout: .seconds(10)) } catch { break }
                    }
                    try? stream.finish(timeout: .seconds(10))
                } else {
                    try? server.reply(to: request, testReply(to: request.payload), timeout: .seconds(10))
                }
                answered += 1
            }
            say("answered \(answered)")
        } catch {
            complain("\(error)")
            throw ExitCode(3)
        }
    }

    /// The next request; `nil` (after saying why) for a message that breaks the protocol.
    private func nextRequest(_ server: RequestServer) throws(ChannelError) -> IncomingRequest? {
        do {
            return try server.nextRequest(timeout: nil)
        } catch {
            guard case .badChannel = error else { throw error }
            complain("\(error)")
            return nil
        }
    }
}

/// Sends requests to a service and checks every reply.
struct Request: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send requests to a request/response service and check each reply.",
        discussion: """
            Each request carries this process's id and a sequence number; its reply must be its \
            bytes reversed. The last line counts requests answered, failed (by error) and \
            mismatched, and the requests answered after the last failure. Exit status 2 when a \
            reply was not the answer to its own request, 3 when the service could not be opened.
            """)

    @Argument(help: "The service's segment name.") var name: String
    @Option(help: "Client slots of a service this peer creates, 1 to 64.") var maxClients = 8
    @Option(help: "Send requests for this many milliseconds.") var durationMs = 1000
    @Option(help: "Send at most this many requests.") var count = Int.max
    @Option(help: "Give up each request after this many milliseconds.") var timeoutMs = 5000
    @Option(help: "Wait this many milliseconds for a free client slot.") var joinTimeoutMs = 5000
    @Option(help: "Send stream requests instead, each answered by this many items (`serve --stream-items`) and the end.")
    var streamItems: Int?
    @Option(help: "With --stream-items: stop reading each stream after this many items (it is cancelled), then send the next.")
    var cancelAfter: Int?

    func validate() throws {
        try checkRange(maxClients, 1...64, "--max-clients")
        try checkRange(durationMs, 0...StreamOptions.maxTimeoutMilliseconds, "--duration-ms")
        try checkRange(timeoutMs, 0...StreamOptions.maxTimeoutMilliseconds, "--timeout-ms")
        try checkRange(joinTimeoutMs, 0...StreamOptions.maxTimeoutMilliseconds, "--join-timeout-ms")
        try checkRange(count, 0...Int.max, "--count")
        // Both bound a range of items: a negative one would trap there.
        if let streamItems { try checkRange(streamItems, 0...100_000_000, "--stream-items") }
        if let cancelAfter { try checkRange(cancelAfter, 0...Int.max, "--cancel-after") }
    }

    func run() throws {
        let configuration = RequestResponseConfiguration(maxClients: maxClients, ring: RingConfiguration(capacity: 1 << 16))
        let client: RequestClient
        do {
            client = try RequestClient.open(try SegmentName(name), creating: configuration, joinTimeout: .milliseconds(joinTimeoutMs))
        } catch {
            complain("\(error)")
            throw ExitCode(3)
        }
        say("ready slot \(client.slot)")
        let end = ContinuousClock.now + .milliseconds(durationMs)
        var sent = 0, answered = 0, mismatched = 0, okAfterFailure = 0
        var failures: [String: Int] = [:]
        let pid = getpid()
        if let streamItems {
            // Stream requests need the async API: a task runs them while this thread waits.
            let done = DispatchSemaphore(value: 0)
            let outcome = Mutex("")
            let (limit, timeoutMs, cancelAfter) = (count, timeoutMs, cancelAfter)
            Task.detached {
                let line = await streamRequests(client, items: streamItems, cancelAfter: cancelAfter, count: limit, end: end, timeoutMs: timeoutMs, pid: pid)
                outcome.withLock { $0 = line }
                done.signal()
            }
            done.wait()
            let line = outcome.withLock { $0 }
            say(line)
            if line.contains("mismatched 0 ") { return }
            throw ExitCode(2)
        }
        while sent < count && ContinuousClock.now < end {
            let text = "request \(pid) \(sent) " + String(repeating: "x", count: sent % 50)
            sent += 1
            let payload = Array(text.utf8)
            do {
                let reply: [UInt8] = try client.request(payload, timeout: .milliseconds(timeoutMs))
                if reply == testReply(to: payload) {
                    answered += 1
                    okAfterFailure += 1
                } else {
                    mismatched += 1
                    complain("request \(sent - 1) got \(reply.count) bytes that are not its answer")
                }
            } catch {
                let kind = switch error {
                case .peerDied: "peerDied"
                case .peerLeft: "peerLeft"
                case .timedOut: "timedOut"
                case .requestFailed: "requestFailed"
                case .badChannel: "badChannel"
                default: "other"
                }
                failures[kind, default: 0] += 1
                okAfterFailure = 0
                say("failed \(sent - 1): \(error)")
            }
        }
        let failed = failures.values.reduce(0, +)
        let kinds = failures.keys.sorted().map { "\($0)=\(failures[$0]!)" }.joined(separator: ",")
        say("sent \(sent) answered \(answered) failed \(failed) mismatched \(mismatched) okAfterFailure \(okAfterFailure) kinds [\(kinds)]")
        if mismatched > 0 { throw ExitCode(2) }
    }
}

/// Sends stream requests one at a time and checks that each gets exactly
/// `items` items (``testStreamItem(_:of:)``) and the end, or with
/// `cancelAfter`, its first items up to that many, then drops the stream
/// (which cancels it); the summary line.
private func streamRequests(_ client: RequestClient, items: Int, cancelAfter: Int?, count: Int, end: ContinuousClock.Instant,
                            timeoutMs: Int, pid: Int32) async -> String {
    var sent = 0, answered = 0, failed = 0, mismatched = 0, received = 0
    while sent < count && ContinuousClock.now < end {
        let payload = Array("stream \(pid) \(sent)".utf8)
        sent += 1
        do throws(ChannelError) {
            let replies = try await client.requestStream(payload, timeout: .milliseconds(timeoutMs))
            var got: [[UInt8]] = []
            var iterator = replies.makeAsyncIterator()
            while got.count < (cancelAfter ?? Int.max), let item = try await iterator.next() { got.append(item) }
            received += got.count
            if got == (0..<min(items, cancelAfter ?? Int.max)).map({ testStreamItem($0, of: payload) }) {
                answered += 1
            } else {
                mismatched += 1
                complain("stream request \(sent - 1) got \(got.count) items that are not its answer")
            }
        } catch {
            failed += 1
            say("failed \(sent - 1): \(error)")
        }
    }
    return "streams sent \(sent) answered \(answered) failed \(failed) mismatched \(mismatched) items \(received)"
}
