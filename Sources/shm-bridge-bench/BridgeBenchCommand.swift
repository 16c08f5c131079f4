import ArgumentParser
import Glibc
import SharedMemory

/// Local ends of the bridge benchmark (scripts/bench-bridge.sh): a pinger and
/// an echoer for round trips, a source and a sink for throughput, a client
/// and an echo server for request round trips. Each prints one result line;
/// the script puts them beside a plain Cyclone DDS C pair.
@main
struct BridgeBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shm-bridge-bench", abstract: "Local ends of the bridge benchmark.",
        subcommands: [Ping.self, Echo.self, Source.self, Sink.self, Request.self, Serve.self])
}

struct RingOptions: ParsableArguments {
    @Option(help: "Message size in bytes (at least 8).") var size = 64
    @Option(help: "Messages (round trips or stream length).") var count = 10_000
    @Option(help: "Ring capacity in bytes.") var capacity = 1 << 22
    @Flag(help: "Spin while waiting (a core busy) instead of the adaptive default (--wait spin).") var spin = false
    @Option(help: "How to wait: spin, adaptive (the default) or sleep.") var waitName = "adaptive"

    var wait: WaitStrategy { spin || waitName == "spin" ? .spin : waitName == "sleep" ? .sleep : .default }

    /// The topic's shape when this end creates it (the bridges usually have).
    var shape: TopicConfiguration {
        TopicConfiguration(ring: RingConfiguration(capacity: capacity))
    }

    func validate() throws {
        guard (4096...(1 << 30)).contains(capacity) else { throw ValidationError("--capacity 4096 to 2^30") }
        guard (8...(capacity / 4 - 64)).contains(size) else { throw ValidationError("--size 8 to a quarter of the capacity") }
        guard ["spin", "adaptive", "sleep"].contains(waitName) else { throw ValidationError("--wait-name spin, adaptive or sleep") }
        guard (1...100_000_000).contains(count) else { throw ValidationError("--count 1 to 10^8") }
    }
}

func segment(_ name: String) throws -> SegmentName { try SegmentName(name) }
func nanoseconds(_ duration: Duration) -> Int64 {
    duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
}
func fixed(_ value: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = Int64((value * scale).rounded())
    guard digits > 0 else { return String(scaled) }
    let whole = scaled / Int64(scale), part = String(abs(scaled % Int64(scale)))
    return "\(whole).\(String(repeating: "0", count: digits - part.count))\(part)"
}
/// The next message; `nil` at the end or after `timeout`.
func receiveOrNil(_ subscriber: borrowing TopicSubscriber, timeout: Duration) throws(ChannelError) -> TopicMessage? {
    do {
        return try subscriber.receive(timeout: timeout)
    } catch .timedOut {
        return nil
    }
}
func report(_ line: String) { print(line); fflush(nil) }
/// Prints the median and 99th percentile of round trips in nanoseconds (at least one), as the script reads them.
func reportRoundTrips(_ samples: [Int64], size: Int) {
    let sorted = samples.sorted()
    let median = Double(sorted[sorted.count / 2]) / 1000
    let p99 = Double(sorted[min(sorted.count - 1, sorted.count * 99 / 100)]) / 1000
    report("rtt size \(size) count \(sorted.count) median_us \(fixed(median, 1)) p99_us \(fixed(p99, 1))")
}

/// Publishes on OUT and waits for each message to come back on IN; prints the median and 99th percentile.
struct Ping: ParsableCommand {
    @Argument var out: String
    @Argument var into: String
    @OptionGroup var options: RingOptions
    @Option(help: "Round trips before measuring (also waits for the path to be up).") var warmup = 200

    func run() throws {
        let publisher = try TopicPublisher.open(try segment(out), creating: options.shape, wait: options.wait)
        let subscriber = try TopicSubscriber.open(try segment(into), creating: options.shape, wait: options.wait)
        var message = [UInt8](repeating: 0, count: options.size)
        var samples: [Int64] = []
        samples.reserveCapacity(options.count)
        var sequence: UInt64 = 0
        let deadline = ContinuousClock.now + .seconds(30)
        while samples.count < options.count {
            sequence += 1
            withUnsafeBytes(of: sequence.littleEndian) { for i in 0..<8 { message[i] = $0[i] } }
            let start = ContinuousClock.now
            try publisher.send(message)
            var back = false
            while let reply = try receiveOrNil(subscriber, timeout: .milliseconds(500)) {
                let got = reply.bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
                if got == sequence { back = true; break }
            }
            if !back {
                guard ContinuousClock.now < deadline else { throw ValidationError("no replies: is the path up?") }
                continue
            }
            if sequence > UInt64(warmup) { samples.append(nanoseconds(ContinuousClock.now - start)) }
        }
        reportRoundTrips(samples, size: options.size)
    }
}

/// Sends every message received on IN back on OUT until --count after the warm-up.
struct Echo: ParsableCommand {
    @Argument var into: String
    @Argument var out: String
    @OptionGroup var options: RingOptions

    func run() throws {
        let subscriber = try TopicSubscriber.open(try segment(into), creating: options.shape, wait: options.wait)
        let publisher = try TopicPublisher.open(try segment(out), creating: options.shape, wait: options.wait)
        report("ready")
        while let message = try receiveOrNil(subscriber, timeout: .seconds(5)) {
            try publisher.send(message.bytes)
        }
    }
}

/// Publishes --count messages of --size bytes as fast as the ring takes them.
struct Source: ParsableCommand {
    @Argument var out: String
    @OptionGroup var options: RingOptions

    func run() throws {
        let publisher = try TopicPublisher.open(try segment(out), creating: options.shape, wait: options.wait)
        var message = [UInt8](repeating: 0xA5, count: options.size)
        for sequence in 0..<UInt64(options.count) {
            withUnsafeBytes(of: sequence.littleEndian) { for i in 0..<8 { message[i] = $0[i] } }
            try publisher.send(message)
        }
        report("sent \(options.count)")
    }
}

/// Receives up to --count messages (stopping 3 s after the last); prints the rate from the first to the last.
struct Sink: ParsableCommand {
    @Argument var into: String
    @OptionGroup var options: RingOptions

    func run() throws {
        let subscriber = try TopicSubscriber.open(try segment(into), creating: options.shape, wait: options.wait)
        report("ready")
        var received = 0
        var bytes = 0
        var first: ContinuousClock.Instant?
        var last = ContinuousClock.now
        while received < options.count {
            guard let message = try receiveOrNil(subscriber, timeout: first == nil ? .seconds(30) : .seconds(3)) else { break }
            last = ContinuousClock.now
            if first == nil { first = last } else { received += 1; bytes += message.bytes.count }
        }
        let seconds = Double(nanoseconds(last - (first ?? last))) / 1e9
        let rate = seconds > 0 ? Double(received) / seconds : 0
        report("throughput size \(options.size) received \(received) msgs_per_s \(fixed(rate, 0)) MiB_per_s \(fixed(Double(bytes) / max(seconds, 1e-9) / 1048576, 1))")
    }
}

/// Makes --count requests of --size bytes on a request/response service, one
/// at a time, each checked against its echo; prints the round trip's median
/// and 99th percentile like `ping`.
struct Request: ParsableCommand {
    @Argument var name: String
    @OptionGroup var options: RingOptions
    @Option(help: "Requests before measuring (also waits for the path to be up).") var warmup = 200

    func run() throws {
        let client = try RequestClient.open(try segment(name), creating: nil, joinTimeout: .seconds(10), wait: options.wait)
        var message = [UInt8](repeating: 0, count: options.size)
        var samples: [Int64] = []
        samples.reserveCapacity(options.count)
        var sequence: UInt64 = 0
        let deadline = ContinuousClock.now + .seconds(30)
        while samples.count < options.count {
            sequence += 1
            withUnsafeBytes(of: sequence.littleEndian) { for i in 0..<8 { message[i] = $0[i] } }
            let start = ContinuousClock.now
            let reply: [UInt8]
            do {
                reply = try client.request(message, timeout: .seconds(2))
            } catch {
                // Before the path is up (no responder announced yet) requests fail at once.
                guard ContinuousClock.now < deadline else { throw ValidationError("no replies: \(error)") }
                usleep(20_000)
                continue
            }
            guard reply == message else { throw ValidationError("request \(sequence): a reply of other bytes") }
            if sequence > UInt64(warmup) { samples.append(nanoseconds(ContinuousClock.now - start)) }
        }
        reportRoundTrips(samples, size: options.size)
    }
}

/// Serves the request/response service NAME, answering every request with its own bytes, for 5 s after the last.
struct Serve: ParsableCommand {
    @Argument var name: String
    @OptionGroup var options: RingOptions

    func run() throws {
        let server = try RequestServer.open(try segment(name), wait: options.wait)
        report("ready")
        var served = 0
        while true {
            let request: IncomingRequest
            do {
                request = try server.nextRequest(timeout: served == 0 ? .seconds(60) : .seconds(5))
            } catch .timedOut {
                return
            }
            try server.reply(to: request, request.payload)
            served += 1
        }
    }
}
