import Foundation
import Testing

/// `shm-server` and `shm-client` as real processes, as a user runs them.
@Suite("shm-server and shm-client")
struct SampleProgramsTests {
    static let prompt = "Press ENTER to clean up resources and quit"

    static func serverLines(_ name: String, _ message: String, created: Bool = true) -> String {
        [
            created ? "The file mapping (\(name)) is created" : "The file mapping (\(name)) already exists and is opened",
            "The file view is mapped",
            "This message is written to the view:",
            "\"\(message)\"",
            prompt,
        ].joined(separator: "\n")
    }

    static func clientLines(_ name: String, _ message: String) -> String {
        [
            "The file mapping (\(name)) is opened",
            "The file view is mapped",
            "Read from the file mapping:",
            "\"\(message)\"",
            prompt,
        ].joined(separator: "\n")
    }

    @Test("The sample: the client prints what the server wrote, then the server removes the name")
    func sample() throws {
        try withUniqueName { unique in
            let name = "Local\\" + unique
            let server = try ChildProcess("shm-server", ["--name", name])
            try server.waitForOutput(containing: Self.prompt)
            #expect(server.output == Self.serverLines(name, "Message from the first process."))
            #expect(segmentFileExists(unique))
            let attributes = try FileManager.default.attributesOfItem(atPath: "/dev/shm/" + unique)
            #expect(attributes[.size] as? Int == 65536)

            let client = try ChildProcess.run("shm-client", ["--name", name])
            #expect(client.status == 0)
            #expect(client.output == Self.clientLines(name, "Message from the first process."))

            server.pressEnter()
            #expect(try server.waitForExit() == 0)
            #expect(!segmentFileExists(unique), "the server removes the name when it quits")
        }
    }

    static let combinations: [(String, String, String)] = ["utf8", "utf16le", "utf32le"].flatMap { encoding in
        [("cshim", "cshim"), ("cshim", "swift"), ("swift", "cshim"), ("swift", "swift")].map { (encoding, $0.0, $0.1) }
    }

    @Test("Every encoding, every pair of backends", arguments: combinations)
    func encodingsAndBackends(encoding: String, serverBackend: String, clientBackend: String) throws {
        try withUniqueName { name in
            let message = "Grüße from \(serverBackend) in \(encoding) 🌍"
            let server = try ChildProcess("shm-server", ["--name", name, "--message", message,
                                                         "--encoding", encoding, "--backend", serverBackend])
            try server.waitForOutput(containing: Self.prompt)
            let client = try ChildProcess.run("shm-client", ["--name", name, "--encoding", encoding, "--backend", clientBackend])
            #expect(client.status == 0)
            #expect(client.output == Self.clientLines(name, message))
            server.closeInput()
            #expect(try server.waitForExit() == 0)
            #expect(!segmentFileExists(name))
        }
    }

    @Test("--encoding utf16le writes the bytes the Windows sample writes")
    func windowsBytes() throws {
        try withUniqueName { name in
            let server = try ChildProcess("shm-server", ["--name", name, "--encoding", "utf16le"])
            try server.waitForOutput(containing: Self.prompt)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: "/dev/shm/" + name)).prefix(70)
            var expected = Data("Message from the first process.".utf16.flatMap { [UInt8($0 & 0xff), UInt8($0 >> 8)] })
            expected.append(contentsOf: [0, 0])
            #expect(bytes.prefix(64) == expected)
            #expect(bytes.dropFirst(64).allSatisfy { $0 == 0 })
            server.send(SIGTERM)
            #expect(try server.waitForExit() == 0)
        }
    }

    @Test("The server cleans up on ENTER, end of input, SIGINT and SIGTERM",
          arguments: ["enter", "eof", "SIGINT", "SIGTERM"])
    func stopping(how: String) throws {
        try withUniqueName { name in
            let server = try ChildProcess("shm-server", ["--name", name])
            try server.waitForOutput(containing: Self.prompt)
            switch how {
            case "enter": server.pressEnter()
            case "eof": server.closeInput()
            case "SIGINT": server.send(SIGINT)
            default: server.send(SIGTERM)
            }
            #expect(try server.waitForExit() == 0)
            #expect(!segmentFileExists(name))
        }
    }

    @Test("No server: the client reports the sample's error, a hint, and exits 1")
    func noServer() throws {
        try withUniqueName { name in
            for backend in ["cshim", "swift"] {
                let client = try ChildProcess.run("shm-client", ["--name", name, "--backend", backend])
                #expect(client.status == 1)
                #expect(client.output == "OpenFileMapping failed w/err 0x00000002\n")
                #expect(client.errors == "shm_open: ENOENT (No such file or directory): no segment named /\(name) exists; is shm-server running?\n")
            }
        }
    }

    @Test("A second server opens the existing mapping; with --exclusive it fails")
    func secondServer() throws {
        try withUniqueName { name in
            let first = try ChildProcess("shm-server", ["--name", name, "--message", "first"])
            try first.waitForOutput(containing: Self.prompt)

            let exclusive = try ChildProcess.run("shm-server", ["--name", name, "--exclusive"])
            #expect(exclusive.status == 1)
            #expect(exclusive.output == "CreateFileMapping failed w/err 0x00000011\n")
            #expect(exclusive.errors.hasPrefix("shm_open(O_CREAT|O_EXCL): EEXIST (File exists): a segment named /\(name) already exists"))

            let second = try ChildProcess("shm-server", ["--name", name, "--message", "second"])
            try second.waitForOutput(containing: Self.prompt)
            #expect(second.output == Self.serverLines(name, "second", created: false))
            second.pressEnter()
            #expect(try second.waitForExit() == 0)
            #expect(segmentFileExists(name), "only the server that created the name removes it")

            let client = try ChildProcess.run("shm-client", ["--name", name])
            #expect(client.output == Self.clientLines(name, "second"))

            first.pressEnter()
            #expect(try first.waitForExit() == 0)
            #expect(!segmentFileExists(name))
        }
    }

    @Test("The client never reads past its view")
    func unterminatedMessage() throws {
        try withUniqueName { name in
            let server = try ChildProcess("shm-server", ["--name", name, "--message", "0123456789abcdef"])
            try server.waitForOutput(containing: Self.prompt)
            let client = try ChildProcess.run("shm-client", ["--name", name, "--view-size", "10"])
            #expect(client.status == 0)
            #expect(client.output == Self.clientLines(name, "0123456789"))
            let shifted = try ChildProcess.run("shm-client", ["--name", name, "--view-offset", "3", "--view-size", "5"])
            #expect(shifted.output == Self.clientLines(name, "34567"))
            server.closeInput()
            _ = try server.waitForExit()
        }
    }

    @Test("Bad input: a clear error and exit 1, and nothing left behind", arguments: [
        (["shm-server", "--name", "a/b"], "CreateFileMapping failed w/err 0x00000016", "invalid segment name \"a/b\""),
        (["shm-client", "--name", ""], "OpenFileMapping failed w/err 0x00000016", "the name is empty"),
        (["shm-server", "--name", String(repeating: "n", count: 256)], "CreateFileMapping failed w/err 0x00000024", "at most 255"),
        (["shm-server", "--size", "0"], "CreateFileMapping failed w/err 0x00000016", "greater than 0"),
        (["shm-server", "--size", "100"], "MapViewOfFile failed w/err 0x00000016", "reaches past the end"),
        (["shm-server", "--view-offset", "65535", "--view-size", "2"], "MapViewOfFile failed w/err 0x00000016", "reaches past the end"),
        (["shm-server", "--view-offset=-1"], "MapViewOfFile failed w/err 0x00000016", "negative"),
        (["shm-server", "--view-size", "8"], "memcpy_s failed w/err 0x00000022", "do not fit in a view of 8 bytes"),
        (["shm-server", "--view-size", "62", "--encoding", "utf16le"], "memcpy_s failed w/err 0x00000022", "need 64 bytes"),
    ])
    func badInput(arguments: [String], report: String, words: String) throws {
        try withUniqueName { name in
            var arguments = arguments
            if !arguments.contains("--name") { arguments += ["--name", name] }
            let result = try ChildProcess.run(arguments[0], Array(arguments.dropFirst()))
            #expect(result.status == 1)
            #expect(result.output.split(separator: "\n").last.map(String.init) == report)
            #expect(result.errors.contains(words), "\(result.errors)")
            #expect(!segmentFileExists(name))
        }
    }

    @Test("A view beyond the end of the server's mapping fails in the client")
    func clientViewBeyondEnd() throws {
        try withUniqueName { name in
            let server = try ChildProcess("shm-server", ["--name", name, "--size", "4096"])
            try server.waitForOutput(containing: Self.prompt)
            let client = try ChildProcess.run("shm-client", ["--name", name, "--view-offset", "4000", "--view-size", "1024"])
            #expect(client.status == 1)
            #expect(client.output == "The file mapping (\(name)) is opened\nMapViewOfFile failed w/err 0x00000016\n")
            #expect(client.errors.contains("a view of 1024 bytes at offset 4000 reaches past the end of the segment (4096 bytes)"))
            server.closeInput()
            _ = try server.waitForExit()
        }
    }

    @Test("A signal ends a program at once while it waits for a segment that looks half created",
          arguments: [("shm-client", SIGINT), ("shm-server", SIGTERM)])
    func signalWhileOpening(program: String, signal: Int32) throws {
        try withUniqueName { name in
            // Mode 0 and empty: what a creator leaves while it initialises; the open waits up to 5 s for it.
            let descriptor = open("/dev/shm/" + name, O_CREAT | O_EXCL | O_WRONLY, 0)
            #expect(descriptor >= 0)
            close(descriptor)
            let child = try ChildProcess(program, ["--name", name, "--managed"])
            usleep(300_000)
            #expect(child.isRunning, "still waiting for the segment: \(child.errorOutput)")
            let start = Date()
            child.send(signal)
            #expect(try child.waitForExit(timeout: 10) == 128 + signal)
            #expect(Date().timeIntervalSince(start) < 1, "the signal ends the wait at once")
            #expect(segmentFileExists(name), "a segment the program did not create is left alone")
        }
    }

    @Test("Unparseable options are usage errors")
    func usage() throws {
        let result = try ChildProcess.run("shm-server", ["--size", "lots"])
        #expect(result.status == 64)
        #expect(result.errors.contains("--size"))
        let help = try ChildProcess.run("shm-client", ["--help"])
        #expect(help.status == 0)
        #expect(help.output.contains("--backend"))
    }
}
