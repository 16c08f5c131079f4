import Glibc

/// Which processes use a shared-memory file: have it open or mapped.
///
/// The answer comes from `/proc`: the links in `/proc/<pid>/fd` and the lines
/// of `/proc/<pid>/maps` of every process. Processes that exit during the
/// scan, or whose entries this process may not read (those of other users,
/// unless running as root), are skipped silently, so the answer can miss users
/// but never names a process that did not use the file.
///
/// Paths are compared as the kernel reports them: absolute, without `.`, `..`
/// or symbolic links. The directory part of a path passed in is resolved with
/// `realpath` first, so `/dev/shm` also works where it links to `/run/shm`.
/// A file that was removed but is still open or mapped counts under the path it had.
public enum SegmentUsers {
    /// The sorted ids of the processes that have the file at `path` (such as
    /// `/dev/shm/SampleMap`) open or mapped; empty when none do.
    public static func processes(using path: String) -> [Int32] {
        let target = Array(resolvingDirectory(of: path).utf8)
        return ProcScan.run(.exactly(target))[target] ?? []
    }

    /// For every file under `directory`, at any depth, that some process has
    /// open or mapped: the sorted ids of those processes.
    ///
    /// `/proc` is read once for all files, so this is the way to look at many
    /// segments. The keys start with `directory` as given (without trailing
    /// slashes), such as `/dev/shm/SampleMap`.
    public static func processesByPath(under directory: String = "/dev/shm") -> [String: [Int32]] {
        let spelled = trimmingTrailingSlashes(directory)
        let resolved = trimmingTrailingSlashes(realPath(spelled) ?? spelled)
        let prefix = Array((resolved == "/" ? "/" : resolved + "/").utf8)
        let keyPrefix = spelled == "/" ? "/" : spelled + "/"
        var result: [String: [Int32]] = [:]
        for (path, pids) in ProcScan.run(.under(prefix)) {
            result[keyPrefix + String(decoding: path[prefix.count...], as: UTF8.self)] = pids
        }
        return result
    }

    /// ``processesByPath(under:)`` keyed by the exact bytes of each file's
    /// path below `directory` (`SampleMap` for `/dev/shm/SampleMap`), so
    /// that names which are not UTF-8 stay apart.
    static func processesByFileName(under directory: String) -> [[UInt8]: [Int32]] {
        let spelled = trimmingTrailingSlashes(directory)
        let resolved = trimmingTrailingSlashes(realPath(spelled) ?? spelled)
        let prefix = Array((resolved == "/" ? "/" : resolved + "/").utf8)
        var result: [[UInt8]: [Int32]] = [:]
        for (path, pids) in ProcScan.run(.under(prefix)) { result[Array(path[prefix.count...])] = pids }
        return result
    }

    /// The processes that have the file `name` in `directory` open or mapped.
    static func processes(usingFile name: [UInt8], in directory: String) -> [Int32] {
        let resolved = trimmingTrailingSlashes(realPath(directory) ?? directory)
        let target = Array((resolved == "/" ? "/" : resolved + "/").utf8) + name
        return ProcScan.run(.exactly(target))[target] ?? []
    }

    /// `path` with its directory part resolved by `realpath`, when that works.
    static func resolvingDirectory(of path: String) -> String {
        let trimmed = trimmingTrailingSlashes(path)
        guard let slash = trimmed.utf8.lastIndex(of: UInt8(ascii: "/")) else {
            return realPath(".").map { ($0 == "/" ? "" : $0) + "/" + trimmed } ?? trimmed
        }
        let name = trimmed[trimmed.index(after: slash)...]
        let parent = slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
        guard !name.isEmpty, let resolved = realPath(parent) else { return trimmed }
        return (resolved == "/" ? "" : resolved) + "/" + name
    }

    /// `path` without trailing slashes, except for `/` itself.
    static func trimmingTrailingSlashes(_ path: String) -> String {
        var path = Substring(path)
        while path.count > 1 && path.hasSuffix("/") { path = path.dropLast() }
        return String(path)
    }

    /// The canonical absolute form of `path`, or `nil` when it cannot be resolved.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

/// One pass over `/proc`: which processes have which of the wanted files open or mapped.
struct ProcScan {
    /// Which paths a scan reports.
    enum Filter {
        /// Exactly this path.
        case exactly([UInt8])
        /// Every path that starts with this prefix (a directory ending in `/`).
        case under([UInt8])

        func matches(_ path: UnsafeBufferPointer<UInt8>) -> Bool {
            switch self {
            case .exactly(let wanted):
                return path.count == wanted.count && path.elementsEqual(wanted)
            case .under(let prefix):
                return path.count > prefix.count && path.starts(with: prefix)
            }
        }
    }

    private let filter: Filter
    /// Reused for every `maps` file.
    private var buffer: [UInt8] = []
    /// Reused for every link target.
    private var linkBuffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 64)
    /// The matching paths of the process being scanned.
    private var found: Set<[UInt8]> = []

    private init(filter: Filter) { self.filter = filter }

    /// Scans every process once; returns the sorted pids for each matching path.
    static func run(_ filter: Filter) -> [[UInt8]: [Int32]] {
        var scan = ProcScan(filter: filter)
        return scan.scanAll()
    }

    private mutating func scanAll() -> [[UInt8]: [Int32]] {
        guard let directory = opendir("/proc") else { return [:] }
        defer { closedir(directory) }
        let proc = dirfd(directory)
        var users: [[UInt8]: [Int32]] = [:]
        while let entry = readdir(directory) {
            guard let pid = Self.pid(named: Self.name(of: entry)) else { continue }
            found.removeAll(keepingCapacity: true)
            scanDescriptors(proc: proc, pid: pid)
            scanMaps(proc: proc, pid: pid)
            for path in found { users[path, default: []].append(pid) }
        }
        for path in users.keys { users[path]!.sort() }
        return users
    }

    /// Adds the matching targets of the links in `/proc/<pid>/fd`.
    private mutating func scanDescriptors(proc: Int32, pid: Int32) {
        let descriptor = ProcFiles.open("\(pid)/fd", relativeTo: proc, directoryOnly: true)
        guard descriptor >= 0 else { return }
        guard let directory = fdopendir(descriptor) else {
            close(descriptor)
            return
        }
        defer { closedir(directory) }
        let fds = dirfd(directory)
        while let entry = readdir(directory) {
            let name = Self.name(of: entry)
            guard name.pointee != UInt8(ascii: ".") else { continue }
            let length = linkBuffer.withUnsafeMutableBytes { buffer in
                name.withMemoryRebound(to: CChar.self, capacity: 1) {
                    readlinkat(fds, $0, buffer.baseAddress!.assumingMemoryBound(to: CChar.self), buffer.count)
                }
            }
            // Without permission for one link there is none for the others.
            if length < 0 && errno == EACCES { return }
            // A full buffer may mean a cut-off target; such a long path is no segment.
            guard length > 0, length < linkBuffer.count else { continue }
            linkBuffer.withUnsafeBufferPointer { note(UnsafeBufferPointer(rebasing: $0[..<length])) }
        }
    }

    /// Adds the matching pathnames of the lines of `/proc/<pid>/maps`.
    private mutating func scanMaps(proc: Int32, pid: Int32) {
        let descriptor = ProcFiles.open("\(pid)/maps", relativeTo: proc)
        guard descriptor >= 0 else { return }
        let count = ProcFiles.readAll(descriptor, into: &buffer)
        close(descriptor)
        guard let count, count > 0 else { return }
        let buffer = self.buffer  // the same storage, read while `noteMapped` changes `self`
        buffer.withUnsafeBufferPointer { all in
            var start = 0
            while start < count {
                var end = start
                while end < count && all[end] != UInt8(ascii: "\n") { end += 1 }
                if let path = Self.mapsPathname(UnsafeBufferPointer(rebasing: all[start..<end])) {
                    noteMapped(path)
                }
                start = end + 1
            }
        }
    }

    /// Records `target` (a link target) when it matches, without a " (deleted)" mark.
    private mutating func note(_ target: UnsafeBufferPointer<UInt8>) {
        guard target.first == UInt8(ascii: "/") else { return }
        let path = Self.droppingDeletedMark(target)
        if filter.matches(path) { found.insert(Array(path)) }
    }

    /// Records a `maps` pathname when it matches, after undoing the kernel's
    /// escape of newlines as `\012`.
    private mutating func noteMapped(_ pathname: UnsafeBufferPointer<UInt8>) {
        guard pathname.first == UInt8(ascii: "/") else { return }
        guard pathname.contains(UInt8(ascii: "\\")) else { return note(pathname) }
        let unescaped = Self.unescapingNewlines(pathname)
        unescaped.withUnsafeBufferPointer { note($0) }
    }

    /// The pathname of a `maps` line, or `nil` when the line has none.
    ///
    /// A line is `address perms offset dev inode pathname`; the pathname, the
    /// sixth field, follows padding spaces and may itself contain spaces.
    static func mapsPathname(_ line: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8>? {
        let space = UInt8(ascii: " ")
        var index = 0
        for _ in 0..<5 {
            while index < line.count && line[index] != space { index += 1 }
            while index < line.count && line[index] == space { index += 1 }
        }
        guard index < line.count else { return nil }
        return UnsafeBufferPointer(rebasing: line[index...])
    }

    private static let deletedMark = Array(" (deleted)".utf8)

    /// `path` without a trailing " (deleted)".
    static func droppingDeletedMark(_ path: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        let mark = deletedMark
        guard path.count > mark.count, path[(path.count - mark.count)...].elementsEqual(mark) else { return path }
        return UnsafeBufferPointer(rebasing: path[..<(path.count - mark.count)])
    }

    /// `path` with each `\012` replaced by a newline, as `maps` writes them.
    static func unescapingNewlines(_ path: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        let escape = Array("\\012".utf8)
        var result: [UInt8] = []
        result.reserveCapacity(path.count)
        var index = 0
        while index < path.count {
            if path[index] == UInt8(ascii: "\\"), path.count - index >= escape.count,
               path[index..<(index + escape.count)].elementsEqual(escape) {
                result.append(UInt8(ascii: "\n"))
                index += escape.count
            } else {
                result.append(path[index])
                index += 1
            }
        }
        return result
    }

    /// The NUL-terminated name of a directory entry.
    private static func name(of entry: UnsafeMutablePointer<dirent>) -> UnsafePointer<UInt8> {
        UnsafeRawPointer(entry)
            .advanced(by: MemoryLayout<dirent>.offset(of: \dirent.d_name)!)
            .assumingMemoryBound(to: UInt8.self)
    }

    /// The pid a `/proc` entry name stands for, or `nil` for other entries.
    private static func pid(named name: UnsafePointer<UInt8>) -> Int32? {
        var value: Int32 = 0
        var index = 0
        while name[index] != 0 {
            let digit = name[index]
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9"), index < 10 else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int32(digit - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
            index += 1
        }
        return value > 0 ? value : nil
    }
}
