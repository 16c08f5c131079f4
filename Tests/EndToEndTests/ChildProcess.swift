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

/// A program started for a test, with its standard input on a pipe and its
/// output collected in files. It is killed when dropped, so a failing test
/// leaves no process behind.
final class ChildProcess {
    let process = Process()
    private let input = Pipe()
    private let outputFile: URL
    private let errorFile: URL
    private var inputClosed = false

    /// Starts one of the package's executables.
    convenience init(_ product: String, _ arguments: [String]) throws {
        try self.init(absolute: BuiltProducts.path(product), arguments)
    }

    /// Starts the program at `path`.
    init(absolute path: String, _ arguments: [String]) throws {
        let directory = FileManager.default.temporaryDirectory
        let id = UUID().uuidString
        outputFile = directory.appendingPathComponent("shm-test-\(id).out")
        errorFile = directory.appendingPathComponent("shm-test-\(id).err")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let output = try FileHandle(forWritingTo: outputFile)
        let errors = try FileHandle(forWritingTo: errorFile)
        // Other tests start processes at the same time: no descriptor of this
        // child may leak into them, or its input would never see its end.
        for descriptor in [input.fileHandleForReading.fileDescriptor, input.fileHandleForWriting.fileDescriptor,
                           output.fileDescriptor, errors.fileDescriptor] {
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        }
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        try? output.close()
        try? errors.close()
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: outputFile)
        try? FileManager.default.removeItem(at: errorFile)
    }

    /// Everything the program wrote to standard output so far.
    var output: String { (try? String(contentsOf: outputFile, encoding: .utf8)) ?? "" }
    /// Everything the program wrote to standard error so far.
    var errorOutput: String { (try? String(contentsOf: errorFile, encoding: .utf8)) ?? "" }

    /// Waits until standard output contains `text`; fails after `timeout` seconds
    /// or when the program exits first.
    @discardableResult
    func waitForOutput(containing text: String, timeout: Double = 20) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let current = output
            if current.contains(text) { return current }
            if !process.isRunning {
                let last = output
                if last.contains(text) { return last }
                throw ChildProcessError(description: "exited before printing \(text.debugDescription); output: \(last.debugDescription), errors: \(errorOutput.debugDescription)")
            }
            usleep(5_000)
        }
        throw ChildProcessError(description: "no \(text.debugDescription) within \(timeout) s; output: \(output.debugDescription)")
    }

    /// Sends a newline, as a user pressing ENTER.
    func pressEnter() { input.fileHandleForWriting.write(Data("\n".utf8)) }

    /// Closes standard input: the program sees its end.
    func closeInput() {
        guard !inputClosed else { return }
        inputClosed = true
        try? input.fileHandleForWriting.close()
    }

    func send(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the program to exit and returns its status; kills it and
    /// fails after `timeout` seconds.
    func waitForExit(timeout: Double = 20) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() >= deadline {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                throw ChildProcessError(description: "did not exit within \(timeout) s; output: \(output.debugDescription)")
            }
            usleep(5_000)
        }
        return process.terminationStatus
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
