/// Which responder bridge a requester bridge sends its requests to: the
/// alive responder with a local server and the smallest origin (bytes
/// compared in order), kept as long as it stays alive and serving, so that
/// requests do not move between responders while one works. Pure.
struct ResponderChoice: Sendable {
    /// A responder as its announcement says.
    struct Responder: Hashable, Sendable {
        var origin: [UInt8]
        var maxPayload: Int
        var serving: Bool
    }

    /// The responders alive now (the last ``update(alive:)``).
    private(set) var alive: [Responder] = []
    /// The one requests go to, if any.
    private(set) var current: Responder?

    /// Takes the responders alive now and chooses again.
    /// - Returns: whether the choice changed.
    @discardableResult
    mutating func update(alive responders: [Responder]) -> Bool {
        alive = responders
        let before = current
        if let kept = current, let now = responders.first(where: { $0.origin == kept.origin }), now.serving {
            current = now
        } else {
            current = responders.filter(\.serving).min { $0.origin.lexicographicallyPrecedes($1.origin) }
        }
        return before?.origin != current?.origin
    }

    /// The origins of the responders alive now.
    var aliveOrigins: Set<[UInt8]> { Set(alive.map(\.origin)) }
}
