/// The message type a ring records in its control block, as another module
/// (such as a bridge to the network) sees it: enough to refuse a message of
/// another type before it is written into the ring.
public struct RecordedMessageType: Hashable, Sendable {
    /// The type's size in bytes: every message of the ring is exactly this long.
    public var size: Int
    /// The type's alignment in bytes.
    public var alignment: Int
    /// The type's stride in bytes.
    public var stride: Int
    /// The type's name as recorded (for messages only; never trusted).
    public var name: String
    /// The 64-bit fingerprint of name, size, alignment and stride.
    public var fingerprint: UInt64

    /// A recorded type with these fields (as another machine reports it, say).
    public init(size: Int, alignment: Int, stride: Int, name: String, fingerprint: UInt64) {
        self.size = size
        self.alignment = alignment
        self.stride = stride
        self.name = name
        self.fingerprint = fingerprint
    }

    init(_ identity: MessageTypeIdentity) {
        size = identity.size
        alignment = identity.alignment
        stride = identity.stride
        name = identity.name
        fingerprint = identity.fingerprint
    }
}

extension Publisher {
    /// The message type the ring records; `nil` for a ring of bytes.
    public var recordedMessageType: RecordedMessageType? { writer.core.messageType.map(RecordedMessageType.init) }
}

extension Subscriber {
    /// The message type the ring records; `nil` for a ring of bytes.
    public var recordedMessageType: RecordedMessageType? { reader.core.messageType.map(RecordedMessageType.init) }
}
