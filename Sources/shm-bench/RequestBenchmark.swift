import Foundation
import Glibc
import SharedMemory

/// The request/response row: a client in this process, a server in a child
/// started from this executable (`shm-bench child server ...`); each round
/// trip is one blocking 64-byte request and its 64-byte reply, with the
/// default wait strategy (as `swift-shm/adaptive` for a channel ping-pong).
enum RequestBenchmark {
    static let mechanism = "swift-shm/request"

    static func measure(executable: String, size: Int, warmup: Int, roundTrips: Int) throws -> BenchmarkRow {
        let name = try SegmentName("shm-bench-\(getpid())-request-\(UInt32.random(in: 0...UInt32.max))")
        var ring = ringConfiguration(for: size + 16)
        ring.lifetime = .lastClose
        let client = try RequestClient.open(name, creating: RequestResponseConfiguration(maxClients: 1, ring: ring))
        defer { client.close() }
        let child = Process()
        child.executableURL = URL(fileURLWithPath: executable)
        child.arguments = ["child", "server", "--ping", name.posixName, "--count", "\(warmup + roundTrips)"]
        try child.run()
        defer { child.waitUntilExit() }
        let message = [UInt8](repeating: 0x5A, count: size)
        var samples = [UInt64](repeating: 0, count: roundTrips)
        for index in 0..<(warmup + roundTrips) {
            let start = monotonicNanoseconds()
            let reply: [UInt8] = try client.request(message, timeout: .seconds(30))
            let end = monotonicNanoseconds()
            guard reply.count == size else { throw BenchmarkError("request \(index) got a reply of \(reply.count) bytes") }
            if index >= warmup { samples[index - warmup] = end - start }
        }
        let percentiles = Percentiles(samples)
        return BenchmarkRow(mechanism: mechanism, p50: percentiles.p50, p99: percentiles.p99, p999: percentiles.p999)
    }

    /// The child: answers `count` requests, each with its own bytes, then exits.
    static func serve(_ name: String, count: Int) throws {
        let server = try RequestServer.open(SegmentName(name), creating: nil)
        for _ in 0..<count {
            let request = try server.nextRequest(timeout: .seconds(30))
            try server.reply(to: request, request.payload, timeout: .seconds(30))
        }
    }
}
