/// The fixed prefix of every message of a request/response service, as
/// <doc:ServiceProtocol> describes it: the request id (u64), the kind (u32)
/// and a reserved word (u32, written as 0, ignored), all little-endian,
/// followed by the payload.
struct RequestFrame {
    /// What a message is.
    enum Kind: UInt32 {
        /// Client to server: a request that expects one reply.
        case request = 1
        /// Client to server: a request that expects a stream of replies.
        case streamRequest = 2
        /// Server to client: the reply, which ends the request.
        case reply = 3
        /// Server to client: one reply of a stream; more follow.
        case replyMore = 4
        /// Server to client: the end of a stream of replies (no payload).
        case end = 5
        /// Server to client: the request failed; the payload is a UTF-8 reason.
        case error = 6
        /// Server to client, request id 0: a server attached to the client's
        /// rings; the payload is the request ring's read position (u64) it took over.
        case serverAttached = 7
        /// Client to server: the client stopped reading the replies to stream request `id`.
        case cancel = 8
    }

    static let prefixSize = 16

    var id: UInt64
    var kind: Kind
    /// The payload, copied out of the ring.
    var payload: [UInt8]

    /// The prefix of a message: no reference to count, so that a receiver
    /// looks at a message (and drops one nobody waits for) before it copies
    /// the payload out, once, straight to where it is kept.
    struct Header {
        let id: UInt64
        let kind: Kind
    }

    /// Reads the prefix of a message found in a ring; describes what is wrong with one that breaks the rules.
    @inline(__always)
    static func header(of bytes: UnsafeRawBufferPointer) -> Result<Header, FrameProblem> {
        guard bytes.count >= prefixSize else { return .failure(.short(bytes.count)) }
        let id = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        let rawKind = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        guard let kind = Kind(rawValue: rawKind) else { return .failure(.unknownKind(id: id, kind: rawKind)) }
        return .success(Header(id: id, kind: kind))
    }

    /// The payload of a message whose prefix ``header(of:)`` read, copied out of the ring.
    @inline(__always)
    static func payload(of bytes: UnsafeRawBufferPointer) -> [UInt8] {
        Array(UnsafeRawBufferPointer(rebasing: bytes[prefixSize...]))
    }

    /// Writes the prefix at `destination`, which has room for it.
    static func writePrefix(id: UInt64, kind: Kind, to destination: UnsafeMutableRawPointer) {
        destination.storeBytes(of: id.littleEndian, toByteOffset: 0, as: UInt64.self)
        destination.storeBytes(of: kind.rawValue.littleEndian, toByteOffset: 8, as: UInt32.self)
        destination.storeBytes(of: UInt32(0), toByteOffset: 12, as: UInt32.self)
    }
}

/// A message that is no frame of the protocol.
enum FrameProblem: Error {
    case short(Int)
    case unknownKind(id: UInt64, kind: UInt32)

    func describe(from sender: String) -> String {
        switch self {
        case .short(let count):
            "\(sender) sent a \(count)-byte message, shorter than the \(RequestFrame.prefixSize)-byte request/response prefix"
        case .unknownKind(let id, let kind):
            "\(sender) sent a message of unknown kind \(kind) for request \(id)"
        }
    }
}

extension RingWriter {
    /// Writes one frame: the prefix, then `payload`. Waits up to `timeout`
    /// for space, or (without `waits`) returns `false` when the ring is full.
    func writeFrame(id: UInt64, kind: RequestFrame.Kind, payload: UnsafeRawBufferPointer,
                    timeout: Duration?, waits: Bool) throws(ChannelError) -> Bool {
        let length = RequestFrame.prefixSize + payload.count
        guard length <= core.maxMessageSize else {
            throw .messageTooLarge(size: payload.count, maximum: core.maxMessageSize - RequestFrame.prefixSize)
        }
        let offset: Int
        do {
            offset = try reserve(length: length, timeout: timeout, waits: waits)
        } catch .timedOut where !waits {
            return false
        }
        let destination = core.data + offset
        RequestFrame.writePrefix(id: id, kind: kind, to: destination)
        if let source = payload.baseAddress, payload.count > 0 {
            (destination + RequestFrame.prefixSize).copyMemory(from: source, byteCount: payload.count)
        }
        commit(length: length)
        if core.mappingGuard.isTripped { throw core.truncationError() }
        return true
    }
}
