/// The services of the system: which channels, publish/subscribe rings and
/// events segments exist, how they are configured, who takes part in them,
/// and waiting until someone does.
///
/// A service is a managed segment of a service kind (see ``ServiceKind``).
/// Everything here only looks: segments are opened read-only, without the
/// shared `flock` and without any role lock, and nothing is written. Whether
/// a participant is alive is asked of the kernel (`F_OFD_GETLK` on its
/// role's lock byte), never read from a word. Every word read is checked: a
/// segment that breaks its layout's rules is reported with a
/// ``ServiceInfo/problem``, never trusted and never a crash.
///
/// See <doc:Discovery>.
public enum ServiceDirectory {
    /// Every service in `/dev/shm`, sorted by name: each managed segment
    /// whose kind is a service kind. Raw segments, managed segments of plain
    /// bytes (kind 0), segments still being created and segments this user
    /// cannot open are left out; a managed segment of a kind this library
    /// does not know is listed with a ``ServiceInfo/problem``.
    public static func list(backend: SharedMemorySegment.Backend = .default) -> [ServiceInfo] {
        SegmentDirectory.names().compactMap { name in
            guard case .success(let info) = lookUp(name, backend: backend) else { return nil }
            return info
        }
    }

    /// The service `name`.
    ///
    /// - Throws: ``ChannelError/segment(_:)`` when no segment has the name or
    ///   it cannot be opened; ``ChannelError/badChannel(_:)`` when it is not a
    ///   service (a raw segment, plain bytes, not a regular file) or is still
    ///   being created. A service whose words break the rules is returned,
    ///   with its ``ServiceInfo/problem`` set.
    public static func describe(_ name: SegmentName, backend: SharedMemorySegment.Backend = .default) throws(ChannelError) -> ServiceInfo {
        switch lookUp(name, backend: backend) {
        case .success(let info): return info
        case .failure(.missing(let error)), .failure(.refused(let error)): throw error
        case .failure(.initialising):
            throw .badChannel("\(name.posixName) is still being created, or its creator died before finishing it")
        }
    }

    /// Opens and describes `name`.
    static func lookUp(_ name: SegmentName, backend: SharedMemorySegment.Backend) -> Result<ServiceInfo, ServiceSegmentView.Failure> {
        let view: ServiceSegmentView
        do {
            view = try ServiceSegmentView(name, backend: backend)
        } catch {
            return .failure(error)
        }
        let kind = view.header.kind
        guard kind != 0 else {
            return .failure(.refused(.badChannel("\(name.posixName) holds plain bytes (managed segment kind 0), not a service")))
        }
        return .success(describe(view))
    }

    /// Describes the segment `view` with its kind's describer.
    static func describe(_ view: ServiceSegmentView) -> ServiceInfo {
        var info = ServiceInfo(name: view.name.posixName, segmentName: view.name, segmentKind: view.header.kind,
                               kind: nil, configuration: ServiceConfiguration(), participants: [],
                               counters: ServiceCounters(), bridged: false, problem: nil)
        guard let describer = ServiceDescribers.describer(of: view.header.kind) else {
            info.problem = "managed segment kind \(view.header.kind) is not a service kind this library knows"
            return info
        }
        do throws(ServiceProblem) {
            try describer.describe(view, into: &info)
        } catch {
            info.problem = error.description
        }
        // Words read from a mapping whose file was cut are zeros the guard supplied.
        if view.isTruncated {
            info.problem = "\(view.name.posixName) was truncated while it was read"
        }
        return info
    }
}
