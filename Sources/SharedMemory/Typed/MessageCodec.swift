import FoundationEssentials

/// Turns `Codable` values into message bytes and back.
///
/// The default, ``JSONMessageCodec``, uses the JSON coder of
/// FoundationEssentials (the part of Foundation without the Objective-C era
/// types): any language can read its messages, and it needs no package
/// beyond the toolchain. Conform your own type for a binary format.
public protocol MessageCodec: Sendable {
    /// Encodes `value` into a message's bytes.
    func encode<T: Encodable>(_ value: T) throws(ChannelError) -> [UInt8]
    /// Decodes a value from a message's bytes, which another process wrote:
    /// throw ``ChannelError/codingFailed(_:)`` for bytes that do not decode.
    func decode<T: Decodable>(_ type: T.Type, from bytes: UnsafeRawBufferPointer) throws(ChannelError) -> T
}

/// The default codec: JSON, from FoundationEssentials.
public struct JSONMessageCodec: MessageCodec {
    /// A JSON codec.
    public init() {}

    /// Encodes `value` as JSON.
    public func encode<T: Encodable>(_ value: T) throws(ChannelError) -> [UInt8] {
        do { return Array(try JSONEncoder().encode(value)) } catch {
            throw .codingFailed("\(T.self) could not be encoded as JSON: \(error)")
        }
    }

    /// Decodes JSON into a `T`.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: UnsafeRawBufferPointer) throws(ChannelError) -> T {
        do { return try JSONDecoder().decode(T.self, from: Data(bytes)) } catch {
            throw .codingFailed("a message of \(bytes.count) bytes is not a JSON \(T.self): \(error); it stays in the channel")
        }
    }
}

extension MessageCodec where Self == JSONMessageCodec {
    /// The JSON codec.
    public static var json: JSONMessageCodec { JSONMessageCodec() }
}

extension ChannelSender {
    /// Sends a `Codable` value encoded by `codec`, waiting up to `timeout` for space.
    /// - Throws: ``ChannelError/codingFailed(_:)``, ``ChannelError/messageTooLarge(size:maximum:)``
    ///   when the encoding is too long, and the errors of ``send(_:timeout:)-7yks4``.
    public func send<T: Encodable>(encoding value: T, codec: some MessageCodec = .json, timeout: Duration? = nil) throws(ChannelError) {
        try send(try codec.encode(value), timeout: timeout)
    }

    /// Sends the bytes of `data` as one message, waiting up to `timeout` for space.
    public func send(_ data: Data, timeout: Duration? = nil) throws(ChannelError) {
        try data.withUnsafeBytes { buffer in Result { () throws(ChannelError) in try send(buffer, timeout: timeout) } }.get()
    }
}

extension ChannelReceiver {
    /// Receives the next message as a `Decodable` value decoded by `codec`.
    /// A message that does not decode stays in the channel.
    /// - Returns: the value, or `nil` when the sender closed the channel and all is received.
    public func receive<T: Decodable>(decoding type: T.Type, codec: some MessageCodec = .json, timeout: Duration? = nil) throws(ChannelError) -> T? {
        try reader.receiveChecked(timeout: timeout, check: { (_: Int) throws(ChannelError) in }) { (bytes) throws(ChannelError) in
            try codec.decode(T.self, from: bytes)
        }
    }

    /// Receives the next message as `Data`.
    public func receiveData(timeout: Duration? = nil) throws(ChannelError) -> Data? {
        try reader.receive(timeout: timeout) { Data($0) }
    }
}

extension Publisher {
    /// Publishes a `Codable` value encoded by `codec`.
    public func send<T: Encodable>(encoding value: T, codec: some MessageCodec = .json, timeout: Duration? = nil) throws(ChannelError) {
        try send(try codec.encode(value), timeout: timeout)
    }

    /// Publishes the bytes of `data` as one message.
    public func send(_ data: Data, timeout: Duration? = nil) throws(ChannelError) {
        try data.withUnsafeBytes { buffer in Result { () throws(ChannelError) in try send(buffer, timeout: timeout) } }.get()
    }
}

extension Subscriber {
    /// Receives the next message as a `Decodable` value decoded by `codec`.
    public func receive<T: Decodable>(decoding type: T.Type, codec: some MessageCodec = .json, timeout: Duration? = nil) throws(ChannelError) -> T? {
        try reader.receiveChecked(timeout: timeout, check: { (_: Int) throws(ChannelError) in }) { (bytes) throws(ChannelError) in
            try codec.decode(T.self, from: bytes)
        }
    }

    /// Receives the next message as `Data`.
    public func receiveData(timeout: Duration? = nil) throws(ChannelError) -> Data? {
        try reader.receiveChecked(timeout: timeout, check: { (_: Int) throws(ChannelError) in }) { Data($0) }
    }
}
