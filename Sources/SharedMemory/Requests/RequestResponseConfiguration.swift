/// The shape of a new request/response service: how many clients it takes
/// at once, and the shape of each client's request ring and response ring.
public struct RequestResponseConfiguration: Hashable, Sendable {
    /// The most clients attached at once (1 to ``ServiceLayout/maxMembers``).
    public var maxClients: Int
    /// The shape of every ring. A message is a request or a reply with its
    /// 16-byte prefix, so the largest payload is 16 bytes less than the
    /// ring's maximum message size.
    public var ring: RingConfiguration

    /// A configuration for `maxClients` clients, each with two rings shaped by `ring`.
    public init(maxClients: Int = 16, ring: RingConfiguration = RingConfiguration(capacity: 64 * 1024)) {
        self.maxClients = maxClients
        self.ring = ring
    }

    var shape: ServiceShape { ServiceShape(pattern: .requestResponse, members: maxClients, ring: ring) }
}
