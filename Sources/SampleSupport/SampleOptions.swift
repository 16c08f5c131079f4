import ArgumentParser
import SharedMemory

extension SharedMemorySegment.Backend: ExpressibleByArgument {}
extension TextEncoding: ExpressibleByArgument {}

extension ManagedSegment.Lifetime: ExpressibleByArgument {
    public init?(argument: String) {
        guard let value = ManagedSegment.Lifetime.allCases.first(where: { $0.description == argument }) else { return nil }
        self = value
    }

    public static var allValueStrings: [String] { allCases.map(\.description) }
}

/// Permission bits in octal: `600`, `0600` or `0o600`.
public struct FileMode: ExpressibleByArgument, Hashable, Sendable, CustomStringConvertible {
    public let bits: UInt32

    public init(_ bits: UInt32) { self.bits = bits }

    public init?(argument: String) {
        let digits = argument.hasPrefix("0o") ? String(argument.dropFirst(2)) : argument
        guard let bits = UInt32(digits, radix: 8), bits <= 0o777 else { return nil }
        self.bits = bits
    }

    public var description: String { "0" + String(bits, radix: 8) }
}

/// The constants of the Windows sample, shared by `shm-server` and `shm-client`.
public enum Sample {
    /// `FULL_MAP_NAME`.
    public static let name = "Local\\SampleMap"
    /// `MAP_SIZE`.
    public static let mappingSize = 65536
    /// `VIEW_OFFSET`.
    public static let viewOffset = 0
    /// `VIEW_SIZE`.
    public static let viewSize = 1024
    /// `MESSAGE`.
    public static let message = "Message from the first process."
}

/// Options both executables take.
public struct CommonOptions: ParsableArguments {
    public init() {}

    @Option(help: ArgumentHelp(
        "The mapping's name: Local\\NAME, Global\\NAME, /NAME or NAME all name the POSIX object /NAME.",
        valueName: "name"))
    public var name: String = Sample.name

    @Option(help: ArgumentHelp("Where the view starts in the mapping, in bytes (any offset).", valueName: "bytes"))
    public var viewOffset: ByteCount = ByteCount(Sample.viewOffset)

    @Option(help: ArgumentHelp("How many bytes the view covers; 0 means to the end of the mapping.", valueName: "bytes"))
    public var viewSize: ByteCount = ByteCount(Sample.viewSize)

    @Option(help: ArgumentHelp(
        "How the message is stored: utf8, utf16le (the Windows sample's bytes) or utf32le (wchar_t on Linux).",
        valueName: "encoding"))
    public var encoding: TextEncoding = .utf8

    @Option(help: ArgumentHelp("Who makes the system calls: cshim (the C shim) or swift (Glibc from Swift).",
                               valueName: "backend"))
    public var backend: SharedMemorySegment.Backend = .default

    @Flag(help: "Use a managed segment: a header that says who made it and when it is ready, checked on open. Offsets count from the payload after the header.")
    public var managed = false

    @Flag(help: "Accept a segment that another user owns; without it such a segment is refused.")
    public var allowOtherOwner = false
}
