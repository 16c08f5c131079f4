import ArgumentParser
import Glibc
import SampleSupport
import SharedMemory

/// `shm listen NAME`: each event id as one line.
struct ListenCommand: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "listen",
        abstract: "Listen on an events segment and print each event id on its own line.",
        discussion: """
            The events segment is created if it does not exist yet. Ids that are pending when \
            listen starts are printed first. Each wake-up prints the ids notified since the last \
            one, in increasing order, each once: an id notified several times in between is \
            printed once. Ends with status 0 after --count ids; SIGINT or SIGTERM stops it with \
            status 130 or 143; --timeout fails (status 1) when no id comes for that many seconds. \
            Only one process listens on a segment at a time; a second listen fails while the \
            first runs (a listener that died is replaced at once). The segment stays when listen \
            ends: `shm rm NAME` removes it.

            Example: shm listen doorbell --count 2 & shm notify doorbell 1; shm notify doorbell 2
            """)

    @Argument(help: "The events segment's name.")
    var name: String

    @OptionGroup var limits: StreamLimits

    @Option(help: ArgumentHelp("How to wait: adaptive (spin briefly, then sleep), sleep (sleep at once) or spin (never sleep).",
                               valueName: "mode"))
    var wait: ListenWait = .adaptive

    /// The waiting modes of `--wait`.
    enum ListenWait: String, ExpressibleByArgument, CaseIterable {
        case adaptive, sleep, spin

        var strategy: WaitStrategy {
            switch self {
            case .adaptive: .default
            case .sleep: .sleep
            case .spin: .spin
            }
        }
    }

    func execute() throws {
        let name = try segmentName(name)
        let interruption = Interruption()
        let listener = try EventListener.open(name, wait: wait.strategy)
        let lines = LineWriter()
        var patience = StreamLimits.Patience(limits)
        var printed = 0
        // Ids taken beyond --count stay pending for the next listener.
        var pending: [EventID] = []
        defer {
            if !pending.isEmpty, let notifier = try? EventNotifier.open(name, creating: false) {
                try? notifier.notify(ids: pending)
            }
        }
        while limits.wantsMore(after: printed) {
            if pending.isEmpty {
                if let number = interruption.caughtSignal {
                    writeToStandardError("shm listen: stopped by \(signalName(number)) after \(Format.count(printed, "event"))\n")
                    throw ExitCode(128 + number)
                }
                guard let slice = patience.nextSlice() else {
                    throw ToolError("no event arrived on \(name.posixName) within \(Format.seconds(limits.timeout ?? 0)) s (after \(Format.count(printed, "event")))")
                }
                pending = try Self.take(listener, timeout: slice)
                if pending.isEmpty { continue }
                patience.restart()
            }
            let id = pending.removeFirst()
            try Self.write(id, to: lines)
            printed += 1
        }
    }

    /// The pending ids, waiting up to `timeout`; empty when none came.
    static func take(_ listener: borrowing EventListener, timeout: Duration) throws(ChannelError) -> [EventID] {
        do {
            return try listener.wait(timeout: timeout)
        } catch .timedOut {
            return []
        }
    }

    /// Writes `id` as a decimal line.
    static func write(_ id: EventID, to lines: LineWriter) throws(ToolError) {
        let text = Array(String(id.rawValue).utf8)
        try text.withUnsafeBytes { bytes in Result { () throws(ToolError) in try lines.write(bytes) } }.get()
    }
}
