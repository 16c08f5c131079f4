import ArgumentParser
import Glibc

/// Prints `line` to standard output and flushes it at once, so that a test
/// reading the output sees it even if the process is killed right after.
func say(_ line: String) {
    print(line)
    fflush(nil)
}

/// Writes `line` to standard error, where the tests look for failures.
func complain(_ line: String) {
    fflush(nil)
    let text = "shm-test-peer: error: \(line)\n"
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
        if written <= 0 { return }
        offset += written
    }
}

/// Reports a sender that failed after `sent` messages: the count on standard
/// output, `error` on standard error; the exit code to stop with.
func sendingFailed(after sent: Int, _ error: any Error) -> ExitCode {
    print("sent \(sent)")
    complain("\(error)")
    return ExitCode(3)
}
