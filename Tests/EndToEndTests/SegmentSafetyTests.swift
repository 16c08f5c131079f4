import Foundation
import Testing

/// Conditions some tests need, with the reason they are skipped otherwise.
enum Environment {
    static let isRoot = getuid() == 0

    /// Whether `command` runs and exits 0.
    static func succeeds(_ command: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    /// Root, and `unshare -m` can give a process its own mounts.
    static let canMountPrivateTmpfs = isRoot && succeeds(["unshare", "-m", "true"])

    /// Root, and user `nobody` can run the built client.
    static let canRunAsNobody = isRoot
        && succeeds(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", BuiltProducts.path("shm-client"), "--help"])
}

/// Runs `command` through `/usr/bin/env`, to its end, with no input.
func runCommand(_ command: [String], timeout: Double = 20) throws -> (status: Int32, output: String, errors: String) {
    let child = try ChildProcess(absolute: "/usr/bin/env", command)
    child.closeInput()
    let status = try child.waitForExit(timeout: timeout)
    return (status, child.output, child.errorOutput)
}

@Suite("Segments people can trust, through the programs")
struct SegmentSafetyTests {
    static let prompt = SampleProgramsTests.prompt

    @Test("A full /dev/shm fails at create with ENOSPC, saying what was needed and what is free",
          .enabled(if: Environment.canMountPrivateTmpfs, "needs root and unshare -m for a private 1 MiB tmpfs on /dev/shm"))
    func fullDevShm() throws {
        for managed in [false, true] {
            let script = "mount -t tmpfs -o size=1m tmpfs /dev/shm && exec \"$0\" \"$@\""
            let result = try runCommand(["unshare", "-m", "sh", "-c", script, BuiltProducts.path("shm-server"),
                                         "--name", "full", "--size", "4M"] + (managed ? ["--managed"] : []))
            #expect(result.status == 1)
            #expect(result.output == "CreateFileMapping failed w/err 0x0000001c\n")
            #expect(result.errors.contains("posix_fallocate: ENOSPC (No space left on device)"), "\(result.errors)")
            #expect(result.errors.contains("the segment needs \(4 * 1024 * 1024 + (managed ? 128 : 0)) bytes (4.0 MiB) but only"))
            #expect(result.errors.contains("is free in /dev/shm"))
        }
    }

    @Test("Another user's segment is refused unless allowed; its mode is applied whatever the umask",
          .enabled(if: Environment.canRunAsNobody, "needs root, setpriv and a build directory that user nobody can reach"))
    func otherUser() throws {
        try withUniqueName { name in
            let server = try ChildProcess("shm-server", ["--name", name, "--mode", "644"])
            try server.waitForOutput(containing: Self.prompt)
            let attributes = try FileManager.default.attributesOfItem(atPath: "/dev/shm/" + name)
            #expect((attributes[.posixPermissions] as? Int) == 0o644)

            let asNobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", BuiltProducts.path("shm-client"), "--name", name]
            let refused = try runCommand(asNobody)
            #expect(refused.status == 1)
            #expect(refused.output == "The file mapping (\(name)) is opened\n" || refused.output == "OpenFileMapping failed w/err 0x00000001\n")
            #expect(refused.errors.contains("EPERM (Operation not permitted): /\(name) belongs to root (uid 0), not to nobody"), "\(refused.errors)")

            let allowed = try runCommand(asNobody + ["--allow-other-owner"])
            #expect(allowed.status == 0)
            #expect(allowed.output.contains("\"Message from the first process.\""))
            server.pressEnter()
            #expect(try server.waitForExit() == 0)

            // The default mode, 0600, keeps other users out entirely.
            let private_ = try ChildProcess("shm-server", ["--name", name])
            try private_.waitForOutput(containing: Self.prompt)
            let denied = try runCommand(asNobody + ["--allow-other-owner"])
            #expect(denied.status == 1)
            #expect(denied.output == "OpenFileMapping failed w/err 0x0000000d\n")
            #expect(denied.errors.contains("EACCES (Permission denied)"))
            private_.pressEnter()
            _ = try private_.waitForExit()
        }
    }

    @Test("Last-close lifetime: the name goes with the last holder, even when the others crash")
    func lastClose() throws {
        try withUniqueName { name in
            // The server crashes; the client that still holds the segment removes it on quitting.
            let server = try ChildProcess("shm-server", ["--name", name, "--managed", "--lifetime", "last-close"])
            try server.waitForOutput(containing: Self.prompt)
            let client = try ChildProcess("shm-client", ["--name", name, "--managed"])
            try client.waitForOutput(containing: Self.prompt)
            #expect(client.output.contains("\"Message from the first process.\""))
            server.send(SIGKILL)
            _ = try server.waitForExit()
            #expect(segmentFileExists(name), "the client still holds it")
            client.pressEnter()
            #expect(try client.waitForExit() == 0)
            #expect(!segmentFileExists(name), "the last holder removed it")

            // The client crashes; the server, the last holder, removes it.
            let second = try ChildProcess("shm-server", ["--name", name, "--managed", "--lifetime", "last-close"])
            try second.waitForOutput(containing: Self.prompt)
            let crashing = try ChildProcess("shm-client", ["--name", name, "--managed"])
            try crashing.waitForOutput(containing: Self.prompt)
            crashing.send(SIGKILL)
            _ = try crashing.waitForExit()
            second.pressEnter()
            #expect(try second.waitForExit() == 0)
            #expect(!segmentFileExists(name))
        }
    }

    @Test("A managed client refuses a raw segment, and a bad --lifetime is a usage error")
    func managedChecks() throws {
        try withUniqueName { name in
            let server = try ChildProcess("shm-server", ["--name", name])
            try server.waitForOutput(containing: Self.prompt)
            let client = try ChildProcess.run("shm-client", ["--name", name, "--managed"])
            #expect(client.status == 1)
            #expect(client.output == "OpenFileMapping failed w/err 0x00000047\n")
            #expect(client.errors.contains("EPROTO (Protocol error): /\(name) is not a swift-shm managed segment"))
            server.pressEnter()
            _ = try server.waitForExit()
        }
        let usage = try ChildProcess.run("shm-server", ["--lifetime", "last-close"])
        #expect(usage.status == 64)
        #expect(usage.errors.contains("--lifetime last-close needs --managed"))
        let badMode = try ChildProcess.run("shm-server", ["--mode", "999"])
        #expect(badMode.status == 64)
    }

    @Test("A managed server and client exchange the message; posix lifetime removes the name at the server's exit")
    func managedSample() throws {
        try withUniqueName { name in
            let server = try ChildProcess("shm-server", ["--name", name, "--managed", "--encoding", "utf16le"])
            try server.waitForOutput(containing: Self.prompt)
            let attributes = try FileManager.default.attributesOfItem(atPath: "/dev/shm/" + name)
            #expect(attributes[.size] as? Int == 65536 + 128)
            let client = try ChildProcess.run("shm-client", ["--name", name, "--managed", "--encoding", "utf16le"])
            #expect(client.output == SampleProgramsTests.clientLines(name, "Message from the first process."))
            server.send(SIGINT)
            #expect(try server.waitForExit() == 0)
            #expect(!segmentFileExists(name))
        }
    }
}
