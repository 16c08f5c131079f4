import Glibc

/// What ``SegmentDirectory/list(backend:)`` reports about one segment.
public struct SegmentInfo: Hashable, Sendable {
    /// The POSIX name, such as `/SampleMap`.
    public var name: String
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
    /// A managed segment whose creator has not finished (or died before finishing) initialising it.
    public var isInitialising: Bool
    /// Whether the creator of a managed segment is alive; `nil` when unknown.
    public var creatorAlive: Bool?
    /// Processes that have the segment open or mapped, as `/proc` shows them
    /// (without root, only this user's processes are seen).
    public var users: [Int32]
    /// Whether some process holds the segment's lock (every user of a managed segment does).
    public var isLocked: Bool

    /// Whether a managed segment is in the ``SegmentHeader`` layout.
    public var isManaged: Bool { header != nil || isInitialising || headerProblem?.hasPrefix("managed") == true }
    /// Whether any process uses the segment.
    public var inUse: Bool { isLocked || !users.isEmpty }
    /// A managed segment that nobody uses and whose creator is dead, or that
    /// was never finished: safe to remove. Raw segments are never stale,
    /// since nothing tells who made them.
    public var isStale: Bool {
        guard !inUse else { return false }
        if isInitialising { return true }
        return header != nil && creatorAlive == false
    }
}

/// The shared-memory objects of the system: listing them and removing
/// stale ones.
public enum SegmentDirectory {
    /// Where Linux keeps POSIX shared-memory objects.
    public static let path = "/dev/shm"

    /// Every object in `/dev/shm` (semaphores, `sem.*`, excluded), sorted by name.
    public static func list(backend: Backend = .default) -> [SegmentInfo] {
        let usersByPath = SegmentUsers.processesByPath(under: path)
        return names().compactMap { inspect($0, users: usersByPath[path + "/" + $0] ?? [], backend: backend) }
    }

    /// Removes the stale segments (see ``SegmentInfo/isStale``) and returns
    /// them; with `dryRun`, only returns them. A segment is checked again
    /// under its exclusive lock just before it is removed, so one that a
    /// process starts using meanwhile is left alone.
    public static func removeStale(dryRun: Bool = false, backend: Backend = .default) -> [SegmentInfo] {
        removing(list(backend: backend).filter(\.isStale), dryRun: dryRun, backend: backend)
    }

    /// Removes each of `stale` that is still stale under its exclusive lock
    /// and returns those; with `dryRun`, returns them all and removes nothing.
    static func removing(_ stale: [SegmentInfo], dryRun: Bool, backend: Backend) -> [SegmentInfo] {
        guard !dryRun else { return stale }
        return stale.filter { removeIfStillStale($0.name, backend: backend) }
    }

    /// The file names in `/dev/shm`.
    static func names() -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name == "." || name == ".." || name.hasPrefix("sem.") { continue }
            if entry.pointee.d_type != UInt8(DT_REG) && entry.pointee.d_type != UInt8(DT_UNKNOWN) { continue }
            names.append(name)
        }
        return names.sorted()
    }

    /// Reads one segment's status and header.
    static func inspect(_ file: String, users: [Int32], backend: Backend) -> SegmentInfo? {
        let system = backend.implementation
        let posixName = "/" + file
        guard let status = try? system.status(named: posixName) else { return nil }
        var info = SegmentInfo(name: posixName, size: status.size, uid: status.uid, owner: userName(status.uid),
                               mode: status.mode, header: nil, headerProblem: nil, isInitialising: false,
                               creatorAlive: nil, users: users, isLocked: false)
        let descriptor: Int32
        do {
            descriptor = try system.open(posixName, flags: [], mode: 0).descriptor
        } catch {
            info.headerProblem = "cannot open: \(error)"
            return info
        }
        defer { try? system.close(descriptor) }
        if (try? system.lock(descriptor, .exclusive, wait: false)) != nil {
            try? system.lock(descriptor, .release, wait: false)
        } else {
            info.isLocked = true
        }
        guard status.size >= UInt64(SegmentHeader.size),
              let base = try? system.map(descriptor, offset: 0, length: SegmentHeader.size, writable: false)
        else {
            info.isInitialising = status.size == 0 && status.mode == 0
            return info
        }
        defer { try? system.unmap(base, length: SegmentHeader.size) }
        switch SegmentHeader.read(from: base, fileSize: status.size) {
        case .success(let header):
            info.header = header
            info.creatorAlive = header.creator.isAlive
        case .failure(.initialising):
            let magic = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self))
            info.isInitialising = magic == SegmentHeader.magic || status.mode == 0
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
    static func removeIfStillStale(_ name: String, backend: Backend) -> Bool {
        let system = backend.implementation
        guard let descriptor = try? system.open(name, flags: [], mode: 0).descriptor else { return false }
        defer { try? system.close(descriptor) }
        guard (try? system.lock(descriptor, .exclusive, wait: false)) != nil else { return false }
        let file = String(name.dropFirst())
        // This process holds the segment open now; any other user keeps it.
        let users = SegmentUsers.processes(using: path + "/" + file).filter { $0 != getpid() }
        guard var info = inspect(file, users: users, backend: backend) else { return false }
        // `inspect` saw our own exclusive lock as "locked"; nobody else can hold it now.
        info.isLocked = false
        guard info.isStale else { return false }
        return (try? system.unlink(name)) != nil
    }
}
