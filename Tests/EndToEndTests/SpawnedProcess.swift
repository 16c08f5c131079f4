import Foundation
import Glibc

/// A package executable started with `posix_spawn`, its standard input on
/// /dev/null and its output in files; killed and reaped when dropped.
///
/// The suites that start hundreds of processes use this rather than
/// Foundation's `Process`, whose `run()` on Linux reads past a buffer while
/// it lists /proc/self/fd and now and then crashes the whole test process
/// with SIGSEGV (swift-corelibs-foundation pull request 5472, still in Swift 6.3.1).
final class SpawnedProcess {
    let pid: pid_t
    private let outputPath: String
    private let errorPath: String
    /// The raw `waitpid` status, once the process has ended and been reaped.
    private var status: Int32?

    /// Starts one of the package's executables with `arguments` and extra `environment` variables.
    init(_ product: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        let directory = FileManager.default.temporaryDirectory.path
        let id = UUID().uuidString
        outputPath = "\(directory)/shm-test-\(id).out"
        errorPath = "\(directory)/shm-test-\(id).err"
        let path = BuiltProducts.path(product)
        var variables = ProcessInfo.processInfo.environment
        variables.merge(environment) { _, new in new }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var pid: pid_t = 0
        let error = posix_spawn(&pid, path, &actions, nil, argv, envp)
        guard error == 0 else {
            throw ChildProcessError(description: "posix_spawn \(path): \(String(cString: strerror(error)))")
        }
        self.pid = pid
    }

    deinit {
        if isRunning {
            kill(pid, SIGKILL)
            reap(blocking: true)
        }
        unlink(outputPath)
        unlink(errorPath)
    }

    private func reap(blocking: Bool) {
        guard status == nil else { return }
        var raw: Int32 = 0
        var result: pid_t
        repeat { result = waitpid(pid, &raw, blocking ? 0 : WNOHANG) } while result < 0 && errno == EINTR
        if result == pid { status = raw }
    }

    var isRunning: Bool {
        reap(blocking: false)
        return status == nil
    }

    /// Everything the program wrote to standard output so far.
    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
    /// Everything the program wrote to standard error so far.
    var errorOutput: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }

    func send(_ signal: Int32) { kill(pid, signal) }

    /// Kills the process if it runs, and waits for it.
    func end() {
        if isRunning { kill(pid, SIGKILL) }
        reap(blocking: true)
    }

    /// The signal that ended the process, if one did.
    var terminatingSignal: Int32? {
        guard let status, status & 0x7F != 0 else { return nil }
        return status & 0x7F
    }

    /// The exit status, if the process exited.
    var exitStatus: Int32? {
        guard let status, status & 0x7F == 0 else { return nil }
        return (status >> 8) & 0xFF
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

    /// Waits until standard output contains `text`; fails after `timeout`
    /// seconds or when the program ends first.
    func waitForOutput(containing text: String, timeout: Double = 20) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if output.contains(text) { return }
            if !isRunning {
                if output.contains(text) { return }
                throw ChildProcessError(description: "ended (\(outcome.map(\.description) ?? "?")) before printing \(text.debugDescription); output: \(output.suffix(300).debugDescription), errors: \(errorOutput.debugDescription)")
            }
            usleep(2_000)
        }
        throw ChildProcessError(description: "no \(text.debugDescription) within \(timeout) s; output: \(output.suffix(300).debugDescription)")
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
