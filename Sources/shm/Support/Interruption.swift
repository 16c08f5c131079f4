import Dispatch
import Glibc

/// Catches SIGINT and SIGTERM while it lives, so that a waiting loop can end
/// cleanly (finish its output line) instead of being killed.
final class Interruption: @unchecked Sendable {
    private let signalled = DispatchSemaphore(value: 0)
    private var sources: [any DispatchSourceSignal] = []

    init() {
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [signalled] in signalled.signal() }
            source.resume()
            sources.append(source)
        }
    }

    deinit {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }

    /// Sleeps for `seconds`; `true` when a signal ended the sleep early.
    func sleep(seconds: Double) -> Bool {
        signalled.wait(timeout: .now() + .nanoseconds(Int(seconds * 1e9))) == .success
    }
}
