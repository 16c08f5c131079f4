import Foundation
import Glibc
import SharedMemory

/// The wake-up latency of events: `EventNotifier.notify` in one process to
/// `EventListener.wait` returning in another, and back (a round trip over
/// two events segments), with listeners that sleep at once, beside the C
/// futex ring (`c-ring/futex`), which sleeps at once too.
struct EventBenchmark {
    static let mechanism = "swift-shm/event"
    let executable: String

    private func uniqueName(_ role: String) throws -> SegmentName {
        try SegmentName("shm-bench-\(getpid())-event-\(role)-\(UInt32.random(in: 0...UInt32.max))")
    }

    /// Round-trip times in nanoseconds: notify id `n` on ping, the child
    /// wakes, notifies id `n` on pong, this process wakes with it.
    func latency(warmup: Int, roundTrips: Int) throws -> [UInt64] {
        let pingName = try uniqueName("ping"), pongName = try uniqueName("pong")
        let ping = try EventNotifier.open(pingName)
        let pong = try EventListener.open(pongName, wait: .sleep)
        defer {
            try? SharedMemorySegment.remove(pingName)
            try? SharedMemorySegment.remove(pongName)
        }
        let child = try ChildWithOutput(executable: executable, arguments: [
            "event-echo", "--ping", pingName.posixName, "--pong", pongName.posixName, "--count", "\(warmup + roundTrips)"])
        defer { child.stop() }
        guard try child.readLine() == "ready" else { throw BenchmarkError("the event echo did not start") }
        let timeout = Duration.seconds(30)
        var samples = [UInt64](repeating: 0, count: roundTrips)
        for index in 0..<(warmup + roundTrips) {
            let id = EventID(index & 1023)!
            let start = monotonicNanoseconds()
            try ping.notify(id)
            guard try pong.wait(timeout: timeout) == [id] else {
                throw BenchmarkError("event round trip \(index) came back wrong")
            }
            let end = monotonicNanoseconds()
            if index >= warmup { samples[index - warmup] = end - start }
        }
        try child.finish()
        return samples
    }

    /// The child's side: listens on `ping` (sleeping at once) and notifies each id back on `pong`.
    static func echo(ping: String, pong: String, count: Int) throws {
        let listener = try EventListener.open(SegmentName(ping), creating: false, wait: .sleep)
        let notifier = try EventNotifier.open(SegmentName(pong), creating: false)
        DimensionChild.say("ready")
        var echoed = 0
        while echoed < count {
            let ids = try listener.wait(timeout: .seconds(30))
            try notifier.notify(ids: ids)
            echoed += ids.count
        }
    }
}
