/// A table of text in aligned columns, separated by two spaces, without tabs
/// and without trailing blanks.
struct Table {
    enum Alignment { case left, right }

    let headers: [String]
    let alignments: [Alignment]
    var rows: [[String]] = []

    init(_ columns: [(String, Alignment)]) {
        headers = columns.map(\.0)
        alignments = columns.map(\.1)
    }

    mutating func add(_ row: [String]) { rows.append(row) }

    /// The table's lines; with `bold`, the header line is set in bold with ANSI escapes.
    func render(bold: Bool) -> String {
        var widths = headers.map(\.count)
        for row in rows {
            for (column, cell) in row.enumerated() { widths[column] = max(widths[column], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            var text = ""
            for (column, cell) in cells.enumerated() {
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                let last = column == cells.count - 1
                if column > 0 { text += "  " }
                switch alignments[column] {
                case .left: text += last ? cell : cell + padding
                case .right: text += padding + cell
                }
            }
            return text
        }
        var output = bold ? "\u{1B}[1m" + line(headers) + "\u{1B}[0m\n" : line(headers) + "\n"
        for row in rows { output += line(row) + "\n" }
        return output
    }
}
