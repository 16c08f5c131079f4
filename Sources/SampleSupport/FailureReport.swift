import ArgumentParser
import Glibc
import SharedMemory

/// Prints a failure the way the sample does, then a plain-words hint, and
/// returns the exit code to stop with.
///
/// The sample's line (`OpenFileMapping failed w/err 0x00000002`) goes to
/// standard output, where the sample prints it; the hint, which names the
/// POSIX call, the symbolic errno and its text, goes to standard error.
public func reportFailure(_ error: SharedMemoryError, advice: String? = nil) -> ExitCode {
    print(error.sampleReport)
    fflush(nil)
    var hint = error.hint
    if let advice { hint += "; " + advice }
    writeToStandardError(hint + "\n")
    return ExitCode(1)
}

/// Runs `body`; a failure is reported with ``reportFailure(_:advice:)`` and
/// rethrown as the exit code. `operation` replaces the error's operation
/// (a client reports a bad name as `OpenFileMapping`).
public func reporting<T: ~Copyable>(
    _ name: SegmentName? = nil, as operation: SharedMemoryError.Operation? = nil, _ body: () throws(SharedMemoryError) -> T
) throws(ExitCode) -> T {
    do {
        return try body()
    } catch {
        var error = error
        if let operation { error.operation = operation }
        throw reportFailure(error, advice: advice(for: error, name: name))
    }
}

/// Advice for the errors a user of the sample programs meets most.
public func advice(for error: SharedMemoryError, name: SegmentName?) -> String? {
    switch (error.operation, error.errno) {
    case (.open, .noSuchFileOrDirectory):
        "is shm-server running?"
    case (.create, .fileExists):
        "another server may be running; stop it, or remove the name with `rm \(name?.path ?? "/dev/shm/NAME")`"
    case (_, .permissionDenied) where error.systemCall?.hasPrefix("shm_open") == true:
        "the segment belongs to another user or its mode forbids this access"
    default:
        nil
    }
}

/// Writes `text` to standard error, unbuffered.
public func writeToStandardError(_ text: String) {
    var text = text
    text.withUTF8 { bytes in
        var rest = UnsafeRawBufferPointer(bytes)
        while !rest.isEmpty {
            let written = write(STDERR_FILENO, rest.baseAddress, rest.count)
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            rest = UnsafeRawBufferPointer(rebasing: rest[written...])
        }
    }
}
