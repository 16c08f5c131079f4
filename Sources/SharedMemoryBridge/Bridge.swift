internal import CCycloneDDS
import Synchronization
import SharedMemory

/// Which way a bridged service goes.
public enum BridgeDirection: String, Hashable, Sendable, CaseIterable {
    /// Local publishers -> DDS topic (the bridge subscribes locally).
    case out
    /// DDS topic -> local subscribers (the bridge publishes locally).
    case `in`
}

/// One service the bridge forwards.
public struct BridgedService: Hashable, Sendable {
    /// The local service (segment) name; its DDS topic follows ``BridgeNaming``.
    public var name: String
    /// Which way it goes.
    public var direction: BridgeDirection

    /// A service `name` forwarded `direction`.
    public init(name: String, direction: BridgeDirection) {
        self.name = name
        self.direction = direction
    }
}

/// Everything a bridge needs to start.
public struct BridgeConfiguration: Sendable {
    /// The services and their directions. A name appears at most once per
    /// direction; a name both ways must be a topic (the bridge's subscriber
    /// skips its own publisher), not a single-publisher ring.
    public var services: [BridgedService]
    /// The DDS domain id; 42 by default (0 is ROS 2's).
    public var domain: UInt32 = 42
    /// The network interfaces DDS may use (e.g. `["lo"]`, `["veth0"]`); empty lets Cyclone choose.
    public var interfaces: [String] = []
    /// The shape of a local ring the bridge has to create (it joins an existing one as it is).
    public var ring: PublishSubscribeConfiguration = PublishSubscribeConfiguration()
    /// Publisher slots of a topic the bridge has to create (1 of them is the bridge's).
    public var maxPublishers: Int = 16

    /// The topic the bridge creates for a name that does not exist: ``ring``'s
    /// ring, subscriber slots and policy, ``maxPublishers`` publishers, no history.
    public var topic: TopicConfiguration {
        TopicConfiguration(maxPublishers: maxPublishers, subscriberSlots: ring.subscriberSlots, policy: ring.policy, ring: ring.ring)
    }
    /// Samples kept per DDS endpoint (KEEP_LAST depth, or KEEP_ALL limit); bounded by about 64 MiB.
    public var queueDepth: Int = 64
    /// How the bridge waits on its local rings: `.sleep` by default, a futex
    /// wait at once. The bridge's threads share the machine's cores with
    /// Cyclone's network threads and with the local publishers and
    /// subscribers; a spinning wait (even `.default`'s short spin) takes a
    /// core from the thread that carries the message on, which costs far more
    /// than the futex wake-up it saves (see the SharedMemoryBridge article).
    public var wait: WaitStrategy = .sleep
    /// How long a thread that forwards local messages to DDS keeps polling
    /// its ring after a message before it sleeps again: zero (the default)
    /// sleeps at once. The same holds for the thread that takes local
    /// requests (`--requests-out`) and the one that takes the local server's
    /// answers (`--requests-in`). A window longer than the conversation's round trip
    /// (200 µs on the test machine's veth pair) saves the futex wake-up of
    /// the next message, which is most of the bridge's latency over plain
    /// DDS, at the price of a core kept busy (yielding to any other thread
    /// that can run) while messages keep coming; an idle bridge still
    /// sleeps. See the SharedMemoryBridge article, "Latency".
    public var busyPoll: Duration = .zero
    /// How long remote peers wait before they declare this bridge gone after a crash.
    public var leaseDuration: Duration = .seconds(10)
    /// The request/response services the bridge carries (a name here may not
    /// also be in ``services``); see ``BridgedRequestService``.
    public var requestServices: [BridgedRequestService] = []
    /// How long a request carried over the network may wait for its reply
    /// (for a stream: for its next item) before the bridge fails it: on the
    /// clients' host the pending request is failed and dropped, on the
    /// server's host the local request times out. 30 s by default.
    public var requestTimeout: Duration = .seconds(30)
    /// The most requests a `--requests-out` bridge waits for at once per
    /// service; a request beyond it fails at once ("too many pending requests").
    public var maxPendingRequests: Int = 4096
    /// The most requests a `--requests-in` bridge makes locally at once per
    /// service; beyond it the bridge takes no more from the network until one ends.
    public var maxRequestsInFlight: Int = 64
    /// The shape of a request/response service the bridge has to create.
    public var requestShape: RequestResponseConfiguration = RequestResponseConfiguration()

    /// A configuration for `services` with defaults for everything else.
    public init(services: [BridgedService]) {
        self.services = services
    }

    /// Why the configuration cannot work, or `nil`.
    public var problem: String? {
        if services.isEmpty && requestServices.isEmpty { return "no services to bridge (give --out, --in, --both, --requests-out or --requests-in)" }
        if let problem = requestProblem { return problem }
        for service in services {
            if let problem = BridgeNaming.problem(withServiceName: service.name) { return problem }
        }
        let outs = services.filter { $0.direction == .out }.map(\.name)
        let ins = services.filter { $0.direction == .in }.map(\.name)
        if Set(outs).count != outs.count || Set(ins).count != ins.count { return "a service is named twice in one direction" }
        guard domain <= 230 else { return "DDS domain \(domain); 0 to 230 are possible" }
        for interface in interfaces {
            if let problem = DDSDomainConfiguration.problem(withInterface: interface) { return problem }
        }
        guard leaseDuration >= .milliseconds(100), leaseDuration <= .seconds(3600) else { return "a lease of \(leaseDuration); 0.1 s to 1 h" }
        guard busyPoll >= .zero, busyPoll <= .milliseconds(10) else { return "a busy-poll window of \(busyPoll); 0 to 10 ms" }
        guard (1...100_000).contains(queueDepth) else { return "a queue depth of \(queueDepth); 1 to 100000" }
        return nil
    }
}

/// Why a bridge could not start.
public struct BridgeError: Error, CustomStringConvertible {
    /// What went wrong.
    public var description: String
}

/// Forwards local publish/subscribe services to DDS topics and back: one
/// thread per service and direction, stopped and joined by ``stop()``.
public final class Bridge: Sendable {
    /// The counters, live.
    public let counters = BridgeCounters()
    /// This bridge's 16-byte origin id, written into every sample it sends.
    public let origin: [UInt8]
    let participant: DDSParticipant
    let stopFlag = StopFlag()
    let forwarders: [@Sendable () -> Void]
    let outboundForwarders: [OutboundForwarder]
    let requestMatched: [@Sendable () -> Int]
    /// The forwarders whose DDS readers deliver from a listener.
    let listening: [any ListeningForwarder]
    let threads = Mutex<[BridgeThread]>([])

    /// Opens the local rings and the DDS entities of `configuration`; nothing
    /// is forwarded before ``start()``.
    public init(_ configuration: BridgeConfiguration) throws(BridgeError) {
        if let problem = configuration.problem { throw BridgeError(description: problem) }
        var generator = SystemRandomNumberGenerator()
        origin = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let shape = LocalRingShape(configuration: configuration.ring, wait: configuration.wait)

        // Local side first: the largest message bounds what DDS accepts.
        var inbound: [(BridgedService, LocalInbound)] = []
        var outbound: [(BridgedService, LocalOutbound)] = []
        var largest = 0
        var names: [String] = []
        for service in configuration.services where !names.contains(service.name) { names.append(service.name) }
        for serviceName in names {
            let directions = Set(configuration.services.filter { $0.name == serviceName }.map(\.direction))
            let name: SegmentName
            do { name = try SegmentName(serviceName) } catch {
                throw BridgeError(description: "\(serviceName): \(error)")
            }
            do {
                // A single-publisher ring that exists already is joined as it is (one
                // direction only); everything else is a topic, created if need be.
                if (try? ChannelStatus.read(name)) != nil {
                    guard directions.count == 1 else {
                        throw ChannelError.badChannel("a single-publisher ring cannot be bridged both ways (a bridge could not tell its own messages apart); use a topic")
                    }
                    if directions.contains(.out) {
                        let local = try RingInbound(name, shape: shape)
                        largest = max(largest, local.maxMessageSize)
                        inbound.append((BridgedService(name: serviceName, direction: .out), local))
                    } else {
                        let local = try RingOutbound(name, shape: shape)
                        largest = max(largest, local.maxMessageSize)
                        outbound.append((BridgedService(name: serviceName, direction: .in), local))
                    }
                    continue
                }
                let topic = configuration.topic
                var own: SenderTag?
                var marked = false
                if directions.contains(.in) {
                    // The publisher first: the subscriber then knows which ring to skip.
                    let local = try TopicOutbound(name, creating: topic, wait: configuration.wait)
                    own = local.tag
                    largest = max(largest, local.maxMessageSize)
                    outbound.append((BridgedService(name: serviceName, direction: .in), local))
                    // One bridge mark per topic and bridge, held as long as the bridge runs.
                    try local.markBridged()
                    marked = true
                }
                if directions.contains(.out) {
                    let local = try TopicInbound(name, creating: topic, skipping: own, wait: configuration.wait)
                    largest = max(largest, local.maxMessageSize)
                    inbound.append((BridgedService(name: serviceName, direction: .out), local))
                    if !marked { try local.markBridged() }
                }
            } catch {
                throw BridgeError(description: "\(serviceName): \(error)")
            }
        }
        let requestLocals = try RequestBridging.openLocal(configuration)
        largest = max(largest, requestLocals.map(\.largestPayload).max() ?? 0)
        let domainConfiguration = DDSDomainConfiguration(
            domain: configuration.domain, interfaces: configuration.interfaces, maxSampleSize: largest + 1024,
            leaseDuration: configuration.leaseDuration)
        do {
            participant = try DDSParticipant(domainConfiguration)
        } catch {
            throw BridgeError(description: "\(error)")
        }
        var forwarders: [@Sendable () -> Void] = []
        var outboundForwarders: [OutboundForwarder] = []
        var listening: [any ListeningForwarder] = []
        let counters = self.counters
        do {
            // A service's DDS topic and QoS, from its local ring.
            let domainParticipant = participant
            func endpoint(_ name: String, lossless: Bool, maxMessageSize: Int) throws(DDSError) -> (topicName: String, topic: dds_entity_t, qos: BridgeQoS) {
                let qos = BridgeQoS(lossless: lossless,
                                    queueDepth: BridgeQoS.depth(requested: configuration.queueDepth, maxMessageSize: maxMessageSize))
                let topicName = BridgeNaming.topicName(forService: name) ?? ""
                return (topicName, try domainParticipant.topic(topicName), qos)
            }
            for (service, local) in inbound {
                let (topicName, topic, qos) = try endpoint(service.name, lossless: local.lossless, maxMessageSize: local.maxMessageSize)
                let forwarder = try OutboundForwarder(service: service.name, local: local, participant: participant, topic: topic,
                                                      qos: qos, origin: origin, counters: counters, stop: stopFlag,
                                                      busyPoll: configuration.busyPoll)
                forwarders.append { forwarder.run() }
                outboundForwarders.append(forwarder)
                BridgeLog.log(.info, "\(service.name) -> DDS topic \(topicName) (\(local.lossless ? "RELIABLE KEEP_ALL" : "RELIABLE KEEP_LAST") \(qos.queueDepth))")
            }
            for (service, local) in outbound {
                let (topicName, topic, qos) = try endpoint(service.name, lossless: local.lossless, maxMessageSize: local.maxMessageSize)
                let forwarder = try InboundForwarder(service: service.name, local: local, participant: participant, topic: topic,
                                                     qos: qos, origin: origin, counters: counters, stop: stopFlag)
                forwarders.append { forwarder.run() }
                listening.append(forwarder)
                BridgeLog.log(.info, "DDS topic \(topicName) -> \(service.name) (\(local.lossless ? "RELIABLE KEEP_ALL" : "RELIABLE KEEP_LAST") \(qos.queueDepth))")
            }
            let requests = try RequestBridging.forwarders(requestLocals, participant: participant, configuration: configuration,
                                                          origin: origin, counters: counters, stop: stopFlag)
            forwarders += requests.loops
            listening += requests.listening
            requestMatched = requests.matched
        } catch {
            throw BridgeError(description: "\(error)")
        }
        self.forwarders = forwarders
        self.outboundForwarders = outboundForwarders
        self.listening = listening
        BridgeLog.log(.info, "DDS domain \(configuration.domain), interfaces \(configuration.interfaces.isEmpty ? "(Cyclone's choice)" : configuration.interfaces.joined(separator: ","))")
    }

    /// Starts one thread per service and direction, and the DDS listeners
    /// that republish network samples as they arrive.
    public func start() {
        let started = threads.withLock { threads in
            guard threads.isEmpty, !stopFlag.isSet else { return false }
            threads = forwarders.map { BridgeThread($0) }
            return true
        }
        guard started else { return }
        for forwarder in listening { forwarder.startListening() }
    }

    /// Stops forwarding and joins the threads (each finishes within about 200 ms).
    public func stop() {
        stopFlag.set()
        for forwarder in listening { forwarder.stopListening() }
        let running = threads.withLock { threads in
            let all = threads
            threads = []
            return all
        }
        for thread in running { thread.join() }
    }

    deinit { stop() }

    /// The counters now, with the remote participants and matched readers counted afresh.
    public func snapshot() -> BridgeCountersSnapshot {
        counters.remoteParticipants.store(Int64(participant.remoteParticipants), ordering: .relaxed)
        counters.matchedReaders.store(Int64(outboundForwarders.reduce(0) { $0 + $1.matchedReaders } + requestMatched.reduce(0) { $0 + $1() }), ordering: .relaxed)
        return counters.snapshot
    }
}
