/// The name of a shared-memory segment, checked before any system call.
///
/// The rule:
/// - A Windows-style prefix `Local\` or `Global\` is removed, so
///   `Local\SampleMap` names the POSIX object `/SampleMap`. POSIX names are
///   global to the IPC namespace; the prefix does not scope them.
/// - One leading `/` is accepted and added when missing: `SampleMap`,
///   `/SampleMap` and `Local\SampleMap` all name `/SampleMap`.
/// - What remains must be 1 to 255 bytes of UTF-8, with no `/`, no NUL byte,
///   and not `.` or `..`.
///
/// An empty or malformed name throws `EINVAL`, a long one `ENAMETOOLONG`,
/// with a ``SharedMemoryError`` whose ``SharedMemoryError/reason`` says what is wrong.
public struct SegmentName: Hashable, Sendable, CustomStringConvertible {
    /// The longest name, in bytes, without the leading `/`.
    public static let maximumLength = 255

    /// The name as the caller gave it, such as `Local\SampleMap`.
    public let displayName: String
    /// The POSIX name passed to `shm_open`, such as `/SampleMap`.
    public let posixName: String

    /// The file that holds the object on Linux, such as `/dev/shm/SampleMap`.
    public var path: String { "/dev/shm" + posixName }

    /// Checks `name` against the rule above.
    public init(_ name: String) throws(SharedMemoryError) {
        var rest = Substring(name)
        for prefix in ["Local\\", "Global\\"] where rest.hasPrefix(prefix) {
            rest = rest.dropFirst(prefix.count)
            break
        }
        if rest.hasPrefix("/") { rest = rest.dropFirst() }
        func invalid(_ errno: Errno, _ reason: String) -> SharedMemoryError {
            SharedMemoryError(operation: .validateName, errno: errno, systemCall: nil,
                              reason: "invalid segment name \"\(name)\": \(reason)")
        }
        if rest.isEmpty { throw invalid(.invalidArgument, "the name is empty") }
        if rest.utf8.contains(0) { throw invalid(.invalidArgument, "it contains a NUL byte") }
        if rest.contains("/") { throw invalid(.invalidArgument, "'/' may appear only as the first character") }
        if rest == "." || rest == ".." { throw invalid(.invalidArgument, "'.' and '..' are not names") }
        if rest.utf8.count > Self.maximumLength {
            throw invalid(.nameTooLong, "it has \(rest.utf8.count) bytes; at most \(Self.maximumLength) are allowed")
        }
        displayName = name
        posixName = "/" + rest
    }

    public var description: String { displayName }
}
