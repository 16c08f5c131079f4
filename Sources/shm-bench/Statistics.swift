import CShmBench
import Glibc

/// Nanoseconds on the monotonic clock.
@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
}

/// One row of the benchmark: the schema every row shares, ours and the
/// peers' (`cshm_bench_row` in CShmBench). `dimension` says which figures
/// the row carries; the others stay nil.
struct BenchmarkRow: Sendable {
    var mechanism: String
    var dimension = "headline"
    var sizeBytes: Int? = 64
    var subscribers: Int?
    var p50: Double?
    var p99: Double?
    var p999: Double?
    var messagesPerSecond: Double?
    var gigabytesPerSecond: Double?
    var idleCPUSeconds: Double?
    var wakeupsPerSecond: Double?
    var senderRSSKilobytes: Double?
    var receiverRSSKilobytes: Double?
    var settings = ""
}

/// Percentiles of round-trip times, by the nearest-rank method (CShmBench's,
/// the one the peer harnesses use too).
struct Percentiles {
    let p50: Double, p99: Double, p999: Double

    init(_ samples: [UInt64]) {
        var sorted = samples
        var p50 = Double.nan, p99 = Double.nan, p999 = Double.nan
        sorted.withUnsafeMutableBufferPointer { buffer in
            cshm_bench_percentiles(buffer.baseAddress, buffer.count, &p50, &p99, &p999)
        }
        self.p50 = p50
        self.p99 = p99
        self.p999 = p999
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
            var row = first[index]
            row.p50 = median(samples.map(\.p50))
            row.p99 = median(samples.map(\.p99))
            row.p999 = median(samples.map(\.p999))
            row.messagesPerSecond = median(samples.map(\.messagesPerSecond))
            row.gigabytesPerSecond = median(samples.map(\.gigabytesPerSecond))
            row.idleCPUSeconds = median(samples.map(\.idleCPUSeconds))
            row.wakeupsPerSecond = median(samples.map(\.wakeupsPerSecond))
            row.senderRSSKilobytes = median(samples.map(\.senderRSSKilobytes))
            row.receiverRSSKilobytes = median(samples.map(\.receiverRSSKilobytes))
            return row
        }
    }
}
