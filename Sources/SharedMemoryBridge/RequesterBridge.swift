internal import CCycloneDDS
internal import CShmBridgeTypes
import Glibc
import Synchronization
import SharedMemory

/// The host with the clients (`--requests-out NAME`): the bridge serves NAME
/// locally as its `RequestServer`, standing in for the remote server, and
/// sends each request to one responder bridge on the network (see
/// ``ResponderChoice``). One thread takes local requests and writes them to
/// DDS. Replies from DDS (checked, see ``RequestSampleCheck``) answer the
/// local clients from a DDS listener, on the Cyclone thread that received
/// them; a second thread gives the answers the listener could not give
/// without waiting (see ``ListenerHandoff``), and watches the responders and
/// the pending requests' deadlines.
final class RequesterBridge: ListeningForwarder, @unchecked Sendable {
    // @unchecked: the DDS handles are integers used through Cyclone's
    // thread-safe API; the server is Sendable; the shared state is behind
    // mutexes and the counters are atomics.
    let service: String
    let server: RequestServer
    let origin: [UInt8]
    let requestWriter: dds_entity_t
    let replyReader: dds_entity_t
    let responderReader: dds_entity_t
    /// The reply reader's listener and the replies thread (see ``ListenerHandoff``).
    let handoff: ListenerHandoff
    let counters: BridgeCounters
    let stop: StopFlag
    let check: RequestSampleCheck
    let timeout: Duration
    /// How long the requests thread keeps looking after a request before it sleeps (``BridgeConfiguration/busyPoll``).
    let busyPoll: Duration
    let pending: Mutex<PendingRequests<IncomingRequest>>
    let choice = Mutex(ResponderChoice())
    let nextID = Atomic<UInt64>(1)
    /// How long a reply waits for space in a local client's response ring.
    static let localReplyTimeout: Duration = .seconds(2)
    /// Answers the listener could not give now (a client's response ring was
    /// full), in order; while any are kept, the listener takes no samples.
    /// Used under the handoff's lock, as are the take buffers.
    private var kept: [LocalAnswer] = []
    /// Cancels owed to responders, found while the handoff's lock is held:
    /// the replies thread writes them after it lets go of the lock. The
    /// listener never writes to DDS (a `dds_write` waiting out back-pressure
    /// on Cyclone's receiving thread could wait for acknowledgements that
    /// thread has to read), and neither does the thread under the lock: the
    /// request writer waits for the responder, whose answers wait for this
    /// reply reader, which nobody drains while the lock is held.
    private var deferredCancels: [(id: UInt64, responder: [UInt8])] = []

    init(service: String, server: RequestServer, participant: DDSParticipant, configuration: BridgeConfiguration,
         origin: [UInt8], counters: BridgeCounters, stop: StopFlag) throws(DDSError) {
        self.service = service
        self.server = server
        self.origin = origin
        self.counters = counters
        self.stop = stop
        timeout = configuration.requestTimeout
        busyPoll = configuration.busyPoll
        check = RequestSampleCheck(origin: origin, maxPayload: server.maxPayloadSize)
        pending = Mutex(PendingRequests(capacity: configuration.maxPendingRequests, timeout: configuration.requestTimeout))
        let topics = try RequestDDS.topics(participant, service: service)
        let writerQoS = RequestDDS.dataQoS(queueDepth: configuration.queueDepth, maxPayload: server.maxPayloadSize, reader: false)
        defer { dds_delete_qos(writerQoS) }
        requestWriter = try ddsCheck(dds_create_writer(participant.participant, topics.request, writerQoS, nil), "creating a DDS writer for \(service) requests")
        let readerQoS = RequestDDS.dataQoS(queueDepth: configuration.queueDepth, maxPayload: server.maxPayloadSize, reader: true)
        defer { dds_delete_qos(readerQoS) }
        replyReader = try ddsCheck(dds_create_reader(participant.participant, topics.reply, readerQoS, nil), "creating a DDS reader for \(service) replies")
        let announcementQoS = RequestDDS.announcementQoS()
        defer { dds_delete_qos(announcementQoS) }
        responderReader = try ddsCheck(dds_create_reader(participant.participant, topics.server, announcementQoS, nil),
                                       "creating a DDS reader for \(service) servers")
        handoff = try ListenerHandoff(reader: replyReader, participant: participant)
    }

    /// Responder bridges matched with the request writer.
    var matchedReaders: Int { matchedReaderCount(of: requestWriter) }

    // MARK: Local requests -> DDS

    func runRequests() {
        var lastRequest = ContinuousClock.now - .seconds(1)
        while !stop.isSet {
            let request: IncomingRequest
            let polling = busyPoll > .zero && ContinuousClock.now - lastRequest < busyPoll
            do {
                request = try server.nextRequest(timeout: polling ? .zero : .milliseconds(200))
                if busyPoll > .zero { lastRequest = .now }
            } catch .timedOut {
                if polling { sched_yield() }
                continue
            } catch .badChannel(let reason) {
                BridgeLog.log(.warning, "\(service): dropped a local message: \(reason)")
                continue
            } catch {
                if !stop.isSet { BridgeLog.log(.error, "\(service): taking local requests: \(error)") }
                break
            }
            forward(request)
        }
    }

    private func forward(_ request: IncomingRequest) {
        guard let responder = choice.withLock({ $0.current }) else {
            failLocal(request, "no server for \(service) on the network (no bridge with --requests-in \(service) and a live server is reachable)")
            return
        }
        guard request.payload.count <= responder.maxPayload else {
            failLocal(request, "a request of \(request.payload.count) bytes; the server of \(service) on the network takes at most \(responder.maxPayload)")
            return
        }
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        // Registered before it is written: a reply cannot come before it is pending.
        let added = pending.withLock { $0.insert(id, request, responder: responder.origin, isStream: request.isStream, now: .now) }
        guard added else {
            failLocal(request, "too many pending requests to the network for \(service) (\(pending.withLock { $0.capacity }))")
            return
        }
        let rc = writeRequest(id: id, to: responder.origin, kind: request.isStream ? .streamRequest : .request, payload: request.payload)
        if rc == DDS_RETCODE_OK {
            counters.requestsOut.add(1, ordering: .relaxed)
        } else if pending.withLock({ $0.remove(id) }) != nil {
            failLocal(request, "the request could not be sent to the network: \(DDSError(what: "dds_write", code: rc))")
        }
    }

    private func writeRequest(id: UInt64, to responder: [UInt8], kind: RequestSampleKind, payload: [UInt8], once: Bool = false) -> Int32 {
        var sample = shm_bridge_Request()
        withUnsafeMutableBytes(of: &sample.requester) { RequestDDS.copy(origin, into: $0) }
        withUnsafeMutableBytes(of: &sample.responder) { RequestDDS.copy(responder, into: $0) }
        sample.request_id = id
        sample.kind = kind.rawValue
        return payload.withUnsafeBufferPointer { bytes in
            sample.payload._buffer = UnsafeMutablePointer(mutating: bytes.baseAddress)
            sample.payload._length = UInt32(bytes.count)
            sample.payload._maximum = UInt32(bytes.count)
            sample.payload._release = false
            defer { sample.payload._buffer = nil }
            return RequestDDS.write(requestWriter, &sample, counters: counters, stop: stop, once: once)
        }
    }

    /// Answers a local request with an error (the client gets `ChannelError/requestFailed(_:)`).
    private func failLocal(_ request: IncomingRequest, _ reason: String) {
        counters.requestsFailed.add(1, ordering: .relaxed)
        BridgeLog.log(.debug, "\(service): failed a request of client \(request.client): \(reason)")
        let text = String(decoding: RequestDDS.shortened(reason, to: server.maxPayloadSize), as: UTF8.self)
        do { try server.fail(request, reason: text, timeout: .milliseconds(200)) } catch {
            BridgeLog.log(.debug, "\(service): the error reply to client \(request.client) was dropped: \(error)")
        }
    }

    // MARK: DDS replies -> local clients

    /// Starts the reply reader's listener (it holds this bridge until ``stopListening()``).
    func startListening() {
        handoff.start(what: service) { self.handoff.pump(waiting: false) { self.drainReplies(immediate: true) } }
    }

    /// Stops the listener; a call in progress returns first.
    func stopListening() { handoff.stop() }

    func runReplies() {
        var nextCheck = ContinuousClock.now
        // Cancels to write, outside the handoff's lock.
        var owed: [(id: UInt64, responder: [UInt8])] = []
        let mostOwed = pending.withLock { $0.capacity }
        while !stop.isSet {
            handoff.waitForWork(timeout: 100_000_000)
            handoff.pump(waiting: true) {
                drainReplies(immediate: false)
                owed += deferredCancels
                deferredCancels.removeAll()
            }
            let now = ContinuousClock.now
            if now >= nextCheck {
                nextCheck = now + .milliseconds(100)
                refreshResponders()
                for (id, entry) in pending.withLock({ $0.expire(now: now) }) {
                    if entry.isStream { owed.append((id, entry.responder)) }
                    failLocal(entry.value, "no reply from the server of \(service) on the network within \(timeout) (the bridge's --request-timeout)")
                }
            }
            if owed.count > mostOwed { owed.removeFirst(owed.count - mostOwed) }
            sendCancels(&owed)
        }
        for (_, entry) in pending.withLock({ $0.removeAll() }) {
            failLocal(entry.value, "the bridge of \(service) stopped before the reply came")
        }
        server.close()
    }

    private func refreshResponders() {
        var entries = [shm_bridge_responder_entry](repeating: shm_bridge_responder_entry(), count: 64)
        let found = shm_bridge_read_responders(responderReader, &entries, Int32(entries.count))
        guard found >= 0 else { return }
        let alive = entries.prefix(Int(found)).map { entry in
            ResponderChoice.Responder(origin: withUnsafeBytes(of: entry.origin) { Array($0) },
                                      maxPayload: Int(entry.max_payload), serving: entry.serving == 1)
        }.filter { $0.origin != origin }
        let (changed, current, aliveOrigins) = choice.withLock { choice in
            let changed = choice.update(alive: alive)
            return (changed, choice.current, choice.aliveOrigins)
        }
        if changed {
            if let current {
                BridgeLog.log(.info, "\(service): server on the network: bridge \(originText(current.origin)) (\(alive.count) responder\(alive.count == 1 ? "" : "s") alive)")
            } else {
                BridgeLog.log(.info, "\(service): no server on the network (\(alive.count) responder bridge\(alive.count == 1 ? "" : "s") alive, none with a live server)")
            }
        }
        for (_, entry) in pending.withLock({ $0.removeAll(notSentTo: aliveOrigins) }) {
            failLocal(entry.value, "the bridge of the server of \(service) (\(originText(entry.responder))) left the network before it answered")
        }
    }

    /// With the handoff's lock held: the kept answers first (the thread,
    /// waiting for space), then the reader's samples.
    private func drainReplies(immediate: Bool) {
        if !immediate {
            while !kept.isEmpty, !stop.isSet {
                _ = answerLocally(kept.removeFirst(), timeout: Self.localReplyTimeout)
            }
        }
        guard kept.isEmpty else {
            handoff.wakeThread()
            return
        }
        while !stop.isSet, kept.isEmpty,
              handoff.takeBatch({ give($0.assumingMemoryBound(to: shm_bridge_Reply.self), immediate: immediate) }) > 0 {}
        if !kept.isEmpty || !deferredCancels.isEmpty { handoff.wakeThread() }
    }

    /// One reply sample, checked, to its local client: the listener gives it
    /// at once or keeps it; the thread waits for space (not when stopping).
    private func give(_ sample: UnsafeMutablePointer<shm_bridge_Reply>, immediate: Bool) {
        guard let answer = checkedAnswer(sample) else { return }
        if immediate {
            // Behind a kept answer, or a client's ring full now: the thread gives it.
            if !kept.isEmpty || !answerLocally(answer, timeout: .zero) { kept.append(answer) }
        } else {
            // Stopping: no 2 s wait per answer of the batch for a client that reads no more.
            _ = answerLocally(answer, timeout: stop.isSet ? .zero : Self.localReplyTimeout)
        }
    }

    /// With the handoff's lock held: has the replies thread cancel stream
    /// request `id` at its responder once it lets go of the lock (the
    /// drain wakes the thread when any are owed).
    private func cancelRemote(_ id: UInt64, _ responder: [UInt8]) {
        deferredCancels.append((id, responder))
    }

    /// What a checked reply does to a local request.
    struct LocalAnswer {
        enum Action {
            case reply([UInt8]), item([UInt8]), finish, fail(String)
        }
        let request: IncomingRequest
        let id: UInt64
        let responder: [UInt8]
        let isStream: Bool
        let action: Action
    }

    /// Checks a reply sample and takes its request's pending entry (the
    /// entry stays for a stream item); `nil` when the sample is dropped.
    private func checkedAnswer(_ sample: UnsafeMutablePointer<shm_bridge_Reply>) -> LocalAnswer? {
        let length = Int(sample.pointee.payload._length)
        let id = sample.pointee.request_id
        let refusal = withUnsafeBytes(of: sample.pointee.responder) { sender in
            withUnsafeBytes(of: sample.pointee.requester) { target in
                check.refusalOfReply(sender: sender, target: target, kind: sample.pointee.kind, payloadLength: length)
            }
        }
        switch refusal {
        case .ownSample?:
            counters.droppedOwn.add(1, ordering: .relaxed)
            return nil
        case .notForUs?:
            counters.ignoredNotForUs.add(1, ordering: .relaxed)
            return nil
        case .badKind(let kind)?:
            counters.droppedMalformed.add(1, ordering: .relaxed)
            BridgeLog.log(.warning, "\(service): dropped a reply of kind \(kind)")
            return nil
        case .tooLarge(let size)?:
            counters.droppedTooLarge.add(1, ordering: .relaxed)
            BridgeLog.log(.warning, "\(service): dropped a reply of \(size) bytes (the local service takes at most \(server.maxPayloadSize))")
            let sender = withUnsafeBytes(of: sample.pointee.responder) { Array($0) }
            guard let entry = pending.withLock({ $0.answer(id, from: sender, kind: .error, now: .now) }) else { return nil }
            if entry.isStream { cancelRemote(id, entry.responder) }
            counters.requestsFailed.add(1, ordering: .relaxed)
            return LocalAnswer(request: entry.value, id: id, responder: entry.responder, isStream: entry.isStream,
                               action: .fail("a reply of \(size) bytes from the network; this host's \(service) takes at most \(server.maxPayloadSize)"))
        case nil:
            break
        }
        guard length == 0 || sample.pointee.payload._buffer != nil, let kind = ReplySampleKind(rawValue: sample.pointee.kind) else {
            counters.droppedMalformed.add(1, ordering: .relaxed)
            return nil
        }
        let sender = withUnsafeBytes(of: sample.pointee.responder) { Array($0) }
        guard let entry = pending.withLock({ $0.answer(id, from: sender, kind: kind, now: .now) }) else {
            // Late (expired, or its responder was given up), or never sent: nobody waits.
            counters.droppedUnknownReply.add(1, ordering: .relaxed)
            return nil
        }
        counters.repliesIn.add(1, ordering: .relaxed)
        let bytes = length == 0 ? [] : Array(UnsafeRawBufferPointer(start: sample.pointee.payload._buffer, count: length))
        let action: LocalAnswer.Action
        switch kind {
        case .reply: action = .reply(bytes)
        case .streamItem: action = entry.isStream ? .item(bytes) : .reply(bytes)
        case .streamEnd where entry.isStream: action = .finish
        case .streamEnd:
            counters.requestsFailed.add(1, ordering: .relaxed)
            action = .fail("the server of \(service) on the network ended the request without a reply")
        case .error:
            counters.requestsFailed.add(1, ordering: .relaxed)
            action = .fail(String(decoding: bytes, as: UTF8.self))
        }
        return LocalAnswer(request: entry.value, id: id, responder: entry.responder, isStream: entry.isStream, action: action)
    }

    /// Gives an answer to its local client, waiting up to `timeout` for
    /// space in the client's response ring. Returns `false` only when
    /// `timeout` is zero (the listener) and the ring is full (the answer is not given).
    private func answerLocally(_ answer: LocalAnswer, timeout: Duration) -> Bool {
        let request = answer.request
        do throws(ChannelError) {
            switch answer.action {
            case .reply(let bytes):
                try server.reply(to: request, bytes, timeout: timeout)
            case .item(let bytes):
                try server.replyStream(to: request).send(bytes, timeout: timeout)
            case .finish:
                try server.replyStream(to: request).finish(timeout: timeout)
            case .fail(let reason):
                let text = String(decoding: RequestDDS.shortened(reason, to: server.maxPayloadSize), as: UTF8.self)
                try server.fail(request, reason: text, timeout: timeout)
            }
            return true
        } catch .timedOut where timeout == .zero {
            return false
        } catch {
            // The client cancelled the stream, left, died, or reads no more.
            counters.droppedLocal.add(1, ordering: .relaxed)
            BridgeLog.log(.debug, "\(service): a reply to client \(request.client) was dropped: \(error)")
            if case .item = answer.action, answer.isStream, pending.withLock({ $0.remove(answer.id) }) != nil {
                cancelRemote(answer.id, answer.responder)
            }
            return true
        }
    }

    /// Writes the cancels owed, in order, without the handoff's lock; one the
    /// request writer cannot take within its blocking time (back-pressure)
    /// waits with the rest for the next round, so that the kept answers and
    /// the reply reader are not left waiting for it.
    private func sendCancels(_ owed: inout [(id: UInt64, responder: [UInt8])]) {
        while let cancel = owed.first, !stop.isSet {
            let rc = writeRequest(id: cancel.id, to: cancel.responder, kind: .cancel, payload: [], once: true)
            if rc == DDS_RETCODE_TIMEOUT { return }
            owed.removeFirst()
        }
    }
}
