/// How strings are stored in shared memory: the code units, little-endian,
/// followed by one zero code unit as terminator.
///
/// ``utf16le`` writes the bytes the Windows sample writes (its `wchar_t` is
/// two bytes); ``utf32le`` those of `wchar_t` on Linux.
public enum TextEncoding: String, Hashable, Sendable, CaseIterable {
    /// UTF-8: one-byte code units.
    case utf8
    /// UTF-16, little-endian: two-byte code units.
    case utf16le
    /// UTF-32, little-endian: four-byte code units.
    case utf32le

    /// The size of one code unit, and of the terminator, in bytes.
    public var unitSize: Int {
        switch self {
        case .utf8: 1
        case .utf16le: 2
        case .utf32le: 4
        }
    }

    /// The bytes of `text`, with a terminator when `terminated` is true.
    public func encode(_ text: String, terminated: Bool = true) -> [UInt8] {
        var bytes: [UInt8] = []
        switch self {
        case .utf8:
            bytes = Array(text.utf8)
        case .utf16le:
            bytes.reserveCapacity(text.utf16.count * 2)
            for unit in text.utf16 { bytes += [UInt8(truncatingIfNeeded: unit), UInt8(truncatingIfNeeded: unit >> 8)] }
        case .utf32le:
            bytes.reserveCapacity(text.unicodeScalars.count * 4)
            for scalar in text.unicodeScalars {
                let value = scalar.value
                bytes += [0, 8, 16, 24].map { UInt8(truncatingIfNeeded: value >> $0) }
            }
        }
        if terminated { bytes += repeatElement(0, count: unitSize) }
        return bytes
    }

    /// The text in `bytes` up to the first zero code unit, or up to the end
    /// when there is none. A trailing partial code unit is ignored; invalid
    /// sequences decode as U+FFFD.
    public func decode(_ bytes: UnsafeRawBufferPointer) -> String {
        let units = bytes.count / unitSize
        switch self {
        case .utf8:
            let end = bytes.firstIndex(of: 0) ?? bytes.count
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[..<end]), as: UTF8.self)
        case .utf16le:
            var code: [UInt16] = []
            for index in 0..<units {
                let unit = UInt16(bytes[2 * index]) | UInt16(bytes[2 * index + 1]) << 8
                if unit == 0 { break }
                code.append(unit)
            }
            return String(decoding: code, as: UTF16.self)
        case .utf32le:
            var code: [UInt32] = []
            for index in 0..<units {
                let unit = (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[4 * index + $1]) << (8 * $1) }
                if unit == 0 { break }
                code.append(unit)
            }
            return String(decoding: code, as: UTF32.self)
        }
    }
}
