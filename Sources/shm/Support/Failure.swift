import ArgumentParser
import Glibc
import SampleSupport
import SharedMemory

/// A failure of the tool that is not a library error: bad input, a range
/// that does not fit, a file that cannot be read. Its message is printed as is.
struct ToolError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// A subcommand whose failures are printed as `shm <command>: <what went wrong>`
/// on standard error, followed by exit status 1.
protocol ToolCommand: ParsableCommand {
    /// The subcommand's work; any error it throws is reported and ends the program with status 1.
    func execute() throws
}

extension ToolCommand {
    func run() throws {
        do {
            try execute()
        } catch let exit as ExitCode {
            throw exit
        } catch {
            throw Self.fail(error)
        }
    }

    /// Prints `error` on standard error and returns the exit code to stop with.
    static func fail(_ error: any Error) -> ExitCode {
        let command = configuration.commandName.map { "shm \($0)" } ?? "shm"
        writeToStandardError("\(command): \(describe(error))\n")
        return ExitCode(1)
    }

    /// Reports `error` and ends the process at once, without running any
    /// clean-up: used by `send` so that a channel it fails to finish is left
    /// unclosed, and its receiver reports an error instead of a clean end.
    static func abort(_ error: any Error) -> Never {
        _ = fail(error)
        Glibc.exit(1)
    }
}

/// One line in plain words for any error the tool meets.
func describe(_ error: any Error) -> String {
    switch error {
    case let error as SharedMemoryError:
        error.hint
    case let error as ChannelError:
        if case .segment(let inner) = error { inner.hint } else { error.description }
    default:
        String(describing: error)
    }
}

/// Checks a segment name in any form ``SegmentName`` accepts (`Local\X`,
/// `/X`, `X`), with the escapes that `shm list` prints (`\\`, `\n`, `\t`,
/// `\r`, `\xHH`), so that every name it shows can be typed back.
func segmentName(_ text: String) throws(SharedMemoryError) -> SegmentName {
    try SegmentName(escaped: text)
}

/// The text of the C library for `code`, such as "No such file or directory".
func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }
