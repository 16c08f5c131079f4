/// A request a ``RequestServer`` received, with what it needs to answer it.
public struct IncomingRequest: Sendable {
    let link: ClientLink
    /// The request's id, unique among the requests of one client session.
    public let id: UInt64
    /// The request's payload.
    public let payload: [UInt8]
    /// Whether the client asked for a stream of replies
    /// (``RequestClient/requestStream(_:timeout:)``) rather than one reply.
    public let isStream: Bool

    init(link: ClientLink, id: UInt64, payload: [UInt8], isStream: Bool) {
        self.link = link
        self.id = id
        self.payload = payload
        self.isStream = isStream
    }

    /// The client slot the request came from.
    public var client: Int { link.member }
    /// The payload read as UTF-8.
    public var text: String { String(decoding: payload, as: UTF8.self) }
}

/// The replies to one request, sent in order: any number of `send(_:timeout:)`
/// calls, then `finish(timeout:)` (or `fail(_:timeout:)`), which ends the
/// request for the client. From ``RequestServer/replyStream(to:)``.
/// Several tasks may share one stream; what ends it must come last.
public struct ReplyStream: Sendable {
    let request: IncomingRequest

    /// Sends one reply of the stream, blocking up to `timeout` for space.
    /// - Throws: ``ChannelError/peerLeft(_:)`` when the client cancelled the
    ///   stream (it stopped reading the replies) or left, ``ChannelError/peerDied(_:)``
    ///   when it died, ``ChannelError/timedOut``, ``ChannelError/messageTooLarge(size:maximum:)``.
    public func send(_ bytes: [UInt8], timeout: Duration? = nil) throws(ChannelError) {
        try withBytes(of: bytes) { (buffer) throws(ChannelError) in
            try request.link.write(.replyMore, id: request.id, buffer, timeout: timeout)
        }
    }

    /// Sends one reply of the stream, suspending up to `timeout` for space.
    /// - Throws: the errors of `send(_:timeout:)`, and ``ChannelError/cancelled``.
    nonisolated(nonsending) public func send(_ bytes: [UInt8], timeout: Duration? = nil) async throws(ChannelError) {
        try await request.link.writeAsync(.replyMore, id: request.id, bytes, timeout: timeout)
    }

    /// Ends the stream, blocking up to `timeout` for space.
    public func finish(timeout: Duration? = nil) throws(ChannelError) {
        try request.link.write(.end, id: request.id, UnsafeRawBufferPointer(start: nil, count: 0), timeout: timeout)
    }

    /// Ends the stream, suspending up to `timeout` for space.
    nonisolated(nonsending) public func finish(timeout: Duration? = nil) async throws(ChannelError) {
        try await request.link.writeAsync(.end, id: request.id, [], timeout: timeout)
    }

    /// Ends the stream with an error: the client gets ``ChannelError/requestFailed(_:)`` with `reason`.
    public func fail(_ reason: String, timeout: Duration? = nil) throws(ChannelError) {
        try withBytes(of: reason) { (buffer) throws(ChannelError) in
            try request.link.write(.error, id: request.id, buffer, timeout: timeout)
        }
    }

    /// Ends the stream with an error, suspending up to `timeout` for space.
    nonisolated(nonsending) public func fail(_ reason: String, timeout: Duration? = nil) async throws(ChannelError) {
        try await request.link.writeAsync(.error, id: request.id, Array(reason.utf8), timeout: timeout)
    }
}
