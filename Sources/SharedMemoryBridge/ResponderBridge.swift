internal import CCycloneDDS
internal import CShmBridgeTypes
import Dispatch
import Glibc
import Synchronization
import SharedMemory

/// The host with the server (`--requests-in NAME`): the bridge joins NAME as
/// one `RequestClient`, announces itself on `shm/NAME/server`, takes the
/// request samples addressed to it (checked, see ``RequestSampleCheck``) and
/// makes each request locally in a task of its own, at most
/// ``BridgeConfiguration/maxRequestsInFlight`` at once (beyond that it takes
/// no more samples, so the bounded DDS reader queue pushes back). Replies,
/// stream items, ends and errors go back through an outbox that one thread
/// writes to DDS, so no task blocks in `dds_write`.
final class ResponderBridge: @unchecked Sendable {
    // @unchecked: the DDS handles are integers used through Cyclone's
    // thread-safe API; the client is Sendable; the shared state is behind
    // mutexes and atomics; `serving` is used by the requests thread only.
    let service: String
    let client: RequestClient
    let origin: [UInt8]
    let requestReader: dds_entity_t
    let replyWriter: dds_entity_t
    let announcementWriter: dds_entity_t
    let waitset: dds_entity_t
    let counters: BridgeCounters
    let stop: StopFlag
    let check: RequestSampleCheck
    let timeout: Duration
    let limit: Int
    let inFlight = Atomic<Int>(0)
    let tasks = Mutex<[TaskKey: TaskSlot]>([:])
    let outbox = Mutex<[OutgoingReply]>([])
    let outboxSignal = DispatchSemaphore(value: 0)
    /// The most replies waiting for the DDS writer; a task that finds the
    /// outbox full waits, so a fast local stream slows to the network's pace.
    static let outboxLimit = 1024
    private var serving: Bool?

    struct TaskKey: Hashable {
        var requester: [UInt8]
        var id: UInt64
    }
    struct TaskSlot {
        var task: Task<Void, Never>?
    }
    struct OutgoingReply: Sendable {
        var requester: [UInt8]
        var id: UInt64
        var kind: ReplySampleKind
        var payload: [UInt8]
    }

    init(service: String, client: RequestClient, participant: DDSParticipant, configuration: BridgeConfiguration,
         origin: [UInt8], counters: BridgeCounters, stop: StopFlag) throws(DDSError) {
        self.service = service
        self.client = client
        self.origin = origin
        self.counters = counters
        self.stop = stop
        timeout = configuration.requestTimeout
        limit = configuration.maxRequestsInFlight
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
        waitset = try ddsCheck(dds_create_waitset(participant.participant), "creating a DDS waitset")
        let condition = try ddsCheck(dds_create_readcondition(requestReader, shm_bridge_any_state()), "creating a read condition")
        try ddsCheck(dds_waitset_attach(waitset, condition, 0), "attaching a read condition")
    }

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
        let batch = 16
        var samples = [UnsafeMutableRawPointer?](repeating: nil, count: batch)
        var infos = [dds_sample_info_t](repeating: dds_sample_info_t(), count: batch)
        var nextCheck = ContinuousClock.now
        while !stop.isSet {
            let now = ContinuousClock.now
            if now >= nextCheck {
                nextCheck = now + .milliseconds(100)
                announceIfChanged()
            }
            // Requests in flight and replies not yet written are both bounded.
            let room = min(limit - inFlight.load(ordering: .acquiring), Self.outboxLimit - outbox.withLock { $0.count })
            guard room > 0 else {
                // Back-pressure: take nothing until a request ends or the outbox drains.
                usleep(500)
                continue
            }
            _ = dds_waitset_wait(waitset, nil, 0, 100_000_000)
            let wanted = min(batch, room)
            for index in 0..<batch { samples[index] = nil }
            let count = dds_take(requestReader, &samples, &infos, wanted, UInt32(wanted))
            guard count > 0 else { continue }
            for index in 0..<Int(count) where infos[index].valid_data {
                guard let raw = samples[index] else { continue }
                accept(raw.assumingMemoryBound(to: shm_bridge_Request.self))
            }
            _ = dds_return_loan(requestReader, &samples, count)
        }
        let running = tasks.withLock { tasks in tasks.values.compactMap(\.task) }
        for task in running { task.cancel() }
        outboxSignal.signal()
    }

    private func accept(_ sample: UnsafeMutablePointer<shm_bridge_Request>) {
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
            enqueue(OutgoingReply(requester: requester, id: id, kind: .error,
                                  payload: RequestDDS.shortened("a request of \(size) bytes; \(service) takes at most \(client.maxPayloadSize)", to: RequestDDS.maxReasonLength)))
            return
        case nil:
            break
        }
        guard length == 0 || sample.pointee.payload._buffer != nil, let kind = RequestSampleKind(rawValue: sample.pointee.kind) else {
            counters.droppedMalformed.add(1, ordering: .relaxed)
            return
        }
        let key = TaskKey(requester: requester, id: id)
        if kind == .cancel {
            tasks.withLock { $0[key]?.task }?.cancel()
            // What the stream queued and is not written yet nobody takes any more.
            outbox.withLock { $0.removeAll { $0.id == key.id && $0.requester == key.requester } }
            return
        }
        counters.requestsIn.add(1, ordering: .relaxed)
        guard client.hasServer else {
            counters.requestsFailed.add(1, ordering: .relaxed)
            enqueue(OutgoingReply(requester: requester, id: id, kind: .error,
                                  payload: Array("no server for \(service) on the server's host (its bridge runs, no local server serves \(service) now)".utf8)))
            return
        }
        let payload = length == 0 ? [] : Array(UnsafeRawBufferPointer(start: sample.pointee.payload._buffer, count: length))
        inFlight.add(1, ordering: .relaxed)
        tasks.withLock { $0[key] = TaskSlot(task: nil) }
        let task = Task.detached { [self] in
            await self.make(payload, stream: kind == .streamRequest, for: key)
            tasks.withLock { _ = $0.removeValue(forKey: key) }
            inFlight.subtract(1, ordering: .releasing)
        }
        tasks.withLock { tasks in
            if tasks[key] != nil { tasks[key] = TaskSlot(task: task) }
        }
    }

    /// Makes one request locally and queues its answers.
    private func make(_ payload: [UInt8], stream: Bool, for key: TaskKey) async {
        do throws(ChannelError) {
            if stream {
                let replies = try await client.requestStream(payload, timeout: timeout)
                var iterator = replies.makeAsyncIterator()
                while let item = try await iterator.next() {
                    // Cancelled (by the requester, or the bridge stops): dropping the
                    // replies cancels the local stream, whose server's next send then fails.
                    // The check is here because a stream whose items are always there never suspends.
                    if Task.isCancelled { return }
                    await enqueueWaiting(OutgoingReply(requester: key.requester, id: key.id, kind: .streamItem, payload: item))
                }
                await enqueueWaiting(OutgoingReply(requester: key.requester, id: key.id, kind: .streamEnd, payload: []))
            } else {
                let reply: [UInt8] = try await client.request(payload, timeout: timeout)
                await enqueueWaiting(OutgoingReply(requester: key.requester, id: key.id, kind: .reply, payload: reply))
            }
        } catch .cancelled {
            // The requester cancelled the stream, or the bridge stops: nobody waits for more.
            return
        } catch {
            counters.requestsFailed.add(1, ordering: .relaxed)
            await enqueueWaiting(OutgoingReply(requester: key.requester, id: key.id, kind: .error,
                                               payload: RequestDDS.shortened(reason(error), to: RequestDDS.maxReasonLength)))
        }
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

    private func enqueue(_ reply: OutgoingReply) {
        outbox.withLock { $0.append(reply) }
        outboxSignal.signal()
    }

    private func enqueueWaiting(_ reply: OutgoingReply) async {
        while !stop.isSet && !Task.isCancelled {
            let added = outbox.withLock { outbox -> Bool in
                guard outbox.count < Self.outboxLimit else { return false }
                outbox.append(reply)
                return true
            }
            if added {
                outboxSignal.signal()
                return
            }
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    // MARK: Outbox -> DDS

    func runReplies() {
        while !stop.isSet {
            _ = outboxSignal.wait(timeout: .now() + .milliseconds(200))
            let ready = outbox.withLock { outbox in
                let all = outbox
                outbox.removeAll(keepingCapacity: true)
                return all
            }
            for reply in ready where !stop.isSet {
                var sample = shm_bridge_Reply()
                withUnsafeMutableBytes(of: &sample.responder) { RequestDDS.copy(origin, into: $0) }
                withUnsafeMutableBytes(of: &sample.requester) { RequestDDS.copy(reply.requester, into: $0) }
                sample.request_id = reply.id
                sample.kind = reply.kind.rawValue
                let rc = reply.payload.withUnsafeBufferPointer { bytes in
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
    }
}
