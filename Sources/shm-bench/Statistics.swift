import Glibc

/// Nanoseconds on the monotonic clock.
@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
}

/// One row of the benchmark table.
struct BenchmarkRow: Sendable {
    var mechanism: String
    var p50: Double?
    var p99: Double?
    var p999: Double?
    var messagesPerSecond: Double?
    var gigabytesPerSecond: Double?
    var note: String = ""
}

/// Percentiles of round-trip times, by the nearest-rank method.
struct Percentiles {
    let p50: Double, p99: Double, p999: Double

    init(_ samples: [UInt64]) {
        let sorted = samples.sorted()
        func rank(_ fraction: Double) -> Double {
            guard !sorted.isEmpty else { return .nan }
            let index = min(sorted.count - 1, max(0, Int((fraction * Double(sorted.count)).rounded(.up)) - 1))
            return Double(sorted[index])
        }
        p50 = rank(0.5)
        p99 = rank(0.99)
        p999 = rank(0.999)
    }
}
