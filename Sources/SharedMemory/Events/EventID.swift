/// The id of an event: a number from 0 to 4095.
///
/// An events segment keeps one pending bit per id, so repeated
/// notifications of one id before the listener takes them count once.
public struct EventID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The id's number, from 0 to ``EventID/maximum``.
    public let rawValue: UInt16

    /// The largest id, 4095.
    public static let maximum = 4095

    /// The id `rawValue`, or `nil` when it is not between 0 and 4095.
    public init?(rawValue: UInt16) {
        guard Int(rawValue) <= Self.maximum else { return nil }
        self.rawValue = rawValue
    }

    /// The id `value`, or `nil` when it is not between 0 and 4095.
    public init?(_ value: Int) {
        guard (0...Self.maximum).contains(value) else { return nil }
        rawValue = UInt16(value)
    }

    /// Every id, from 0 to 4095.
    public static var all: [EventID] { (0...maximum).map { EventID(unchecked: $0) } }

    init(unchecked value: Int) { rawValue = UInt16(truncatingIfNeeded: value) }

    /// The id as a decimal number.
    public var description: String { String(rawValue) }

    /// Whether `lhs` is a smaller number than `rhs`.
    public static func < (lhs: EventID, rhs: EventID) -> Bool { lhs.rawValue < rhs.rawValue }
}
