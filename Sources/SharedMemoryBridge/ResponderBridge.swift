internal import CCycloneDDS
internal import CShmBridgeTypes
import Glibc
import Synchronization
import SharedMemory

/// The host with the server (`--requests-in NAME`): the bridge joins NAME as
/// one `RequestClient`, announces itself on `shm/NAME/server`, takes the
/// request samples addressed to it (checked, see ``RequestSampleCheck``) and
/// makes them locally without waiting for each: one thread sends the
/// requests as they come, at most ``BridgeConfiguration/maxRequestsInFlight``
/// at once (beyond that it takes no more samples, so the bounded DDS reader
/// queue pushes back), and a second thread takes the answers to any of them
/// as they arrive and writes them to DDS. Neither hands a request to another
/// thread or task, so a request crosses this bridge with no wake-up besides
/// the local server's and the answer's.
final class ResponderBridge: ListeningForwarder, @unchecked Sendable {
    // @unchecked: the DDS handles are integers used through Cyclone's
    // thread-safe API; the client is Sendable; the requests in flight are
    // behind a mutex; `serving` is used by the requests thread only; `kept`
    // and the take buffers only inside the handoff's pump, under its lock.
    let service: String
    let client: RequestClient
    let origin: [UInt8]
    let requestReader: dds_entity_t
    let replyWriter: dds_entity_t
    let announcementWriter: dds_entity_t
    /// The request reader's listener and the requests thread (see ``ListenerHandoff``).
    let handoff: ListenerHandoff
    let counters: BridgeCounters
    let stop: StopFlag
    let check: RequestSampleCheck
    let timeout: Duration
    let limit: Int
    let inFlight = Mutex(RequestsInFlight())
    /// How long the answers thread keeps looking after an answer before it sleeps (``BridgeConfiguration/busyPoll``).
    let busyPoll: Duration
    private var serving: Bool?
    /// Requests the listener could not send now (the local request ring was
    /// full), in order; while any are kept, the listener takes no samples.
    private var kept: [(key: RequestsInFlight.Key, payload: [UInt8], stream: Bool)] = []
    /// Error replies the listener owes: it never writes to DDS itself (a
    /// `dds_write` waiting out back-pressure on Cyclone's receiving thread
    /// could wait for acknowledgements that thread has to read).
    private var deferredReplies: [(key: RequestsInFlight.Key, payload: [UInt8])] = []

    init(service: String, client: RequestClient, participant: DDSParticipant, configuration: BridgeConfiguration,
         origin: [UInt8], counters: BridgeCounters, stop: StopFlag) throws(DDSError) {
        self.service = service
        self.client = client
        self.origin = origin
        self.counters = counters
        self.stop = stop
        timeout = configuration.requestTimeout
        limit = configuration.maxRequestsInFlight
        busyPoll = configuration.busyPoll
        check = RequestSampleCheck(origin: origin, maxPayload: client.maxPayloadSize)
        let topics = try RequestDDS.topics(participant, service: service)
        let readerQoS = RequestDDS.dataQoS(queueDepth: configuration.queueDepth, maxPayload: client.maxPayloadSize, reader: true)
        defer { dds_delete_qos(readerQoS) }
        requestReader = try ddsCheck(dds_create_reader(participant.participant, topics.request, readerQoS, nil), "creating a DDS reader for \(service) requests")
        let writerQoS = RequestDDS.dataQoS(queueDepth: configuration.queueDepth, maxPayload: client.maxPayloadSize, reader: false)
        defer { dds_delete_qos(writerQoS) }
        replyWriter = try ddsCheck(dds_create_writer(participant.participant, topics.reply, writerQoS, nil), "creating a DDS writer for \(service) replies")
        let announcementQoS = RequestDDS.announcementQoS()
        defer { dds_delete_qos(announcementQoS) }
        announcementWriter = try ddsCheck(dds_create_writer(participant.participant, topics.server, announcementQoS, nil),
                                          "creating a DDS writer for \(service) servers")
        handoff = try ListenerHandoff(reader: requestReader, participant: participant)
    }

    /// Starts the request reader's listener (it holds this bridge until ``stopListening()``).
    func startListening() {
        handoff.start(what: service) { self.handoff.pump(waiting: false) { self.drainRequests(immediate: true) } }
    }

    /// Stops the listener; a call in progress returns first.
    func stopListening() { handoff.stop() }

    /// Requester bridges matched with the reply writer.
    var matchedReaders: Int { matchedReaderCount(of: replyWriter) }

    /// Writes the announcement when whether a local server serves changed.
    private func announceIfChanged() {
        let now = client.hasServer
        guard now != serving else { return }
        serving = now
        var sample = shm_bridge_Responder()
        withUnsafeMutableBytes(of: &sample.origin) { RequestDDS.copy(origin, into: $0) }
        sample.max_payload = UInt32(clamping: client.maxPayloadSize)
        sample.serving = now ? 1 : 0
        let rc = RequestDDS.write(announcementWriter, &sample, counters: counters, stop: stop)
        BridgeLog.log(rc == DDS_RETCODE_OK ? .info : .warning,
                      "\(service): announced \(now ? "a live local server" : "no local server")\(rc == DDS_RETCODE_OK ? "" : " (failed: \(DDSError(what: "dds_write", code: rc)))")")
    }

    // MARK: DDS requests -> local server

    func runRequests() {
        var nextCheck = ContinuousClock.now
        while !stop.isSet {
            let now = ContinuousClock.now
            if now >= nextCheck {
                nextCheck = now + .milliseconds(100)
                announceIfChanged()
            }
            handoff.waitForWork(timeout: 100_000_000)
            handoff.pump(waiting: true) { drainRequests(immediate: false) }
        }
    }

    /// With the handoff's lock held: the kept requests first (the thread,
    /// waiting for space), then the reader's samples while fewer than the
    /// limit are in flight. At the limit the samples stay in the reader (its
    /// bounded queue pushes back) until the answers thread ends one and wakes
    /// the requests thread.
    private func drainRequests(immediate: Bool) {
        if !immediate {
            for reply in deferredReplies { writeReply(to: reply.key, kind: .error, payload: reply.payload) }
            deferredReplies.removeAll()
            while !kept.isEmpty, !stop.isSet {
                let request = kept.removeFirst()
                request.payload.withUnsafeBytes { send($0, stream: request.stream, for: request.key, waiting: true) }
            }
        }
        guard kept.isEmpty else {
            handoff.wakeThread()
            return
        }
        while !stop.isSet, kept.isEmpty {
            let room = limit - inFlight.withLock { $0.count }
            guard room > 0 else { break }
            let taken = handoff.takeBatch(upTo: room) { accept($0.assumingMemoryBound(to: shm_bridge_Request.self), waiting: !immediate) }
            guard taken > 0 else { break }
        }
        if !kept.isEmpty || !deferredReplies.isEmpty { handoff.wakeThread() }
    }

    /// Answers request `key` with an error now (a thread), or has the requests thread do it (the listener).
    private func failRequest(_ key: RequestsInFlight.Key, _ payload: [UInt8], waiting: Bool) {
        if waiting {
            writeReply(to: key, kind: .error, payload: payload)
        } else {
            deferredReplies.append((key, payload))
        }
    }

    private func accept(_ sample: UnsafeMutablePointer<shm_bridge_Request>, waiting: Bool) {
        let length = Int(sample.pointee.payload._length)
        let refusal = withUnsafeBytes(of: sample.pointee.requester) { sender in
            withUnsafeBytes(of: sample.pointee.responder) { target in
                check.refusalOfRequest(sender: sender, target: target, kind: sample.pointee.kind, payloadLength: length)
            }
        }
        let requester = withUnsafeBytes(of: sample.pointee.requester) { Array($0) }
        let id = sample.pointee.request_id
        switch refusal {
        case .ownSample?:
            counters.droppedOwn.add(1, ordering: .relaxed)
            return
        case .notForUs?:
            counters.ignoredNotForUs.add(1, ordering: .relaxed)
            return
        case .badKind(let kind)?:
            counters.droppedMalformed.add(1, ordering: .relaxed)
            BridgeLog.log(.warning, "\(service): dropped a request of kind \(kind) from \(originText(requester))")
            return
        case .tooLarge(let size)?:
            counters.droppedTooLarge.add(1, ordering: .relaxed)
            failRequest(RequestsInFlight.Key(requester: requester, id: id),
                        RequestDDS.shortened("a request of \(size) bytes; \(service) takes at most \(client.maxPayloadSize)", to: RequestDDS.maxReasonLength),
                        waiting: waiting)
            return
        case nil:
            break
        }
        guard length == 0 || sample.pointee.payload._buffer != nil, let kind = RequestSampleKind(rawValue: sample.pointee.kind) else {
            counters.droppedMalformed.add(1, ordering: .relaxed)
            return
        }
        let key = RequestsInFlight.Key(requester: requester, id: id)
        if kind == .cancel {
            if let local = inFlight.withLock({ $0.remove(key) }) {
                client.abandonPipelined(local.id, stream: local.stream)
            } else {
                // Not sent yet (the local ring was full): never send it, or the
                // stream would run with nobody to cancel it.
                kept.removeAll { $0.key == key }
            }
            return
        }
        counters.requestsIn.add(1, ordering: .relaxed)
        guard client.hasServer else {
            counters.requestsFailed.add(1, ordering: .relaxed)
            failRequest(key, Array(noServerReason.utf8), waiting: waiting)
            return
        }
        let payload = UnsafeRawBufferPointer(start: sample.pointee.payload._buffer, count: length)
        send(payload, stream: kind == .streamRequest, for: key, waiting: waiting)
    }

    /// Sends one request to the local server. It is recorded under the same
    /// lock, so the answers thread cannot take an answer to a request it does
    /// not know yet; the lock is never held while the ring is full. Not
    /// `waiting` (the listener), a request behind a kept one or finding the
    /// ring full is kept for the thread.
    private func send(_ payload: UnsafeRawBufferPointer, stream: Bool, for key: RequestsInFlight.Key, waiting: Bool) {
        if !waiting, !kept.isEmpty {
            kept.append((key, Array(payload), stream))
            return
        }
        let giveUp = ContinuousClock.now + timeout
        var duplicate = false
        while !stop.isSet {
            let sent: Result<Bool, ChannelError> = inFlight.withLock { table in
                // A requester never sends one id twice; a sample that does (a
                // broken or hostile sender) would replace the entry, leave the
                // first request running untracked and let the requester pass
                // the in-flight limit with one id. Dropped.
                if table.contains(key) {
                    duplicate = true
                    return .success(true)
                }
                do throws(ChannelError) {
                    guard let id = try client.sendPipelined(payload, stream: stream, timeout: .zero) else { return .success(false) }
                    table.insert(RequestsInFlight.Entry(key: key, id: id, stream: stream, deadline: .now + timeout))
                    return .success(true)
                } catch {
                    return .failure(error)
                }
            }
            switch sent {
            case .success(true):
                if duplicate {
                    counters.droppedMalformed.add(1, ordering: .relaxed)
                    BridgeLog.log(.warning, "\(service): dropped request \(key.id) of \(originText(key.requester)), which is in flight already")
                }
                return
            case .success(false):
                guard waiting else {
                    kept.append((key, Array(payload), stream))
                    return
                }
                // The local server is behind: this thread takes nothing more meanwhile.
                // A dead one never makes room: fail now, not after the timeout (per
                // request, kept ones one after another, the announcement not renewed).
                guard client.hasServer else {
                    counters.requestsFailed.add(1, ordering: .relaxed)
                    writeReply(to: key, kind: .error, payload: Array(noServerReason.utf8))
                    return
                }
                guard ContinuousClock.now < giveUp else {
                    fail(key, .timedOut)
                    return
                }
                usleep(1000)
            case .failure(let error):
                if waiting {
                    fail(key, error)
                } else {
                    counters.requestsFailed.add(1, ordering: .relaxed)
                    failRequest(key, RequestDDS.shortened(reason(error), to: RequestDDS.maxReasonLength), waiting: false)
                }
                return
            }
        }
    }

    // MARK: Local answers -> DDS

    func runReplies() {
        var nextCheck = ContinuousClock.now + .milliseconds(100)
        var lastAnswer = ContinuousClock.now - .seconds(1)
        while !stop.isSet {
            let answer: RequestClient.PipelinedAnswer?
            do {
                let polling = busyPoll > .zero && ContinuousClock.now - lastAnswer < busyPoll
                answer = try client.nextPipelinedAnswer(timeout: polling ? .zero : .milliseconds(100))
                if answer == nil, polling { sched_yield() }
                if answer != nil, busyPoll > .zero { lastAnswer = .now }
            } catch .closed {
                return
            } catch {
                // A frame that breaks the protocol is consumed; an error that
                // lasts (a truncated segment) must not spin this thread.
                BridgeLog.log(.warning, "\(service): dropped a local answer: \(error)")
                usleep(10_000)
                continue
            }
            if let answer { forward(answer) }
            let now = ContinuousClock.now
            if now >= nextCheck {
                nextCheck = now + .milliseconds(100)
                let expired = inFlight.withLock { $0.expire(now: now) }
                for entry in expired {
                    client.abandonPipelined(entry.id, stream: entry.stream)
                    fail(entry.key, .timedOut)
                }
                if !expired.isEmpty { handoff.wakeThread() }
            }
        }
    }

    /// Writes one answer of the local server to the requester bridge.
    private func forward(_ answer: RequestClient.PipelinedAnswer) {
        let (entry, ended, wasFull) = inFlight.withLock { table -> (RequestsInFlight.Entry?, Bool, Bool) in
            let full = table.count >= limit
            guard let found = table.touch(local: answer.id, deadline: .now + timeout) else { return (nil, false, full) }
            // A plain request ends with its first answer, even a stream item
            // (the client forgets it then, and the requester takes it as the reply).
            let ends = answer.ends || !found.stream
            if ends { _ = table.remove(local: answer.id) }
            return (found, ends, full)
        }
        // Cancelled by the requester, or given up: nobody waits for it.
        guard let entry else { return }
        // Room again: samples may wait in the reader.
        if wasFull && ended { handoff.wakeThread() }
        switch answer {
        case .reply(_, let payload):
            writeReply(to: entry.key, kind: .reply, payload: payload)
        case .streamItem(_, let payload):
            writeReply(to: entry.key, kind: entry.stream ? .streamItem : .reply, payload: payload)
        case .streamEnd:
            writeReply(to: entry.key, kind: .streamEnd, payload: [])
        case .failed(_, let error):
            fail(entry.key, error)
        }
    }

    /// Answers request `key` with an error that says why.
    private func fail(_ key: RequestsInFlight.Key, _ error: ChannelError) {
        counters.requestsFailed.add(1, ordering: .relaxed)
        writeReply(to: key, kind: .error, payload: RequestDDS.shortened(reason(error), to: RequestDDS.maxReasonLength))
    }

    private var noServerReason: String {
        "no server for \(service) on the server's host (its bridge runs, no local server serves \(service) now)"
    }

    private func reason(_ error: ChannelError) -> String {
        switch error {
        case .requestFailed(let reason): reason
        case .timedOut: "no reply from the server of \(service) within \(timeout) (the server's bridge's --request-timeout)"
        case .peerDied(let who): "\(who) died before it answered"
        case .peerLeft(let who): "\(who) left before it answered"
        default: "on the server's host: \(error)"
        }
    }

    /// Writes one reply sample (from either thread: Cyclone's writers are thread-safe).
    private func writeReply(to key: RequestsInFlight.Key, kind: ReplySampleKind, payload: [UInt8]) {
        var sample = shm_bridge_Reply()
        withUnsafeMutableBytes(of: &sample.responder) { RequestDDS.copy(origin, into: $0) }
        withUnsafeMutableBytes(of: &sample.requester) { RequestDDS.copy(key.requester, into: $0) }
        sample.request_id = key.id
        sample.kind = kind.rawValue
        let rc = payload.withUnsafeBufferPointer { bytes in
            sample.payload._buffer = UnsafeMutablePointer(mutating: bytes.baseAddress)
            sample.payload._length = UInt32(bytes.count)
            sample.payload._maximum = UInt32(bytes.count)
            sample.payload._release = false
            defer { sample.payload._buffer = nil }
            return RequestDDS.write(replyWriter, &sample, counters: counters, stop: stop)
        }
        if rc == DDS_RETCODE_OK {
            counters.repliesOut.add(1, ordering: .relaxed)
        } else {
            counters.droppedLocal.add(1, ordering: .relaxed)
            BridgeLog.log(.warning, "\(service): a reply could not be written (\(DDSError(what: "dds_write", code: rc)))")
        }
    }
}

/// The requests a responder bridge has sent to its local server and not
/// seen the end of: by the client's id, and by the requester's key (for
/// cancels). Bounded by the in-flight limit the requests thread keeps.
struct RequestsInFlight {
    /// A request as the requester bridge named it.
    struct Key: Hashable {
        var requester: [UInt8]
        var id: UInt64
    }
    struct Entry {
        var key: Key
        /// The local client's id of the request.
        var id: UInt64
        var stream: Bool
        /// When it fails unanswered (a stream: with no item until then).
        var deadline: ContinuousClock.Instant
    }

    private var byLocal: [UInt64: Entry] = [:]
    private var byKey: [Key: UInt64] = [:]

    var count: Int { byLocal.count }

    /// Whether the requester's request `key` is in flight.
    func contains(_ key: Key) -> Bool { byKey[key] != nil }

    mutating func insert(_ entry: Entry) {
        if let old = byKey[entry.key] { byLocal[old] = nil }
        byLocal[entry.id] = entry
        byKey[entry.key] = entry.id
    }

    /// Removes the request the requester calls `key`.
    mutating func remove(_ key: Key) -> Entry? {
        guard let id = byKey.removeValue(forKey: key) else { return nil }
        return byLocal.removeValue(forKey: id)
    }

    /// Removes the request the local client calls `id`.
    mutating func remove(local id: UInt64) -> Entry? {
        guard let entry = byLocal.removeValue(forKey: id) else { return nil }
        byKey[entry.key] = nil
        return entry
    }

    /// The request the local client calls `id`, its deadline moved to `deadline`.
    mutating func touch(local id: UInt64, deadline: ContinuousClock.Instant) -> Entry? {
        byLocal[id]?.deadline = deadline
        return byLocal[id]
    }

    /// Removes and returns the requests past their deadline.
    mutating func expire(now: ContinuousClock.Instant) -> [Entry] {
        let expired = byLocal.values.filter { $0.deadline <= now }
        for entry in expired { _ = remove(local: entry.id) }
        return expired
    }
}
