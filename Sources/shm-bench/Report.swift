import CShmBench
import Foundation

/// The benchmark's output: a table for people, JSON for scripts.
enum Report {
    static func table(_ rows: [BenchmarkRow], floor: BenchmarkRow?, settings: (Int, Int, Int, Int), rounds: Int) -> String {
        func number(_ value: Double?, _ format: String) -> String {
            guard let value, value.isFinite else { return "-" }
            return String(format: format, value)
        }
        func ratio(_ value: Double?, _ base: Double?) -> String {
            guard let value, let base, base > 0 else { return "-" }
            return String(format: "%.2fx", value / base)
        }
        var lines: [String] = []
        lines.append("Two processes each; 64 B ping-pong: \(settings.0) timed round trips after \(settings.1); "
                     + "throughput: \(settings.2) x 64 B, \(settings.3) x 1 MiB, copied out by the receiver (loan: read in place). "
                     + "Medians of \(rounds) round\(rounds == 1 ? "" : "s").")
        let header = ["mechanism", "RTT p50 ns", "p99 ns", "p99.9 ns", "64 B msgs/s", "1 MiB GB/s", "p50 vs floor", "msgs vs floor", "GB/s vs floor"]
        var table = [header]
        for row in rows {
            table.append([
                row.mechanism,
                number(row.p50, "%.0f"), number(row.p99, "%.0f"), number(row.p999, "%.0f"),
                row.messagesPerSecond.map { String(format: "%.2f M", $0 / 1e6) } ?? "-",
                number(row.gigabytesPerSecond, "%.1f"),
                ratio(row.p50, floor?.p50), ratio(row.messagesPerSecond, floor?.messagesPerSecond),
                ratio(row.gigabytesPerSecond, floor?.gigabytesPerSecond),
            ])
        }
        let widths = header.indices.map { column in table.map { $0[column].count }.max() ?? 0 }
        for (index, cells) in table.enumerated() {
            let padded = cells.enumerated().map { column, cell in
                column == 0 ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[column] - cell.count) + cell
            }
            lines.append("| " + padded.joined(separator: " | ") + " |")
            if index == 0 { lines.append("|" + widths.enumerated().map { $0 == 0 ? String(repeating: "-", count: $1 + 2) : String(repeating: "-", count: $1 + 1) + ":" }.joined(separator: "|") + "|") }
        }
        lines.append("floor = c-ring/spin; for latency lower is better (ratio < 1 beats the floor), for throughput higher is better.")
        return lines.joined(separator: "\n")
    }

    /// A plain table of the rows of one of the other dimensions (sizes, fan-out, idle, memory).
    static func dimensionTable(_ rows: [BenchmarkRow]) -> String {
        func cell(_ value: Double?, _ format: String) -> String { value.map { String(format: format, $0) } ?? "-" }
        var lines = ["| mechanism | dimension | size B | subscribers | p50 ns | p99 ns | p99.9 ns | msgs/s | idle CPU s | wake-ups/s | sender RSS KB | receiver RSS KB |",
                     "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for row in rows {
            lines.append("| \(row.mechanism) | \(row.dimension) | \(row.sizeBytes.map(String.init) ?? "-") | "
                         + "\(row.subscribers.map(String.init) ?? "-") | \(cell(row.p50, "%.0f")) | \(cell(row.p99, "%.0f")) | "
                         + "\(cell(row.p999, "%.0f")) | \(cell(row.messagesPerSecond, "%.0f")) | \(cell(row.idleCPUSeconds, "%.4f")) | "
                         + "\(cell(row.wakeupsPerSecond, "%.1f")) | \(cell(row.senderRSSKilobytes, "%.0f")) | \(cell(row.receiverRSSKilobytes, "%.0f")) |")
        }
        return lines.joined(separator: "\n")
    }

    /// The rows as a JSON array, one object a line, every key in every row
    /// (null where a figure does not apply): `cshm_bench_row_json`'s schema.
    static func json(_ rows: [BenchmarkRow]) -> String {
        "[\n  " + rows.map(jsonObject).joined(separator: ",\n  ") + "\n]"
    }

    /// One row as CShmBench formats it.
    static func jsonObject(_ row: BenchmarkRow) -> String {
        row.mechanism.withCString { mechanism in
            row.dimension.withCString { dimension in
                row.settings.withCString { settings in
                    var cRow = cshm_bench_row()
                    cshm_bench_row_init(&cRow, mechanism, dimension)
                    cRow.size_bytes = UInt64(max(0, row.sizeBytes ?? 0))
                    cRow.subscribers = UInt32(clamping: max(0, row.subscribers ?? 0))
                    cRow.p50_ns = row.p50 ?? .nan
                    cRow.p99_ns = row.p99 ?? .nan
                    cRow.p999_ns = row.p999 ?? .nan
                    cRow.msgs_per_s = row.messagesPerSecond ?? .nan
                    cRow.gb_per_s = row.gigabytesPerSecond ?? .nan
                    cRow.idle_cpu_s = row.idleCPUSeconds ?? .nan
                    cRow.wakeups_per_s = row.wakeupsPerSecond ?? .nan
                    cRow.rss_sender_kb = row.senderRSSKilobytes ?? .nan
                    cRow.rss_receiver_kb = row.receiverRSSKilobytes ?? .nan
                    cRow.settings = settings
                    let length = cshm_bench_row_json(&cRow, nil, 0)
                    var buffer = [CChar](repeating: 0, count: length + 1)
                    _ = cshm_bench_row_json(&cRow, &buffer, buffer.count)
                    return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
                }
            }
        }
    }
}
