import SharedMemory

/// The checks a sample from the network passes before any of it is written
/// into shared memory. Pure, so that every refusal is testable without DDS.
struct InboundCheck: Sendable {
    /// Why a sample is refused.
    enum Refusal: Equatable, Sendable {
        /// This bridge wrote it (it came back through another path).
        case ownSample
        /// Longer than the local ring's largest message.
        case tooLarge(Int)
        /// Type fingerprint, size or byte order do not match the ring's.
        case typeMismatch(String)
    }

    /// This bridge's origin id.
    var origin: [UInt8]
    /// The local ring's largest message.
    var maxMessageSize: Int
    /// The local ring's recorded type (`nil`: a ring of bytes).
    var messageType: RecordedMessageType?

    /// This machine's byte order as the sample's `byte_order` field gives it.
    static let localByteOrder: UInt8 = 1.littleEndian == 1 ? 1 : 2

    /// `nil` when a sample with these fields may be republished locally.
    func refusal(origin sampleOrigin: UnsafeRawBufferPointer, payloadLength: Int, typeSize: UInt32,
                 typeFingerprint: UInt64, byteOrder: UInt8) -> Refusal? {
        if sampleOrigin.elementsEqual(origin) { return .ownSample }
        guard payloadLength >= 0, payloadLength <= maxMessageSize else { return .tooLarge(payloadLength) }
        if let type = messageType {
            guard typeFingerprint == type.fingerprint, Int(typeSize) == type.size else {
                return .typeMismatch("fingerprint 0x\(String(typeFingerprint, radix: 16)) size \(typeSize), the ring records \(type.name) 0x\(String(type.fingerprint, radix: 16)) size \(type.size)")
            }
            guard payloadLength == type.size else { return .typeMismatch("a payload of \(payloadLength) bytes for a type of \(type.size)") }
            guard byteOrder == Self.localByteOrder else { return .typeMismatch("byte order \(byteOrder), this machine's is \(Self.localByteOrder)") }
        } else {
            guard typeSize == 0, typeFingerprint == 0 else {
                return .typeMismatch("a typed sample (fingerprint 0x\(String(typeFingerprint, radix: 16)) size \(typeSize)) for a ring of bytes")
            }
        }
        return nil
    }
}
