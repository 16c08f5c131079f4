import Foundation
import Testing

/// Request/response services between real processes: `shm-test-peer serve`
/// answers each request with its bytes reversed, and `shm-test-peer request`
/// checks that every reply is the answer to its own request.
@Suite("Request/response between processes")
struct RequestResponseProcessTests {
    /// The numbers of a client's summary line, by name.
    struct Summary {
        var numbers: [String: Int] = [:]
        var line = ""

        init(_ output: String) {
            guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("sent ") }) else { return }
            self.line = String(line)
            let words = line.split(separator: " ")
            for (key, value) in zip(words, words.dropFirst()) {
                if let number = Int(value) { numbers[String(key)] = number }
            }
        }

        subscript(_ key: String) -> Int { numbers[key] ?? -1 }
    }

    @Test("Eight client processes, one killed mid-request: the others get exactly their replies, and its slot is reused")
    func clientKilled() throws {
        try withUniqueName { name in
            let server = try ChildProcess("shm-test-peer", ["serve", name, "--max-clients", "8"])
            try server.waitForOutput(containing: "ready")
            let clients = try (0..<8).map { _ in
                try ChildProcess("shm-test-peer", ["request", name, "--max-clients", "8", "--duration-ms", "1500"])
            }
            for client in clients { try client.waitForOutput(containing: "ready slot") }
            usleep(200_000)
            clients[0].send(SIGKILL)
            _ = try clients[0].waitForExit()
            // All eight slots were taken: a ninth client gets the killed one's slot once the server frees it.
            let late = try ChildProcess("shm-test-peer", ["request", name, "--max-clients", "8", "--count", "200", "--duration-ms", "20000", "--join-timeout-ms", "10000"])
            #expect(try late.waitForExit(timeout: 30) == 0, "\(late.errorOutput)")
            let lateSummary = Summary(late.output)
            #expect(lateSummary["answered"] == 200, "\(lateSummary.line)")
            for client in clients.dropFirst() {
                #expect(try client.waitForExit(timeout: 30) == 0, "\(client.errorOutput)")
                let summary = Summary(client.output)
                #expect(summary["answered"] > 0 && summary["failed"] == 0 && summary["mismatched"] == 0, "\(summary.line)")
            }
            #expect(server.isRunning, "\(server.errorOutput)")
        }
    }

    @Test("The server killed and restarted while clients run: every request gets its reply or a clear error, and requests after the restart succeed")
    func serverRestarted() throws {
        try withUniqueName { name in
            let first = try ChildProcess("shm-test-peer", ["serve", name, "--max-clients", "8"])
            try first.waitForOutput(containing: "ready")
            let clients = try (0..<4).map { _ in
                try ChildProcess("shm-test-peer", ["request", name, "--max-clients", "8", "--duration-ms", "2500", "--timeout-ms", "20000"])
            }
            for client in clients { try client.waitForOutput(containing: "ready slot") }
            usleep(300_000)
            first.send(SIGKILL)
            _ = try first.waitForExit()
            usleep(300_000)
            let second = try ChildProcess("shm-test-peer", ["serve", name, "--max-clients", "8"])
            try second.waitForOutput(containing: "ready")
            for client in clients {
                #expect(try client.waitForExit(timeout: 60) == 0, "\(client.errorOutput)")
                let summary = Summary(client.output)
                #expect(summary["mismatched"] == 0, "\(summary.line)")
                #expect(summary["answered"] + summary["failed"] == summary["sent"], "\(summary.line)")
                // The server was gone for 300 ms: requests then failed clearly (no timeouts), and later ones succeeded.
                #expect(summary["failed"] > 0 && summary["okAfterFailure"] > 0, "\(summary.line)")
                #expect(summary.line.contains("peerDied") && !summary.line.contains("timedOut"), "\(summary.line)")
            }
            #expect(second.isRunning, "\(second.errorOutput)")
        }
    }
}
