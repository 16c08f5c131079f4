import Foundation
import SharedMemory
import Synchronization
import Testing

/// Honest peers in separate processes (shm-test-peer) send, receive, wait on
/// empty and full rings and sleep, while the test process acts as a hostile
/// peer: it truncates the segment, writes chosen values into its control
/// words and record headers, or random bytes over any region. Every honest
/// process must exit 0 with messages whose lengths stayed in bounds, or exit
/// non-zero with an error on stderr, within its time limit and never by a signal.
///
/// `SHM_CORRUPT_TRIALS` sets the number of trials (200 by default),
/// `SHM_CORRUPT_SEED` the first seed, `SHM_CORRUPT_JOBS` how many run at once
/// (4), and `SHM_CORRUPT_REPLAY` a comma-separated list of seeds to run alone.
@Suite("A corrupting peer")
struct CorruptingPeerTests {
    static let environment = ProcessInfo.processInfo.environment
    static let trials = environment["SHM_CORRUPT_TRIALS"].flatMap(Int.init) ?? 200
    static let firstSeed = environment["SHM_CORRUPT_SEED"].flatMap(parseSeed) ?? 0x5EED_0000
    static let jobs = max(1, environment["SHM_CORRUPT_JOBS"].flatMap(Int.init) ?? 4)
    static let replay = environment["SHM_CORRUPT_REPLAY"].map { $0.split(separator: ",").compactMap { parseSeed(String($0)) } }

    static func parseSeed(_ text: String) -> UInt64? {
        text.hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16) : UInt64(text)
    }

    @Test("Seeded trials: truncation, targeted words and random bytes never crash, hang or silence an honest peer")
    func seededTrials() async throws {
        let seeds = Self.replay ?? (0..<Self.trials).map { Self.firstSeed &+ UInt64($0) }
        let start = Date()
        let results = await CorruptionTrial.runAll(seeds: seeds, jobs: Self.jobs)
        let failures = results.filter { !$0.passed }
        let seconds = Date().timeIntervalSince(start)
        let ends = results.flatMap(\.peers)
        let clean = ends.filter { $0.outcome == .succeeded }.count
        let clear = ends.filter { if case .failedClearly = $0.outcome { true } else { false } }.count
        print("Corrupting peer: \(results.count) trials (\(Self.jobs) at a time) in \(String(format: "%.1f", seconds)) s; \(failures.count) failed; honest peers: \(clean) exited 0, \(clear) exited with an error, \(ends.count - clean - clear) broke the rules")
        // Outcomes per kind of corruption, for people reading the log.
        var byKind: [String: [CorruptionTrial.Result]] = [:]
        for result in results {
            let kind = result.failureClass.split(separator: " ").first.map(String.init) ?? "?"
            byKind[kind + (result.failureClass.hasSuffix(", repeated") ? ", repeated" : ""), default: []].append(result)
        }
        for (kind, members) in byKind.sorted(by: { $0.key < $1.key }) {
            let peers = members.flatMap(\.peers)
            let exited = peers.filter { $0.outcome == .succeeded }.count
            let errors = peers.filter { if case .failedClearly = $0.outcome { true } else { false } }.count
            print("  \(kind): \(members.count) trials, \(members.filter { !$0.passed }.count) failed; honest peers: \(exited) exited 0, \(errors) exited with an error, \(peers.count - exited - errors) broke the rules")
        }
        var byClass: [String: [CorruptionTrial.Result]] = [:]
        for failure in failures { byClass[failure.failureClass, default: []].append(failure) }
        for (failureClass, members) in byClass.sorted(by: { $0.key < $1.key }) {
            let examples = members.prefix(4).map(\.report).joined(separator: "\n  ")
            Issue.record("\(members.count) trial(s) failed, class \(failureClass); replay with SHM_CORRUPT_REPLAY=\(members.map { String(format: "0x%llx", $0.seed) }.joined(separator: ",")):\n  \(examples)")
        }
        #expect(results.count == seeds.count)
    }
}

/// One trial: a ring, its honest peers, one corruption, and how each peer ended.
struct CorruptionTrial {
    enum Kind: String, CaseIterable { case channel, lossless = "pubsub lossless", overwrite = "pubsub overwrite" }
    enum Scenario: String, CaseIterable {
        /// Messages flow.
        case streaming
        /// A slow reader: the writer waits on a full ring.
        case fullRing = "full ring"
        /// The writer starts late: the readers wait (asleep) on an empty ring.
        case emptyRing = "empty ring"
    }

    /// How one honest peer ended, and what was wrong with that, if anything.
    struct PeerEnd {
        let role: String
        let outcome: PeerOutcome
        /// The last line of its error output, when it failed clearly.
        let error: String
        /// Why the end breaks the rules; `nil` when it keeps them.
        let problem: String?

        var description: String {
            "\(role) \(outcome)" + (problem.map { $0 == outcome.description ? "" : " (\($0))" } ?? "")
                + (error.isEmpty ? "" : ": \(error)")
        }
    }

    struct Result {
        let seed: UInt64
        let setting: String
        let corruption: String
        let failureClass: String
        let peers: [PeerEnd]
        /// Why the trial could not be set up (a peer that did not start), if it could not.
        var setupError: String?

        var passed: Bool { setupError == nil && peers.allSatisfy { $0.problem == nil } }

        var report: String {
            String(format: "seed 0x%llx", seed) + " \(setting), \(corruption): "
                + (setupError.map { "setup failed: \($0)" } ?? peers.map(\.description).joined(separator: "; "))
        }
    }

    static let slots = 4
    static let capacity = 4096
    /// How long an honest peer may take after the corruption before it counts as hung.
    static let limit = 5.0
    /// How long opening a segment waits for one that looks half created (a
    /// 0-byte one may be another process's new segment): the library's
    /// ``ManagedSegment/defaultReadyTimeout``, which the channel API does not let
    /// a caller shorten. A peer that opens after the corruption may take this on top.
    static let openReadyWait = Double(ManagedSegment.defaultReadyTimeout.components.seconds)

    /// Runs every seed, `jobs` at a time, off Swift's cooperative pool.
    static func runAll(seeds: [UInt64], jobs: Int) async -> [Result] {
        let next = Atomic<Int>(0)
        let collected = Mutex<[Result]>([])
        let group = DispatchGroup()
        let queue = DispatchQueue(label: "corruption-trials", attributes: .concurrent)
        for _ in 0..<min(jobs, seeds.count) {
            queue.async(group: group) {
                while true {
                    let index = next.add(1, ordering: .relaxed).oldValue
                    guard index < seeds.count else { return }
                    let result = run(seed: seeds[index])
                    collected.withLock { $0.append(result) }
                }
            }
        }
        await withCheckedContinuation { continuation in group.notify(queue: .global()) { continuation.resume() } }
        return collected.withLock { $0 }.sorted { $0.seed < $1.seed }
    }

    static func run(seed: UInt64) -> Result {
        var random = SeededRandom(seed: seed)
        let kind = random.pick(Kind.allCases)
        let scenario = random.pick(Scenario.allCases)
        let beforeOpen = random.chance(0.25)
        let setting = "\(kind.rawValue), \(scenario.rawValue), \(beforeOpen ? "before the peers open" : "while they run")"
        return withUniqueName { name in
            do {
                return try run(seed: seed, name: name, kind: kind, scenario: scenario, beforeOpen: beforeOpen,
                               setting: setting, random: &random)
            } catch {
                return Result(seed: seed, setting: setting, corruption: "none", failureClass: "trial setup",
                              peers: [], setupError: "\(error)")
            }
        }
    }

    private static func run(
        seed: UInt64, name: String, kind: Kind, scenario: Scenario, beforeOpen: Bool, setting: String,
        random: inout SeededRandom
    ) throws -> Result {
        var common = ["--capacity", "\(capacity)", "--max-size", "200", "--seed", "\(seed & 0xFFFF)",
                      "--timeout-ms", "1000", "--slots", "\(slots)"]
        switch kind {
        case .channel: common += ["--flavour", "channel"]
        // Publish/subscribe rings keep a history, so that its words are corrupted too.
        case .lossless: common += ["--flavour", "pubsub", "--policy", "lossless", "--history", "4"]
        case .overwrite: common += ["--flavour", "pubsub", "--policy", "overwrite", "--history", "4"]
        }
        func wait() -> [String] { ["--wait", random.pick(["sleep", "sleep", "sleep", "adaptive", "adaptive", "adaptive", "adaptive", "spin"])] }
        var senderArguments = ["send", name] + common + wait()
        var receiverArguments: [[String]] = []
        let readers = kind == .channel ? 1 : 2
        for index in 0..<readers {
            var arguments = ["receive", name, "--tolerant"] + common
            switch scenario {
            case .streaming: arguments += wait()
            case .fullRing: arguments += wait() + (index == 0 ? ["--delay", "1000"] : [])
            case .emptyRing: arguments += ["--wait", "sleep"]
            }
            receiverArguments.append(arguments)
        }
        switch scenario {
        case .streaming: senderArguments += ["--count", "400", "--pace-us", "500"]
        case .fullRing: senderArguments += ["--count", "300"]
        case .emptyRing: senderArguments += ["--count", "50", "--start-delay", "400"]
        }
        let segmentName = try SegmentName(name)
        let corruption: Corruption
        var peers: [(String, SpawnedProcess)] = []
        if beforeOpen {
            try createRing(segmentName, kind: kind)
            corruption = try corrupt(name, kind: kind, persistent: false, &random)
            for (index, arguments) in receiverArguments.enumerated() {
                peers.append(("\(kind == .channel ? "receiver" : "subscriber \(index)")", try SpawnedProcess("shm-test-peer", arguments)))
            }
            peers.append((kind == .channel ? "sender" : "publisher", try SpawnedProcess("shm-test-peer", senderArguments)))
        } else {
            for (index, arguments) in receiverArguments.enumerated() {
                let peer = try SpawnedProcess("shm-test-peer", arguments)
                peers.append(("\(kind == .channel ? "receiver" : "subscriber \(index)")", peer))
                try peer.waitForOutput(containing: "ready", timeout: 10)
            }
            let sender = try SpawnedProcess("shm-test-peer", senderArguments)
            peers.append((kind == .channel ? "sender" : "publisher", sender))
            try sender.waitForOutput(containing: "ready", timeout: 10)
            usleep(UInt32.random(in: 0...250_000, using: &random))
            corruption = try corrupt(name, kind: kind, persistent: true, &random)
        }
        let ends = outcomes(of: peers.map(\.1), limit: limit + (beforeOpen ? openReadyWait : 0))
        let judged = zip(peers, ends).map { entry, outcome in
            let (role, peer) = entry
            var problem: String? = outcome.isAcceptable ? nil : outcome.description
            if outcome == .failedClearly(status: 4) {
                problem = "a message's length out of bounds"
            } else if outcome == .succeeded, role.hasPrefix("receiver") || role.hasPrefix("subscriber"),
                      !peer.output.contains("out-of-bounds 0") {
                problem = "exit 0 without a clean summary"
            }
            var error = ""
            if case .failedClearly = outcome { error = peer.errorOutput.split(separator: "\n").last.map(String.init) ?? "" }
            return PeerEnd(role: role, outcome: outcome, error: error, problem: problem)
        }
        let firstProblem = judged.lazy.compactMap(\.problem).first
        return Result(seed: seed, setting: setting, corruption: corruption.description,
                      failureClass: corruption.failureClass + (firstProblem.map { " -> \($0)" } ?? ""), peers: judged)
    }

    /// Creates the ring as the peers would, and leaves it, so that it can be corrupted before they open it.
    private static func createRing(_ name: SegmentName, kind: Kind) throws {
        let ring = RingConfiguration(capacity: capacity)
        switch kind {
        case .channel:
            _ = try ChannelReceiver.open(name, creating: ring).maxMessageSize
        case .lossless, .overwrite:
            let subscriber = try Subscriber.open(
                name, creating: PublishSubscribeConfiguration(ring: ring, subscriberSlots: slots, policy: kind == .lossless ? .lossless : .overwrite,
                                                         history: 4))
            subscriber.leave()
        }
    }

    /// Corrupts the ring once; while the peers run, a third of the time it
    /// keeps writing the same word (or fresh random bytes) every millisecond
    /// for up to 300 ms, as a peer that fights the honest ones would.
    private static func corrupt(_ name: String, kind: Kind, persistent: Bool, _ random: inout SeededRandom) throws -> Corruption {
        guard let peer = HostilePeer(name: name, slots: kind == .channel ? 1 : slots) else {
            throw ChildProcessError(description: "the hostile peer could not open /\(name)")
        }
        var corruption = CorruptionPlan.draw(for: peer, using: &random)
        guard corruption.apply(to: peer, using: &random) else {
            throw ChildProcessError(description: "the hostile peer could not \(corruption)")
        }
        if persistent, !corruption.isTruncation, random.chance(1.0 / 3) {
            let end = Date().addingTimeInterval(Double.random(in: 0.05...0.3, using: &random))
            while Date() < end {
                _ = corruption.apply(to: peer, using: &random)
                usleep(1_000)
            }
            corruption = .repeated(corruption)
        }
        return corruption
    }
}
