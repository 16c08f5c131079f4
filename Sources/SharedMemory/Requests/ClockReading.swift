/// A `ContinuousClock` instant kept as its distance from one fixed instant
/// of the process, for state that is used under a lock on every request.
///
/// `ContinuousClock.Instant` is resilient (its layout is not known to this
/// module), so a struct that stores one finds every field after it through
/// the runtime's type metadata, on every access. A `Duration` has a fixed
/// layout: ``ReplyInbox`` and ``ServerReceiving`` store these instead.
struct ClockReading: Comparable {
    /// The instant every reading counts from.
    private static let origin = ContinuousClock.now

    private let offset: Duration

    private init(offset: Duration) { self.offset = offset }

    /// The reading of `instant`.
    init(_ instant: ContinuousClock.Instant) { offset = Self.origin.duration(to: instant) }

    /// The clock's reading now.
    static var now: ClockReading { ClockReading(.now) }

    static func + (reading: ClockReading, duration: Duration) -> ClockReading {
        ClockReading(offset: reading.offset + duration)
    }

    static func < (lhs: ClockReading, rhs: ClockReading) -> Bool { lhs.offset < rhs.offset }
}
