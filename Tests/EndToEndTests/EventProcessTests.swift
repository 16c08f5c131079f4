import Foundation
import SharedMemory
import Testing

/// Events between real processes: `shm notify` and `shm listen` as a user
/// runs them, wake-ups of a sleeping listener in another process, a killed
/// listener replaced.
@Suite("Events between processes")
struct EventProcessTests {
    typealias Run = (status: Int32, output: String, errors: String)

    static func shm(_ arguments: String...) throws -> Run {
        try ChildProcess.run("shm", arguments)
    }

    /// Waits until `child` printed `lines` lines; fails after 10 s or when it exits first.
    static func waitForLines(_ child: ChildProcess, _ lines: Int) throws -> [Substring] {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let printed = child.output.split(separator: "\n")
            if printed.count >= lines { return printed }
            guard child.isRunning else { break }
            usleep(1_000)
        }
        throw ChildProcessError(description: "no \(lines) lines; output: \(child.output.debugDescription), errors: \(child.errorOutput.debugDescription)")
    }

    /// Waits until a listener holds the role on `notifier`'s segment.
    static func waitForListener(_ notifier: borrowing EventNotifier, _ child: ChildProcess) throws {
        let deadline = Date().addingTimeInterval(10)
        while !notifier.hasListener {
            guard Date() < deadline, child.isRunning else {
                throw ChildProcessError(description: "no listener; errors: \(child.errorOutput.debugDescription)")
            }
            usleep(1_000)
        }
    }

    @Test("shm notify before shm listen: kept, coalesced, printed in order; bad ids and counts are usage errors")
    func notifyThenListen() throws {
        try withUniqueName { name in
            for id in ["9", "5", "5", "5", "4095"] {
                let notify = try Self.shm("notify", name, id)
                #expect(notify.status == 0, "\(notify.errors)")
                #expect(notify.output.isEmpty)
            }
            let listen = try Self.shm("listen", name, "--count", "3")
            #expect(listen.status == 0, "\(listen.errors)")
            #expect(listen.output == "5\n9\n4095\n")

            for bad in [["notify", name, "4096"], ["notify", name, "-1"], ["notify", name, "x"], ["notify", name],
                        ["listen", name, "--count", "0"], ["listen", name, "--timeout", "-1"], ["listen", name, "--wait", "nap"]] {
                let run = try ChildProcess.run("shm", bad)
                #expect(run.status == 64, "\(bad): \(run.errors)")
            }
            let timedOut = try Self.shm("listen", name, "--timeout", "0.2")
            #expect(timedOut.status == 1)
            #expect(timedOut.errors.contains("no event arrived on /\(name) within 0.2 s"))
        }
    }

    @Test("A segment of another kind is refused with status 1")
    func otherKinds() throws {
        try withUniqueName { name in
            #expect(try Self.shm("create", name, "--size", "64").status == 0)
            let notify = try Self.shm("notify", name, "1")
            #expect(notify.status == 1)
            #expect(notify.errors.contains("/\(name)"), "\(notify.errors)")
        }
        try withUniqueName { name in
            let segmentName = try SegmentName(name)
            _ = try ChannelSender.open(segmentName)
            let listen = try Self.shm("listen", name, "--count", "1")
            #expect(listen.status == 1)
            #expect(listen.errors.contains("not an events segment"), "\(listen.errors)")
        }
    }

    @Test("A listener in another process, asleep each time, is woken 150 times: no wake-up lost; a second listener is busy")
    func wakeUps() throws {
        try withUniqueName { name in
            let segmentName = try SegmentName(name)
            let notifier = try EventNotifier.open(segmentName)
            let rounds = 150
            let listener = try ChildProcess("shm", ["listen", name, "--count", "\(rounds)", "--wait", "sleep"])
            try Self.waitForListener(notifier, listener)
            let second = try Self.shm("listen", name)
            #expect(second.status == 1)
            #expect(second.errors.contains("another process is already listening on /\(name)"), "\(second.errors)")
            var latencies: [Duration] = []
            for round in 0..<rounds {
                // Each id after the last one was printed: the listener is asleep or about to be.
                let start = ContinuousClock.now
                try notifier.notify(EventID(round * 27 % 4096)!)
                let lines = try Self.waitForLines(listener, round + 1)
                latencies.append(ContinuousClock.now - start)
                #expect(lines.last == "\(round * 27 % 4096)"[...])
            }
            #expect(try listener.waitForExit() == 0)
            // A lost wake-up is still found by the listener's 250 ms check, so
            // only the time tells: lost ones would put the median near 125 ms.
            let median = latencies.sorted()[rounds / 2]
            #expect(median < .milliseconds(15), "median wake-up \(median)")
            #expect(listener.output.split(separator: "\n").count == rounds)
        }
    }

    @Test("A listener killed while asleep is replaced at once, and SIGINT or SIGTERM ends shm listen with 130 or 143")
    func killedAndStopped() throws {
        try withUniqueName { name in
            let segmentName = try SegmentName(name)
            let notifier = try EventNotifier.open(segmentName)
            let killed = try ChildProcess("shm", ["listen", name])
            try Self.waitForListener(notifier, killed)
            usleep(100_000)
            killed.send(SIGKILL)
            #expect(try killed.waitForExit() == SIGKILL)
            let successor = try EventListener.open(segmentName, creating: false, wait: .sleep)
            let notify = try Self.shm("notify", name, "42")
            #expect(notify.status == 0, "\(notify.errors)")
            #expect(try successor.wait(timeout: .seconds(5)) == [EventID(42)!])
        }
        for (signal, status) in [(SIGINT, Int32(130)), (SIGTERM, 143)] {
            try withUniqueName { name in
                let notifier = try EventNotifier.open(try SegmentName(name))
                let listener = try ChildProcess("shm", ["listen", name])
                try Self.waitForListener(notifier, listener)
                listener.send(signal)
                #expect(try listener.waitForExit(timeout: 5) == status)
                #expect(listener.errorOutput.contains("stopped by"))
            }
        }
    }
}
