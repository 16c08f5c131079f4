extension SharedMemoryError {
    /// An operation of the shared-memory API, named as in the Windows sample.
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

        /// The Windows call the sample uses for this operation, as it appears in
        /// reports such as `CreateFileMapping failed w/err 0x00000011`.
        public var sampleName: String {
            switch self {
            case .validateName, .create: "CreateFileMapping"
            case .open: "OpenFileMapping"
            case .size: "GetFileSizeEx"
            case .map: "MapViewOfFile"
            case .unmap: "UnmapViewOfFile"
            case .read: "memcpy_s"
            case .write: "memcpy_s"
            case .flush: "FlushViewOfFile"
            case .close: "CloseHandle"
            case .unlink: "DeleteFileMapping"
            }
        }
    }
}

/// A failed shared-memory operation: which one, the errno, and why.
///
/// ``report`` is the Windows sample's line (`OpenFileMapping failed w/err
/// 0x00000002`); ``hint`` says the same in plain words, naming the POSIX call
/// and the symbolic errno.
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
    /// The backend that reported the error and formats ``report``.
    public var backend: SharedMemorySegment.Backend

    /// Makes an error.
    public init(operation: Operation, errno: Errno, systemCall: String?, reason: String? = nil,
                backend: SharedMemorySegment.Backend = .default) {
        self.operation = operation
        self.errno = errno
        self.systemCall = systemCall
        self.reason = reason
        self.backend = backend
    }

    /// The Windows sample's report: `<Operation> failed w/err 0x%08lx`.
    public var report: String {
        backend.implementation.formatError(operation: operation.sampleName, errno: errno)
    }

    /// One line in plain words: the call, the symbolic errno and its text, and the reason.
    public var hint: String {
        let call = systemCall.map { "\($0): " } ?? ""
        let why = reason.map { ": \($0)" } ?? ""
        return "\(call)\(errno)\(why)"
    }

    /// ``report`` and ``hint`` on two lines.
    public var description: String { "\(report)\n\(hint)" }
}
