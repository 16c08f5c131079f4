import Dispatch
import Glibc
import Synchronization

/// Catches SIGINT and SIGTERM while it lives, so that a waiting loop can end
/// cleanly (finish its output line, or the message in hand) instead of being killed.
final class Interruption: @unchecked Sendable {
    private let signalled = DispatchSemaphore(value: 0)
    private let caught = CaughtSignal()
    private var sources: [any DispatchSourceSignal] = []

    init() {
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [signalled, caught] in
                _ = caught.number.compareExchange(expected: 0, desired: number, ordering: .relaxed)
                signalled.signal()
            }
            source.resume()
            sources.append(source)
        }
    }

    deinit {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }

    /// The first signal caught, or `nil` while none has come.
    var caughtSignal: Int32? {
        let number = caught.number.load(ordering: .relaxed)
        return number == 0 ? nil : number
    }

    /// Sleeps for `seconds`; `true` when a signal ended the sleep early.
    func sleep(seconds: Double) -> Bool {
        signalled.wait(timeout: .now() + .nanoseconds(Int(seconds * 1e9))) == .success
    }

    /// Calls `body` every `seconds` with the seconds since the previous call
    /// (or since this call began), until it has run `count` times (without
    /// end for `nil`), a signal comes, or `body` returns `false`.
    func repeatEvery(seconds: Double, count: Int?, _ body: (_ elapsed: Double) throws -> Bool) rethrows {
        var previousTime = ContinuousClock.now
        var calls = 0
        while count.map({ calls < $0 }) ?? true {
            if sleep(seconds: seconds) { return }
            let now = ContinuousClock.now
            let elapsed = now - previousTime
            guard try body(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18) else { return }
            previousTime = now
            calls += 1
        }
    }
}

/// The first signal caught, shared with the handlers: 0 while none has come.
private final class CaughtSignal: Sendable {
    let number = Atomic<Int32>(0)
}

/// The name of a signal this tool catches: `SIGINT` or `SIGTERM`.
func signalName(_ number: Int32) -> String {
    switch number {
    case SIGINT: "SIGINT"
    case SIGTERM: "SIGTERM"
    default: "signal \(number)"
    }
}
