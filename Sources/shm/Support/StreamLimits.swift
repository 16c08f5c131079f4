import ArgumentParser

/// `--count` and `--timeout` of the commands that print a stream (`recv`,
/// `listen`), and the waits they make: slices short enough to notice a
/// signal, within the time left before `--timeout` runs out.
struct StreamLimits: ParsableArguments {
    @Option(help: ArgumentHelp("Stop after this many items.", valueName: "n"))
    var count: Int?

    @Option(help: ArgumentHelp("Fail when nothing arrives for this many seconds (by default, wait as long as it takes).",
                               valueName: "seconds"))
    var timeout: Double?

    func validate() throws {
        if let count, count < 1 { throw ValidationError("--count must be at least 1, not \(count).") }
        if let timeout, !(timeout > 0 && timeout < 1e9) {
            throw ValidationError("--timeout must be a positive number of seconds, not \(timeout).")
        }
    }

    /// The longest single wait, so that a signal is noticed within it. It is
    /// four times a channel's check of its peer (every 250 ms), which runs
    /// only inside a wait: a slice as short as the check would end every wait
    /// before a dead sender is noticed.
    static let waitSlice = Duration.seconds(1)

    /// Whether fewer than `--count` items have been printed.
    func wantsMore(after printed: Int) -> Bool { count.map { printed < $0 } ?? true }

    /// The clock of `--timeout`: restarted by every item that arrives.
    struct Patience {
        private let patience: Duration?
        private var deadline: ContinuousClock.Instant?

        init(_ limits: StreamLimits) {
            patience = limits.timeout.map { Duration.nanoseconds(Int64($0 * 1e9)) }
            deadline = patience.map { ContinuousClock.now + $0 }
        }

        /// How long the next wait may last; `nil` once `--timeout` has run out.
        func nextSlice() -> Duration? {
            guard let deadline else { return StreamLimits.waitSlice }
            let left = deadline - .now
            return left <= .zero ? nil : min(StreamLimits.waitSlice, left)
        }

        /// An item arrived: `--timeout` counts again from now.
        mutating func restart() {
            if let patience { deadline = .now + patience }
        }
    }
}
