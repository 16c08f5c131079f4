import Foundation
import SharedMemory
import Testing

/// The `shm` tool as a user runs it: real processes, real segments.
@Suite("shm, the command-line tool")
struct ShmToolTests {
    typealias Run = (status: Int32, output: String, errors: String)

    /// Runs `shm` to its end with standard input closed.
    static func shm(_ arguments: String..., timeout: Double = 20) throws -> Run {
        try ChildProcess.run("shm", arguments, timeout: timeout)
    }

    /// Starts `shm-server --managed` and waits until its segment is ready.
    static func managedServer(_ name: String) throws -> ChildProcess {
        let server = try ChildProcess("shm-server", ["--managed", "--name", name])
        try server.waitForOutput(containing: SampleProgramsTests.prompt)
        return server
    }

    /// `shm list --json`, parsed.
    static func listing() throws -> [[String: Any]] {
        let list = try shm("list", "--json")
        try #require(list.status == 0, "\(list.errors)")
        let parsed = try JSONSerialization.jsonObject(with: Data(list.output.utf8))
        return try #require(parsed as? [[String: Any]])
    }

    /// `shm inspect NAME --json`, parsed.
    static func inspection(_ name: String) throws -> [String: Any] {
        let inspect = try shm("inspect", name, "--json")
        try #require(inspect.status == 0, "\(inspect.errors)")
        return try #require(try JSONSerialization.jsonObject(with: Data(inspect.output.utf8)) as? [String: Any])
    }

    /// A file in the temporary directory, removed after `body`.
    static func withTemporaryFile<R>(_ contents: String, _ body: (String) throws -> R) throws -> R {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("shm-tool-\(UUID().uuidString)").path
        try contents.write(toFile: path, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try body(path)
    }

    @Test("create, write, read and dump: the bytes go round, dump matches xxd")
    func roundTrip() throws {
        try withUniqueName { name in
            // Every form of the name reaches the same object.
            let create = try Self.shm("create", "Local\\" + name, "--size", "64")
            #expect(create.status == 0, "\(create.errors)")
            #expect(create.output == "created /\(name): 64 bytes, mode 0600\n")
            #expect(segmentFileExists(name))

            let write = try Self.shm("write", "/" + name, "--offset", "2", "--text", "Hello, shared memory!")
            #expect(write.status == 0, "\(write.errors)")
            #expect(write.output == "wrote 21 bytes to /\(name) at offset 2\n")

            let read = try Self.shm("read", name, "--offset", "2", "--length", "21")
            #expect(read.status == 0)
            #expect(read.output == "Hello, shared memory!")
            let whole = try Self.shm("read", name)
            #expect(whole.output == "\0\0Hello, shared memory!" + String(repeating: "\0", count: 41))

            let dump = try Self.shm("dump", name)
            #expect(dump.status == 0, "\(dump.errors)")
            #expect(dump.output == """
                00000000: 0000 4865 6c6c 6f2c 2073 6861 7265 6420  ..Hello, shared 
                00000010: 6d65 6d6f 7279 2100 0000 0000 0000 0000  memory!.........
                00000020: 0000 0000 0000 0000 0000 0000 0000 0000  ................
                00000030: 0000 0000 0000 0000 0000 0000 0000 0000  ................

                """)
            let part = try Self.shm("dump", name, "--offset", "0x10", "--length", "7")
            #expect(part.output == "00000010: 6d65 6d6f 7279 21                        memory!\n")

            // A file's bytes, written at the end exactly.
            try Self.withTemporaryFile("tail") { path in
                let fromFile = try Self.shm("write", name, "--offset", "60", "--file", path)
                #expect(fromFile.status == 0, "\(fromFile.errors)")
                #expect(try Self.shm("read", name, "--offset", "58").output == "\0\0tail")
            }

            // Not exclusive: the existing segment is opened and keeps its bytes and size.
            let again = try Self.shm("create", name, "--size", "128")
            #expect(again.status == 0)
            #expect(again.errors.contains("keeps its size of 64 bytes"))
            #expect(try Self.shm("read", name, "--offset", "2", "--length", "5").output == "Hello")

            let remove = try Self.shm("rm", name)
            #expect(remove.status == 0)
            #expect(!segmentFileExists(name))
        }
    }

    @Test("list --json: a raw segment, and a managed one with its live creator and users")
    func listJSON() throws {
        try withUniqueName { raw in
            try withUniqueName { managed in
                #expect(try Self.shm("create", raw, "--size", "4K", "--mode", "640").status == 0)
                let server = try Self.managedServer(managed)
                let pid = Int(server.process.processIdentifier)

                let all = try Self.listing()
                let rawEntry = try #require(all.first { $0["name"] as? String == "/" + raw })
                #expect(rawEntry["size"] as? Int == 4096)
                #expect(rawEntry["mode"] as? String == "0640")
                #expect(rawEntry["managed"] as? Bool == false)
                #expect(rawEntry["version"] is NSNull)
                #expect(rawEntry["creator_pid"] is NSNull)
                #expect(rawEntry["creator_alive"] is NSNull)
                #expect(rawEntry["stale"] as? Bool == false)
                #expect((rawEntry["users"] as? [Int]) == [])
                #expect(rawEntry["uid"] as? Int == Int(getuid()))
                #expect(rawEntry["owner"] is String)
                #expect(rawEntry["locked"] as? Bool == false)
                #expect(rawEntry["kind"] as? String == "data")

                let entry = try #require(all.first { $0["name"] as? String == "/" + managed })
                #expect(entry["managed"] as? Bool == true)
                #expect(entry["version"] as? Int == 1)
                #expect(entry["kind"] as? String == "data")
                #expect(entry["size"] as? Int == 65536 + 128)
                #expect(entry["mode"] as? String == "0600")
                #expect(entry["creator_pid"] as? Int == pid)
                #expect(entry["creator_alive"] as? Bool == true)
                #expect((entry["users"] as? [Int])?.contains(pid) == true)
                #expect(entry["locked"] as? Bool == true)
                #expect(entry["stale"] as? Bool == false)

                // Not on a terminal: the same table as plain aligned text.
                let table = try Self.shm("list")
                #expect(table.status == 0)
                #expect(!table.output.contains("\t") && !table.output.contains("\u{1B}"))
                let lines = table.output.split(separator: "\n")
                #expect(lines.first?.hasPrefix("NAME ") == true)
                let managedLine = try #require(lines.first { $0.hasPrefix("/" + managed + " ") })
                #expect(managedLine.split(separator: " ").contains("managed"))
                #expect(managedLine.split(separator: " ").contains(Substring(String(pid))))
                let rawLine = try #require(lines.first { $0.hasPrefix("/" + raw + " ") })
                #expect(rawLine.split(separator: " ").contains("0640"))
                // Aligned: every column starts where its header does.
                let sizeColumnEnd = try #require(lines.first?.range(of: "SIZE")).upperBound
                let offset = lines[0].distance(from: lines[0].startIndex, to: sizeColumnEnd)
                #expect(rawLine.dropFirst(offset - 4).hasPrefix("4096"))

                server.closeInput()
                #expect(try server.waitForExit() == 0)
                #expect(try Self.shm("rm", raw).status == 0)
            }
        }
    }

    @Test("inspect: a managed segment's header, as text and JSON")
    func inspectManaged() throws {
        try withUniqueName { name in
            let server = try Self.managedServer(name)
            let pid = server.process.processIdentifier

            let text = try Self.shm("inspect", "Local\\" + name)
            #expect(text.status == 0, "\(text.errors)")
            #expect(text.output.contains("name:     /\(name)\n"))
            #expect(text.output.contains("managed, layout version 1"))
            #expect(text.output.contains("kind:     data (0)"))
            #expect(text.output.contains("payload:  65536 bytes"))
            #expect(text.output.contains("creator:  pid \(pid), uid \(getuid()), alive"))
            #expect(text.output.contains("users:    \(pid)"))
            #expect(text.output.contains("stale:    no"))

            let object = try Self.inspection(name)
            #expect(object["managed"] as? Bool == true)
            #expect(object["creator_pid"] as? Int == Int(pid))
            #expect(object["payload_size"] as? Int == 65536)
            #expect(object["lifetime"] as? String == "posix")
            #expect(object["channel"] is NSNull)

            server.closeInput()
            #expect(try server.waitForExit() == 0)

            let raw = try Self.shm("create", name, "--size", "100")
            #expect(raw.status == 0)
            let rawText = try Self.shm("inspect", name)
            #expect(rawText.output.contains("raw segment"))
            #expect(rawText.output.contains("size:   100 bytes"))
        }
    }

    @Test("list and inspect call a publish/subscribe ring pubsub, not channel")
    func publishSubscribeKind() throws {
        try withUniqueName { name in
            let publisher = try Publisher.open(SegmentName(name), creating: PublishSubscribeConfiguration(ring: RingConfiguration(capacity: 4096)))
            #expect(try Self.inspection(name)["kind"] as? String == "pubsub")
            let text = try Self.shm("inspect", name)
            #expect(text.output.contains("kind:     pubsub (1)"), "\(text.output)")
            #expect(text.output.contains("publish/subscribe ring:"), "\(text.output)")
            _ = publisher.publishedCount
        }
    }

    @Test("inspect a channel while recv waits; send ends the stream and recv removes the name")
    func inspectChannel() throws {
        try withUniqueName { name in
            let receiver = try ChildProcess("shm", ["recv", name, "--capacity", "64K"])
            // Wait until the receiver has made the channel and attached to it.
            let deadline = Date().addingTimeInterval(15)
            var channel: [String: Any]?
            while Date() < deadline {
                if segmentFileExists(name), let object = try? Self.inspection(name),
                   let status = object["channel"] as? [String: Any],
                   let readers = status["readers"] as? [[String: Any]], readers.first?["attached"] as? Bool == true {
                    #expect(object["kind"] as? String == "channel")
                    #expect(object["managed"] as? Bool == true)
                    #expect((object["users"] as? [Int])?.contains(Int(receiver.process.processIdentifier)) == true)
                    channel = status
                    break
                }
                usleep(20_000)
            }
            let status = try #require(channel, "the receiver never attached; errors: \(receiver.errorOutput)")
            #expect(status["kind"] as? String == "channel")
            #expect(status["policy"] as? String == "lossless")
            #expect(status["capacity"] as? Int == 65536)
            #expect(status["max_message"] as? Int == 65536 / 4 - 16)
            #expect(status["writer"] as? String == "none")
            #expect(status["published_messages"] as? Int == 0)
            #expect(status["fill_bytes"] as? Int == 0)
            let reader = try #require((status["readers"] as? [[String: Any]])?.first)
            #expect(reader["slot"] as? Int == 0)
            #expect(reader["received"] as? Int == 0)
            #expect(reader["behind_messages"] as? Int == 0)
            #expect(reader["pid_self_reported"] as? Int == Int(receiver.process.processIdentifier))
            #expect(status["history_depth"] as? Int == 0)
            #expect(status["writer_pid_self_reported"] is NSNull)

            let text = try Self.shm("inspect", name)
            #expect(text.output.contains("kind:     channel (1)"))
            #expect(text.output.contains("capacity:     65536 bytes (64.0 KiB)"))
            #expect(text.output.contains("writer:       none"))
            #expect(text.output.contains("history:      none"))
            #expect(text.output.contains("SLOT  ATTACHED  PID (SELF-REPORTED)  RECEIVED  MISSED  BEHIND  BEHIND BYTES"))
            #expect(text.output.contains(" \(receiver.process.processIdentifier)  "), "the receiver's self-reported pid")

            try Self.withTemporaryFile("one\n\nthree 3\n") { path in
                let send = try Self.shm("send", name, "--file", path)
                #expect(send.status == 0, "\(send.errors)")
            }
            #expect(try receiver.waitForExit() == 0, "\(receiver.errorOutput)")
            #expect(receiver.output == "one\n\nthree 3\n")
            #expect(!segmentFileExists(name), "recv removes the channel at the end of the stream")
        }
    }

    @Test("gc --dry-run names a stale segment; gc removes it and keeps one in use")
    func collectStale() throws {
        try withUniqueName { stale in
            try withUniqueName { live in
                let crashing = try Self.managedServer(stale)
                crashing.send(SIGKILL)
                _ = try crashing.waitForExit()
                let server = try Self.managedServer(live)

                let listed = try Self.listing()
                #expect(listed.first { $0["name"] as? String == "/" + stale }?["stale"] as? Bool == true)
                #expect(listed.first { $0["name"] as? String == "/" + stale }?["creator_alive"] as? Bool == false)
                #expect(listed.first { $0["name"] as? String == "/" + live }?["stale"] as? Bool == false)

                let dryRun = try Self.shm("gc", "--dry-run")
                #expect(dryRun.status == 0, "\(dryRun.errors)")
                #expect(dryRun.output.contains("would remove /\(stale) ("))
                #expect(!dryRun.output.contains("/\(live) "))
                #expect(segmentFileExists(stale), "a dry run removes nothing")

                // Limited to our names, so that other tests' segments are left alone.
                let collect = try Self.shm("gc", stale, "Local\\" + live)
                #expect(collect.status == 0, "\(collect.errors)")
                #expect(collect.output == "removed /\(stale) (65664 bytes, creator pid \(crashing.process.processIdentifier) is dead, unused)\n")
                #expect(!segmentFileExists(stale))
                #expect(segmentFileExists(live), "a segment in use is never removed")

                let nothing = try Self.shm("gc", live)
                #expect(nothing.output == "no stale segments\n")
                #expect(segmentFileExists(live))

                server.closeInput()
                #expect(try server.waitForExit() == 0)
            }
        }
    }

    @Test("rm removes every name it can and fails for a missing one")
    func removeSeveral() throws {
        try withUniqueName { first in
            try withUniqueName { missing in
                try withUniqueName { second in
                    #expect(try Self.shm("create", first, "--size", "1K").status == 0)
                    #expect(try Self.shm("create", second, "--size", "1K").status == 0)
                    let remove = try Self.shm("rm", first, missing, "/" + second)
                    #expect(remove.status == 1)
                    #expect(remove.output == "removed /\(first)\nremoved /\(second)\n")
                    #expect(remove.errors == "shm rm: shm_unlink: ENOENT (No such file or directory): no segment named /\(missing) exists\n")
                    #expect(!segmentFileExists(first) && !segmentFileExists(second))
                }
            }
        }
    }

    @Test("Bad input: a clear message on standard error and a non-zero exit")
    func badInput() throws {
        try withUniqueName { name in
            try withUniqueName { missing in
                #expect(try Self.shm("create", name, "--size", "100").status == 0)
                let cases: [([String], String)] = [
                    (["read", missing], "no segment named /\(missing) exists"),
                    (["dump", missing], "no segment named /\(missing) exists"),
                    (["inspect", missing], "no segment named /\(missing) exists"),
                    (["write", missing, "--text", "x"], "no segment named /\(missing) exists"),
                    (["read", "a/b"], "invalid segment name \"a/b\": '/' may appear only as the first character"),
                    (["create", "", "--size", "1"], "invalid segment name \"\": the name is empty"),
                    (["dump", name, "--offset", "200"], "the offset 200 is beyond the end of /\(name) (100 bytes)"),
                    (["read", name, "--offset", "50", "--length", "51"], "51 bytes at offset 50 reach beyond the end of /\(name) (100 bytes)"),
                    (["read", name, "--offset", "-1"], "the offset -1 is negative"),
                    (["dump", name, "--length", "-1"], "the length -1 is negative"),
                    (["create", missing, "--size", "-5"], "the size must be greater than 0 bytes, not -5"),
                    (["write", name, "--offset", "95", "--text", "too long"], "8 bytes do not fit in /\(name) (100 bytes) at offset 95: 5 bytes are left; nothing was written"),
                    (["write", name, "--offset", "101", "--text", "x"], "the offset 101 is beyond the end of /\(name) (100 bytes)"),
                    (["create", name, "--size", "100", "--exclusive"], "a segment named /\(name) already exists"),
                    (["send", missing, "--file", "/nonexistent/lines"], "cannot open /nonexistent/lines: No such file or directory"),
                ]
                for (arguments, message) in cases {
                    let run = try ChildProcess.run("shm", arguments)
                    #expect(run.status == 1, "shm \(arguments.joined(separator: " "))")
                    #expect(run.errors.hasPrefix("shm \(arguments[0]): "), "\(run.errors)")
                    #expect(run.errors.contains(message), "shm \(arguments.joined(separator: " ")): \(run.errors)")
                    #expect(run.output.isEmpty, "shm \(arguments.joined(separator: " ")): \(run.output)")
                }
                #expect(!segmentFileExists(missing), "no failed command leaves a segment behind")
                #expect(try Self.shm("read", name, "--offset", "95").output == "\0\0\0\0\0", "a write that does not fit writes nothing")

                // Arguments the parser refuses: usage errors, status 64.
                let usage = try Self.shm("create", name, "--size", "lots")
                #expect(usage.status == 64)
                #expect(usage.errors.contains("The value 'lots' is invalid for '--size <bytes>'"))
                #expect(try Self.shm("write", name, "--text", "a", "--file", "b").errors.contains("not both"))
                #expect(try Self.shm("recv", name, "--count", "0").status == 64)
                #expect(try Self.shm("frobnicate").status == 64)
            }
        }
    }

    @Test("Every subcommand explains itself with --help")
    func help() throws {
        for command in ["list", "inspect", "dump", "create", "write", "read", "send", "recv", "watch", "rm", "gc"] {
            let run = try Self.shm(command, "--help")
            #expect(run.status == 0)
            #expect(run.output.contains("USAGE: shm \(command)"), "\(command): \(run.output)")
        }
        let top = try Self.shm("--help")
        #expect(top.status == 0 && top.output.contains("SUBCOMMANDS:"))
    }

    @Test("send | recv: a million lines arrive exactly, and nothing is left behind")
    func millionLines() throws {
        var text = ""
        text.reserveCapacity(12_000_000)
        for index in 0..<1_000_000 {
            switch index % 1000 {
            case 7: text += "\n"                                  // empty lines are messages too
            case 13: text += "  spaces\tand tabs, Grüße 🌍 \(index)\n"
            default: text += "line \(index)\n"
            }
        }
        try withUniqueName { name in
            try Self.withTemporaryFile(text) { path in
                let start = Date()
                let sender = try ChildProcess("shm", ["send", name, "--file", path])
                let receiver = try ChildProcess("shm", ["recv", name])
                #expect(try receiver.waitForExit(timeout: 90) == 0, "\(receiver.errorOutput)")
                #expect(try sender.waitForExit(timeout: 30) == 0, "\(sender.errorOutput)")
                let elapsed = Date().timeIntervalSince(start)
                let output = receiver.output
                #expect(output.utf8.count == text.utf8.count)
                #expect(output == text)
                #expect(elapsed < 60, "took \(elapsed) s")
                #expect(!segmentFileExists(name))
            }
        }
    }

    @Test("recv fails within seconds when the sender is killed")
    func senderKilled() throws {
        try withUniqueName { name in
            let sender = try ChildProcess("shm", ["send", name])
            let receiver = try ChildProcess("shm", ["recv", name])
            sender.pressEnter()  // one empty message
            try receiver.waitForOutput(containing: "\n")
            #expect(sender.process.isRunning, "send waits for more input")
            sender.send(SIGKILL)
            _ = try sender.waitForExit()
            let killed = Date()
            #expect(try receiver.waitForExit(timeout: 10) == 1)
            #expect(Date().timeIntervalSince(killed) < 5)
            #expect(receiver.output == "\n")
            #expect(receiver.errorOutput.contains("the sender of /\(name) died without closing the channel, after 1 message"))
            #expect(!segmentFileExists(name))
        }
    }

    @Test("A line longer than the largest message: send fails and leaves the channel unclosed, so recv fails too")
    func lineTooLong() throws {
        try withUniqueName { name in
            try Self.withTemporaryFile("ok\n" + String(repeating: "x", count: 200) + "\nnever sent\n") { path in
                let send = try Self.shm("send", name, "--file", path, "--capacity", "4K", "--max-message", "100")
                #expect(send.status == 1)
                #expect(send.errors == "shm send: line 2 of \(path) has 200 bytes, more than the channel's largest message of 100 bytes; create the channel with a larger --max-message (and --capacity)\n")
                let receive = try Self.shm("recv", name)
                #expect(receive.status == 1)
                #expect(receive.output == "ok\n")
                #expect(receive.errors.contains("the sender of /\(name) died without closing the channel, after 1 message"))
                #expect(!segmentFileExists(name))
            }
        }
    }

    @Test("watch --count 2 prints two plain lines when not on a terminal")
    func watch() throws {
        try withUniqueName { name in
            let sender = try ChildProcess("shm", ["send", name])
            let deadline = Date().addingTimeInterval(15)
            while !(segmentFileExists(name) && (try? Self.inspection(name))?["channel"] is [String: Any]) && Date() < deadline {
                usleep(20_000)
            }
            let watch = try Self.shm("watch", name, "--interval", "0.2", "--count", "2")
            #expect(watch.status == 0, "\(watch.errors)")
            let lines = watch.output.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.count == 3 && lines.last == "", "\(watch.output.debugDescription)")
            for line in lines.dropLast() {
                #expect(line.contains(" msg/s  ") && line.contains(" B/s  fill 0.0% (0 B of 1.00 MiB)  writer attached"))
            }
            #expect(!watch.output.contains("\r") && !watch.output.contains("\u{1B}"))

            sender.closeInput()
            #expect(try sender.waitForExit() == 0)
            let drain = try Self.shm("recv", name)
            #expect(drain.status == 0 && drain.output.isEmpty)
            #expect(!segmentFileExists(name))
        }
    }

    @Test("bench runs shm-bench from the same directory, or says it is missing")
    func bench() throws {
        let run = try Self.shm("bench", "--help")
        if FileManager.default.isExecutableFile(atPath: BuiltProducts.path("shm-bench")) {
            #expect(run.status == 0)
            #expect(run.output.contains("shm-bench"))
        } else {
            #expect(run.status == 1)
            #expect(run.errors.contains("no shm-bench program next to shm"))
        }
    }
}
