import ArgumentParser
import Glibc
import SharedMemory
import SharedMemoryBridge

/// Forwards local publish/subscribe services to DDS topics and back.
@main
struct BridgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shm-bridge",
        abstract: "Bridge local publish/subscribe services to DDS (Eclipse Cyclone DDS) topics.",
        discussion: """
            Service NAME is the segment /dev/shm/NAME locally and the DDS topic shm/NAME on the \
            network, with '_', '-' and '.' written '__', '_h' and '_d' (cam-0 is shm/cam_h0). Names are letters, digits, '-', '_' and '.', with no '..' and no leading '.'. \
            --out forwards local messages to DDS; --in republishes DDS samples locally; --both does \
            both on a topic (a name the bridge creates is a topic of several publishers; an existing \
            single-publisher ring is bridged one way). A bridge never forwards back what it received: \
            its local subscriber skips its own publisher. Counters are printed on SIGINT/SIGTERM and every \
            --stats seconds.

            Request/response services: --requests-out NAME on the host of the clients (the bridge serves \
            NAME locally, standing in for the remote server), --requests-in NAME on the host of the \
            server (the bridge is one client of NAME and makes the requests that come from the network). \
            Topics shm/NAME/request, shm/NAME/reply and shm/NAME/server. A request with no server on the \
            network fails at once; one unanswered for --request-timeout seconds fails then.
            """)

    @Option(name: .customLong("out"), help: "Forward local service NAME to DDS (repeatable).") var outs: [String] = []
    @Option(name: .customLong("in"), help: "Republish DDS topic shm/NAME locally (repeatable).") var ins: [String] = []
    @Option(name: .customLong("both"), help: "Both directions on topic NAME (repeatable): the bridge publishes what comes from DDS and forwards what the other local publishers send.")
    var both: [String] = []
    @Option(name: .customLong("requests-out"), help: "Clients of request/response service NAME are on this host: serve NAME here and send its requests to the network (repeatable).")
    var requestsOut: [String] = []
    @Option(name: .customLong("requests-in"), help: "The server of request/response service NAME is on this host: make the requests from the network here (repeatable).")
    var requestsIn: [String] = []
    @Option(help: "Seconds a request carried over the network waits for its reply (a stream: for its next item) before the bridge fails it.")
    var requestTimeout: Double = 30
    @Option(help: "The DDS domain id, 0 to 230 (0 is ROS 2's default).") var domain: UInt32 = 42
    @Option(name: .customLong("interface"), help: "A network interface DDS may use (repeatable), e.g. lo or veth0.")
    var interfaces: [String] = []
    @Option(help: "Data capacity of a ring the bridge creates, 4096 to 2^30 bytes.") var capacity = 1 << 20
    @Option(help: "Largest message of a ring the bridge creates (default: a quarter of the capacity).") var maxMessage: Int?
    @Option(help: "Publisher slots of a topic the bridge creates, 1 to 64 (the bridge takes one).") var publishers = 16
    @Option(help: "Slow-subscriber policy of a ring the bridge creates: lossless or overwrite.") var policy = "lossless"
    @Option(help: "How to wait on local rings: sleep (a futex wait at once, the default), adaptive (spin briefly first) or spin (a core busy per ring).")
    var wait = "sleep"
    @Option(help: "Microseconds a thread that forwards local messages (or requests, or a local server's answers) keeps polling after one before it sleeps (0 to 10000; 0, the default, sleeps at once). Longer than the round trip, it cuts a conversation's latency, for a core kept busy while messages come.")
    var busyPoll = 0
    @Option(help: "Samples kept per DDS writer and reader (KEEP_LAST depth or KEEP_ALL limit), 1 to 100000.")
    var queue = 64
    @Option(help: "Milliseconds before remote peers declare this bridge gone after a crash (100 to 3600000).")
    var leaseMs = 10_000
    @Option(help: "Print the counters every this many seconds (0: only at exit).") var stats = 0
    @Flag(help: "Log every decision.") var verbose = false
    @Flag(help: "Log errors and warnings only.") var quiet = false

    func validate() throws {
        guard (4096...(1 << 30)).contains(capacity) else { throw ValidationError("--capacity must be 4096 to 2^30, not \(capacity)") }
        guard (1...64).contains(publishers) else { throw ValidationError("--publishers must be 1 to 64, not \(publishers)") }
        guard ["lossless", "overwrite"].contains(policy) else { throw ValidationError("--policy is lossless or overwrite, not \(policy)") }
        guard ["spin", "adaptive", "sleep"].contains(wait) else { throw ValidationError("--wait is spin, adaptive or sleep, not \(wait)") }
        guard requestTimeout >= 0.01, requestTimeout <= 86_400 else { throw ValidationError("--request-timeout must be 0.01 to 86400 seconds, not \(requestTimeout)") }
        guard (0...10_000).contains(busyPoll) else { throw ValidationError("--busy-poll must be 0 to 10000 microseconds, not \(busyPoll)") }
        guard (0...86_400).contains(stats) else { throw ValidationError("--stats must be 0 to 86400 seconds") }
        if let maxMessage, !(1...(capacity / 2)).contains(maxMessage) {
            throw ValidationError("--max-message must be 1 to half the capacity (\(capacity / 2)), not \(maxMessage)")
        }
    }

    func run() throws {
        BridgeLog.configure(level: verbose ? .debug : quiet ? .warning : .info)
        var services = outs.map { BridgedService(name: $0, direction: .out) } + ins.map { BridgedService(name: $0, direction: .in) }
        services += both.flatMap { [BridgedService(name: $0, direction: .out), BridgedService(name: $0, direction: .in)] }
        var configuration = BridgeConfiguration(services: services)
        configuration.requestServices = requestsOut.map { BridgedRequestService(name: $0, direction: .out) }
            + requestsIn.map { BridgedRequestService(name: $0, direction: .in) }
        configuration.requestTimeout = .nanoseconds(Int64(requestTimeout * 1e9))
        configuration.domain = domain
        configuration.interfaces = interfaces
        configuration.queueDepth = queue
        configuration.maxPublishers = publishers
        configuration.leaseDuration = .milliseconds(leaseMs)
        configuration.busyPoll = .microseconds(busyPoll)
        configuration.wait = wait == "spin" ? .spin : wait == "sleep" ? .sleep : .default
        configuration.ring = PublishSubscribeConfiguration(
            ring: RingConfiguration(capacity: capacity, maxMessageSize: maxMessage),
            policy: policy == "overwrite" ? .overwrite : .lossless)
        if let problem = configuration.problem {
            BridgeLog.log(.error, problem)
            throw ExitCode(64)
        }

        // SIGINT and SIGTERM are taken synchronously by this thread (blocked
        // before any other thread starts, so every thread inherits the mask).
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        let bridge: Bridge
        do {
            bridge = try Bridge(configuration)
        } catch {
            BridgeLog.log(.error, "\(error)")
            throw ExitCode(1)
        }
        bridge.start()
        BridgeLog.log(.info, "running; origin \(bridge.origin.map { hex2($0) }.joined())")
        print("ready")
        fflush(nil)

        var lastStats = ContinuousClock.now
        var lastParticipants = 0
        var lastMatched = 0
        while true {
            var timeout = timespec(tv_sec: 0, tv_nsec: 500_000_000)
            let signal = sigtimedwait(&signals, nil, &timeout)
            if signal == SIGINT || signal == SIGTERM {
                BridgeLog.log(.info, "signal \(signal == SIGINT ? "SIGINT" : "SIGTERM"): stopping")
                break
            }
            let snapshot = bridge.snapshot()
            if snapshot.remoteParticipants != lastParticipants {
                BridgeLog.log(.info, "remote participants: \(snapshot.remoteParticipants)")
                lastParticipants = snapshot.remoteParticipants
            }
            if snapshot.matchedReaders != lastMatched {
                BridgeLog.log(.info, "matched readers: \(snapshot.matchedReaders)")
                lastMatched = snapshot.matchedReaders
            }
            if stats > 0, ContinuousClock.now - lastStats >= .seconds(stats) {
                lastStats = ContinuousClock.now
                BridgeLog.log(.info, "counters: \(snapshot)")
            }
        }
        bridge.stop()
        BridgeLog.log(.info, "counters: \(bridge.snapshot())")
        print("stopped")
        fflush(nil)
    }
}

private func hex2(_ byte: UInt8) -> String {
    let text = String(byte, radix: 16)
    return text.count == 1 ? "0" + text : text
}
