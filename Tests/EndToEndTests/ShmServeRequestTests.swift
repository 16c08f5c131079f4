import Foundation
import Testing

/// `shm serve` and `shm request` in shell pipelines, as a user runs them.
@Suite("shm serve and shm request")
struct ShmServeRequestTests {
    /// Runs `printf INPUT | shm request NAME` in a shell and waits for it.
    static func request(_ name: String, printf input: String) throws -> (status: Int32, output: String, errors: String) {
        let shm = BuiltProducts.path("shm")
        let pipeline = try ChildProcess(absolute: "/bin/sh", ["-c", "printf '\(input)' | '\(shm)' request \(name) --timeout 20"])
        let status = try pipeline.waitForExit(timeout: 30)
        return (status, pipeline.output, pipeline.errorOutput)
    }

    /// Starts `shm serve NAME ARGUMENTS...` and waits until its service exists.
    static func serve(_ name: String, _ arguments: [String]) throws -> ChildProcess {
        let server = try ChildProcess("shm", ["serve", name] + arguments)
        let deadline = Date().addingTimeInterval(20)
        while !segmentFileExists(name) && server.isRunning && Date() < deadline { usleep(5_000) }
        return server
    }

    @Test("printf 'a\\nb\\n' | shm request NAME against shm serve NAME --echo prints each line back, in order")
    func echo() throws {
        try withUniqueName { name in
            let server = try Self.serve(name, ["--echo"])
            let run = try Self.request(name, printf: "a\\nb\\n")
            #expect(run.status == 0, "\(run.errors)")
            #expect(run.output == "a\nb\n")
            server.send(SIGTERM)
            #expect(try server.waitForExit() == 143)
        }
    }

    @Test("shm serve NAME -- tr a-z A-Z answers each request with the command's output")
    func command() throws {
        try withUniqueName { name in
            let server = try Self.serve(name, ["--", "tr", "a-z", "A-Z"])
            let run = try Self.request(name, printf: "a\\nhello world\\n\\nlast")
            #expect(run.status == 0, "\(run.errors)")
            #expect(run.output == "A\nHELLO WORLD\n\nLAST\n")
            server.send(SIGTERM)
            _ = try server.waitForExit()
        }
    }

    @Test("A failing command is an error reply, not a crash: request reports it and goes on; serve keeps serving")
    func failingCommand() throws {
        try withUniqueName { name in
            let server = try Self.serve(name, ["--", "sh", "-c", "read line; test \"$line\" = ok && echo fine || exit 3"])
            let run = try Self.request(name, printf: "ok\\nbad\\nok\\n")
            #expect(run.status == 1)
            #expect(run.output == "fine\nfine\n")
            #expect(run.errors.contains("line 2 failed: sh -c"), "\(run.errors)")
            #expect(run.errors.contains("exited with status 3"), "\(run.errors)")
            #expect(server.isRunning)
            let missing = try Self.serve(name + "x", ["--", "/nonexistent/command"])
            defer { _ = shm_unlink("/" + name + "x") }
            let again = try Self.request(name + "x", printf: "x\\n")
            #expect(again.status == 1)
            #expect(again.errors.contains("cannot run /nonexistent/command"), "\(again.errors)")
            #expect(missing.isRunning)
        }
    }

    @Test("serve refuses a command line without --echo or a command, and a second server on the same service")
    func badUse() throws {
        try withUniqueName { name in
            let neither = try ChildProcess.run("shm", ["serve", name])
            #expect(neither.status == 64)
            let server = try Self.serve(name, ["--echo"])
            let second = try ChildProcess.run("shm", ["serve", name, "--echo"])
            #expect(second.status == 1)
            #expect(second.errors.contains("already serving"), "\(second.errors)")
            server.send(SIGTERM)
            _ = try server.waitForExit()
        }
    }
}
