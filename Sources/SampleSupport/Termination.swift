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

/// Catches SIGINT and SIGTERM from the moment it is made, so that a signal
/// that arrives at any point later ends ``wait()`` and lets the program
/// clean up, instead of killing it.
///
/// Until the program holds something to clean up (``holdResources()``, or the
/// start of ``wait()``), a signal ends the process at once, with status
/// 128 + the signal's number: an open that waits for a segment still being
/// created (up to its ready timeout) does not delay it.
public final class StopWatcher: Sendable {
    private let stopped = DispatchSemaphore(value: 0)
    private let reason = Mutex<StopReason?>(nil)
    private let holding = Atomic<Bool>(false)
    // Kept only to stay alive; never touched after `init`.
    nonisolated(unsafe) private let sources: [any DispatchSourceSignal]

    /// Starts catching SIGINT and SIGTERM. Make one early, before anything
    /// that needs clean-up exists.
    public init() {
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            sources.append(DispatchSource.makeSignalSource(signal: number, queue: .global()))
        }
        self.sources = sources
        for (source, number) in zip(sources, [SIGINT, SIGTERM]) {
            source.setEventHandler { [self] in
                guard holding.load(ordering: .acquiring) else { _exit(128 + number) }
                stop(.signal(number))
            }
            source.resume()
        }
    }

    /// Says the program now holds something to clean up (a segment it
    /// created): from now on a signal ends ``wait()`` instead of the process.
    public func holdResources() {
        holding.store(true, ordering: .releasing)
    }

    private func stop(_ why: StopReason) {
        let first = reason.withLock { stored in
            guard stored == nil else { return false }
            stored = why
            return true
        }
        if first { stopped.signal() }
    }

    /// Prints the sample's prompt and waits.
    public func promptAndWait() -> StopReason {
        print("Press ENTER to clean up resources and quit", terminator: "")
        fflush(nil)
        return wait()
    }

    /// Waits for ENTER, the end of standard input, SIGINT or SIGTERM,
    /// whichever comes first (a signal that came earlier counts too).
    public func wait() -> StopReason {
        holdResources()
        // A blocking read on a worker thread; the process ends without joining it.
        DispatchQueue.global().async { [self] in
            var byte: UInt8 = 0
            var count: Int
            repeat { count = read(STDIN_FILENO, &byte, 1) } while count < 0 && errno == EINTR
            stop(count == 1 ? .enter : .endOfInput)
        }
        stopped.wait()
        return reason.withLock { $0 }!
    }
}
