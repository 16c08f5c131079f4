import Dispatch
import Glibc
import Synchronization

/// Why a program stopped waiting.
public enum StopReason: Sendable, Equatable {
    /// A line, or at least one byte, arrived on standard input.
    case enter
    /// Standard input reached its end or failed.
    case endOfInput
    /// SIGINT or SIGTERM arrived.
    case signal(Int32)
}

/// Prints the sample's prompt and waits for ENTER, the end of standard input,
/// SIGINT or SIGTERM, whichever comes first.
public func promptAndWait() -> StopReason {
    print("Press ENTER to clean up resources and quit", terminator: "")
    fflush(nil)
    return waitForStop()
}

/// Waits for ENTER, the end of standard input, SIGINT or SIGTERM.
///
/// The signals are handled by Dispatch sources rather than the default
/// action, so the caller's clean-up runs when they arrive.
public func waitForStop() -> StopReason {
    let stopped = DispatchSemaphore(value: 0)
    let reason = FirstReason()
    var sources: [DispatchSourceSignal] = []
    for number in [SIGINT, SIGTERM] {
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler {
            if reason.set(.signal(number)) { stopped.signal() }
        }
        source.resume()
        sources.append(source)
    }
    // A blocking read on a worker thread; the process ends without joining it.
    DispatchQueue.global().async {
        var byte: UInt8 = 0
        var count: Int
        repeat { count = read(STDIN_FILENO, &byte, 1) } while count < 0 && errno == EINTR
        if reason.set(count == 1 ? .enter : .endOfInput) { stopped.signal() }
    }
    stopped.wait()
    sources.forEach { $0.cancel() }
    return reason.value!
}

/// The first reason set wins.
private final class FirstReason: Sendable {
    private let stored = Mutex<StopReason?>(nil)

    var value: StopReason? { stored.withLock { $0 } }

    /// Stores `reason` unless one is stored; returns whether it was.
    func set(_ reason: StopReason) -> Bool {
        stored.withLock { stored in
            guard stored == nil else { return false }
            stored = reason
            return true
        }
    }
}
