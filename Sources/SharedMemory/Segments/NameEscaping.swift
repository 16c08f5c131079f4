/// How names, which are bytes and may come from anyone, are printed.
///
/// A name in `/dev/shm` may hold terminal escape sequences, newlines or
/// bytes that are not UTF-8. Printed raw, such a name could retitle a
/// terminal or forge lines of a listing. ``escape(_:)`` gives text that is
/// safe to print and that ``unescape(_:)`` turns back into the same bytes:
///
/// - a backslash is written `\\`;
/// - newline, tab and carriage return are written `\n`, `\t`, `\r`;
/// - every other byte of a control character (C0, DEL, C1), of an invisible
///   format character (such as U+202E, which reverses the text after it), of
///   a line or paragraph separator, and every byte that is not part of valid
///   UTF-8 is written `\xHH`, two lowercase hexadecimal digits: `\x1b`, `\xff`;
/// - everything else is written as it is.
public enum NameEscaping {
    /// `bytes` as text that is safe to print, escaped as described above.
    public static func escape<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
        escape(bytes, backslash: true)
    }

    /// `text` with control and format characters escaped as ``escape(_:)``
    /// does, but a backslash left as it is: for names as a person typed them,
    /// such as `Local\SampleMap`, which are shown and never read back.
    public static func escapeControls(_ text: String) -> String {
        escape(Array(text.utf8), backslash: false)
    }

    private static func escape<Bytes: Collection<UInt8>>(_ bytes: Bytes, backslash: Bool) -> String {
        let bytes = Array(bytes)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var position = 0  // where the next scalar starts in `bytes`
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        func hex(_ byte: UInt8) {
            let digits = Array("0123456789abcdef".utf8)
            output += [UInt8(ascii: "\\"), UInt8(ascii: "x"), digits[Int(byte >> 4)], digits[Int(byte & 15)]]
        }
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                let scalar = Unicode.UTF8.decode(encoded)
                switch scalar {
                case "\\": output += backslash ? [UInt8(ascii: "\\"), UInt8(ascii: "\\")] : [UInt8(ascii: "\\")]
                case "\n": output += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
                case "\t": output += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
                case "\r": output += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
                default:
                    if isUnsafe(scalar) { encoded.forEach(hex) } else { output += encoded }
                }
                position += encoded.count
            case .error(let length):
                for byte in bytes[position..<(position + length)] { hex(byte) }
                position += length
            case .emptyInput:
                return String(decoding: output, as: UTF8.self)
            }
        }
    }

    /// Whether printing `scalar` raw could change what a terminal shows
    /// beyond the character itself.
    private static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator: true
        default: false
        }
    }

    /// Why ``unescape(_:)`` refused a text.
    public struct Malformed: Error, Hashable, Sendable {
        /// What is wrong, in words.
        public let reason: String
    }

    /// The bytes that `text` stands for: the escapes of ``escape(_:)``
    /// replaced by their bytes, every other character by its UTF-8 bytes.
    ///
    /// - Throws: ``Malformed`` for a backslash that starts no known escape,
    ///   or `\x` without two hexadecimal digits.
    public static func unescape<Text: StringProtocol>(_ text: Text) throws(Malformed) -> [UInt8] {
        let input = Array(text.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(input.count)
        var index = 0
        func hexValue(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        while index < input.count {
            let byte = input[index]
            guard byte == UInt8(ascii: "\\") else {
                output.append(byte)
                index += 1
                continue
            }
            guard index + 1 < input.count else {
                throw Malformed(reason: "it ends with a lone backslash; write a backslash as \\\\")
            }
            switch input[index + 1] {
            case UInt8(ascii: "\\"): output.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "n"): output.append(0x0A)
            case UInt8(ascii: "t"): output.append(0x09)
            case UInt8(ascii: "r"): output.append(0x0D)
            case UInt8(ascii: "x"):
                guard index + 3 < input.count, let high = hexValue(input[index + 2]), let low = hexValue(input[index + 3]) else {
                    throw Malformed(reason: "\\x must be followed by two hexadecimal digits")
                }
                output.append(high << 4 | low)
                index += 4
                continue
            default:
                let shown = escape(input[(index + 1)...].prefix(1))
                throw Malformed(reason: "\\\(shown) is not an escape (\\\\, \\n, \\t, \\r and \\xHH are); write a backslash as \\\\")
            }
            index += 2
        }
        return output
    }
}
