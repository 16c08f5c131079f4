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
