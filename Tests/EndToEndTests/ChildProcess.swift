import Foundation
import Glibc

/// Where `swift build` put the package's executables: beside the test bundle.
enum BuiltProducts {
    static let directory: URL = {
        var url = Bundle.main.bundleURL
        if url.pathExtension != "xctest" {
            url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        }
        return url.pathExtension == "xctest" ? url.deletingLastPathComponent() : url
    }()

    static func path(_ product: String) -> String {
        directory.appendingPathComponent(product).path
    }
}

struct ChildProcessError: Error, CustomStringConvertible {
    let description: String
}

/// A program started for a test with `posix_spawn`, its standard input on a
/// pipe and its output collected in files. It is killed when dropped, so a
/// failing test leaves no process behind.
///
/// Not Foundation's `Process`: its `run()` on Linux reads past a buffer
/// while it lists /proc/self/fd and now and then crashes the whole test
/// process with SIGSEGV (swift-corelibs-foundation pull request 5472, still
/// in Swift 6.3.1), which the suites that start hundreds of peers met.
final class ChildProcess {
    let processIdentifier: pid_t
    private let inputDescriptor: Int32
    private let outputPath: String
    private let errorPath: String
    private var inputClosed = false
    /// The raw `waitpid` status, once the program has ended and been reaped.
    private var status: Int32?

    /// Starts one of the package's executables, with extra `environment` variables.
    convenience init(_ product: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        try self.init(absolute: BuiltProducts.path(product), arguments, environment: environment)
    }

    /// Writing to the input of a program that has exited must fail, not kill
    /// the test process with SIGPIPE.
    private static let ignoreBrokenPipes: Void = { signal(SIGPIPE, SIG_IGN) }()

    /// Starts the program at `path`, with extra `environment` variables.
    init(absolute path: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        Self.ignoreBrokenPipes
        let directory = FileManager.default.temporaryDirectory.path
        let id = UUID().uuidString
        outputPath = "\(directory)/shm-test-\(id).out"
        errorPath = "\(directory)/shm-test-\(id).err"
        // Close-on-exec on both ends: no other child started at the same time
        // may inherit the input, or this one would never see its end.
        var pipeEnds: [Int32] = [-1, -1]
        guard pipe(&pipeEnds) == 0 else {
            throw ChildProcessError(description: "pipe: \(String(cString: strerror(errno)))")
        }
        for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        var variables = ProcessInfo.processInfo.environment
        variables.merge(environment) { _, new in new }
        let envp = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[0], 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var pid: pid_t = 0
        let error = posix_spawn(&pid, path, &actions, nil, argv, envp)
        close(pipeEnds[0])
        guard error == 0 else {
            close(pipeEnds[1])
            throw ChildProcessError(description: "posix_spawn \(path): \(String(cString: strerror(error)))")
        }
        processIdentifier = pid
        inputDescriptor = pipeEnds[1]
    }

    deinit {
        if isRunning {
            kill(processIdentifier, SIGKILL)
            reap(blocking: true)
        }
        closeInput()
        unlink(outputPath)
        unlink(errorPath)
    }

    /// This object, for call sites written against Foundation's `Process`.
    var process: ChildProcess { self }

    private func reap(blocking: Bool) {
        guard status == nil else { return }
        var raw: Int32 = 0
        var result: pid_t
        repeat { result = waitpid(processIdentifier, &raw, blocking ? 0 : WNOHANG) } while result < 0 && errno == EINTR
        if result == processIdentifier { status = raw }
    }

    var isRunning: Bool {
        reap(blocking: false)
        return status == nil
    }

    /// How the program ended, as Foundation's `Process` says it (once it has ended).
    var terminationReason: Process.TerminationReason {
        reap(blocking: false)
        guard let status, status & 0x7F != 0 else { return .exit }
        return .uncaughtSignal
    }

    /// The exit status, or the number of the signal that ended the program.
    var terminationStatus: Int32 {
        reap(blocking: false)
        guard let status else { return 0 }
        return status & 0x7F != 0 ? status & 0x7F : (status >> 8) & 0xFF
    }

    /// Everything the program wrote to standard output so far.
    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
    /// Everything the program wrote to standard error so far.
    var errorOutput: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }

    /// Waits until standard output contains `text`; fails after `timeout` seconds
    /// or when the program exits first.
    @discardableResult
    func waitForOutput(containing text: String, timeout: Double = 20) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let current = output
            if current.contains(text) { return current }
            if !isRunning {
                let last = output
                if last.contains(text) { return last }
                throw ChildProcessError(description: "exited before printing \(text.debugDescription); output: \(last.debugDescription), errors: \(errorOutput.debugDescription)")
            }
            usleep(5_000)
        }
        throw ChildProcessError(description: "no \(text.debugDescription) within \(timeout) s; output: \(output.debugDescription)")
    }

    /// Sends a newline, as a user pressing ENTER.
    func pressEnter() {
        guard !inputClosed else { return }
        _ = write(inputDescriptor, "\n", 1)
    }

    /// Writes `text` to the program's standard input, all of it (unless the program has exited).
    func writeInput(_ text: String) {
        guard !inputClosed else { return }
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { write(inputDescriptor, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            bytes = bytes.dropFirst(written)
        }
    }

    /// Closes standard input: the program sees its end.
    func closeInput() {
        guard !inputClosed else { return }
        inputClosed = true
        close(inputDescriptor)
    }

    func send(_ signal: Int32) { kill(processIdentifier, signal) }

    /// Waits for the program to exit and returns its status (or the signal
    /// that ended it); kills it and fails after `timeout` seconds.
    func waitForExit(timeout: Double = 20) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning {
            if Date() >= deadline {
                kill(processIdentifier, SIGKILL)
                reap(blocking: true)
                throw ChildProcessError(description: "did not exit within \(timeout) s; output: \(output.debugDescription)")
            }
            usleep(5_000)
        }
        return terminationStatus
    }

    /// Runs a program to its end with standard input closed.
    static func run(_ product: String, _ arguments: [String], timeout: Double = 20) throws -> (status: Int32, output: String, errors: String) {
        let child = try ChildProcess(product, arguments)
        child.closeInput()
        let status = try child.waitForExit(timeout: timeout)
        return (status, child.output, child.errorOutput)
    }
}

/// A unique segment name for one test, removed afterwards whatever happens.
func withUniqueName<R>(_ body: (String) throws -> R) rethrows -> R {
    let name = "shme2e-\(getpid())-\(UUID().uuidString.prefix(8))"
    defer { _ = shm_unlink("/" + name) }
    return try body(name)
}

func segmentFileExists(_ name: String) -> Bool { access("/dev/shm/" + name, F_OK) == 0 }
