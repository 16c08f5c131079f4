import Glibc

/// An error number reported by the system (`errno`).
///
/// Values compare by number; ``name`` and ``text`` describe them the way
/// `strerrorname_np` and `strerror` do.
public struct Errno: RawRepresentable, Hashable, Sendable, Error, CustomStringConvertible {
    /// The raw `errno` value.
    public let rawValue: Int32

    /// Wraps a raw `errno` value.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The value of `errno` right now.
    static var current: Errno { Errno(rawValue: errno) }

    /// "No such file or directory".
    public static let noSuchFileOrDirectory = Errno(rawValue: ENOENT)
    /// "File exists".
    public static let fileExists = Errno(rawValue: EEXIST)
    /// "Operation not permitted".
    public static let operationNotPermitted = Errno(rawValue: EPERM)
    /// "Bad address": the view's memory is no longer backed by the segment.
    public static let badAddress = Errno(rawValue: EFAULT)
    /// "Connection timed out": a wait ran out of time.
    public static let timedOut = Errno(rawValue: ETIMEDOUT)
    /// "Protocol error": not a segment of this library's layout.
    public static let protocolError = Errno(rawValue: EPROTO)
    /// "Protocol not supported": a layout version this library does not know.
    public static let protocolNotSupported = Errno(rawValue: EPROTONOSUPPORT)
    /// "Bad message": a header that contradicts itself or the segment.
    public static let badMessage = Errno(rawValue: EBADMSG)
    /// "Resource temporarily unavailable".
    public static let wouldBlock = Errno(rawValue: EAGAIN)
    /// "Permission denied".
    public static let permissionDenied = Errno(rawValue: EACCES)
    /// "Invalid argument".
    public static let invalidArgument = Errno(rawValue: EINVAL)
    /// "File name too long".
    public static let nameTooLong = Errno(rawValue: ENAMETOOLONG)
    /// "Value too large for defined data type".
    public static let overflow = Errno(rawValue: EOVERFLOW)
    /// "Numerical result out of range": a bounded copy that does not fit.
    public static let outOfRange = Errno(rawValue: ERANGE)
    /// "No space left on device".
    public static let noSpace = Errno(rawValue: ENOSPC)
    /// "Interrupted system call".
    public static let interrupted = Errno(rawValue: EINTR)
    /// "Bad file descriptor".
    public static let badFileDescriptor = Errno(rawValue: EBADF)

    /// The symbolic name, such as `ENOENT`, or `nil` for an unknown value.
    public var name: String? { ErrnoNames.name(of: rawValue) }

    /// The system's text for the value, such as "No such file or directory".
    public var text: String { String(cString: strerror(rawValue)) }

    /// `ENOENT (No such file or directory)`, or `errno 999 (Unknown error 999)`.
    public var description: String {
        "\(name ?? "errno \(rawValue)") (\(text))"
    }
}
