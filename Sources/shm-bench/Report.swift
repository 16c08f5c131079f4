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

    static func json(_ rows: [BenchmarkRow]) -> String {
        func value(_ number: Double?) -> String {
            guard let number, number.isFinite else { return "null" }
            return String(format: "%.3f", number)
        }
        let objects = rows.map { row in
            "{\"mechanism\": \"\(row.mechanism)\", \"p50_ns\": \(value(row.p50)), \"p99_ns\": \(value(row.p99)), "
                + "\"p999_ns\": \(value(row.p999)), \"msgs_per_s\": \(value(row.messagesPerSecond)), \"gb_per_s\": \(value(row.gigabytesPerSecond))}"
        }
        return "[\n  " + objects.joined(separator: ",\n  ") + "\n]"
    }
}
