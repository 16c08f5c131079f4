import Foundation
import Testing

/// The test peer refuses bad options with a usage error, never a trap.
@Suite("shm-test-peer options")
struct TestPeerOptionsTests {
    static let badOptions: [[String]] = [
        ["receive", "--count=-1"], ["send", "--count=-1"], ["receive", "--count=999999999999999999"],
        ["receive", "--capacity=-1"], ["send", "--capacity=0"], ["send", "--capacity=9223372036854775807"],
        ["receive", "--slots=-1"], ["send", "--slots=0"], ["send", "--slots=65"],
        ["receive", "--min-size=-5"], ["send", "--max-size=-1"], ["send", "--max-size=9223372036854775807"],
        ["send", "--min-size=100", "--max-size=50"], ["receive", "--max-size=70000", "--capacity=4096"],
        ["receive", "--delay=-1"], ["receive", "--delay=99999999999"], ["receive", "--stop-after=-1"],
        ["send", "--start-delay=-1"], ["send", "--start-delay=99999999999"], ["send", "--pace-us=-3"],
        ["send", "--timeout-ms=0"], ["receive", "--timeout-ms=-1"], ["receive", "--timeout-ms=9223372036854775807"],
        ["send", "--from=10", "--count=5"], ["receive", "--from=-1"],
        ["send", "--policy=fast"], ["send", "--flavour=pipe"], ["receive", "--wait=forever"],
    ]

    @Test("A negative, huge or unknown option value is a usage error with a message, not a trap", arguments: badOptions)
    func badOption(_ arguments: [String]) throws {
        try withUniqueName { name in
            let child = try SpawnedProcess("shm-test-peer", [arguments[0], name] + Array(arguments.dropFirst()))
            let outcome = child.waitForEnd(timeout: 10)
            #expect(outcome == .failedClearly(status: 64), "\(outcome): \(child.errorOutput)")
            #expect(child.errorOutput.contains("Error:"), "\(child.errorOutput)")
            #expect(!segmentFileExists(name), "nothing is created before the options are checked")
        }
    }

    @Test("The help lists the values of every choice")
    func help() throws {
        for command in ["send", "receive"] {
            let run = try ChildProcess.run("shm-test-peer", [command, "--help"])
            #expect(run.status == 0)
            let help = run.output.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            #expect(help.contains("values: channel, pubsub"), "\(run.output)")
            #expect(help.contains("values: lossless, overwrite"), "\(run.output)")
            #expect(help.contains("values: spin, adaptive, sleep"), "\(run.output)")
        }
    }

    @Test("A receiver with a timeout gives up on an empty channel, says so on stderr and exits 3")
    func receiveTimeout() throws {
        try withUniqueName { name in
            let start = Date()
            let run = try ChildProcess.run("shm-test-peer", ["receive", name, "--timeout-ms", "200", "--wait", "sleep"])
            #expect(run.status == 3)
            #expect(run.errors.contains("the wait timed out"), "\(run.errors)")
            #expect(Date().timeIntervalSince(start) < 5)
        }
    }

    @Test("A stream continued from message N by a second sender reaches a receiver that expects N onwards")
    func continueFrom() throws {
        try withUniqueName { name in
            let first = try ChildProcess.run("shm-test-peer", ["send", name, "--count", "100", "--from", "60"])
            #expect(first.status == 0, "\(first.errors)")
            #expect(first.output.contains("sent 40"))
            let receiver = try ChildProcess.run("shm-test-peer", ["receive", name, "--count", "100", "--from", "60", "--timeout-ms", "2000"])
            #expect(receiver.status == 0, "\(receiver.errors)")
            #expect(receiver.output.contains("received 40 first 60 last 99 missed 0 problems 0"), "\(receiver.output)")
        }
    }
}
