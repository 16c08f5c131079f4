/// Looking at, and cleaning up, particular segments rather than all of `/dev/shm`.
extension SegmentDirectory {
    /// What ``list(backend:)`` reports about the segment `name` alone; `nil`
    /// when no shared-memory object has that name (or it cannot be examined).
    public static func info(_ name: SegmentName, backend: Backend = .default) -> SegmentInfo? {
        let users = SegmentUsers.processes(using: path + name.posixName)
        return inspect(String(name.posixName.dropFirst()), users: users, backend: backend)
    }

    /// ``removeStale(dryRun:backend:)`` limited to the segments `names`:
    /// removes those of them that are stale, with the same check under the
    /// exclusive lock, and returns them; with `dryRun`, only returns them.
    /// Names that do not exist, or are not stale, are left out.
    public static func removeStale(
        among names: [SegmentName], dryRun: Bool = false, backend: Backend = .default
    ) -> [SegmentInfo] {
        let usersByPath = SegmentUsers.processesByPath(under: path)
        var seen = Set<String>()
        let stale = names.filter { seen.insert($0.posixName).inserted }.compactMap { name in
            inspect(String(name.posixName.dropFirst()), users: usersByPath[path + name.posixName] ?? [], backend: backend)
        }.filter(\.isStale)
        return removing(stale, dryRun: dryRun, backend: backend)
    }
}
