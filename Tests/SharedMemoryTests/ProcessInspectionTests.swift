import Foundation
import Glibc
@testable import SharedMemory
import Testing

/// Process identities and the users of shared-memory files, read from `/proc`.
@Suite("Process inspection: identities and segment users")
struct ProcessInspectionTests {
    // MARK: Identities

    @Test("This process is alive and is what of(pid:) reports for its pid")
    func currentIsAlive() throws {
        let me = ProcessIdentity.current
        #expect(me.pid == getpid())
        #expect(me.startTime > 0)
        #expect(me.isAlive)
        #expect(try #require(ProcessIdentity.of(pid: getpid())) == me)
    }

    @Test("A child that exited is dead as a zombie and after it is reaped")
    func reapedChildIsDead() throws {
        let child = try spawn("/bin/true")
        var reaped = false
        defer { if !reaped { kill(child, SIGKILL); _ = reap(child) } }

        // Not reaped yet, the child exists (running or a zombie): it has an identity.
        let identity = try #require(ProcessIdentity.of(pid: child))
        #expect(identity.pid == child)
        // Wait for the exit without reaping: the child is now a zombie.
        var info = siginfo_t()
        #expect(waitid(P_PID, id_t(child), &info, WEXITED | WNOWAIT) == 0)
        #expect(ProcessIdentity.of(pid: child) == identity)
        #expect(!identity.isAlive, "a zombie is not alive")

        reaped = true
        #expect(reap(child) == 0)
        #expect(!identity.isAlive)
        #expect(ProcessIdentity.of(pid: child) == nil)
    }

    @Test("The right pid with another start time is not alive: the pid was reused")
    func wrongStartTime() {
        let me = ProcessIdentity.current
        #expect(!ProcessIdentity(pid: me.pid, startTime: me.startTime + 1).isAlive)
        #expect(!ProcessIdentity(pid: me.pid, startTime: 0).isAlive)
    }

    @Test("Pids that no process has are not alive and have no identity")
    func noSuchProcess() {
        for pid: Int32 in [0x7fff_fff0, 0, -1, .max, .min] {
            #expect(!ProcessIdentity(pid: pid, startTime: 1).isAlive, "pid \(pid)")
            #expect(ProcessIdentity.of(pid: pid) == nil, "pid \(pid)")
        }
    }

    @Test("A thread id is no process id, though /proc answers for it")
    func threadIsNoProcess() throws {
        let tids = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").compactMap { Int32($0) }
        // Swift Testing runs tests on helper threads, so there are more than one.
        let tid = try #require(tids.first { $0 != getpid() })
        #expect(access("/proc/\(tid)/stat", F_OK) == 0)
        #expect(ProcessIdentity.of(pid: tid) == nil)
    }

    @Test("The stat line is read after the last ')' of the command name")
    func statParsing() throws {
        let rest = (4...52).map { $0 == 22 ? "987654321" : "\($0)" }.joined(separator: " ")
        for comm in ["(sh)", "(a b) c)", "() S 1 2 3)", "(x) Z 9)", "())", "(\n)"] {
            let line = Array("4242 \(comm) S \(rest)\n".utf8)
            let stat = try #require(ProcessStat.parse(line), "comm \(comm)")
            #expect(stat == ProcessStat(state: UInt8(ascii: "S"), startTime: 987_654_321), "comm \(comm)")
            #expect(!stat.hasExited)
        }
        let zombie = try #require(ProcessStat.parse(Array("1 (z) Z \(rest)".utf8)))
        #expect(zombie.hasExited)
        #expect(ProcessStat.parse(Array("1 (short) S 1 2 3\n".utf8)) == nil)
        #expect(ProcessStat.parse(Array("no parenthesis".utf8)) == nil)
        #expect(ProcessStat.parse(Array("1 (x) S \(rest.replacingOccurrences(of: "987654321", with: "9x"))".utf8)) == nil)
    }

    @Test("The pathname of a maps line is the sixth field, spaces and all")
    func mapsParsing() {
        func pathname(_ line: String) -> String? {
            Array(line.utf8).withUnsafeBufferPointer { line in
                ProcScan.mapsPathname(line).map { path in
                    String(decoding: ProcScan.droppingDeletedMark(path), as: UTF8.self)
                }
            }
        }
        #expect(pathname("7f00-7f01 rw-s 00000000 00:1a 123                        /dev/shm/a b (c)")
                == "/dev/shm/a b (c)")
        #expect(pathname("7f00-7f01 rw-s 00000000 00:1a 123   /dev/shm/x (deleted)") == "/dev/shm/x")
        #expect(pathname("7f00-7f01 rw-s 00000000 00:1a 123   /dev/shm/ two  spaces ") == "/dev/shm/ two  spaces ")
        #expect(pathname("7f00-7f01 rw-p 00000000 00:00 0                          [heap]") == "[heap]")
        #expect(pathname("7f00-7f01 rw-p 00000000 00:00 0 ") == nil)
        #expect(pathname("7f00-7f01 rw-p 00000000 00:00 0") == nil)
        #expect(pathname("") == nil)
        let escaped = Array("/dev/shm/a\\012b".utf8).withUnsafeBufferPointer { ProcScan.unescapingNewlines($0) }
        #expect(escaped == Array("/dev/shm/a\nb".utf8))
    }

    // MARK: Segment users

    @Test("An open shared-memory file is reported with this pid, and not after it is closed")
    func openDescriptor() throws {
        try withSegmentFile { name, path in
            let descriptor = shm_open("/" + name, O_RDWR | O_CREAT | O_EXCL, 0o600)
            try #require(descriptor >= 0, "shm_open: \(Errno(rawValue: errno))")
            var closed = false
            defer { if !closed { close(descriptor) } }

            #expect(SegmentUsers.processes(using: path) == [getpid()])
            #expect(SegmentUsers.processesByPath()[path] == [getpid()])
            #expect(SegmentUsers.processesByPath(under: "/dev/shm/")[path] == [getpid()])

            closed = true
            close(descriptor)
            #expect(SegmentUsers.processes(using: path) == [])
            #expect(SegmentUsers.processesByPath()[path] == nil)
        }
    }

    @Test("A mapping is reported after its descriptor is closed, also once the file is removed")
    func mapping() throws {
        // A name with spaces and parentheses, as maps shows it verbatim.
        try withSegmentFile(suffix: " (a) b") { name, path in
            let descriptor = shm_open("/" + name, O_RDWR | O_CREAT | O_EXCL, 0o600)
            try #require(descriptor >= 0, "shm_open: \(Errno(rawValue: errno))")
            let sized = ftruncate(descriptor, 4096)
            let address = mmap(nil, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0)
            close(descriptor)
            try #require(sized == 0)
            let mapped = try #require(address == MAP_FAILED ? nil : address)
            var unmapped = false
            defer { if !unmapped { munmap(mapped, 4096) } }
            mapped.storeBytes(of: 42, as: UInt8.self)

            #expect(SegmentUsers.processes(using: path) == [getpid()])
            #expect(SegmentUsers.processesByPath()[path] == [getpid()])

            // Removed but still mapped: maps adds " (deleted)"; the path still counts.
            #expect(shm_unlink("/" + name) == 0)
            #expect(SegmentUsers.processes(using: path) == [getpid()])
            #expect(SegmentUsers.processesByPath()[path] == [getpid()])

            unmapped = true
            munmap(mapped, 4096)
            #expect(SegmentUsers.processes(using: path) == [])
            #expect(SegmentUsers.processesByPath()[path] == nil)
        }
    }

    @Test("Another process that holds the file open is reported until it is killed")
    func childProcess() throws {
        try withSegmentFile { name, path in
            let descriptor = shm_open("/" + name, O_RDWR | O_CREAT | O_EXCL, 0o600)
            try #require(descriptor >= 0, "shm_open: \(Errno(rawValue: errno))")
            close(descriptor)

            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "exec 3<'\(path)'; exec sleep 30"]
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let child = process.processIdentifier
            var stopped = false
            defer {
                if !stopped {
                    kill(child, SIGKILL)
                    process.waitUntilExit()
                }
            }

            let deadline = ContinuousClock.now + .seconds(10)
            while SegmentUsers.processes(using: path) != [child] && ContinuousClock.now < deadline {
                usleep(10_000)
            }
            #expect(SegmentUsers.processes(using: path) == [child])
            #expect(SegmentUsers.processesByPath()[path] == [child])
            let identity = try #require(ProcessIdentity.of(pid: child))
            #expect(identity.isAlive)

            stopped = true
            kill(child, SIGKILL)
            process.waitUntilExit()
            #expect(!identity.isAlive)
            #expect(SegmentUsers.processes(using: path) == [])
            #expect(SegmentUsers.processesByPath()[path] == nil)
        }
    }

    @Test("Paths are matched with the directory resolved, and relative paths work")
    func pathSpelling() throws {
        try withSegmentFile { name, path in
            let descriptor = shm_open("/" + name, O_RDWR | O_CREAT | O_EXCL, 0o600)
            try #require(descriptor >= 0, "shm_open: \(Errno(rawValue: errno))")
            defer { close(descriptor) }
            #expect(SegmentUsers.processes(using: "/dev//shm/./" + name) == [getpid()])
            #expect(SegmentUsers.processes(using: "/dev/shm/../shm/" + name) == [getpid()])
            #expect(SegmentUsers.processesByPath(under: "/dev//shm//")["/dev//shm/" + name] == [getpid()])
            #expect(SegmentUsers.processesByPath(under: "/dev")[path] == [getpid()])
            #expect(SegmentUsers.processes(using: path + "-other") == [])
            #expect(SegmentUsers.processes(using: "/dev/shm") == [])
        }
    }

    // MARK: Helpers

    /// Runs `body` with a unique segment name and its `/dev/shm` path, and
    /// removes the file afterwards, whatever `body` does.
    private func withSegmentFile(suffix: String = "", _ body: (String, String) throws -> Void) rethrows {
        let name = "shmtest-proc-\(getpid())-\(UInt32.random(in: 0...UInt32.max))\(suffix)"
        defer { _ = shm_unlink("/" + name) }
        try body(name, "/dev/shm/" + name)
    }

    /// Starts `program` without arguments and returns its pid; the caller reaps it.
    private func spawn(_ program: String) throws -> pid_t {
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(program), nil]
        defer { free(argv[0]) }
        let environment: [UnsafeMutablePointer<CChar>?] = [nil]
        let result = posix_spawn(&pid, program, nil, nil, argv, environment)
        try #require(result == 0, "posix_spawn: \(Errno(rawValue: result))")
        return pid
    }

    /// Waits for `pid` and reaps it; returns `waitpid`'s result as 0 or -1.
    private func reap(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, 0)
            if result == pid { return 0 }
            if result < 0 && errno != EINTR { return -1 }
        }
    }
}
