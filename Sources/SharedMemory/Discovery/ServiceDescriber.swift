/// Reads one managed segment kind as a service.
///
/// A describer reads through a ``ServiceSegmentView`` only (read-only,
/// bounds-checked loads, locks asked about and never taken) and checks every
/// word before it steers anything. It fills `info` as far as it can; when a
/// word breaks its layout's rules it throws a ``ServiceProblem``, and what it
/// filled before stays.
///
/// A new service kind is one type conforming to this protocol, in its own
/// file, added to ``ServiceDescribers/all``.
protocol ServiceDescriber {
    /// The managed segment kind this describer reads.
    static var segmentKind: UInt32 { get }
    /// Describes the segment `view` into `info`, whose name and segment kind are set.
    static func describe(_ view: ServiceSegmentView, into info: inout ServiceInfo) throws(ServiceProblem)
}

/// The describers of every service kind this library knows.
enum ServiceDescribers {
    /// One per segment kind.
    static var all: [any ServiceDescriber.Type] { [RingServiceDescriber.self, EventsServiceDescriber.self, ServiceSegmentDescriber.self] }

    /// The describer of segment kind `kind`, if any.
    static func describer(of kind: UInt32) -> (any ServiceDescriber.Type)? {
        all.first { $0.segmentKind == kind }
    }
}

/// A self-reported process id word: `nil` for 0 (none written) and for any
/// value above the kernel's largest pid limit (2^22), which no process has.
func selfReportedPID(_ word: UInt32?) -> Int32? {
    guard let word, word > 0, word <= 1 << 22 else { return nil }
    return Int32(word)
}
