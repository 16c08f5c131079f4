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
    var nextRefresh: ContinuousClock.Instant = .now
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

    mutating func refresh(force: Bool = false) {
        let event = service.membershipEvent.pointee.load(ordering: .acquiring)
        guard force || event != membershipSeen || pollsSinceClock >= Self.pollsPerClockRead else {
            pollsSinceClock += 1
            return
        }
        pollsSinceClock = 0
        let now = ContinuousClock.now
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
            let member = (cursor + step) % count
            guard let link = links[member] else { continue }
            watch.add(link.reader.core.writePosition)
            let found: Result<RequestFrame, FrameProblem>?
            do {
                found = try link.reader.tryReceive { RequestFrame.parse($0) }
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
            guard let found else { continue }
            cursor = (member + 1) % count
            switch found {
            case .failure(let problem):
                if case .unknownKind(let id, _) = problem { answer(link, id: id, error: problem.describe(from: link.name)) }
                throw .badChannel(problem.describe(from: link.name))
            case .success(let frame) where frame.kind == .request || frame.kind == .streamRequest:
                return IncomingRequest(link: link, id: frame.id, payload: frame.payload, isStream: frame.kind == .streamRequest)
            case .success(let frame) where frame.kind == .cancel:
                link.cancel(frame.id)
                continue
            case .success(let frame):
                let reason = "\(link.name) sent a message of kind \(frame.kind.rawValue), which only a server sends"
                answer(link, id: frame.id, error: reason)
                throw .badChannel(reason)
            }
        }
        return nil
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
    private var positions: [(word: UnsafeMutablePointer<Atomic<UInt64>>, seen: UInt64)] = []
    private var membership: (word: UnsafeMutablePointer<Atomic<UInt32>>, seen: UInt32)?

    mutating func reset(membership word: UnsafeMutablePointer<Atomic<UInt32>>) {
        positions.removeAll(keepingCapacity: true)
        membership = (word, word.pointee.load(ordering: .acquiring))
    }

    mutating func add(_ word: UnsafeMutablePointer<Atomic<UInt64>>) {
        positions.append((word, word.pointee.load(ordering: .acquiring)))
    }

    /// Whether a poll may find something new.
    @inline(__always)
    func changed() -> Bool {
        if let membership, membership.word.pointee.load(ordering: .acquiring) != membership.seen { return true }
        for entry in positions where entry.word.pointee.load(ordering: .acquiring) != entry.seen { return true }
        return membership == nil
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
