extension RequestClient {
    /// Sends a request and waits, blocking the thread, for its reply.
    ///
    /// In top-level code (`main.swift`) Swift picks this overload even under
    /// `await` (it warns "no 'async' operations occur within 'await'
    /// expression"): the main thread then blocks, and a server task started
    /// on the main actor never runs. Call the `async` overload from an
    /// `async` function or a task there.
    ///
    /// - Parameters:
    ///   - bytes: the request's payload (at most ``maxPayloadSize`` bytes).
    ///   - timeout: how long to wait for space and for the reply; `nil`: as long as it takes.
    /// - Returns: the reply's payload.
    /// - Throws: ``ChannelError/timedOut`` (a reply that comes later is
    ///   dropped), ``ChannelError/requestFailed(_:)`` when the server answered
    ///   with an error, ``ChannelError/peerDied(_:)`` or ``ChannelError/peerLeft(_:)``
    ///   when the server died or left before it answered,
    ///   ``ChannelError/messageTooLarge(size:maximum:)``, ``ChannelError/closed``
    ///   after ``close()``, and ``ChannelError/badChannel(_:)`` when the server
    ///   sent a message that breaks the protocol.
    public func request(_ bytes: [UInt8], timeout: Duration? = nil) throws(ChannelError) -> [UInt8] {
        // One timeout for both waits: what waiting for space took is not waited again for the reply.
        var remaining = timeout
        // What a waiter watches, before the request exists: while it has not moved, no reply to it can be there.
        let before = activity
        var sent = try withBytes(of: bytes) { (buffer) throws(ChannelError) -> UInt64? in
            try send(.request, buffer, timeout: nil, waits: false)
        }
        if sent == nil {
            let deadline = deadline(after: timeout)
            sent = try withBytes(of: bytes) { (buffer) throws(ChannelError) -> UInt64? in
                try send(.request, buffer, timeout: timeout, waits: true)
            }
            remaining = deadline.map { max(.zero, $0 - .now) }
        }
        guard let id = sent else { throw .timedOut }
        do {
            return try payload(of: awaitFrame(id, timeout: remaining, unchangedSince: before))
        } catch {
            forget(id)
            throw error
        }
    }

    /// Sends a string's UTF-8 bytes as a request and waits, blocking the
    /// thread, for its reply, read as UTF-8; see `request(_:timeout:)` (and
    /// its note on top-level code, where this overload is picked under `await`).
    public func request(_ text: String, timeout: Duration? = nil) throws(ChannelError) -> String {
        String(decoding: try request(Array(text.utf8), timeout: timeout), as: UTF8.self)
    }

    /// Sends a request and suspends the task until its reply comes.
    ///
    /// A reply that is there already is taken without suspending; a wait
    /// never blocks a thread of the cooperative pool. Cancelling the task
    /// ends the wait with ``ChannelError/cancelled`` (a reply that comes later is dropped).
    /// - Throws: the errors of the blocking `request(_:timeout:)`, and ``ChannelError/cancelled``.
    nonisolated(nonsending) public func request(_ bytes: [UInt8], timeout: Duration? = nil) async throws(ChannelError) -> [UInt8] {
        let (id, remaining) = try await sendAsync(.request, bytes, timeout: timeout)
        do {
            return try payload(of: await awaitFrameAsync(id, timeout: remaining))
        } catch {
            forget(id)
            throw error
        }
    }

    /// Sends a string's UTF-8 bytes as a request and suspends the task until
    /// its reply comes, read as UTF-8; see `request(_:timeout:)`.
    nonisolated(nonsending) public func request(_ text: String, timeout: Duration? = nil) async throws(ChannelError) -> String {
        String(decoding: try await request(Array(text.utf8), timeout: timeout), as: UTF8.self)
    }

    /// Sends a request for a stream of replies (a subscription to a query)
    /// and returns the replies as an asynchronous sequence, which ends when
    /// the server ends the stream.
    ///
    /// - Parameters:
    ///   - bytes: the request's payload.
    ///   - timeout: how long to wait for space to send, and then for each reply; `nil`: as long as it takes.
    /// - Throws: the errors of `request(_:timeout:)` while sending; the
    ///   sequence throws them while waiting for replies.
    nonisolated(nonsending) public func requestStream(_ bytes: [UInt8], timeout: Duration? = nil) async throws(ChannelError) -> RequestReplies {
        let (id, _) = try await sendAsync(.streamRequest, bytes, timeout: timeout)
        return RequestReplies(ticket: ReplyTicket(client: self, id: id), timeout: timeout)
    }

    /// Sends a request frame without blocking a thread: a full request ring
    /// is tried again every millisecond until the timeout.
    /// - Returns: its id, and what is left of the timeout.
    nonisolated(nonsending) func sendAsync(
        _ kind: RequestFrame.Kind, _ bytes: [UInt8], timeout: Duration?
    ) async throws(ChannelError) -> (UInt64, Duration?) {
        var deadline: ContinuousClock.Instant?? = nil // computed once the ring is found full
        while true {
            let id = try withBytes(of: bytes) { (buffer) throws(ChannelError) -> UInt64? in
                try send(kind, buffer, timeout: nil, waits: false)
            }
            if let id {
                guard let limit = deadline ?? nil else { return (id, timeout) }
                return (id, max(.zero, limit - .now))
            }
            if Task.isCancelled { throw .cancelled }
            if deadline == nil { deadline = .some(SharedMemory.deadline(after: timeout)) }
            if let limit = deadline ?? nil, ContinuousClock.now >= limit { throw .timedOut }
            try sending.withLock { (sending) throws(ChannelError) in try sending.writer.checkReaders() }
            do { try await Task.sleep(for: .milliseconds(1)) } catch { throw .cancelled }
        }
    }
}

/// A stream request's id while someone may still read replies to it: when
/// the last reference goes, the client stops waiting for it.
final class ReplyTicket: Sendable {
    let client: RequestClient
    let id: UInt64

    init(client: RequestClient, id: UInt64) {
        self.client = client
        self.id = id
    }

    deinit { client.cancelStream(id) }
}

/// The replies to a stream request, from ``RequestClient/requestStream(_:timeout:)``:
/// each reply's payload in the order the server sent them. The sequence
/// ends when the server ends the stream; it throws
/// ``ChannelError/requestFailed(_:)`` when the server fails the request,
/// ``ChannelError/peerDied(_:)`` or ``ChannelError/peerLeft(_:)`` when the server
/// goes, ``ChannelError/timedOut`` when a reply takes longer than the timeout,
/// and ``ChannelError/cancelled`` when the task is cancelled. Once the sequence
/// and its iterators are gone before the end, the client stops reading
/// replies to the request and tells the server, whose next
/// `send(_:timeout:)` on the ``ReplyStream`` then throws ``ChannelError/peerLeft(_:)``.
public struct RequestReplies: AsyncSequence, Sendable {
    /// A reply's payload.
    public typealias Element = [UInt8]
    /// The one error type of the sequence.
    public typealias Failure = ChannelError
    let ticket: ReplyTicket
    let timeout: Duration?

    /// An iterator over the replies; the replies are shared, so use one.
    public func makeAsyncIterator() -> Iterator { Iterator(ticket: ticket, timeout: timeout) }

    /// Receives the replies in order.
    public struct Iterator: AsyncIteratorProtocol {
        var ticket: ReplyTicket?
        let timeout: Duration?

        /// The next reply, or `nil` once the server ended the stream.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws(ChannelError) -> [UInt8]? {
            try await nextReply()
        }

        /// The next reply; see ``next(isolation:)``.
        public mutating func next() async throws(ChannelError) -> [UInt8]? {
            try await nextReply()
        }

        nonisolated(nonsending) private mutating func nextReply() async throws(ChannelError) -> [UInt8]? {
            guard let current = ticket else { return nil }
            let frame: RequestFrame
            do {
                frame = try await current.client.awaitFrameAsync(current.id, timeout: timeout)
            } catch .cancelled {
                throw .cancelled
            } catch .timedOut {
                throw .timedOut
            } catch {
                ticket = nil
                throw error
            }
            switch frame.kind {
            case .replyMore:
                return frame.payload
            case .reply:
                ticket = nil
                return frame.payload
            case .end:
                ticket = nil
                return nil
            default:
                ticket = nil
                return try current.client.payload(of: frame)
            }
        }
    }
}
