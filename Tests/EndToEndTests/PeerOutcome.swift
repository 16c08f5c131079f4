import Foundation
import Glibc

/// How an honest peer process ended, judged by the rules every trial
/// holds it to: exit 0, or a non-zero exit with an error on standard error,
/// within its time limit and never by a signal.
enum PeerOutcome: Equatable, CustomStringConvertible {
    /// Exited 0.
    case succeeded
    /// Exited non-zero and said why on standard error.
    case failedClearly(status: Int32)
    /// Exited non-zero without a word on standard error.
    case failedSilently(status: Int32)
    /// Killed by a signal it did not expect (a crash or a Swift trap).
    case died(signal: Int32)
    /// Still running at the limit; it was killed.
    case hung

    /// Whether the outcome keeps the rules.
    var isAcceptable: Bool {
        switch self {
        case .succeeded, .failedClearly: true
        case .failedSilently, .died, .hung: false
        }
    }

    var description: String {
        switch self {
        case .succeeded: "exit 0"
        case .failedClearly(let status): "exit \(status) with an error"
        case .failedSilently(let status): "exit \(status) with nothing on stderr"
        case .died(let signal): "died of \(signalName(signal))"
        case .hung: "hung (killed at the limit)"
        }
    }
}

/// SIGBUS, SIGSEGV...: the name of a signal, for reports.
func signalName(_ signal: Int32) -> String {
    let names: [Int32: String] = [
        SIGBUS: "SIGBUS", SIGSEGV: "SIGSEGV", SIGILL: "SIGILL", SIGTRAP: "SIGTRAP", SIGABRT: "SIGABRT",
        SIGKILL: "SIGKILL", SIGFPE: "SIGFPE", SIGTERM: "SIGTERM", SIGSTOP: "SIGSTOP",
    ]
    return names[signal] ?? "signal \(signal)"
}

extension ChildProcess {
    /// The signal that ended the process, if one did (it must have exited).
    var terminatingSignal: Int32? {
        process.terminationReason == .uncaughtSignal ? process.terminationStatus : nil
    }

    /// How the process ended; `nil` while it runs.
    var outcome: PeerOutcome? {
        guard !process.isRunning else { return nil }
        if let signal = terminatingSignal { return .died(signal: signal) }
        let status = process.terminationStatus
        if status == 0 { return .succeeded }
        return errorOutput.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            ? .failedSilently(status: status) : .failedClearly(status: status)
    }

    /// Starts one of the package's executables with extra environment variables.
    static func start(_ product: String, _ arguments: [String], environment: [String: String]) throws -> ChildProcess {
        guard !environment.isEmpty else { return try ChildProcess(product, arguments) }
        let assignments = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        // env replaces itself with the program: the process id stays the program's.
        return try ChildProcess(absolute: "/usr/bin/env", assignments + [BuiltProducts.path(product)] + arguments)
    }
}

/// Waits until every process in `peers` has ended or `limit` seconds have
/// passed, kills those still running, and returns how each ended.
func outcomes(of peers: [ChildProcess], limit: Double) -> [PeerOutcome] {
    let deadline = Date().addingTimeInterval(limit)
    while Date() < deadline, peers.contains(where: { $0.process.isRunning }) {
        usleep(5_000)
    }
    var hung = Set<Int>()
    for (index, peer) in peers.enumerated() where peer.process.isRunning {
        hung.insert(index)
        kill(peer.process.processIdentifier, SIGKILL)
        peer.process.waitUntilExit()
    }
    return peers.enumerated().map { index, peer in hung.contains(index) ? .hung : peer.outcome ?? .hung }
}
