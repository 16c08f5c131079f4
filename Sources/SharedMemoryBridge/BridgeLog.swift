import Glibc

/// The bridge's log: one line per event on standard error, with the time
/// since start. No logging dependency: the bridge is a small executable and
/// its log is for a human or a supervisor reading stderr.
public enum BridgeLog {
    /// How much is logged.
    public enum Level: Int, Comparable, Sendable {
        /// Failures the bridge cannot work around.
        case error = 0
        /// Dropped samples and other trouble it survives.
        case warning = 1
        /// Start, stop, peers coming and going.
        case info = 2
        /// Every decision (noisy).
        case debug = 3

        /// Orders levels from the quietest.
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
    }

    // nonisolated(unsafe): written once by configure(level:) before any
    // forwarding thread starts, only read afterwards.
    nonisolated(unsafe) static var level: Level = .info
    nonisolated(unsafe) static var start = ContinuousClock.now

    /// Sets the level; call once, before the bridge starts its threads.
    public static func configure(level: Level) {
        self.level = level
        start = ContinuousClock.now
    }

    /// Writes `message` at `level` when the level is enabled.
    public static func log(_ level: Level, _ message: @autoclosure () -> String) {
        guard level <= self.level else { return }
        let elapsed = ContinuousClock.now - start
        let ms = elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
        let tag = switch level { case .error: "error"; case .warning: "warning"; case .info: "info"; case .debug: "debug" }
        let line = "shm-bridge [\(ms / 1000).\(pad3(ms % 1000))] \(tag): \(message())\n"
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { buffer in _ = write(2, buffer.baseAddress, buffer.count) }
    }

    private static func pad3(_ value: Int64) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, 3 - text.count)) + text
    }
}
