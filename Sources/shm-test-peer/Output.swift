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
