/// Byte counts in words people read: `1048576 bytes (1.0 MiB)`.
public enum ByteFormat {
    /// The exact count, and a binary-unit approximation when it is 1 KiB or more.
    public static func describe(_ bytes: Int) -> String {
        let units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var value = Double(bytes)
        var unit = -1
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        guard unit >= 0 else { return "\(bytes) bytes" }
        let rounded = (value * 10).rounded() / 10
        return "\(bytes) bytes (\(rounded) \(units[unit]))"
    }
}
