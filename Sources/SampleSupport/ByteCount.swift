import ArgumentParser

/// A number of bytes on the command line: decimal (`65536`), hexadecimal
/// (`0x10000`), or with a binary suffix (`64K`, `1M`, `2G`, also `KiB`...).
public struct ByteCount: ExpressibleByArgument, Hashable, Sendable, CustomStringConvertible {
    /// The number of bytes.
    public let value: Int

    public init(_ value: Int) { self.value = value }

    public init?(argument: String) {
        var text = Substring(argument.uppercased())
        var scale = 1
        for (suffixes, factor) in [(["KIB", "K"], 1 << 10), (["MIB", "M"], 1 << 20), (["GIB", "G"], 1 << 30)] {
            if let suffix = suffixes.first(where: { text.hasSuffix($0) }) {
                text = text.dropLast(suffix.count)
                scale = factor
                break
            }
        }
        let number: Int?
        if text.hasPrefix("0X") {
            number = Int(text.dropFirst(2), radix: 16)
        } else {
            number = Int(text)
        }
        guard let number else { return nil }
        let (scaled, overflow) = number.multipliedReportingOverflow(by: scale)
        guard !overflow else { return nil }
        value = scaled
    }

    public var description: String { String(value) }
}
