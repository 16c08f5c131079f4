import Foundation
import Glibc
import SharedMemory
import Testing

/// Numbers no program should trap on: on the command line, and counters
/// another process wrote into a channel.
@Suite("Hostile numbers through the programs")
struct HostileInputTests {
    static let huge = "9223372036854775807"
    static let hugeNegative = "-9223372036854775808"

    /// Runs `product` to its end and checks that it failed cleanly: status 1
    /// or 64, a message on standard error, and no death by a signal.
    static func expectCleanFailure(_ product: String, _ arguments: [String], status: Int32? = nil) throws {
        let child = try ChildProcess(product, arguments)
        child.closeInput()
        let exit = try child.waitForExit()
        let what = "\(product) \(arguments.joined(separator: " "))"
        #expect(child.process.terminationReason == .exit, "\(what) died of signal \(exit): \(child.errorOutput)")
        if let status {
            #expect(exit == status, "\(what): \(child.errorOutput)")
        } else {
            #expect(exit == 1 || exit == 64, "\(what) exited \(exit): \(child.errorOutput)")
        }
        #expect(!child.errorOutput.isEmpty, "\(what) says what is wrong")
    }

    @Test("shm-bench refuses counts out of range with a usage error")
    func benchNumbers() throws {
        let cases: [[String]] = [
            ["--round-trips=-1"], ["--warmup=-5"], ["--round-trips=\(Self.huge)"], ["--warmup=\(Self.huge)"],
            ["--small-messages=0"], ["--large-messages=\(Self.hugeNegative)"], ["--rounds=0"], ["--rounds=\(Self.huge)"],
            ["child", "source", "--size=-1"], ["child", "echo", "--size=\(Self.huge)"], ["child", "source", "--count=-1"],
        ]
        for arguments in cases {
            try Self.expectCleanFailure("shm-bench", arguments, status: 64)
        }
        try Self.expectCleanFailure("shm", ["bench", "--round-trips=-1"], status: 64)
    }

    @Test("shm, shm-server and shm-client fail cleanly on offsets, sizes and counts at the edges of Int")
    func toolNumbers() throws {
        try withUniqueName { name in
            #expect(try ChildProcess.run("shm", ["create", name, "--size", "4096"]).status == 0)
            let shmCases: [[String]] = [
                ["create", name + "-x", "--size", Self.huge], ["create", name + "-x", "--size=\(Self.hugeNegative)"],
                ["create", name + "-x", "--size", "99999999999999999999"], ["create", name + "-x", "--size", "8000000000G"],
                ["read", name, "--offset", Self.huge, "--length", Self.huge], ["read", name, "--offset", "1", "--length", Self.huge],
                ["dump", name, "--offset=\(Self.hugeNegative)"], ["dump", name, "--length=\(Self.hugeNegative)"],
                ["write", name, "--offset", Self.huge, "--text", "x"],
                ["recv", name + "-x", "--count=-1"], ["recv", name + "-x", "--timeout=1e300"], ["recv", name + "-x", "--timeout=nan"],
                ["send", name + "-x", "--capacity", Self.huge], ["send", name + "-x", "--max-message", Self.huge],
                ["watch", name + "-x", "--interval=-1"], ["watch", name + "-x", "--count=\(Self.hugeNegative)"],
            ]
            for arguments in shmCases { try Self.expectCleanFailure("shm", arguments) }
            #expect(!segmentFileExists(name + "-x"))

            let sampleCases: [[String]] = [
                ["--size", Self.huge], ["--size=-1"], ["--view-offset", Self.huge], ["--view-size", Self.huge],
                ["--view-offset", Self.huge, "--view-size", "2"], ["--view-offset=\(Self.hugeNegative)"],
                ["--managed", "--view-offset", Self.huge], ["--managed", "--view-offset", "9223372036854775680"],
                ["--managed", "--size", Self.huge], ["--managed", "--view-size", Self.huge],
            ]
            for arguments in sampleCases {
                try withUniqueName { other in try Self.expectCleanFailure("shm-server", arguments + ["--name", other], status: 1) }
            }
            // The client maps from a segment that exists, so it gets as far as the view.
            let server = try ChildProcess("shm-server", ["--managed", "--name", name + "-m"])
            defer { _ = shm_unlink("/" + name + "-m") }
            try server.waitForOutput(containing: SampleProgramsTests.prompt)
            for arguments in [["--view-offset", Self.huge], ["--view-offset", "9223372036854775680"], ["--view-size", Self.huge],
                              ["--view-offset=-1"]] {
                try Self.expectCleanFailure("shm-client", arguments + ["--managed", "--name", name + "-m"], status: 1)
            }
            server.closeInput()
            #expect(try server.waitForExit() == 0)
        }
    }

    @Test("watch: counters that jump to the top of UInt64 and back give a line, not a trap")
    func watchForgedCounters() throws {
        try withUniqueName { name in
            let segmentName = try SegmentName(name)
            let sender = try ChannelSender.open(segmentName, creating: RingConfiguration(capacity: 4096))
            // The ring's published-messages and write-position words, after the 128-byte managed header.
            let segment = try SharedMemorySegment.open(segmentName, access: .readWrite)
            let counters = try segment.map(offset: 128 + 64, length: 24)
            func forge(_ value: UInt64) throws {
                let bytes = withUnsafeBytes(of: value.littleEndian) { Array($0) }
                try counters.write(bytes, at: 0)   // write position: bytes published
                try counters.write(bytes, at: 16)  // messages published
            }
            let watch = try ChildProcess("shm", ["watch", name, "--interval", "0.2", "--count", "4"])
            try watch.waitForOutput(containing: "\n")
            try forge(UInt64.max)  // from 0 to the top within one interval: more per second than a UInt64 holds
            try watch.waitForOutput(containing: "published 18,446,744,073,709,551,615\n")
            try forge(5)  // and back down, as a channel made anew
            #expect(try watch.waitForExit() == 0, "\(watch.errorOutput)")
            #expect(watch.process.terminationReason == .exit)
            let lines = watch.output.split(separator: "\n")
            #expect(lines.count == 4, "\(watch.output)")
            #expect(lines.contains { $0.contains("18,446,744,073,709,551,615 msg/s") }, "\(watch.output)")
            try forge(0)
            sender.close()
        }
    }
}
