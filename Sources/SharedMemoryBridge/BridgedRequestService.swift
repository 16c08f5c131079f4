/// One request/response service the bridge carries across the network.
///
/// ``BridgeDirection/out``: this host has the clients (`--requests-out`):
/// the bridge serves the local service as its `RequestServer`, standing in
/// for the remote server, and sends every request to the network.
/// ``BridgeDirection/in``: this host has the server (`--requests-in`): the
/// bridge joins the local service as one `RequestClient` and makes the
/// requests that come from the network. See the SharedMemoryBridge article.
public struct BridgedRequestService: Hashable, Sendable {
    /// The local service (segment) name; its DDS topics follow ``BridgeNaming``
    /// (``BridgeNaming/requestTopicNames(forService:)``).
    public var name: String
    /// `.out`: the clients are here; `.in`: the server is here.
    public var direction: BridgeDirection

    /// A request/response service `name` bridged `direction`.
    public init(name: String, direction: BridgeDirection) {
        self.name = name
        self.direction = direction
    }
}

/// The three DDS topics of a bridged request/response service.
public struct RequestTopicNames: Hashable, Sendable {
    /// Requests, requester bridges to responder bridges: `shm/NAME/request`.
    public var request: String
    /// Replies, responder bridges to requester bridges: `shm/NAME/reply`.
    public var reply: String
    /// Responder announcements: `shm/NAME/server`.
    public var server: String
}

extension BridgeNaming {
    /// The DDS topics of request/response service `name`: its topic name
    /// (``topicName(forService:)``) followed by `/request`, `/reply` and
    /// `/server`; `nil` when the name breaks the rule. They never clash with
    /// a publish/subscribe topic: an escaped name holds no `/`.
    public static func requestTopicNames(forService name: String) -> RequestTopicNames? {
        guard let topic = topicName(forService: name) else { return nil }
        return RequestTopicNames(request: topic + "/request", reply: topic + "/reply", server: topic + "/server")
    }
}

extension BridgeConfiguration {
    /// Why the request/response part of the configuration cannot work, or `nil`.
    var requestProblem: String? {
        for service in requestServices {
            if let problem = BridgeNaming.problem(withServiceName: service.name) { return problem }
        }
        let outs = requestServices.filter { $0.direction == .out }.map(\.name)
        let ins = requestServices.filter { $0.direction == .in }.map(\.name)
        if Set(outs).count != outs.count || Set(ins).count != ins.count { return "a request/response service is named twice in one direction" }
        if let both = outs.first(where: { ins.contains($0) }) {
            return "\(both) is given with --requests-out and --requests-in: one bridge would answer its own requests; bridge one way per host"
        }
        let pubSub = Set(services.map(\.name))
        if let shared = requestServices.first(where: { pubSub.contains($0.name) }) {
            return "\(shared.name) is given as a publish/subscribe service and as a request/response service: they are separate services and cannot share a segment name"
        }
        guard requestTimeout >= .milliseconds(10), requestTimeout <= .seconds(86_400) else {
            return "a request timeout of \(requestTimeout); 0.01 s to 1 day"
        }
        guard (1...PendingRequests<Int>.largestCapacity).contains(maxPendingRequests) else {
            return "\(maxPendingRequests) pending requests; 1 to \(PendingRequests<Int>.largestCapacity)"
        }
        guard (1...4096).contains(maxRequestsInFlight) else { return "\(maxRequestsInFlight) requests in flight; 1 to 4096" }
        return nil
    }
}
