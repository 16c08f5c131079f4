import Foundation
import Glibc
@testable import SharedMemory
import Testing

@Suite("Managed segments: header, readiness, lifetime, leftovers")
struct ManagedSegmentTests {
    @Test("The header says who made the segment; the payload follows it", arguments: SharedMemorySegment.Backend.allCases)
    func header(backend: SharedMemorySegment.Backend) throws {
        try withUniqueName("m") { name in
            let segmentName = try SegmentName(name)
            let created = try ManagedSegment.create(segmentName, payloadSize: 1000, kind: 7, backend: backend)
            let createdIt = created.wasCreated
            #expect(createdIt)
            #expect(created.header.creator == ProcessIdentity.current)
            #expect(created.header.creatorUID == geteuid())
            #expect(created.header.kind == 7 && created.header.lifetime == .posix)
            #expect(try created.segment.size() == 1000 + SegmentHeader.size)
            try created.map(offset: 10, length: 5).write(Array("hello".utf8))

            let opened = try ManagedSegment.open(segmentName, access: .readOnly, backend: backend)
            let openedCreated = opened.wasCreated
            #expect(!openedCreated)
            #expect(opened.header == created.header)
            #expect(opened.payloadSize == 1000)
            #expect(try opened.map(offset: 10, length: 5).read(count: 5) == Array("hello".utf8))
            #expect(try opened.map().count == 1000)
            #expect(expectedError { () throws(SharedMemoryError) in try opened.map(offset: 990, length: 11) }?.errno == .invalidArgument)

            // The file's first bytes are the documented layout.
            let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: "/dev/shm/" + name)).prefix(72))
            #expect(Array(bytes[0..<8]) == Array("SWIFTSHM".utf8))
            #expect(bytes[8] == 1 && bytes[12] == 128 && bytes[24] == 1 && bytes[28] == 7)
            #expect(UInt64(bytes[16]) | UInt64(bytes[17]) << 8 == 1128)

            let again = try ManagedSegment.create(segmentName, payloadSize: 5, backend: backend)
            #expect(!again.wasCreated && again.payloadSize == 1000)
            let exclusive = expectedError { () throws(SharedMemoryError) in
                try ManagedSegment.create(segmentName, payloadSize: 5, exclusive: true, backend: backend)
            }
            #expect(exclusive?.errno == .fileExists)
        }
    }

    @Test("Bad payload sizes and modes are refused before anything is created", arguments: SharedMemorySegment.Backend.allCases)
    func badSizes(backend: SharedMemorySegment.Backend) throws {
        try withUniqueName("msize") { name in
            let segmentName = try SegmentName(name)
            for (size, errno) in [(0, Errno.invalidArgument), (-5, .invalidArgument), (Int.max, .overflow), (Int.max - 200, .noSpace)] {
                let error = expectedError { () throws(SharedMemoryError) in
                    try ManagedSegment.create(segmentName, payloadSize: size, backend: backend)
                }
                #expect(error?.errno == errno, "payload size \(size)")
                #expect(!segmentFileExists(name), "nothing is left after a failed create")
            }
            let mode = expectedError { () throws(SharedMemoryError) in
                try ManagedSegment.create(segmentName, payloadSize: 10, mode: 0o4777, backend: backend)
            }
            #expect(mode?.errno == .invalidArgument)
        }
    }

    @Test("The default mode is 0600 whatever the umask", arguments: SharedMemorySegment.Backend.allCases)
    func defaultMode(backend: SharedMemorySegment.Backend) throws {
        try withUniqueName("mode") { name in
            let old = umask(0)
            defer { umask(old) }
            _ = try ManagedSegment.create(SegmentName(name), payloadSize: 10, backend: backend)
            var info = stat()
            stat("/dev/shm/" + name, &info)
            #expect(info.st_mode & 0o777 == 0o600)
        }
    }

    /// Writes `bytes` at `offset` of the file behind `name`, as a foreign or broken writer would.
    func poke(_ name: String, _ bytes: [UInt8], at offset: Int) throws {
        let segment = try SharedMemorySegment.open(named: name, access: .readWrite)
        try segment.map(offset: offset, length: bytes.count).write(bytes)
    }

    @Test("Foreign, corrupt, unfinished and too small segments give clear errors", arguments: SharedMemorySegment.Backend.allCases)
    func badSegments(backend: SharedMemorySegment.Backend) throws {
        func openError(_ name: String, timeout: Duration = .milliseconds(200)) -> SharedMemoryError? {
            expectedError { () throws(SharedMemoryError) in
                try ManagedSegment.open(SegmentName(name), readyTimeout: timeout, backend: backend)
            }
        }
        try withUniqueName("foreign") { name in
            let raw = try SharedMemorySegment.create(named: name, size: 4096, backend: backend)
            try raw.map().writeString("Message from the first process.")
            let error = openError(name)
            #expect(error?.errno == .protocolError)
            #expect(error?.reason?.contains("is not a swift-shm managed segment") == true)
            #expect(error?.sampleReport == "OpenFileMapping failed w/err 0x00000047")
        }
        try withUniqueName("small") { name in
            _ = try SharedMemorySegment.create(named: name, size: 10, backend: backend)
            #expect(openError(name)?.errno == .protocolError)
            #expect(openError(name)?.reason?.contains("too few") == true)
        }
        try withUniqueName("zero") { name in
            _ = try SharedMemorySegment.create(named: name, size: 4096, backend: backend)
            let error = openError(name)
            #expect(error?.errno == .timedOut)
            #expect(error?.reason?.contains("still initialising") == true)
        }
        withUniqueName("empty") { name in
            let fd = shm_open("/" + name, O_CREAT | O_RDWR, 0o600)
            close(fd)
            #expect(openError(name)?.errno == .timedOut)
        }
        try withUniqueName("version") { name in
            _ = try ManagedSegment.create(SegmentName(name), payloadSize: 64, backend: backend)
            try poke(name, [99, 0, 0, 0], at: 8)
            #expect(openError(name)?.errno == .protocolNotSupported)
            #expect(openError(name)?.reason?.contains("layout version 99") == true)
        }
        try withUniqueName("size") { name in
            _ = try ManagedSegment.create(SegmentName(name), payloadSize: 64, backend: backend)
            #expect(truncate("/dev/shm/" + name, 4096) == 0)
            let error = openError(name)
            #expect(error?.errno == .badMessage)
            #expect(error?.reason?.contains("says 192 bytes but the segment has 4096") == true)
        }
        try withUniqueName("state") { name in
            _ = try ManagedSegment.create(SegmentName(name), payloadSize: 64, backend: backend)
            try poke(name, [7, 0, 0, 0], at: 24)
            #expect(openError(name)?.errno == .badMessage)
        }
    }

    @Test("An opener waits for a segment that is being initialised", arguments: SharedMemorySegment.Backend.allCases)
    func waitsForReady(backend: SharedMemorySegment.Backend) throws {
        try withUniqueName("ready") { name in
            let raw = try SharedMemorySegment.create(named: name, size: 256, backend: backend)
            let view = try raw.map()
            let address = UInt(bitPattern: view.unsafeBaseAddress)
            SegmentHeader(totalSize: 256, kind: 0, creator: .current, creatorUID: geteuid(), lifetime: .posix)
                .write(to: view.unsafeBaseAddress)
            let publisher = Thread {
                usleep(150_000)
                SegmentHeader.markReady(at: UnsafeMutableRawPointer(bitPattern: address)!)
            }
            publisher.start()
            let start = ContinuousClock.now
            let opened = try ManagedSegment.open(SegmentName(name), readyTimeout: .seconds(10), backend: backend)
            #expect(ContinuousClock.now - start >= .milliseconds(100))
            #expect(opened.payloadSize == 128)
        }
    }

    @Test("Last-close lifetime: the last holder removes the name; posix keeps it", arguments: SharedMemorySegment.Backend.allCases)
    func lastClose(backend: SharedMemorySegment.Backend) throws {
        try withUniqueName("life") { name in
            let segmentName = try SegmentName(name)
            let first = try ManagedSegment.create(segmentName, payloadSize: 64, lifetime: .lastClose, backend: backend)
            let second = try ManagedSegment.open(segmentName, backend: backend)
            #expect(second.header.lifetime == .lastClose)
            try first.close()
            #expect(segmentFileExists(name), "another holder remains")
            do { _ = consume second }
            #expect(!segmentFileExists(name), "the last holder removed the name")

            let posix = try ManagedSegment.create(segmentName, payloadSize: 64, backend: backend)
            try posix.close()
            #expect(segmentFileExists(name))
        }
    }

    @Test("Listing tells managed from raw, who uses them, and which are stale")
    func listing() throws {
        try withUniqueName("list-a") { live in
            try withUniqueName("list-b") { stale in
                try withUniqueName("list-c") { raw in
                    let held = try ManagedSegment.create(SegmentName(live), payloadSize: 64)
                    _ = try SharedMemorySegment.create(named: raw, size: 100)
                    // A segment whose creator is dead: made with the identity of a reaped child.
                    let dead = try deadProcess()
                    do {
                        let forged = try SharedMemorySegment.create(named: stale, size: 256)
                        let view = try forged.map()
                        SegmentHeader(totalSize: 256, kind: 0, creator: dead, creatorUID: geteuid(), lifetime: .posix)
                            .write(to: view.unsafeBaseAddress)
                        SegmentHeader.markReady(at: view.unsafeBaseAddress)
                    }
                    let all = SegmentDirectory.list()
                    let liveInfo = try #require(all.first { $0.name == "/" + live })
                    #expect(liveInfo.isManaged && liveInfo.isLocked && liveInfo.creatorAlive == true && !liveInfo.isStale)
                    #expect(liveInfo.size == 192 && liveInfo.mode == 0o600 && liveInfo.uid == geteuid())
                    let staleInfo = try #require(all.first { $0.name == "/" + stale })
                    #expect(staleInfo.isManaged && !staleInfo.inUse && staleInfo.creatorAlive == false && staleInfo.isStale)
                    let rawInfo = try #require(all.first { $0.name == "/" + raw })
                    #expect(!rawInfo.isManaged && !rawInfo.isStale && rawInfo.header == nil)

                    // Only our own names: a test never sweeps the machine's other segments.
                    let ours = try [live, stale, raw].map { (name) throws(SharedMemoryError) in try SegmentName(name) }
                    #expect(SegmentDirectory.removeStale(among: ours, dryRun: true).map(\.name) == ["/" + stale])
                    #expect(segmentFileExists(stale))
                    // While another process has it open it is in use, and not removed.
                    let holder = Process()
                    holder.executableURL = URL(fileURLWithPath: "/bin/sh")
                    holder.arguments = ["-c", "exec 3</dev/shm/\(stale); echo ready; exec sleep 30"]
                    let ready = Pipe()
                    _ = fcntl(ready.fileHandleForReading.fileDescriptor, F_SETFD, FD_CLOEXEC)
                    _ = fcntl(ready.fileHandleForWriting.fileDescriptor, F_SETFD, FD_CLOEXEC)
                    holder.standardOutput = ready
                    try holder.run()
                    defer { kill(holder.processIdentifier, SIGKILL); holder.waitUntilExit() }
                    _ = ready.fileHandleForReading.availableData
                    #expect(SegmentDirectory.list().first { $0.name == "/" + stale }?.users == [holder.processIdentifier])
                    #expect(SegmentDirectory.removeStale(among: ours).isEmpty)
                    kill(holder.processIdentifier, SIGKILL)
                    holder.waitUntilExit()
                    #expect(SegmentDirectory.removeStale(among: ours).map(\.name) == ["/" + stale])
                    #expect(!segmentFileExists(stale))
                    #expect(segmentFileExists(live) && segmentFileExists(raw))
                    _ = held
                }
            }
        }
    }

    @Test("A segment shrunk by another process gives an error, not SIGBUS", arguments: SharedMemorySegment.Backend.allCases)
    func shrunk(backend: SharedMemorySegment.Backend) throws {
        try withUniqueName("shrink") { name in
            let segment = try SharedMemorySegment.create(named: name, size: 3 * 4096, backend: backend)
            let view = try segment.map()
            try view.write([1, 2, 3], at: 8190)
            #expect(truncate("/dev/shm/" + name, 100) == 0)
            let read = expectedError { () throws(SharedMemoryError) in try view.read(at: 8190, count: 3) }
            #expect(read?.errno == .badAddress)
            #expect(read?.reason?.contains("shrunk to 100 bytes") == true)
            #expect(expectedError { () throws(SharedMemoryError) in try view.write([9], at: 5000) }?.errno == .badAddress)
            #expect(expectedError { () throws(SharedMemoryError) in try view.readString() }?.errno == .badAddress)
            #expect(try view.read(at: 0, count: 100).count == 100, "what is left stays readable")
        }
    }
}

/// The identity of a process that has exited and been reaped.
func deadProcess() throws -> ProcessIdentity {
    // The child sleeps until it is killed, so it is surely alive while we read its identity.
    let child = Process()
    child.executableURL = URL(fileURLWithPath: "/bin/sleep")
    child.arguments = ["60"]
    try child.run()
    let identity = ProcessIdentity.of(pid: child.processIdentifier)
    kill(child.processIdentifier, SIGKILL)
    child.waitUntilExit()
    return try #require(identity)
}
