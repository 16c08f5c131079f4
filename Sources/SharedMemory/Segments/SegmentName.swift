/// The name of a shared-memory segment, checked before any system call.
///
/// A name is bytes, as POSIX has it: whatever another process put in
/// `/dev/shm` can be held, looked at and removed, also a name with control
/// characters or bytes that are not UTF-8.
///
/// The rule:
/// - A Windows-style prefix `Local\` or `Global\` is removed, so
///   `Local\SampleMap` names the POSIX object `/SampleMap`. POSIX names are
///   global to the IPC namespace; the prefix does not scope them.
/// - One leading `/` is accepted and added when missing: `SampleMap`,
///   `/SampleMap` and `Local\SampleMap` all name `/SampleMap`.
/// - What remains must be 1 to 255 bytes, with no `/`, no NUL byte, and not
///   `.` or `..`.
///
/// An empty or malformed name throws `EINVAL`, a long one `ENAMETOOLONG`,
/// with a ``SharedMemoryError`` whose ``SharedMemoryError/reason`` says what is wrong.
///
/// Text meant for people (``posixName``, ``path``, ``description``, error
/// messages) never holds a name's raw bytes: see ``NameEscaping``.
public struct SegmentName: Hashable, Sendable, CustomStringConvertible {
    /// The longest name, in bytes, without the leading `/`.
    public static let maximumLength = 255

    /// The name as the caller gave it, such as `Local\SampleMap`; for a name
    /// made from bytes, its escaped form.
    public let displayName: String
    /// The name's exact bytes, without the leading `/`: `SampleMap`.
    public let bytes: [UInt8]

    /// The POSIX name as it is passed to `shm_open`, leading `/` included.
    public var posixBytes: [UInt8] { [UInt8(ascii: "/")] + bytes }

    /// The POSIX name as text, such as `/SampleMap`, for messages. Equal to
    /// the name passed to `shm_open` unless the name holds a backslash, a
    /// control character or bytes that are not UTF-8, which are escaped
    /// (``NameEscaping/escape(_:)``), so that printing it is always safe and
    /// ``init(escaped:)`` gives the name back.
    public var posixName: String { "/" + NameEscaping.escape(bytes) }

    /// The file that holds the object on Linux, such as `/dev/shm/SampleMap`,
    /// escaped as ``posixName`` is.
    public var path: String { "/dev/shm" + posixName }

    /// The exact path of the file that holds the object.
    public var pathBytes: [UInt8] { Array("/dev/shm".utf8) + posixBytes }

    /// Checks `name` against the rule above; its bytes are taken literally.
    public init(_ name: String) throws(SharedMemoryError) {
        try self.init(checking: Array(Self.droppingPrefix(name).utf8), displayName: name)
    }

    /// A name from its exact bytes, with or without the leading `/` (no
    /// `Local\` prefix is removed), such as a file name read from `/dev/shm`.
    public init<Bytes: Sequence<UInt8>>(bytes: Bytes) throws(SharedMemoryError) {
        var bytes = Array(bytes)
        if bytes.first == UInt8(ascii: "/") { bytes.removeFirst() }
        try self.init(checking: bytes, displayName: "/" + NameEscaping.escape(bytes))
    }

    /// A name as ``posixName`` prints it: after an optional `Local\` or
    /// `Global\` prefix and `/`, the escapes of ``NameEscaping`` stand for
    /// the bytes they name (`\\`, `\n`, `\t`, `\r`, `\xHH`). Any other
    /// backslash is an error, so that no name is read two ways.
    public init(escaped text: String) throws(SharedMemoryError) {
        let rest = Self.droppingPrefix(text)
        let bytes: [UInt8]
        do {
            bytes = try NameEscaping.unescape(rest)
        } catch {
            throw SharedMemoryError(operation: .validateName, errno: .invalidArgument, systemCall: nil,
                                    reason: "invalid segment name \"\(NameEscaping.escapeControls(text))\": \(error.reason)")
        }
        try self.init(checking: bytes, displayName: text)
    }

    /// `name` without a `Local\` or `Global\` prefix and then one `/`.
    private static func droppingPrefix(_ name: String) -> Substring {
        var rest = Substring(name)
        for prefix in ["Local\\", "Global\\"] where rest.hasPrefix(prefix) {
            rest = rest.dropFirst(prefix.count)
            break
        }
        if rest.hasPrefix("/") { rest = rest.dropFirst() }
        return rest
    }

    private init(checking rest: [UInt8], displayName: String) throws(SharedMemoryError) {
        func invalid(_ errno: Errno, _ reason: String) -> SharedMemoryError {
            SharedMemoryError(operation: .validateName, errno: errno, systemCall: nil,
                              reason: "invalid segment name \"\(NameEscaping.escapeControls(displayName))\": \(reason)")
        }
        if rest.isEmpty { throw invalid(.invalidArgument, "the name is empty") }
        if rest.contains(0) { throw invalid(.invalidArgument, "it contains a NUL byte") }
        if rest.contains(UInt8(ascii: "/")) { throw invalid(.invalidArgument, "'/' may appear only as the first character") }
        if rest == [UInt8(ascii: ".")] || rest == [UInt8(ascii: "."), UInt8(ascii: ".")] {
            throw invalid(.invalidArgument, "'.' and '..' are not names")
        }
        if rest.count > Self.maximumLength {
            throw invalid(.nameTooLong, "it has \(rest.count) bytes; at most \(Self.maximumLength) are allowed")
        }
        self.displayName = displayName
        self.bytes = rest
    }

    /// The name as given, with control characters escaped (a backslash is
    /// left as it is, so `Local\SampleMap` reads as given).
    public var description: String { NameEscaping.escapeControls(displayName) }
}
