/// Requests and replies as values: encoded with a ``MessageCodec``
/// (``JSONMessageCodec`` by default), as the typed channels' `send(encoding:)`.
extension RequestClient {
    /// Sends `value` as a request and decodes the reply as `reply`, waiting up to `timeout` in all.
    /// - Throws: ``ChannelError/codingFailed(_:)`` when the value or the reply
    ///   cannot be coded, and the errors of the request for bytes.
    nonisolated(nonsending) public func request<Request: Encodable, Reply: Decodable>(
        _ value: Request, replying reply: Reply.Type, codec: some MessageCodec = .json, timeout: Duration? = nil
    ) async throws(ChannelError) -> Reply {
        let bytes: [UInt8] = try await request(try codec.encode(value), timeout: timeout)
        return try withBytes(of: bytes) { (buffer) throws(ChannelError) in try codec.decode(Reply.self, from: buffer) }
    }

    /// The blocking form of ``request(_:replying:codec:timeout:)``.
    public func request<Request: Encodable, Reply: Decodable>(
        blocking value: Request, replying reply: Reply.Type, codec: some MessageCodec = .json, timeout: Duration? = nil
    ) throws(ChannelError) -> Reply {
        let bytes: [UInt8] = try request(try codec.encode(value), timeout: timeout)
        return try withBytes(of: bytes) { (buffer) throws(ChannelError) in try codec.decode(Reply.self, from: buffer) }
    }
}

extension IncomingRequest {
    /// The request's payload decoded as `type`.
    /// - Throws: ``ChannelError/codingFailed(_:)`` when it is not one.
    public func decoded<T: Decodable>(as type: T.Type, codec: some MessageCodec = .json) throws(ChannelError) -> T {
        try withBytes(of: payload) { (buffer) throws(ChannelError) in try codec.decode(T.self, from: buffer) }
    }
}

extension RequestServer {
    /// Serves requests of type `Request` with `handler`, whose replies of
    /// type `Reply` are encoded with `codec`, as ``serve(concurrency:_:)``
    /// does. A request that cannot be decoded, or a handler that throws, is
    /// answered with an error (``ChannelError/requestFailed(_:)`` at the client).
    public func serve<Request: Decodable & Sendable, Reply: Encodable & Sendable>(
        decoding request: Request.Type, codec: some MessageCodec = .json, concurrency: Int = 1,
        _ handler: @escaping @Sendable (Request) async throws -> Reply
    ) async throws(ChannelError) {
        try await serve(concurrency: concurrency) { incoming in
            try codec.encode(try await handler(try incoming.decoded(as: Request.self, codec: codec)))
        }
    }
}
