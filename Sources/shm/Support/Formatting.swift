import Glibc
import SharedMemory

enum Format {
    /// Permission bits as four octal digits: `0600`.
    static func mode(_ bits: UInt32) -> String {
        let digits = String(bits & 0o7777, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// A compact size in binary units: `512 B`, `1.5 KiB`, `64 MiB`.
    static func bytes(_ count: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = count
        var unit = 0
        while abs(value) >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 { return "\(Int(value.rounded())) B" }
        return decimal(value, places: value < 10 ? 2 : 1) + " " + units[unit]
    }

    /// `value` with `places` decimals, without Foundation.
    static func decimal(_ value: Double, places: Int) -> String {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let scaled = Int((value * scale).rounded())
        let whole = scaled / Int(scale)
        let fraction = abs(scaled % Int(scale))
        guard places > 0 else { return String(whole) }
        let digits = String(fraction)
        let sign = scaled < 0 && whole == 0 ? "-" : ""
        return sign + String(whole) + "." + String(repeating: "0", count: places - digits.count) + digits
    }

    /// A count with a thousands separator: `1,234,567`.
    static func grouped(_ value: UInt64) -> String {
        let digits = Array(String(value))
        var result = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { result.append(",") }
            result.append(digit)
        }
        return result
    }

    /// Two lowercase hexadecimal digits: `0a`.
    static func hexByte(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }

    /// A policy's name, as `--policy` spells it.
    static func policy(_ policy: SlowSubscriberPolicy) -> String {
        switch policy {
        case .lossless: "lossless"
        case .overwrite: "overwrite"
        }
    }
}

/// The user name of `uid`, or the number when it has no name.
func userName(of uid: UInt32) -> String {
    var entry = passwd()
    var result: UnsafeMutablePointer<passwd>?
    var buffer = [CChar](repeating: 0, count: 1024)
    guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.pw_name else {
        return String(uid)
    }
    return String(cString: name)
}

extension Format {
    /// Seconds without needless zeros: `2`, `0.5`, `1.25`.
    static func seconds(_ value: Double) -> String {
        var text = decimal(value, places: 3)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}

extension Format {
    /// `1 message`, `2 messages`.
    static func count(_ value: Int, _ noun: String) -> String {
        "\(value) \(noun)\(value == 1 ? "" : "s")"
    }
}
