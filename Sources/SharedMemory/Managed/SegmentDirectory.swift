import Glibc

/// What ``SegmentDirectory/list(backend:)`` reports about one segment.
public struct SegmentInfo: Hashable, Sendable {
    /// The POSIX name as safe text, such as `/SampleMap`: control characters,
    /// backslashes and bytes that are not UTF-8 escaped (see ``NameEscaping``).
    public var name: String
    /// The exact name, for looking at or removing this segment.
    public var segmentName: SegmentName
    /// The size in bytes.
    public var size: UInt64
    /// The owner's user id.
    public var uid: UInt32
    /// The owner as `name (uid N)`.
    public var owner: String
    /// The permission bits.
    public var mode: UInt32
    /// The header of a managed segment; `nil` for a raw one, or when it cannot be read.
    public var header: SegmentHeader?
    /// Why the header could not be read, for a segment that looks managed or could not be opened.
    public var headerProblem: String?
    /// A managed segment whose creator has not finished (or died before
    /// finishing) initialising it: its header's magic is written, its state
    /// is not yet "ready".
    public var isInitialising: Bool
    /// Whether the creator of a managed segment is alive; `nil` when unknown.
    public var creatorAlive: Bool?
    /// Processes that have the segment open or mapped, as `/proc` shows them
    /// (without root, only this user's processes are seen).
    public var users: [Int32]
    /// Whether some process holds the segment's `flock` (every process that
    /// has a segment open through this library does), as `/proc/locks` shows it.
    public var isLocked: Bool

    /// Whether a managed segment is in the ``SegmentHeader`` layout.
    public var isManaged: Bool { header != nil || isInitialising || headerProblem?.hasPrefix("managed") == true }
    /// Whether any process uses the segment.
    public var inUse: Bool { isLocked || !users.isEmpty }
    /// A managed segment that nobody uses and whose creator is dead, or that
    /// was never finished: safe to remove. Raw segments, and any segment
    /// whose header cannot be read, are never stale, since nothing tells
    /// who made them.
    public var isStale: Bool {
        guard !inUse else { return false }
        if isInitialising { return true }
        return header != nil && creatorAlive == false
    }
}

/// The shared-memory objects of the system: listing them and removing
/// stale ones.
///
/// Everything in `/dev/shm` is treated as input from strangers: names are
/// bytes and are printed escaped, a file that is not a regular file is never
/// opened, and nothing but a stale managed segment is ever removed.
public enum SegmentDirectory {
    /// Where Linux keeps POSIX shared-memory objects.
    public static let path = "/dev/shm"

    /// Every object in `/dev/shm` (semaphores, `sem.*`, and anything that is
    /// not a regular file excluded), sorted by name. Only looks: it takes no
    /// lock, and writes and removes nothing.
    public static func list(backend: SharedMemorySegment.Backend = .default) -> [SegmentInfo] {
        let usersByFile = SegmentUsers.processesByFileName(under: path)
        let locks = FileLocks()
        return names().compactMap { inspect($0, users: usersByFile[$0.bytes] ?? [], locks: locks, backend: backend) }
    }

    /// Removes the stale segments (see ``SegmentInfo/isStale``) and returns
    /// them; with `dryRun`, only returns them. A segment is checked again
    /// under its exclusive lock just before it is removed, so one that a
    /// process starts using meanwhile is left alone. Run by a user other
    /// than root, it considers only that user's segments, since it cannot
    /// see who else uses them.
    ///
    /// This looks at every segment on the machine. A program (or a test)
    /// that cleans up after itself should use ``removeStale(among:dryRun:backend:)``
    /// with the names it made instead.
    public static func removeStale(dryRun: Bool = false, backend: SharedMemorySegment.Backend = .default) -> [SegmentInfo] {
        removing(list(backend: backend).filter(\.isStale), dryRun: dryRun, backend: backend)
    }

    /// Removes each of `stale` that this user may clean up and that is
    /// still stale under its exclusive lock, and returns those; with
    /// `dryRun`, returns those this user may clean up and removes nothing.
    static func removing(_ stale: [SegmentInfo], dryRun: Bool, backend: SharedMemorySegment.Backend) -> [SegmentInfo] {
        let mine = stale.filter { mayCollect(uid: $0.uid) }
        guard !dryRun else { return mine }
        return mine.filter { removeIfStillStale($0.segmentName, backend: backend) }
    }

    /// Whether this process may remove a stale segment that `uid` owns:
    /// root may; another user only their own, since they cannot see (in
    /// `/proc`) who else has it open.
    static func mayCollect(uid: UInt32) -> Bool {
        let me = geteuid()
        return me == 0 || uid == me
    }

    /// The names in `/dev/shm`, exact bytes, without semaphores and without
    /// entries the directory reports as anything but a regular file.
    static func names() -> [SegmentName] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [SegmentName] = []
        while let entry = readdir(directory) {
            let bytes = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if bytes.starts(with: "sem.".utf8) { continue }
            if entry.pointee.d_type != UInt8(DT_REG) && entry.pointee.d_type != UInt8(DT_UNKNOWN) { continue }
            // "." and ".." are refused here, and so is nothing else a directory can hold.
            guard let name = try? SegmentName(bytes: bytes) else { continue }
            names.append(name)
        }
        return names.sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }
    }

    /// Reads one segment's status and header, without writing, locking or
    /// removing anything; `nil` when the name does not exist or is not a
    /// regular file.
    static func inspect(_ name: SegmentName, users: [Int32], locks: FileLocks, backend: SharedMemorySegment.Backend) -> SegmentInfo? {
        let system = backend.implementation
        guard let status = try? system.status(named: name.posixBytes), status.type == .regular else { return nil }
        var info = SegmentInfo(name: name.posixName, segmentName: name, size: status.size, uid: status.uid,
                               owner: userName(status.uid), mode: status.mode, header: nil, headerProblem: nil,
                               isInitialising: false, creatorAlive: nil, users: users,
                               isLocked: locks.isLocked(device: status.device, inode: status.inode))
        let descriptor: Int32
        do {
            descriptor = try system.open(name.posixBytes, flags: [], mode: 0).descriptor
        } catch {
            info.headerProblem = "cannot open: \(error)"
            return info
        }
        defer { try? system.close(descriptor) }
        // The size may have changed since the name's status was read: map only what is there now.
        guard let size = try? system.size(descriptor), size >= UInt64(SegmentHeader.size),
              let base = try? system.map(descriptor, offset: 0, length: SegmentHeader.size, writable: false)
        else {
            return info
        }
        defer { try? system.unmap(base, length: SegmentHeader.size) }
        switch SegmentHeader.read(from: base, fileSize: size) {
        case .success(let header):
            info.header = header
            info.creatorAlive = header.creator.isAlive
        case .failure(.initialising):
            // All zero is a raw segment; only the magic says a creator began.
            let magic = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self))
            info.isInitialising = magic == SegmentHeader.magic
        case .failure(.foreign):
            break // a raw segment
        case .failure(.unsupportedVersion(let version)):
            info.headerProblem = "managed, layout version \(version) unknown"
        case .failure(.corrupt(let reason)):
            info.headerProblem = "managed, corrupt header: \(reason)"
        }
        return info
    }

    /// Removes `name` if, under its exclusive lock, it is still stale.
    static func removeIfStillStale(_ name: SegmentName, backend: SharedMemorySegment.Backend) -> Bool {
        let system = backend.implementation
        guard let descriptor = try? system.open(name.posixBytes, flags: [], mode: 0).descriptor else { return false }
        defer { try? system.close(descriptor) }
        // Every process that has the segment open through this library holds
        // the shared lock, whatever user it runs as: then this fails.
        guard (try? system.lock(descriptor, .exclusive, wait: false)) != nil else { return false }
        // The name must still lead to the file this descriptor holds.
        guard let opened = try? system.status(descriptor), let named = try? system.status(named: name.posixBytes),
              opened.device == named.device, opened.inode == named.inode, mayCollect(uid: opened.uid) else { return false }
        // This process holds the segment open now; any other user keeps it.
        let users = SegmentUsers.processes(usingFile: name.bytes, in: path).filter { $0 != getpid() }
        guard var info = inspect(name, users: users, locks: FileLocks(), backend: backend) else { return false }
        // Our own exclusive lock shows in /proc/locks; nobody else can hold one now.
        info.isLocked = false
        guard info.isStale else { return false }
        return (try? system.unlink(name.posixBytes)) != nil
    }
}
