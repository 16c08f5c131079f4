/// Looking at, and cleaning up, particular segments rather than all of `/dev/shm`.
extension SegmentDirectory {
    /// What ``list(backend:)`` reports about the segment `name` alone; `nil`
    /// when no shared-memory object has that name, or it is not a regular
    /// file. Only looks, as ``list(backend:)`` does.
    public static func info(_ name: SegmentName, backend: SharedMemorySegment.Backend = .default) -> SegmentInfo? {
        let users = SegmentUsers.processes(usingFile: name.bytes, in: path)
        return inspect(name, users: users, locks: FileLocks(), backend: backend)
    }

    /// ``removeStale(dryRun:backend:)`` limited to the segments `names`:
    /// removes those of them that are stale, with the same checks (under the
    /// exclusive lock; another user's segments only when run as root), and
    /// returns them; with `dryRun`, only returns them. Names that do not
    /// exist, or are not stale, are left out.
    ///
    /// This is how a program or a test cleans up after itself: it touches
    /// nothing but the names it made.
    public static func removeStale(
        among names: [SegmentName], dryRun: Bool = false, backend: SharedMemorySegment.Backend = .default
    ) -> [SegmentInfo] {
        let usersByFile = SegmentUsers.processesByFileName(under: path)
        let locks = FileLocks()
        var seen = Set<[UInt8]>()
        let stale = names.filter { seen.insert($0.bytes).inserted }.compactMap { name in
            inspect(name, users: usersByFile[name.bytes] ?? [], locks: locks, backend: backend)
        }.filter(\.isStale)
        return removing(stale, dryRun: dryRun, backend: backend)
    }
}
