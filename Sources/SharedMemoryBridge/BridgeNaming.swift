/// The one rule that maps a local service name to a DDS topic name and back.
///
/// A service name is 1 to 200 bytes of ASCII letters, digits, `-`, `_` and
/// `.`, does not begin with `.` and holds no `..`; the local segment is the
/// name itself (`/dev/shm/NAME`). Its DDS topic is `shm/` followed by the
/// name with `_` written `__`, `-` written `_h` and `.` written `_d`
/// (Cyclone DDS takes only letters, digits, `_` and `/` in topic names), so
/// `cam-0.raw_rgb` is topic `shm/cam_h0_draw__rgb`. The mapping is one to one.
/// Anything else (a `/`, a control byte, a path component, an empty name,
/// non-ASCII, an unknown escape) is refused in both directions, so a topic
/// name can never steer the bridge to another segment or a path.
public enum BridgeNaming {
    /// The prefix of every topic the bridge reads or writes.
    public static let topicPrefix = "shm/"
    /// The longest service name the rule accepts.
    public static let maximumLength = 200

    /// Why a name is refused, or `nil` when it follows the rule.
    public static func problem(withServiceName name: String) -> String? {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty else { return "an empty service name" }
        guard bytes.count <= maximumLength else { return "a service name of \(bytes.count) bytes (at most \(maximumLength))" }
        for byte in bytes {
            let allowed = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
            guard allowed else {
                if byte == UInt8(ascii: "/") { return "'/' in service name \(shown(bytes))" }
                if byte < 0x20 || byte == 0x7F { return "a control byte (0x\(String(byte, radix: 16))) in service name \(shown(bytes))" }
                return "byte 0x\(String(byte, radix: 16)) in service name \(shown(bytes)) (letters, digits, '-', '_' and '.' only)"
            }
        }
        if bytes[0] == UInt8(ascii: ".") { return "service name \(shown(bytes)) begins with '.'" }
        if name.contains("..") { return "'..' in service name \(shown(bytes))" }
        return nil
    }

    /// The DDS topic of service `name`, or `nil` when the name breaks the rule.
    public static func topicName(forService name: String) -> String? {
        guard problem(withServiceName: name) == nil else { return nil }
        var topic = topicPrefix
        for character in name {
            switch character {
            case "_": topic += "__"
            case "-": topic += "_h"
            case ".": topic += "_d"
            default: topic.append(character)
            }
        }
        return topic
    }

    /// The service of DDS topic `topic`, or `nil` when the topic is not
    /// `shm/` followed by a name that follows the rule.
    public static func serviceName(forTopic topic: String) -> String? {
        guard topic.utf8.starts(with: topicPrefix.utf8) else { return nil }
        var bytes: [UInt8] = []
        var escaped = false
        for byte in topic.utf8.dropFirst(topicPrefix.utf8.count) {
            if escaped {
                switch byte {
                case UInt8(ascii: "_"): bytes.append(UInt8(ascii: "_"))
                case UInt8(ascii: "h"): bytes.append(UInt8(ascii: "-"))
                case UInt8(ascii: "d"): bytes.append(UInt8(ascii: "."))
                default: return nil
                }
                escaped = false
            } else if byte == UInt8(ascii: "_") {
                escaped = true
            } else if byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") {
                return nil  // written escaped, never plain
            } else {
                bytes.append(byte)
            }
        }
        guard !escaped, let name = String(validating: bytes, as: UTF8.self),
              problem(withServiceName: name) == nil else { return nil }
        return name
    }

    private static func shown(_ bytes: [UInt8]) -> String {
        "\"" + bytes.map { $0 >= 0x20 && $0 < 0x7F ? String(UnicodeScalar($0)) : "\\x" + String($0, radix: 16) }.joined() + "\""
    }
}
