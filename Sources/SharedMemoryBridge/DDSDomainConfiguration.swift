/// The Cyclone DDS configuration the bridge gives its domain: which network
/// interfaces it may use, and the largest sample it accepts. Built as an XML
/// string from checked values and passed to `dds_create_domain`, so that no
/// `CYCLONEDDS_URI` in the environment widens what the bridge listens on.
struct DDSDomainConfiguration: Sendable {
    /// The DDS domain id (0 to 230; 0 is ROS 2's default, so not ours).
    var domain: UInt32
    /// Network interface names (or addresses) Cyclone may use; empty: its own choice.
    var interfaces: [String]
    /// The largest serialised sample Cyclone forwards or accepts, in bytes.
    var maxSampleSize: Int
    /// How long peers wait before they declare this participant gone when it
    /// stops (a crash): a reliable writer with KEEP_ALL waits for a matched
    /// reader that crashed until then.
    var leaseDuration: Duration = .seconds(10)

    /// Why an interface name is refused, or `nil`: names are 1 to 64 bytes
    /// of letters, digits, `.`, `-`, `_`, `:` and `@` (names or addresses), so
    /// nothing in them can break out of the XML.
    static func problem(withInterface name: String) -> String? {
        let bytes = Array(name.utf8)
        guard (1...64).contains(bytes.count) else { return "an interface name of \(bytes.count) bytes" }
        for byte in bytes {
            let ok = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || [UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: ":"), UInt8(ascii: "@")].contains(byte)
            guard ok else { return "byte 0x\(String(byte, radix: 16)) in interface name" }
        }
        return nil
    }

    /// The XML configuration string.
    var xml: String {
        var general = ""
        if !interfaces.isEmpty {
            general = "<General><Interfaces>"
                + interfaces.map { "<NetworkInterface name=\"\($0)\"/>" }.joined()
                + "</Interfaces></General>"
        }
        return "<CycloneDDS><Domain Id=\"any\">\(general)"
            // WriteBatch: a writer's samples go out when its packet is full or
            // the bridge flushes it (every writer of the bridge flushes when it
            // has nothing more to write at once; see OutboundForwarder).
            + "<Internal><MaxSampleSize>\(maxSampleSize)B</MaxSampleSize><WriteBatch>true</WriteBatch></Internal>"
            + "</Domain></CycloneDDS>"
    }
}
