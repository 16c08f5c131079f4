extension SharedMemoryError {
    /// An operation of the shared-memory API: what was being done when an error happened.
    public enum Operation: String, Hashable, Sendable, CaseIterable {
        /// Checking a segment name.
        case validateName
        /// Creating (or opening, if it exists) a segment.
        case create
        /// Opening an existing segment.
        case open
        /// Reading a segment's size.
        case size
        /// Mapping a view.
        case map
        /// Unmapping a view.
        case unmap
        /// Reading through a view.
        case read
        /// Writing through a view.
        case write
        /// Writing a view back to the segment.
        case flush
        /// Closing a segment.
        case close
        /// Removing a segment's name.
        case unlink
    }
}

/// A failed shared-memory operation: which one, the errno, and why.
///
/// Its ``description`` reads as a POSIX program's error does: the call, the
/// segment it was about, the system's text and the symbolic errno, then the
/// reason in words, as in `shm_open("/x"): No such file or directory (ENOENT)`.
public struct SharedMemoryError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What was being done.
    public var operation: Operation
    /// The system's error number, or the one that best describes a check that failed.
    public var errno: Errno
    /// The POSIX call that failed (`shm_open`, `mmap`, ...), or `nil` when a
    /// check failed before any system call.
    public var systemCall: String?
    /// What went wrong in plain words, when more can be said than the errno's text.
    public var reason: String?
    /// The segment the operation was about, when known.
    public var name: SegmentName?
    /// The backend that reported the error.
    public var backend: SharedMemorySegment.Backend

    /// Makes an error.
    public init(operation: Operation, errno: Errno, systemCall: String?, reason: String? = nil,
                name: SegmentName? = nil, backend: SharedMemorySegment.Backend = .default) {
        self.operation = operation
        self.errno = errno
        self.systemCall = systemCall
        self.reason = reason
        self.name = name
        self.backend = backend
    }

    /// One line in plain words: the call, the symbolic errno and its text, and the reason.
    public var hint: String {
        let call = systemCall.map { "\($0): " } ?? ""
        let why = reason.map { ": \($0)" } ?? ""
        return "\(call)\(errno)\(why)"
    }

    /// The error as a POSIX program prints one:
    /// `shm_open("/x"): No such file or directory (ENOENT)`, then `: ` and the
    /// ``reason`` when there is one. Without a system call, the ``operation``
    /// stands in its place.
    public var description: String {
        let subject = systemCall ?? operation.rawValue
        let argument = name.map { "(\"\($0.posixName)\")" } ?? ""
        let symbol = errno.name.map { " (\($0))" } ?? ""
        let why = reason.map { ": \($0)" } ?? ""
        return "\(subject)\(argument): \(errno.text)\(symbol)\(why)"
    }
}
