import CShm
import Synchronization

/// A client of a request/response service: sends requests to the service's
/// one server and gets exactly the replies to its own requests, from any
/// number of tasks or threads at once.
///
/// Each client holds one of the service's client slots (set at creation
/// with ``RequestResponseConfiguration/maxClients``) with a request ring and
/// a response ring of its own; the slot is freed when the client closes or
/// its process dies. Replies carry the id of their request, so several
/// requests may be in flight; a reply to a request that timed out is dropped.
///
/// When the server dies or leaves, waiting requests fail with
/// ``ChannelError/peerDied(_:)`` or ``ChannelError/peerLeft(_:)`` within about
/// 250 ms; requests sent once a new server attached are answered again.
/// The protocol is described byte by byte in <doc:ServiceProtocol>.
public final class RequestClient: Sendable {
    let service: ServiceSegment
    let member: Int
    let session: UInt32
    let strategy: WaitStrategy
    let requestCore: RingCore
    let responseCore: RingCore
    let sending: Mutex<RequestSending>
    let inbox: Mutex<ReplyInbox>
    /// The inbox's reader, used under the inbox's lock only: read from this
    /// `let`, a call on it needs no reference count (see ``ReplyInbox/drain(_:service:)``).
    let responseReader: RingReader
    /// Drains that moved replies, ever: a spinning waiter polls again only
    /// when this or the response ring's write position moved.
    let deliveries = Atomic<UInt64>(0)

    struct RequestSending {
        let writer: RingWriter
        var nextID: UInt64 = 1
    }

    private init(service: ServiceSegment, membership: ServiceSegment.Membership, strategy: WaitStrategy) throws(ChannelError) {
        let requestCore = try service.ring(member: membership.member, ring: 0)
        let responseCore = try service.ring(member: membership.member, ring: 1)
        let writer = try RingWriter(core: requestCore, strategy: strategy)
        let reader: RingReader
        do { reader = try RingReader.receiver(core: responseCore, strategy: strategy) } catch {
            writer.close()
            throw error
        }
        self.service = service
        self.member = membership.member
        self.session = membership.session
        self.strategy = strategy
        self.requestCore = requestCore
        self.responseCore = responseCore
        sending = Mutex(RequestSending(writer: writer))
        inbox = Mutex(ReplyInbox(reader: reader))
        responseReader = reader
    }

    /// Opens the request/response service `name` as a client, creating the
    /// service when it does not exist and `creating` is given.
    ///
    /// - Parameters:
    ///   - name: the service's segment name.
    ///   - configuration: the shape of a new service; `nil` to require an existing one.
    ///   - joinTimeout: how long to wait for a free client slot.
    ///   - mode: the permission bits of a new service's segment.
    ///   - wait: how to wait for replies and for space.
    ///   - backend: the system calls to use.
    /// - Throws: ``ChannelError/busy(_:)`` when every client slot stays taken
    ///   for `joinTimeout`, ``ChannelError/badChannel(_:)`` for a segment that
    ///   is no request/response service, ``ChannelError/segment(_:)`` when it
    ///   cannot be created or opened.
    public static func open(
        _ name: SegmentName, creating configuration: RequestResponseConfiguration? = RequestResponseConfiguration(),
        joinTimeout: Duration = .seconds(1), mode: UInt32 = SharedMemorySegment.defaultMode,
        wait: WaitStrategy = .default, backend: SharedMemorySegment.Backend = .default
    ) throws(ChannelError) -> RequestClient {
        let service = try ServiceSegment.open(
            name, expected: .requestResponse, shape: configuration?.shape, mode: mode,
            lifetime: configuration?.ring.lifetime ?? .posix, backend: backend)
        let membership = try service.join(role: "client", timeout: joinTimeout)
        do {
            return try RequestClient(service: service, membership: membership, strategy: wait)
        } catch {
            service.leave(membership.member)
            throw error
        }
    }

    deinit { close() }

    /// The service's name.
    public var name: SegmentName { service.name }
    /// The client slot this client holds.
    public var slot: Int { member }
    /// The largest request or reply payload, in bytes.
    public var maxPayloadSize: Int { requestCore.maxMessageSize - RequestFrame.prefixSize }

    /// Whether a server holds the service now, as the kernel's lock says: a
    /// request sent while this is `false` waits until a server comes (or its timeout).
    public var hasServer: Bool { service.ownerIsAlive }

    /// Marks the service as bridged to other machines for as long as this
    /// client's segment stays open in this process: a process that carries
    /// requests from elsewhere to this service (`shm-bridge --requests-in`)
    /// calls it, and ``ServiceInfo/bridged`` (`shm list --services`) shows
    /// it. The mark is a lock byte the kernel drops when the process dies
    /// (see <doc:ServiceProtocol>); no word of the service changes.
    /// - Throws: ``ChannelError/busy(_:)`` when all 16 marks are taken.
    public func markBridged() throws(ChannelError) {
        try service.markBridged()
    }

    /// Leaves the service: closes the request ring, detaches from the
    /// response ring and frees the client slot. Waiting requests fail with
    /// ``ChannelError/closed``. Dropping the client does the same.
    public func close() {
        let first = inbox.withLock { inbox -> Bool in
            guard !inbox.closed else { return false }
            inbox.closed = true
            inbox.failAll(.closed)
            inbox.sleepers.leaveAll(sleeperCount)
            inbox.reader.detach()
            return true
        }
        guard first else { return }
        deliveries.wrappingAdd(1, ordering: .releasing)
        responseCore.wakeNow(responseCore.dataEvent)
        sending.withLock { $0.writer.close() }
        service.leave(member)
    }

    var serverName: String { ReplyInbox.serverName(service) }

    // MARK: Sending

    /// Sends one request frame and registers it as pending before it is
    /// visible, so that no reply can come before it is waited for.
    /// - Returns: its id, or `nil` when the ring is full and `waits` is false.
    func send(_ kind: RequestFrame.Kind, _ payload: UnsafeRawBufferPointer, timeout: Duration?, waits: Bool) throws(ChannelError) -> UInt64? {
        try sending.withLock { (sending) throws(ChannelError) -> UInt64? in
            let id = sending.nextID
            // This client alone writes the ring: its frame (after any padding) starts here.
            let start = sending.writer.publishedPosition
            try inbox.withLock { (inbox) throws(ChannelError) in
                if inbox.closed { throw ChannelError.closed }
                inbox.pending.insert(PendingRequest(id: id, stream: kind == .streamRequest, start: start))
            }
            let written: Bool
            do throws(ChannelError) {
                written = try sending.writer.writeFrame(id: id, kind: kind, payload: payload, timeout: timeout, waits: waits)
            } catch {
                forget(id)
                throw error
            }
            guard written else {
                forget(id)
                return nil
            }
            sending.nextID &+= 1
            return id
        }
    }

    /// Stops waiting for request `id`: later replies to it are dropped.
    /// - Returns: whether it was still waiting.
    @discardableResult
    func forget(_ id: UInt64) -> Bool {
        inbox.withLock { inbox in
            guard let index = inbox.pending.index(of: id) else { return false }
            inbox.pending.remove(at: index)
            return true
        }
    }

    /// Stops reading the replies to stream request `id` and tells the
    /// server, if there is room in the request ring now (if not, its
    /// replies are dropped as they come).
    func cancelStream(_ id: UInt64) {
        guard forget(id) else { return }
        sending.withLock { sending in
            _ = try? sending.writer.writeFrame(id: id, kind: .cancel, payload: UnsafeRawBufferPointer(start: nil, count: 0),
                                               timeout: nil, waits: false)
        }
    }

    // MARK: Receiving

    /// Reads what the response ring holds and takes the next reply to `id`.
    @inline(__always)
    func poll(_ id: UInt64) throws(ChannelError) -> RequestFrame? {
        try inbox.withLock { (inbox) throws(ChannelError) -> RequestFrame? in
            let moved = try inbox.drain(responseReader, service: service)
            let frame: RequestFrame?
            do throws(ChannelError) { frame = try inbox.take(id) } catch {
                if moved { deliveries.wrappingAdd(1, ordering: .releasing) }
                throw error
            }
            // Other waiters poll again when replies moved; with no request
            // left pending there is no other waiter (each one has its request
            // pending until it takes its last reply), and no locked increment.
            if moved && !inbox.pending.isEmpty { deliveries.wrappingAdd(1, ordering: .releasing) }
            return frame
        }
    }

    /// Counts this waiter in as a sleeper on the response ring and returns what to sleep on.
    func prepareSleep() -> PlannedSleep {
        inbox.withLock { inbox in
            let word = FutexWord(announcingOn: responseCore.dataEvent)
            if inbox.closed { return PlannedSleep(words: []) }
            inbox.sleepers.enter(sleeperCount)
            return PlannedSleep(words: [word])
        }
    }

    func finishSleep() {
        inbox.withLock { $0.sleepers.leave(sleeperCount) }
    }

    var sleeperCount: SleeperCount {
        SleeperCount(sleepers: responseCore.dataSleepers, sleeping: responseCore.sleepingFlag(slot: 0))
    }

    /// Checks the server's liveness once per check interval.
    func checkServerIfDue(now: ContinuousClock.Instant) {
        inbox.withLock { inbox in
            let reading = ClockReading(now)
            if let due = inbox.nextCheck, reading < due { return }
            inbox.nextCheck = reading + RingCore.checkInterval
            do throws(ChannelError) { try service.checkIntact() } catch { inbox.failAll(error) }
            inbox.checkServer(service, responses: responseCore, server: serverName)
            // Spinning waiters poll again: a request may have failed.
            deliveries.wrappingAdd(1, ordering: .releasing)
        }
    }

    /// What a spinning waiter compares to see whether polling again may find something.
    @inline(__always)
    var activity: (UInt64, UInt64) {
        (deliveries.load(ordering: .acquiring), responseCore.writePosition.pointee.load(ordering: .acquiring))
    }

    /// Waits, blocking the thread, for the next reply to `id`. With
    /// `before`, the ``activity`` seen before request `id` was sent: while it
    /// has not moved, no reply to `id` (nor a failure) can be there, and the first look is skipped.
    func awaitFrame(_ id: UInt64, timeout: Duration?, unchangedSince before: (UInt64, UInt64)? = nil) throws(ChannelError) -> RequestFrame {
        // A reply that is there already takes no clock.
        let seen = activity
        if before.map({ $0 != seen }) ?? true, let frame = try poll(id) { return frame }
        guard let frame = try blockingWait(seen: seen, deadline: deadline(after: timeout), { () throws(ChannelError) in try poll(id) }) else {
            throw .timedOut
        }
        return frame
    }

    /// The blocking wait of ``awaitFrame(_:timeout:unchangedSince:)`` and
    /// ``nextPipelinedAnswer(timeout:)``: spins while ``activity`` (last
    /// `seen`) may move, then sleeps on the response ring, until `poll` finds
    /// something; `nil` at `deadline`. With `pollsAfterCheck`, `poll` runs
    /// again after each server check, before the deadline is looked at.
    @inline(__always)
    func blockingWait<Found>(seen start: (UInt64, UInt64), deadline: ContinuousClock.Instant?, pollsAfterCheck: Bool = false,
                             _ poll: () throws(ChannelError) -> Found?) throws(ChannelError) -> Found? {
        var seen = start
        var spins = 0
        let spinLimit = strategy.spinCount
        while true {
            if spins < spinLimit {
                spins &+= 1
                let now = activity
                if now != seen {
                    seen = now
                    if let found = try poll() { return found }
                }
                cshm_spin_pause()
                if spins & 1023 != 0 { continue }
            } else if let found = try poll() {
                return found
            }
            let now = ContinuousClock.now
            checkServerIfDue(now: now)
            if pollsAfterCheck, let found = try poll() { return found }
            if let deadline, now >= deadline { return nil }
            if spins < spinLimit { continue }
            let plan = prepareSleep()
            let ready: Found?
            do { ready = try poll() } catch {
                finishSleep()
                throw error
            }
            if let ready {
                finishSleep()
                return ready
            }
            plan.block(system: service.system, until: min(now + RingCore.checkInterval, deadline ?? .now + longestTimeout))
            finishSleep()
        }
    }

    /// Waits, suspending the task, for the next reply to `id`.
    nonisolated(nonsending) func awaitFrameAsync(_ id: UInt64, timeout: Duration?) async throws(ChannelError) -> RequestFrame {
        var seen = activity
        if let frame = try poll(id) { return frame }
        let deadline = deadline(after: timeout)
        var spins = 0
        let spinLimit = min(strategy.spinCount, RingCore.asyncSpinLimit)
        while true {
            if spins < spinLimit {
                spins &+= 1
                let now = activity
                if now != seen {
                    seen = now
                    if let frame = try poll(id) { return frame }
                }
                cshm_spin_pause()
                continue
            }
            if let frame = try poll(id) { return frame }
            if Task.isCancelled { throw .cancelled }
            let now = ContinuousClock.now
            checkServerIfDue(now: now)
            if let deadline, now >= deadline { throw .timedOut }
            let plan = prepareSleep()
            let ready: RequestFrame?
            do { ready = try poll(id) } catch {
                finishSleep()
                throw error
            }
            if let ready {
                finishSleep()
                return ready
            }
            await plan.suspend(until: min(now + RingCore.checkInterval, deadline ?? .now + longestTimeout))
            finishSleep()
        }
    }

    /// The payload of a reply that ends a request, or its failure.
    func payload(of frame: consuming RequestFrame) throws(ChannelError) -> [UInt8] {
        switch frame.kind {
        case .reply, .replyMore: return frame.payload
        case .error: throw .requestFailed(String(decoding: frame.payload, as: UTF8.self))
        default: throw .badChannel("\(serverName) ended request \(frame.id) without a reply")
        }
    }
}
