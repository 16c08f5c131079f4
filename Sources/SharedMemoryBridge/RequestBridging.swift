import SharedMemory

/// Opens the local side of every bridged request/response service and,
/// once the DDS participant exists, the forwarders around them.
enum RequestBridging {
    /// A request/response service opened locally.
    enum Local {
        /// `--requests-out`: the bridge serves the local service.
        case requester(String, RequestServer)
        /// `--requests-in`: the bridge is one client of the local service.
        case responder(String, RequestClient)

        var largestPayload: Int {
            switch self {
            case .requester(_, let server): server.maxPayloadSize
            case .responder(_, let client): client.maxPayloadSize
            }
        }
    }

    /// Opens every request/response service of `configuration` (created
    /// with ``BridgeConfiguration/requestShape`` when it does not exist) and
    /// takes a bridge mark on each.
    static func openLocal(_ configuration: BridgeConfiguration) throws(BridgeError) -> [Local] {
        var opened: [Local] = []
        for service in configuration.requestServices {
            do {
                let name = try SegmentName(service.name)
                switch service.direction {
                case .out:
                    let server: RequestServer
                    do {
                        server = try RequestServer.open(name, creating: configuration.requestShape, wait: configuration.wait)
                    } catch .busy {
                        throw ChannelError.busy("a local server serves \(service.name) already; --requests-out stands in for a remote server, so no local one may run")
                    }
                    try server.markBridged()
                    opened.append(.requester(service.name, server))
                case .in:
                    let client = try RequestClient.open(name, creating: configuration.requestShape, joinTimeout: .seconds(2), wait: configuration.wait)
                    try client.markBridged()
                    opened.append(.responder(service.name, client))
                }
            } catch {
                throw BridgeError(description: "\(service.name): \(error)")
            }
        }
        return opened
    }

    /// The forwarders of the opened services: the loops to run on threads,
    /// how many remote readers each one's writer matches, and the listeners to start.
    static func forwarders(_ locals: [Local], participant: DDSParticipant, configuration: BridgeConfiguration,
                           origin: [UInt8], counters: BridgeCounters, stop: StopFlag)
        throws(DDSError) -> (loops: [@Sendable () -> Void], matched: [@Sendable () -> Int], listening: [any ListeningForwarder]) {
        var loops: [@Sendable () -> Void] = []
        var listening: [any ListeningForwarder] = []
        var matched: [@Sendable () -> Int] = []
        func add(_ side: some RequestBridgeSide) {
            loops += [{ side.runRequests() }, { side.runReplies() }]
            matched.append { side.matchedReaders }
            listening.append(side)
        }
        for local in locals {
            switch local {
            case .requester(let service, let server):
                let bridge = try RequesterBridge(service: service, server: server, participant: participant, configuration: configuration,
                                                 origin: origin, counters: counters, stop: stop)
                add(bridge)
                let topics = BridgeNaming.requestTopicNames(forService: service)
                BridgeLog.log(.info, "\(service) (request/response, clients here) -> DDS topics \(topics?.request ?? ""), \(topics?.reply ?? ""), \(topics?.server ?? "")")
            case .responder(let service, let client):
                let bridge = try ResponderBridge(service: service, client: client, participant: participant, configuration: configuration,
                                                 origin: origin, counters: counters, stop: stop)
                add(bridge)
                let topics = BridgeNaming.requestTopicNames(forService: service)
                BridgeLog.log(.info, "DDS topics \(topics?.request ?? ""), \(topics?.reply ?? ""), \(topics?.server ?? "") -> \(service) (request/response, server here)")
            }
        }
        return (loops, matched, listening)
    }
}

/// Either side of a bridged request/response service: two loops on threads
/// of their own, a reader with a listener, a writer whose remote readers count.
protocol RequestBridgeSide: ListeningForwarder {
    /// The loop that takes requests (local ones, or the network's).
    func runRequests()
    /// The loop that takes answers and does the periodic checks.
    func runReplies()
    /// Remote readers matched with this side's writer.
    var matchedReaders: Int { get }
}

extension RequesterBridge: RequestBridgeSide {}
extension ResponderBridge: RequestBridgeSide {}
