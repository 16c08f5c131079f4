import Foundation
import Glibc
@testable import SharedMemory
import Testing

/// Runs `body` with the path `/dev/shm/<unique name>` and that name; whatever
/// `body` puts there (a FIFO, a link, a file) is removed afterwards.
func withUniqueEntry<R>(_ label: String, _ body: (String, String) throws -> R) rethrows -> R {
    let name = TestNames.unique(label)
    let path = "/dev/shm/" + name
    defer {
        if rmdir(path) != 0 { _ = unlink(path) }
    }
    return try body(path, name)
}

/// Whether another open of `name` could take the exclusive `flock` now.
func exclusivelyLockable(_ name: String) -> Bool {
    let descriptor = open("/dev/shm/" + name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
    guard descriptor >= 0 else { return false }
    defer { close(descriptor) }
    return flock(descriptor, LOCK_EX | LOCK_NB) == 0
}

@Suite("Names in /dev/shm that are not segments, and names that are not text")
struct HostileEntryTests {
    @Test("Escaping: control characters, backslash and invalid UTF-8 are escaped, and read back exactly")
    func escaping() throws {
        let cases: [([UInt8], String)] = [
            (Array("plain-name_1.2".utf8), "plain-name_1.2"),
            ([0x61, 0x1B, 0x5D, 0x30, 0x3B, 0x07], "a\\x1b]0;\\x07"),
            (Array("a\nFAKE\tb\rc".utf8), "a\\nFAKE\\tb\\rc"),
            (Array("back\\slash".utf8), "back\\\\slash"),
            ([0x62, 0x61, 0x64, 0xFF, 0xFE], "bad\\xff\\xfe"),
            ([0x7F, 0xC2, 0x9B], "\\x7f\\xc2\\x9b"),                        // DEL, and the C1 control CSI
            (Array("Grüße 🌍".utf8), "Grüße 🌍"),                           // printable text stays as it is
            (Array("rtl\u{202E}txt".utf8), "rtl\\xe2\\x80\\xaetxt"),       // an invisible direction override
            ([0xE2, 0x82], "\\xe2\\x82"),                                   // a cut-off sequence
        ]
        for (bytes, text) in cases {
            #expect(NameEscaping.escape(bytes) == text)
            #expect(try NameEscaping.unescape(text) == bytes)
            let name = try SegmentName(bytes: bytes)
            #expect(name.bytes == bytes && name.posixBytes == [0x2F] + bytes)
            #expect(name.posixName == "/" + text)
            #expect(try SegmentName(escaped: name.posixName).bytes == bytes, "what is printed can be typed back")
            #expect(!name.posixName.utf8.contains { $0 < 0x20 || $0 == 0x7F })
        }
        #expect(try SegmentName(escaped: "Local\\SampleMap").bytes == Array("SampleMap".utf8))
        #expect(try SegmentName("a\\b").bytes == Array("a\\b".utf8), "the String API takes bytes literally")
        for bad in ["a\\q", "a\\", "a\\x4", "a\\xzz", "a\\x2f", "\\x00"] {
            #expect(expectedError { () throws(SharedMemoryError) in try SegmentName(escaped: bad) }?.errno == .invalidArgument, "\(bad)")
        }
        let error = expectedError { () throws(SharedMemoryError) in try SegmentName("a/\u{1B}[2J") }
        #expect(error?.reason?.contains("a/\\x1b[2J") == true, "\(String(describing: error?.reason))")
    }

    @Test("A FIFO, a directory or a symbolic link is refused at once, saying what it is", arguments: SharedMemorySegment.Backend.allCases)
    func notSegments(backend: SharedMemorySegment.Backend) throws {
        let kinds: [(String, (String) -> Int32, String, Errno)] = [
            ("fifo", { mkfifo($0, 0o600) }, "is a FIFO", Errno(rawValue: ENODEV)),
            ("dir", { mkdir($0, 0o700) }, "is a directory", Errno(rawValue: ENODEV)),
            ("dangling", { symlink("/nonexistent-\(getpid())", $0) }, "is a symbolic link", Errno(rawValue: ELOOP)),
        ]
        for (label, make, words, errno) in kinds {
            try withUniqueEntry(label) { path, name in
                try #require(make(path) == 0)
                let start = ContinuousClock.now
                let opened = expectedError { () throws(SharedMemoryError) in
                    try SharedMemorySegment.open(named: name, backend: backend)
                }
                #expect(opened?.errno == errno, "\(label)")
                #expect(opened?.reason == "/\(name) \(words), not a shared-memory segment; it is left alone")
                let managed = expectedError { () throws(SharedMemoryError) in
                    try ManagedSegment.open(SegmentName(name), access: .readOnly, backend: backend)
                }
                #expect(managed?.reason?.contains(words) == true, "\(label)")
                let created = expectedError { () throws(SharedMemoryError) in
                    try ManagedSegment.create(SegmentName(name), payloadSize: 64, backend: backend)
                }
                #expect(created?.reason?.contains(words) == true, "\(label): \(String(describing: created))")
                #expect(ContinuousClock.now - start < .seconds(2), "nothing waits on them")
                #expect(SegmentDirectory.info(try SegmentName(name), backend: backend) == nil)
                #expect(try backend.implementation.status(named: "/" + name).type != .regular)
                var info = stat()
                #expect(lstat(path, &info) == 0, "\(label) is still there")
            }
        }
    }

    @Test("Every open holds the shared lock while it lives, so gc's exclusive check sees raw views too")
    func openHoldsSharedLock() throws {
        try withUniqueName("lock") { name in
            do {
                let segment = try SharedMemorySegment.create(named: name, size: 4096)
                #expect(!exclusivelyLockable(name))
                let view = try segment.map()
                try segment.close()
                #expect(!exclusivelyLockable(name), "a view keeps the lock")
                _ = view
            }
            #expect(exclusivelyLockable(name))
            let reader = try SharedMemorySegment.open(named: name)
            #expect(!exclusivelyLockable(name))
            _ = reader
        }
    }

    @Test("A stale managed segment is not removed while a raw view of it is open")
    func rawViewKeepsStaleSegment() throws {
        try withUniqueName("rawview") { name in
            let dead = try deadProcess()
            do {
                let forged = try SharedMemorySegment.create(named: name, size: 256)
                let view = try forged.map()
                SegmentHeader(totalSize: 256, kind: 0, creator: dead, creatorUID: geteuid(), lifetime: .posix)
                    .write(to: view.unsafeBaseAddress)
                SegmentHeader.markReady(at: view.unsafeBaseAddress)
            }
            let segmentName = try SegmentName(name)
            do {
                let raw = try SharedMemorySegment.open(named: name)
                let view = try raw.map()
                #expect(SegmentDirectory.info(segmentName)?.isLocked == true)
                #expect(SegmentDirectory.removeStale(among: [segmentName]).isEmpty)
                #expect(segmentFileExists(name))
                _ = view
            }
            #expect(SegmentDirectory.removeStale(among: [segmentName]).map(\.name) == ["/" + name])
            #expect(!segmentFileExists(name))
        }
    }

    @Test("Raw segments are never stale: an empty mode-0 file, and one of zeros")
    func rawNeverStale() throws {
        for size in [0, 4096] {
            try withUniqueName("raw0") { name in
                let descriptor = shm_open("/" + name, O_CREAT | O_EXCL | O_RDWR, 0)
                try #require(descriptor >= 0)
                #expect(ftruncate(descriptor, off_t(size)) == 0 && fchmod(descriptor, 0) == 0)
                close(descriptor)
                let segmentName = try SegmentName(name)
                let info = try #require(SegmentDirectory.info(segmentName))
                #expect(!info.isStale && !info.isManaged, "size \(size)")
                #expect(SegmentDirectory.removeStale(among: [segmentName]).isEmpty)
                #expect(segmentFileExists(name))
            }
        }
    }

    @Test("Looking at a stale last-close channel neither removes it nor writes to it")
    func lookingChangesNothing() throws {
        try withUniqueName("look") { name in
            let dead = try deadProcess()
            let size = 4096
            do {
                let forged = try SharedMemorySegment.create(named: name, size: size)
                let view = try forged.map()
                SegmentHeader(totalSize: UInt64(size), kind: RingLayout.segmentKind, creator: dead,
                              creatorUID: geteuid(), lifetime: .lastClose).write(to: view.unsafeBaseAddress)
                SegmentHeader.markReady(at: view.unsafeBaseAddress)
            }
            let before = try Data(contentsOf: URL(fileURLWithPath: "/dev/shm/" + name))
            let segmentName = try SegmentName(name)
            _ = try? ChannelStatus.read(segmentName)
            #expect(SegmentDirectory.info(segmentName)?.isStale == true)
            _ = SegmentDirectory.list()
            #expect(segmentFileExists(name), "looking never removes a last-close segment")
            #expect(try Data(contentsOf: URL(fileURLWithPath: "/dev/shm/" + name)) == before)
        }
    }
}
