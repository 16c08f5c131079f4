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

extension BenchmarkRow {
    /// Row by row, the median of each figure over several rounds of the same rows.
    static func medians(of rounds: [[BenchmarkRow]]) -> [BenchmarkRow] {
        guard let first = rounds.first else { return [] }
        func median(_ values: [Double?]) -> Double? {
            let present = values.compactMap { $0 }.sorted()
            guard !present.isEmpty else { return nil }
            let middle = present.count / 2
            return present.count % 2 == 1 ? present[middle] : (present[middle - 1] + present[middle]) / 2
        }
        return first.indices.map { index in
            let samples = rounds.map { $0[index] }
            return BenchmarkRow(mechanism: first[index].mechanism,
                                p50: median(samples.map(\.p50)), p99: median(samples.map(\.p99)),
                                p999: median(samples.map(\.p999)),
                                messagesPerSecond: median(samples.map(\.messagesPerSecond)),
                                gigabytesPerSecond: median(samples.map(\.gigabytesPerSecond)))
        }
    }
}
