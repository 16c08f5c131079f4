import CShm
import Glibc
import Synchronization

/// The server of a request/response service: receives the requests of
/// every client in turn and answers each with one reply, a stream of
/// replies, or an error. One server per service at a time (it holds the
/// owner lock); any number of tasks or threads of the server's process may
/// take requests and reply at once (see ``serve(concurrency:_:)``).
///
/// Clients join and leave at any time; a client that dies frees its slot:
/// the server drops its requests and detaches within about 250 ms. When the
/// server dies or closes, clients fail their waiting requests; a server
/// that opens the service again takes over every client, and requests are
/// answered again. The protocol is described byte by byte in <doc:ServiceProtocol>.
public final class RequestServer: Sendable {
    let service: ServiceSegment
    let strategy: WaitStrategy
    let pump: RequestPump

    private init(service: ServiceSegment, strategy: WaitStrategy) {
        self.service = service
        self.strategy = strategy
        pump = RequestPump(service: service, strategy: strategy)
    }

    /// Opens the request/response service `name` as its server, creating it
    /// when it does not exist and `creating` is given.
    ///
    /// - Parameters:
    ///   - name: the service's segment name.
    ///   - configuration: the shape of a new service; `nil` to require an existing one.
    ///   - mode: the permission bits of a new service's segment.
    ///   - wait: how to wait for requests.
    ///   - backend: the system calls to use.
    /// - Throws: ``ChannelError/busy(_:)`` when another server serves it,
    ///   ``ChannelError/badChannel(_:)`` for a segment that is no
    ///   request/response service, ``ChannelError/segment(_:)`` when it cannot
    ///   be created or opened.
    public static func open(
        _ name: SegmentName, creating configuration: RequestResponseConfiguration? = RequestResponseConfiguration(),
        mode: UInt32 = SharedMemorySegment.defaultMode, wait: WaitStrategy = .default,
        backend: SharedMemorySegment.Backend = .default
    ) throws(ChannelError) -> RequestServer {
        let service = try ServiceSegment.open(
            name, expected: .requestResponse, shape: configuration?.shape, mode: mode,
            lifetime: configuration?.ring.lifetime ?? .posix, backend: backend)
        guard try service.tryLock(ServiceLayout.ownerLockByte) else {
            throw .busy("another process is already serving \(name.posixName)")
        }
        service.word32(ServiceLayout.Offset.ownerPid).pointee.store(UInt32(bitPattern: getpid()), ordering: .relaxed)
        SleeperCount(sleepers: service.membershipSleepers, sleeping: service.ownerSleeping).forgetDead()
        let server = RequestServer(service: service, strategy: wait)
        server.pump.receiving.withLock { $0.refresh(force: true) }
        return server
    }

    deinit { close() }

    /// The service's name.
    public var name: SegmentName { service.name }
    /// The most clients attached at once.
    public var maxClients: Int { service.memberCount }
    /// The largest request or reply payload, in bytes.
    public var maxPayloadSize: Int {
        ((try? service.ring(member: 0, ring: 1).maxMessageSize) ?? RequestFrame.prefixSize) - RequestFrame.prefixSize
    }
    /// The clients attached now.
    public var clientCount: Int { pump.receiving.withLock { state in state.links.count { $0 != nil } } }

    /// Marks the service as bridged to other machines for as long as this
    /// server's segment stays open in this process: a process that stands in
    /// for a server elsewhere (`shm-bridge --requests-out`) calls it, and
    /// ``ServiceInfo/bridged`` (`shm list --services`) shows it. The mark is
    /// a lock byte the kernel drops when the process dies (see
    /// <doc:ServiceProtocol>); no word of the service changes.
    /// - Throws: ``ChannelError/busy(_:)`` when all 16 marks are taken.
    public func markBridged() throws(ChannelError) {
        try service.markBridged()
    }

    /// Stops serving: closes every client's response ring (their waiting
    /// requests fail with ``ChannelError/peerLeft(_:)``), detaches from their
    /// request rings and releases the owner lock, so that another server can
    /// take over. Dropping the server does the same.
    public func close() {
        let first = pump.receiving.withLock { state -> Bool in
            guard !state.closed else { return false }
            state.closed = true
            state.membershipSleepers.leaveAll(state.membershipCount)
            state.detachAll()
            return true
        }
        guard first else { return }
        service.unlock(ServiceLayout.ownerLockByte)
        service.announceMembership()
    }

    // MARK: Requests

    /// The next request of any client, blocking the thread up to `timeout`
    /// (nil: as long as it takes). Clients are taken in turn.
    /// - Throws: ``ChannelError/timedOut``, ``ChannelError/closed`` after
    ///   ``close()``, and ``ChannelError/badChannel(_:)`` for a message that
    ///   breaks the protocol (it is dropped; the next call goes on).
    public func nextRequest(timeout: Duration? = nil) throws(ChannelError) -> IncomingRequest {
        // A request that is there already takes no clock.
        var watch = SpinWatch()
        if let request = try poll(&watch) { return request }
        let deadline = deadline(after: timeout)
        var spins = 0
        let spinLimit = strategy.spinCount
        while true {
            if spins < spinLimit {
                spins &+= 1
                // Polls only when a ring or the membership moved (and now and then for the clock's checks).
                if spins & 255 == 0 || watch.changed(), let request = try poll(&watch) { return request }
                cshm_spin_pause()
                if spins & 1023 != 0 { continue }
            } else if let request = try poll(&watch) {
                return request
            }
            let now = ContinuousClock.now
            if let deadline, now >= deadline { throw .timedOut }
            if spins < spinLimit { continue }
            let (plan, entered) = pump.receiving.withLock { $0.prepareSleep() }
            let ready: IncomingRequest?
            do { ready = try poll(&watch) } catch {
                pump.receiving.withLock { $0.finishSleep(entered) }
                throw error
            }
            if let ready {
                pump.receiving.withLock { $0.finishSleep(entered) }
                return ready
            }
            plan.block(system: service.system, until: min(now + RingCore.checkInterval, deadline ?? .now + longestTimeout))
            pump.receiving.withLock { $0.finishSleep(entered) }
        }
    }

    /// The next request of any client, suspending the task up to `timeout`;
    /// never blocks a thread of the cooperative pool.
    /// - Throws: the errors of `nextRequest(timeout:)`, and ``ChannelError/cancelled``.
    nonisolated(nonsending) public func nextRequest(timeout: Duration? = nil) async throws(ChannelError) -> IncomingRequest {
        // A request that is there already takes no clock.
        var watch = SpinWatch()
        if let request = try poll(&watch) { return request }
        let deadline = deadline(after: timeout)
        var spins = 0
        let spinLimit = min(strategy.spinCount, RingCore.asyncSpinLimit)
        while true {
            if spins < spinLimit {
                spins &+= 1
                if spins & 255 == 0 || watch.changed(), let request = try poll(&watch) { return request }
                cshm_spin_pause()
                continue
            }
            if let request = try poll(&watch) { return request }
            if Task.isCancelled { throw .cancelled }
            let now = ContinuousClock.now
            if let deadline, now >= deadline { throw .timedOut }
            let (plan, entered) = pump.receiving.withLock { $0.prepareSleep() }
            let ready: IncomingRequest?
            do { ready = try poll(&watch) } catch {
                pump.receiving.withLock { $0.finishSleep(entered) }
                throw error
            }
            if let ready {
                pump.receiving.withLock { $0.finishSleep(entered) }
                return ready
            }
            await plan.suspend(until: min(now + RingCore.checkInterval, deadline ?? .now + longestTimeout))
            pump.receiving.withLock { $0.finishSleep(entered) }
        }
    }

    @inline(__always)
    private func poll(_ watch: inout SpinWatch) throws(ChannelError) -> IncomingRequest? {
        try pump.receiving.withLock { (state) throws(ChannelError) -> IncomingRequest? in try state.poll(&watch) }
    }

    // MARK: Replies

    /// Answers `request` with one reply (which also ends a stream request),
    /// blocking up to `timeout` for space in the client's response ring.
    /// - Throws: ``ChannelError/peerLeft(_:)`` or ``ChannelError/peerDied(_:)``
    ///   when the client is gone, ``ChannelError/timedOut``,
    ///   ``ChannelError/messageTooLarge(size:maximum:)``.
    public func reply(to request: IncomingRequest, _ bytes: [UInt8], timeout: Duration? = nil) throws(ChannelError) {
        try withBytes(of: bytes) { (buffer) throws(ChannelError) in
            try request.link.write(.reply, id: request.id, buffer, timeout: timeout)
        }
    }

    /// Answers `request` with one reply, suspending up to `timeout` for space.
    /// - Throws: the errors of `reply(to:_:timeout:)`, and ``ChannelError/cancelled``.
    nonisolated(nonsending) public func reply(to request: IncomingRequest, _ bytes: [UInt8], timeout: Duration? = nil) async throws(ChannelError) {
        try await request.link.writeAsync(.reply, id: request.id, bytes, timeout: timeout)
    }

    /// Answers `request` with an error: the client gets ``ChannelError/requestFailed(_:)`` with `reason`.
    public func fail(_ request: IncomingRequest, reason: String, timeout: Duration? = nil) throws(ChannelError) {
        try ReplyStream(request: request).fail(reason, timeout: timeout)
    }

    /// Answers `request` with an error, suspending up to `timeout` for space.
    nonisolated(nonsending) public func fail(_ request: IncomingRequest, reason: String, timeout: Duration? = nil) async throws(ChannelError) {
        try await ReplyStream(request: request).fail(reason, timeout: timeout)
    }

    /// The stream of replies to `request`: send any number, then finish it.
    public func replyStream(to request: IncomingRequest) -> ReplyStream { ReplyStream(request: request) }
}
