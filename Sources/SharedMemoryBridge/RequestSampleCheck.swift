/// What a request sample asks (its `kind` field).
enum RequestSampleKind: UInt8, Sendable {
    case request = 1
    case streamRequest = 2
    case cancel = 3
}

/// What a reply sample carries (its `kind` field).
enum ReplySampleKind: UInt8, Sendable {
    case reply = 1
    case streamItem = 2
    case streamEnd = 3
    case error = 4
}

/// The checks a request or reply sample from the network passes before any
/// of it is used: pure, so every refusal is testable without DDS.
struct RequestSampleCheck: Sendable {
    /// Why a sample is not used.
    enum Refusal: Equatable, Sendable {
        /// This bridge wrote it.
        case ownSample
        /// It names another bridge as its target (normal with several bridges: ignored, not an error).
        case notForUs
        /// A kind outside the protocol's range.
        case badKind(UInt8)
        /// A payload longer than the local service takes.
        case tooLarge(Int)
    }

    /// This bridge's origin.
    var origin: [UInt8]
    /// The largest payload the local service takes.
    var maxPayload: Int

    /// For a request sample at a responder: `sender` is the requester,
    /// `target` the responder it names.
    func refusalOfRequest(sender: UnsafeRawBufferPointer, target: UnsafeRawBufferPointer, kind: UInt8,
                          payloadLength: Int) -> Refusal? {
        if sender.elementsEqual(origin) { return .ownSample }
        guard target.elementsEqual(origin) else { return .notForUs }
        guard let known = RequestSampleKind(rawValue: kind) else { return .badKind(kind) }
        if known == .cancel { return nil }  // its payload is ignored
        guard payloadLength >= 0, payloadLength <= maxPayload else { return .tooLarge(payloadLength) }
        return nil
    }

    /// For a reply sample at a requester: `sender` is the responder,
    /// `target` the requester it names.
    func refusalOfReply(sender: UnsafeRawBufferPointer, target: UnsafeRawBufferPointer, kind: UInt8,
                        payloadLength: Int) -> Refusal? {
        if sender.elementsEqual(origin) { return .ownSample }
        guard target.elementsEqual(origin) else { return .notForUs }
        guard let known = ReplySampleKind(rawValue: kind) else { return .badKind(kind) }
        // An error's reason is shortened to fit, never refused for its length.
        if known == .error { return payloadLength >= 0 ? nil : .tooLarge(payloadLength) }
        guard payloadLength >= 0, payloadLength <= maxPayload else { return .tooLarge(payloadLength) }
        return nil
    }
}
