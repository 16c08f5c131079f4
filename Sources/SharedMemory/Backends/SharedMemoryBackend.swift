/// How ``SharedMemoryBackend/open(_:flags:mode:)`` opens an object.
package struct OpenFlags: OptionSet, Hashable, Sendable {
    package let rawValue: Int32
    package init(rawValue: Int32) { self.rawValue = rawValue }

    /// Open for reading and writing; without it the object opens read-only.
    package static let readWrite = OpenFlags(rawValue: 1)
    /// Create the object when it does not exist.
    package static let create = OpenFlags(rawValue: 2)
    /// With ``create``: fail with `EEXIST` when the object exists.
    package static let exclusive = OpenFlags(rawValue: 4)
}

/// What the system reports about a shared-memory object (`fstat`).
public struct FileStatus: Hashable, Sendable {
    /// The size in bytes.
    public var size: UInt64
    /// The owner's user id.
    public var uid: UInt32
    /// The group id.
    public var gid: UInt32
    /// The permission bits.
    public var mode: UInt32
    /// The number of names; 0 once the name has been removed.
    public var linkCount: UInt32
    /// With ``inode``, identifies the object.
    public var device: UInt64
    /// With ``device``, identifies the object.
    public var inode: UInt64
    /// What kind of file holds the name: a segment is always a ``FileType/regular`` file.
    public var type: FileType

    /// A status with these fields.
    public init(size: UInt64, uid: UInt32, gid: UInt32, mode: UInt32, linkCount: UInt32, device: UInt64, inode: UInt64,
                type: FileType = .regular) {
        (self.size, self.uid, self.gid, self.mode) = (size, uid, gid, mode)
        (self.linkCount, self.device, self.inode, self.type) = (linkCount, device, inode, type)
    }
}

/// The kind of file behind a name in `/dev/shm` (`st_mode & S_IFMT`). Only a
/// regular file is a shared-memory segment; anything else there was put
/// there by other means, and opening it is refused.
public enum FileType: UInt32, Hashable, Sendable, CustomStringConvertible {
    /// A regular file (`S_IFREG`): what a segment is.
    case regular = 0o100000
    /// A directory (`S_IFDIR`).
    case directory = 0o040000
    /// A symbolic link (`S_IFLNK`).
    case symbolicLink = 0o120000
    /// A FIFO (`S_IFIFO`).
    case fifo = 0o010000
    /// A socket (`S_IFSOCK`).
    case socket = 0o140000
    /// A character device (`S_IFCHR`).
    case characterDevice = 0o020000
    /// A block device (`S_IFBLK`).
    case blockDevice = 0o060000
    /// Bits that name no known type.
    case unknown = 0

    /// The type of the `S_IFMT` bits `bits`; ``unknown`` for a value that names none.
    public init(formatBits bits: UInt32) { self = FileType(rawValue: bits & 0o170000) ?? .unknown }

    /// `a FIFO`, `a directory`, ...: how a message names it.
    public var description: String {
        switch self {
        case .regular: "a regular file"
        case .directory: "a directory"
        case .symbolicLink: "a symbolic link"
        case .fifo: "a FIFO"
        case .socket: "a socket"
        case .characterDevice: "a character device"
        case .blockDevice: "a block device"
        case .unknown: "a file of unknown type"
        }
    }
}

/// An advisory whole-object lock (`flock`), released by the kernel when the
/// descriptor closes or the process dies.
package enum LockOperation: Int32, Hashable, Sendable {
    case shared = 1
    case exclusive = 2
    case release = 3
}

/// The system operations behind segments and views.
///
/// Two implementations exist and behave identically, down to errno values and
/// formatted messages: ``CShmBackend`` calls the C shim `CShm` (the default),
/// ``PosixBackend`` calls Glibc from Swift. Every call returns its result or
/// throws the ``Errno`` the system reported; calls the kernel may interrupt
/// are retried on `EINTR`.
package protocol SharedMemoryBackend: Sendable {
    /// Opens or creates the object with POSIX name `name` (leading `/`, then
    /// any bytes but `/` and NUL).
    ///
    /// The open never follows a symbolic link (`ELOOP`) and never blocks:
    /// a name that is not a regular file (a FIFO, a directory, a device) is
    /// refused with `ENODEV`, and ``status(named:)`` says what it is.
    /// - Returns: a close-on-exec descriptor, and whether this call created the object.
    func open(_ name: [UInt8], flags: OpenFlags, mode: UInt32) throws(Errno) -> (descriptor: Int32, created: Bool)
    /// Closes a descriptor; never retried.
    func close(_ descriptor: Int32) throws(Errno)
    /// Duplicates a descriptor, close-on-exec.
    func duplicate(_ descriptor: Int32) throws(Errno) -> Int32
    /// Removes a name.
    func unlink(_ name: [UInt8]) throws(Errno)
    /// Sets the object's size in bytes.
    func truncate(_ descriptor: Int32, size: UInt64) throws(Errno)
    /// Reserves memory for the first `size` bytes (`posix_fallocate`), so that
    /// a full file system fails here with `ENOSPC` rather than with SIGBUS later.
    func reserve(_ descriptor: Int32, size: UInt64) throws(Errno)
    /// The object's size in bytes.
    func size(_ descriptor: Int32) throws(Errno) -> UInt64
    /// The status of an open object (`fstat`).
    func status(_ descriptor: Int32) throws(Errno) -> FileStatus
    /// The status of the object named `name`, without opening it; a symbolic
    /// link is described, not followed (`lstat`).
    func status(named name: [UInt8]) throws(Errno) -> FileStatus
    /// Free bytes on the file system that holds the object (`fstatvfs`).
    func freeSpace(_ descriptor: Int32) throws(Errno) -> UInt64
    /// Takes or releases a lock (`flock`); without `wait`, a taken lock fails with `EWOULDBLOCK`.
    func lock(_ descriptor: Int32, _ operation: LockOperation, wait: Bool) throws(Errno)
    /// Takes a byte-range lock owned by the open file description (`F_OFD_SETLK`):
    /// released when it closes, also when the process dies. A lock held
    /// through another open fails with `EAGAIN`.
    func rangeLock(_ descriptor: Int32, offset: UInt64, length: UInt64, exclusive: Bool) throws(Errno)
    /// Releases a byte-range lock.
    func rangeUnlock(_ descriptor: Int32, offset: UInt64, length: UInt64) throws(Errno)
    /// Whether another open file description holds a lock on the range (`F_OFD_GETLK`).
    func rangeIsLocked(_ descriptor: Int32, offset: UInt64, length: UInt64) throws(Errno) -> Bool
    /// Sleeps while the shared word at `address` equals `expected`, for at
    /// most `timeout` (nil: no limit). Throws `EAGAIN` when it differed at
    /// once, `ETIMEDOUT`, or `EINTR`; returns when woken.
    func futexWait(_ address: UnsafeMutablePointer<UInt32>, expected: UInt32, timeout: Duration?) throws(Errno)
    /// Wakes up to `count` sleepers on the shared word at `address`; returns how many woke.
    @discardableResult
    func futexWake(_ address: UnsafeMutablePointer<UInt32>, count: Int32) throws(Errno) -> Int32
    /// Sleeps while every word in `words` holds its expected value, for at
    /// most `timeout` (nil: no limit); 1 to ``FutexWord/maxCount`` words
    /// (`futex_waitv`). Returns the index of the word that woke it; throws
    /// `EAGAIN` when a word differed at once, `ETIMEDOUT`, `EINTR`, or
    /// `ENOSYS` when the kernel lacks the call (before Linux 5.16).
    func futexWaitMany(_ words: UnsafeBufferPointer<FutexWord>, timeout: Duration?) throws(Errno) -> Int
    /// Sets the object's permission bits, whatever the umask.
    func chmod(_ descriptor: Int32, mode: UInt32) throws(Errno)
    /// Maps `length` (> 0) bytes from byte `offset`, which need not be page-aligned.
    /// - Returns: the address of byte `offset`.
    func map(_ descriptor: Int32, offset: UInt64, length: Int, writable: Bool) throws(Errno) -> UnsafeMutableRawPointer
    /// Unmaps what ``map(_:offset:length:writable:)`` returned.
    func unmap(_ address: UnsafeMutableRawPointer, length: Int) throws(Errno)
    /// Writes a view's changes back (`msync(MS_SYNC)`).
    func sync(_ address: UnsafeMutableRawPointer, length: Int) throws(Errno)
    /// Registers a mapping with the SIGBUS guard (see `cshm.h`), so that
    /// when another process truncates the segment under it, an access past
    /// the new end reads zeros instead of killing this process; the
    /// returned guard then reports ``MappingGuard/isTripped``. The range is
    /// widened to whole pages; `writable` says how the zero pages are mapped.
    /// Call ``unguardMapping(_:)`` before unmapping.
    /// - Throws: `EINVAL` for an empty or wrapping range, `ENOSPC` when the
    ///   process-wide registry (`CSHM_GUARD_CAPACITY` ranges) is full.
    func guardMapping(_ address: UnsafeMutableRawPointer, length: Int, writable: Bool) throws(Errno) -> MappingGuard
    /// Unregisters what ``guardMapping(_:length:writable:)`` registered.
    func unguardMapping(_ mappingGuard: MappingGuard)
    /// The system page size.
    var pageSize: Int { get }
    /// `"<operation> failed w/err 0x%08lx"`, the Windows sample's report.
    func formatError(operation: String, errno: Errno) -> String
    /// The symbolic name of an errno value, or `nil` when unknown.
    func errorName(_ errno: Errno) -> String?
    /// The system's text for an errno value.
    func errorText(_ errno: Errno) -> String
}

extension SharedMemoryBackend {
    /// ``open(_:flags:mode:)`` with the name as text.
    package func open(_ name: String, flags: OpenFlags, mode: UInt32) throws(Errno) -> (descriptor: Int32, created: Bool) {
        try open(Array(name.utf8), flags: flags, mode: mode)
    }

    /// ``unlink(_:)`` with the name as text.
    package func unlink(_ name: String) throws(Errno) { try unlink(Array(name.utf8)) }

    /// ``status(named:)`` with the name as text.
    package func status(named name: String) throws(Errno) -> FileStatus { try status(named: Array(name.utf8)) }
}

/// Calls `body` with `name` as a NUL-terminated C string; `EINVAL` when it
/// holds a NUL byte, which would cut it short.
func withCName<R>(_ name: [UInt8], _ body: (UnsafePointer<CChar>) throws(Errno) -> R) throws(Errno) -> R {
    guard !name.contains(0) else { throw .invalidArgument }
    var terminated = name
    terminated.append(0)
    return try terminated.withUnsafeBufferPointer { (buffer) throws(Errno) -> R in
        try buffer.withMemoryRebound(to: CChar.self) { (chars) throws(Errno) -> R in try body(chars.baseAddress!) }
    }
}

/// A shared futex word and the value a waiter expects it to hold, for
/// ``SharedMemoryBackend/futexWaitMany(_:timeout:)``.
package struct FutexWord: Sendable {
    /// The most words one wait takes (the kernel's limit).
    package static let maxCount = 128
    /// The word's address, as an integer (so that the value is `Sendable`).
    package var address: UInt
    /// The value the waiter sleeps while the word holds.
    package var expected: UInt32

    /// A word at `address` expected to hold `expected`.
    package init(_ address: UnsafeMutablePointer<UInt32>, expected: UInt32) {
        self.address = UInt(bitPattern: address)
        self.expected = expected
    }
}
