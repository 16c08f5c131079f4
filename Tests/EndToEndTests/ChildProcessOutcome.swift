import Foundation
import Glibc

/// The name the suites that start hundreds of peers use for ``ChildProcess``.
typealias SpawnedProcess = ChildProcess

extension ChildProcess {
    var pid: pid_t { processIdentifier }

    /// Kills the process if it runs, and waits for it.
    func end() {
        if isRunning { kill(processIdentifier, SIGKILL) }
        _ = try? waitForExit(timeout: 10)
    }

    /// The signal that ended the process, if one did.
    var terminatingSignal: Int32? {
        guard !isRunning, terminationReason == .uncaughtSignal else { return nil }
        return terminationStatus
    }

    /// The exit status, if the process exited.
    var exitStatus: Int32? {
        guard !isRunning, terminationReason == .exit else { return nil }
        return terminationStatus
    }

    /// How the process ended; `nil` while it runs.
    var outcome: PeerOutcome? {
        guard !isRunning else { return nil }
        if let signal = terminatingSignal { return .died(signal: signal) }
        let code = exitStatus ?? -1
        if code == 0 { return .succeeded }
        return errorOutput.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            ? .failedSilently(status: code) : .failedClearly(status: code)
    }

    /// Waits up to `timeout` seconds for the process to end, kills it after
    /// that, and returns how it ended (`.hung` when it had to be killed).
    func waitForEnd(timeout: Double) -> PeerOutcome {
        outcomes(of: [self], limit: timeout)[0]
    }
}

/// Waits until every process in `peers` has ended or `limit` seconds have
/// passed, kills those still running, and returns how each ended.
func outcomes(of peers: [SpawnedProcess], limit: Double) -> [PeerOutcome] {
    let deadline = Date().addingTimeInterval(limit)
    while Date() < deadline, peers.contains(where: \.isRunning) {
        usleep(5_000)
    }
    return peers.map { peer in
        guard peer.isRunning else { return peer.outcome ?? .hung }
        peer.end()
        return .hung
    }
}
