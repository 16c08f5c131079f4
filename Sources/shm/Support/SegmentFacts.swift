import Glibc
import SharedMemory

/// What `list` and `inspect` say about one segment, worked out once from a ``SegmentInfo``.
struct SegmentFacts {
    let info: SegmentInfo

    init(_ info: SegmentInfo) { self.info = info }

    var ownerName: String { userName(of: info.uid) }

    /// Whether this process could open the segment to look at it (another
    /// user's segment, or one whose mode keeps us out, cannot be told apart).
    var isReadable: Bool { !(info.headerProblem?.hasPrefix("cannot open") ?? false) }

    var type: String { info.isManaged ? "managed" : isReadable ? "raw" : "?" }

    /// The layout version of a managed segment, also of one this library cannot read.
    var version: UInt32? {
        if info.header != nil { return SegmentHeader.layoutVersion }
        guard info.isManaged, !info.isInitialising else { return nil }
        return Self.storedVersion(of: info.segmentName)
    }

    /// What the segment holds: `data` (plain bytes, as every raw segment),
    /// `channel` or `pubsub` (a ring, by the flavour in its control block;
    /// `ring` when that cannot be read), `events`, a service's pattern
    /// (`many-to-one channel`, `topic`, ...; `service` when its header cannot
    /// be read), `kind N` for other kinds, `nil` when
    /// a managed header cannot be read.
    var kind: String? {
        guard info.isManaged else { return isReadable ? "data" : nil }
        guard let header = info.header else { return nil }
        switch header.kind {
        case 0: return "data"
        case RingLayout.segmentKind:
            switch (try? ChannelStatus.read(info.segmentName))?.kind {
            case .channel: return "channel"
            case .publishSubscribe: return "pubsub"
            case nil: return "ring"
            }
        case EventNotifier.segmentKind: return "events"
        case ServiceLayout.segmentKind:
            return (try? ServicePattern.ofSegment(info.segmentName)).flatMap { $0 }.map(\.name) ?? "service"
        default: return "kind \(header.kind)"
        }
    }

    var isChannel: Bool { info.header?.kind == RingLayout.segmentKind }

    /// Why the segment is not plainly usable: still initialising, an unknown version, a corrupt header.
    var problem: String? {
        if info.isInitialising { return "initialising, or its creator died before finishing" }
        return info.headerProblem
    }

    /// The row of `shm list`.
    var row: [String] {
        [
            info.name,
            String(info.size),
            ownerName,
            Format.mode(info.mode),
            type,
            version.map(String.init) ?? "-",
            kind ?? "-",
            info.header.map { String($0.creator.pid) } ?? "-",
            info.creatorAlive.map { $0 ? "yes" : "no" } ?? "-",
            info.users.isEmpty ? "-" : info.users.map(String.init).joined(separator: ","),
            info.isStale ? "yes" : "no",
        ]
    }

    static let columns: [(String, Table.Alignment)] = [
        ("NAME", .left), ("SIZE", .right), ("OWNER", .left), ("MODE", .left), ("TYPE", .left),
        ("VERSION", .right), ("KIND", .left), ("CREATOR", .right), ("ALIVE", .left), ("USERS", .left),
        ("STALE", .left),
    ]

    /// The object of `shm list --json` and `shm inspect --json`.
    var json: [String: Any] {
        [
            "name": info.name,
            "name_hex": info.segmentName.posixBytes.map(Format.hexByte).joined(),
            "size": info.size,
            "owner": ownerName,
            "uid": info.uid,
            "mode": Format.mode(info.mode),
            "managed": info.isManaged,
            "version": jsonValue(version),
            "kind": jsonValue(kind),
            "creator_pid": jsonValue(info.header?.creator.pid),
            "creator_uid": jsonValue(info.header?.creatorUID),
            "creator_alive": jsonValue(info.creatorAlive),
            "lifetime": jsonValue(info.header?.lifetime.description),
            "payload_size": jsonValue(info.header?.payloadSize),
            "users": info.users.map(Int.init),
            "locked": info.isLocked,
            "in_use": info.inUse,
            "initialising": info.isInitialising,
            "problem": jsonValue(problem),
            "stale": info.isStale,
        ]
    }

    /// The version word of a managed header that did not pass the checks.
    static func storedVersion(of name: SegmentName) -> UInt32? {
        var path = name.pathBytes
        path.append(0)
        let descriptor = path.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK) }
        }
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var file = stat()
        guard fstat(descriptor, &file) == 0, (file.st_mode & S_IFMT) == S_IFREG else { return nil }
        var word: UInt32 = 0
        guard pread(descriptor, &word, 4, 8) == 4 else { return nil }
        return UInt32(littleEndian: word)
    }
}

/// The segment `name`, as ``SegmentDirectory/list(backend:)`` sees it.
func segmentInfo(_ name: SegmentName) throws(ToolError) -> SegmentInfo {
    if let info = SegmentDirectory.info(name) { return info }
    let status: FileStatus
    do {
        status = try SharedMemorySegment.Backend.default.implementation.status(named: name.posixBytes)
    } catch {
        throw ToolError(error == .noSuchFileOrDirectory ? "no segment named \(name.posixName) exists"
                                                        : "cannot read \(name.path): \(errorText(error.rawValue))")
    }
    let what = status.type == .regular ? "not a regular file" : status.type.description
    throw ToolError("\(name.posixName) is \(what), not a shared-memory segment; it is left alone")
}
