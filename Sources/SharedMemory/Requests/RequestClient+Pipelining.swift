/// Requests in flight without a waiter each: a caller sends requests as they
/// come and takes the answers to any of them, in the order they arrive, from
/// one thread. A process that carries other hosts' requests to a local
/// server (`shm-bridge --requests-in`) is such a caller: one thread per side,
/// no task or thread per request, no hand-off between them.
extension RequestClient {
    /// One answer to a request sent with ``sendPipelined(_:stream:timeout:)``.
    package enum PipelinedAnswer: Sendable {
        /// The reply, which ends the request.
        case reply(id: UInt64, payload: [UInt8])
        /// One reply of a stream; more follow.
        case streamItem(id: UInt64, payload: [UInt8])
        /// The end of a stream.
        case streamEnd(id: UInt64)
        /// The request failed: the server's error (``ChannelError/requestFailed(_:)``),
        /// its death or departure, or a frame that breaks the protocol.
        case failed(id: UInt64, error: ChannelError)

        /// The request it answers.
        package var id: UInt64 {
            switch self {
            case .reply(let id, _), .streamItem(let id, _), .streamEnd(let id), .failed(let id, _): id
            }
        }

        /// Whether the request is over with this answer.
        package var ends: Bool {
            if case .streamItem = self { return false }
            return true
        }
    }

    /// Sends a request (a stream request when `stream`) without waiting for
    /// its answers; take them with ``nextPipelinedAnswer(timeout:)``.
    /// - Returns: its id, or `nil` when the request ring stayed full for `timeout`.
    /// - Throws: the errors of `request(_:timeout:)` while sending.
    package func sendPipelined(_ payload: UnsafeRawBufferPointer, stream: Bool, timeout: Duration) throws(ChannelError) -> UInt64? {
        try send(stream ? .streamRequest : .request, payload, timeout: timeout, waits: timeout > .zero)
    }

    /// Stops waiting for request `id`: its later answers are dropped, and a
    /// stream request is cancelled at the server (as when a stream's replies are dropped).
    package func abandonPipelined(_ id: UInt64, stream: Bool) {
        if stream { cancelStream(id) } else { forget(id) }
    }

    /// The next answer to any request in flight, blocking the thread up to
    /// `timeout`; `nil` when none came by then. A request whose server died
    /// or left is answered with ``PipelinedAnswer/failed(id:error:)``.
    /// - Throws: ``ChannelError/closed`` after ``close()``, and
    ///   ``ChannelError/badChannel(_:)`` for a message that breaks the protocol.
    package func nextPipelinedAnswer(timeout: Duration) throws(ChannelError) -> PipelinedAnswer? {
        if let answer = try pollAny() { return answer }
        let deadline = ContinuousClock.now + timeout
        return try blockingWait(seen: activity, deadline: deadline, pollsAfterCheck: true) { () throws(ChannelError) in try pollAny() }
    }

    /// Reads what the response ring holds and takes the first answer there is.
    private func pollAny() throws(ChannelError) -> PipelinedAnswer? {
        try inbox.withLock { (inbox) throws(ChannelError) -> PipelinedAnswer? in
            if inbox.closed { throw ChannelError.closed }
            let moved = try inbox.drain(responseReader, service: service)
            // Other waiters (a caller may also wait for one request) look again when replies moved.
            if moved && !inbox.pending.isEmpty { deliveries.wrappingAdd(1, ordering: .releasing) }
            guard let (id, taken) = inbox.takeAny() else { return nil }
            switch taken {
            case .failure(let error):
                return .failed(id: id, error: error)
            case .success(let frame):
                switch frame.kind {
                case .reply: return .reply(id: id, payload: frame.payload)
                case .replyMore: return .streamItem(id: id, payload: frame.payload)
                case .end: return .streamEnd(id: id)
                case .error: return .failed(id: id, error: .requestFailed(String(decoding: frame.payload, as: UTF8.self)))
                default: return .failed(id: id, error: .badChannel("\(serverName) answered request \(id) with a frame of kind \(frame.kind.rawValue)"))
                }
            }
        }
    }
}

extension ReplyInbox {
    /// The first answer of any pending request, or its failure; the request
    /// is forgotten once its last answer is taken.
    mutating func takeAny() -> (UInt64, Result<RequestFrame, ChannelError>)? {
        for index in pending.indices {
            let id = pending[index].id
            if let taken = take(at: index) { return (id, taken) }
        }
        return nil
    }
}
