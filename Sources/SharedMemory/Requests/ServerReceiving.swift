import Synchronization

/// A server's receiving side, used under its lock: the attached clients,
/// the round-robin cursor, and the sleepers counts of the tasks that wait.
struct ServerReceiving {
    let service: ServiceSegment
    let strategy: WaitStrategy
    var links: [ClientLink?]
    /// Per slot, a session the server will not attach to again (it closed
    /// its request ring, or its ring broke the rules).
    var refused: [UInt32?]
    var sleepers: [SharedSleepers]
    var membershipSleepers = SharedSleepers()
    var cursor = 0
    var membershipSeen: UInt32 = 0
    var nextRefresh = ClockReading.now
    /// Polls since the clock was last read: the clock is read every
    /// ``pollsPerClockRead`` polls, not on each (a poll that finds a request takes no clock).
    var pollsSinceClock = 0
    static let pollsPerClockRead = 256
    var closed = false
    /// Requests read while a stream reply waited for space (see ``pump()``).
    var queued: [IncomingRequest] = []
    /// The object that holds this state, for the links to call back.
    weak var owner: RequestPump?

    init(service: ServiceSegment, strategy: WaitStrategy) {
        self.service = service
        self.strategy = strategy
        links = Array(repeating: nil, count: service.memberCount)
        refused = Array(repeating: nil, count: service.memberCount)
        sleepers = Array(repeating: SharedSleepers(), count: service.memberCount)
    }

    var serviceName: String { service.name.posixName }

    // MARK: Membership

    /// Attaches to clients that joined and detaches from clients that left
    /// or died, when the membership event moved or a check interval passed.
    /// Set once the segment was found truncated: every later poll throws it.
    var truncation: ChannelError?

    @inline(__always)
    mutating func refresh(force: Bool = false) {
        let event = service.membershipEvent.pointee.load(ordering: .acquiring)
        guard force || event != membershipSeen || pollsSinceClock >= Self.pollsPerClockRead else {
            pollsSinceClock += 1
            return
        }
        refresh(event: event, force: force)
    }

    /// ``refresh(force:)`` once it reads the clock: out of line, so that a
    /// poll that finds the membership unchanged sets up nothing for the clock.
    @inline(never)
    private mutating func refresh(event: UInt32, force: Bool) {
        pollsSinceClock = 0
        let now = ClockReading.now
        guard force || event != membershipSeen || now >= nextRefresh else { return }
        membershipSeen = event
        nextRefresh = now + RingCore.checkInterval
        do { try service.checkIntact() } catch {
            // Reported by the next poll; a truncated segment is never used again.
            truncation = error
            return
        }
        for member in 0..<links.count {
            let session = service.memberSession(member)
            let alive = service.memberIsAlive(member)
            if let link = links[member], !alive || session != link.session {
                detach(member)
            }
            if links[member] == nil, alive, let session, refused[member] != session {
                attach(member)
            }
        }
    }

    /// Claims the receiver of client `member`'s request ring and the writer
    /// of its response ring, then reads its session again (a joiner holds
    /// these roles while it resets, so the session cannot change once they
    /// are claimed) and tells the client where it takes over.
    private mutating func attach(_ member: Int) {
        guard let requests = try? service.ring(member: member, ring: 0),
              let responses = try? service.ring(member: member, ring: 1),
              let reader = try? RingReader.receiver(core: requests, strategy: strategy) else { return }
        guard let writer = try? RingWriter(core: responses, strategy: strategy) else {
            reader.detach()
            return
        }
        guard let session = service.memberSession(member), service.memberIsAlive(member), refused[member] != session else {
            reader.detach()
            writer.close()
            return
        }
        var taken = reader.currentPosition.littleEndian
        _ = withUnsafeBytes(of: &taken) { bytes in
            try? writer.writeFrame(id: 0, kind: .serverAttached, payload: bytes, timeout: nil, waits: false)
        }
        links[member] = ClientLink(member: member, session: session, reader: reader, writer: writer, service: serviceName, owner: owner)
    }

    /// Detaches from client `member` and frees its slot for the next client.
    mutating func detach(_ member: Int) {
        guard let link = links[member] else { return }
        links[member] = nil
        if sleepers[member].waiters > 0 {
            // The waiters that counted themselves in see the link gone and do not count out.
            link.sleeperCount.leave()
            sleepers[member] = SharedSleepers()
        }
        link.detach()
        service.announceMembership()
    }

    /// Detaches from every client.
    mutating func detachAll() {
        queued.removeAll()
        for member in 0..<links.count { detach(member) }
    }

    // MARK: Receiving

    /// The next request of any client, taking clients in turn; `nil` when none has one.
    /// - Throws: ``ChannelError/badChannel(_:)`` for a message that breaks
    ///   the protocol (it is consumed; an unknown kind is answered with an
    ///   error) or a client ring that does (the client is dropped).
    mutating func poll(_ watch: inout SpinWatch) throws(ChannelError) -> IncomingRequest? {
        if closed { throw .closed }
        if !queued.isEmpty { return queued.removeFirst() }
        return try pollRings(&watch)
    }

    /// Reads what the request rings hold now: queues the requests for
    /// ``poll(_:)`` and applies cancellations. Called while a stream reply
    /// waits for space, so that a client that cancelled the stream (and no
    /// longer reads its replies) is heard even when no task takes requests.
    mutating func pump() {
        guard !closed else { return }
        var watch = SpinWatch()
        for _ in 0..<Self.pumpLimit {
            guard let request = try? pollRings(&watch) else { return }
            queued.append(request)
        }
    }

    static let pumpLimit = 64

    private mutating func pollRings(_ watch: inout SpinWatch) throws(ChannelError) -> IncomingRequest? {
        refresh()
        if let truncation { throw truncation }
        watch.reset(membership: service.membershipEvent)
        let count = links.count
        for step in 0..<count {
            // No division on the hot path: cursor < count and step < count.
            var member = cursor &+ step
            if member >= count { member &-= count }
            guard let link = links[member] else { continue }
            watch.add(link.reader.core.writePosition)
            // What a message other than a request is (no reference to count).
            var other: Other?
            let found: FoundRequest?
            do {
                // Without a reference count of its own (a retain and a
                // release per request): `link`, a strong local, holds the
                // reader (a `let` of it) for the whole call. The ring is
                // lossless: the body runs once per message, which it consumes.
                found = try Unmanaged.passUnretained(link.reader)._withUnsafeGuaranteedRef { reader in
                    Result { () throws(ChannelError) in
                        try reader.tryReceive { bytes -> FoundRequest? in
                            switch RequestFrame.header(of: bytes) {
                            case .failure(let problem):
                                other = .broken(problem)
                                return nil
                            case .success(let header) where header.kind == .request || header.kind == .streamRequest:
                                // The payload is copied out of the ring once, into the request.
                                return FoundRequest(id: header.id, payload: RequestFrame.payload(of: bytes),
                                                    isStream: header.kind == .streamRequest)
                            case .success(let header):
                                other = .frame(header)
                                return nil
                            }
                        }
                    }
                }.get() ?? nil
            } catch .closed {
                // The client closed its request ring: it is leaving.
                refused[member] = link.session
                detach(member)
                continue
            } catch {
                refused[member] = link.session
                detach(member)
                throw .badChannel("\(link.name) dropped: \(error)")
            }
            if let found {
                cursor = member &+ 1 == count ? 0 : member &+ 1
                // The local's reference moves into the request: no count of its own.
                return IncomingRequest(link: link, id: found.id, payload: found.payload, isStream: found.isStream)
            }
            guard let other else { continue }
            cursor = member &+ 1 == count ? 0 : member &+ 1
            switch other {
            case .broken(let problem):
                if case .unknownKind(let id, _) = problem { answer(link, id: id, error: problem.describe(from: link.name)) }
                throw .badChannel(problem.describe(from: link.name))
            case .frame(let header) where header.kind == .cancel:
                link.cancel(header.id)
                continue
            case .frame(let header):
                let reason = "\(link.name) sent a message of kind \(header.kind.rawValue), which only a server sends"
                answer(link, id: header.id, error: reason)
                throw .badChannel(reason)
            }
        }
        return nil
    }

    /// A request as read from a ring, before it is tied to its link.
    private struct FoundRequest {
        let id: UInt64
        let payload: [UInt8]
        let isStream: Bool
    }

    /// A message of a request ring that is no request.
    private enum Other {
        case broken(FrameProblem)
        case frame(RequestFrame.Header)
    }

    /// Answers a broken request with an error, if there is space now.
    private func answer(_ link: ClientLink, id: UInt64, error: String) {
        var reason = error
        _ = reason.withUTF8 { bytes in try? link.tryWrite(.error, id: id, UnsafeRawBufferPointer(bytes)) }
    }

    // MARK: Sleeping

    /// Counts the waiter in on the membership event and every attached
    /// client's request ring, and returns what to sleep on.
    mutating func prepareSleep() -> (PlannedSleep, [ClientLink]) {
        // A sleeper polls rarely: look at the clock (and the members, when due) now.
        pollsSinceClock = Self.pollsPerClockRead
        refresh()
        var words = [FutexWord(current: service.membershipEvent)]
        membershipSleepers.enter(membershipCount)
        var entered: [ClientLink] = []
        for case let link? in links where words.count < FutexWord.maxCount - 1 {
            words.append(FutexWord(announcingOn: link.reader.core.dataEvent))
            sleepers[link.member].enter(link.sleeperCount)
            entered.append(link)
        }
        return (PlannedSleep(words: words), entered)
    }

    /// Counts the waiter out of what ``prepareSleep()`` counted it in.
    mutating func finishSleep(_ entered: [ClientLink]) {
        membershipSleepers.leave(membershipCount)
        for link in entered where links[link.member] === link {
            sleepers[link.member].leave(link.sleeperCount)
        }
    }

    var membershipCount: SleeperCount {
        SleeperCount(sleepers: service.membershipSleepers, sleeping: service.ownerSleeping)
    }
}

/// What a spinning server looks at between polls: the write position of
/// every request ring and the membership event, as they were before the
/// last poll found nothing. The words lie in the service's mapping, which
/// outlives every wait, so a stale entry is only a word that never moves.
struct SpinWatch {
    typealias Entry = (word: UnsafeMutablePointer<Atomic<UInt64>>, seen: UInt64)
    /// The first ring's entry (the only one with one client): no array on the hot path.
    private var first: Entry?
    private var others: [Entry] = []
    private var membership: (word: UnsafeMutablePointer<Atomic<UInt32>>, seen: UInt32)?

    mutating func reset(membership word: UnsafeMutablePointer<Atomic<UInt32>>) {
        first = nil
        if !others.isEmpty { others.removeAll(keepingCapacity: true) }
        membership = (word, word.pointee.load(ordering: .acquiring))
    }

    @inline(__always)
    mutating func add(_ word: UnsafeMutablePointer<Atomic<UInt64>>) {
        let entry = (word: word, seen: word.pointee.load(ordering: .acquiring))
        if first == nil { first = entry } else { others.append(entry) }
    }

    /// Whether a poll may find something new. The request rings come
    /// first: with one client, a new request is seen with one load.
    @inline(__always)
    func changed() -> Bool {
        if let first, first.word.pointee.load(ordering: .acquiring) != first.seen { return true }
        for entry in others where entry.word.pointee.load(ordering: .acquiring) != entry.seen { return true }
        guard let membership else { return true }
        return membership.word.pointee.load(ordering: .acquiring) != membership.seen
    }
}

/// A server's receiving side behind its lock, shared with the client links
/// (weakly) so that a stream reply waiting for space can read the request rings.
final class RequestPump: Sendable {
    let receiving: Mutex<ServerReceiving>

    init(service: ServiceSegment, strategy: WaitStrategy) {
        receiving = Mutex(ServerReceiving(service: service, strategy: strategy))
        receiving.withLock { $0.owner = self }
    }

    /// See ``ServerReceiving/pump()``.
    func pump() { receiving.withLock { $0.pump() } }
}
