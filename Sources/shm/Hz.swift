import ArgumentParser
import SampleSupport
import SharedMemory

/// `shm hz NAME`: a service's message rate, one line per window.
struct HzCommand: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "hz",
        abstract: "Show a service's message rate, one line per window.",
        discussion: """
            Reads the service's published-messages counter without attaching to it (read-only: \
            no lock is taken and nothing is written) at the start and at the end of every window, \
            and prints one line per window: `rate: R msg/s  total: T`, with R the messages \
            published during the window per second and T the counter at its end. Works for \
            channels and publish/subscribe rings; an events segment counts no notifications, so \
            its rate is not measurable and hz says so and fails. A counter that goes back (the \
            service was made anew) counts from 0. Stops after --count lines, at SIGINT or \
            SIGTERM, or when the service is removed.
            """)

    @Argument(help: "The service's name.")
    var name: String

    @Option(help: ArgumentHelp("Seconds each rate is measured over.", valueName: "seconds"))
    var window: Double = 1

    @Option(help: ArgumentHelp("Stop after this many lines.", valueName: "n"))
    var count: Int?

    func validate() throws {
        try validateRepetition(seconds: window, option: "--window", count: count)
    }

    func execute() throws {
        let name = try segmentName(name)
        let interruption = Interruption()
        guard var previous = try Self.published(name) else {
            throw ToolError("no segment named \(name.posixName) exists")
        }
        let output = OutputBuffer()
        try interruption.repeatEvery(seconds: window, count: count) { seconds in
            guard let published = try Self.published(name) else {
                try output.append("\(name.posixName) was removed\n")
                try output.flush()
                return false
            }
            try output.append(Self.line(published: published, previous: previous, seconds: seconds) + "\n")
            try output.flush()
            previous = published
            return true
        }
    }

    /// The service's published counter; `nil` when the name no longer exists.
    static func published(_ name: SegmentName) throws -> UInt64? {
        guard let info = try unlessRemoved({ () throws(ChannelError) in try ServiceDirectory.describe(name) }) else { return nil }
        if let problem = info.problem { throw ToolError(problem) }
        guard let published = info.counters.published else {
            throw ToolError("\(name.posixName) is \(info.kind.map { "an \($0.rawValue) service" } ?? "a service") that counts no messages: its rate is not measurable")
        }
        return published
    }

    /// `rate: R msg/s  total: T`.
    static func line(published: UInt64, previous: UInt64, seconds: Double) -> String {
        // A counter that went back belongs to a service made anew, or to a hostile peer.
        let increase = WatchCommand.increase(from: previous, to: published)
        let rate = seconds > 0 && seconds.isFinite ? Double(increase) / seconds : 0
        // Format.decimal works in Int: a hostile jump of the counter must not overflow it.
        let shown = min(rate, 1e15)
        return "rate: \(Format.decimal(shown, places: 1)) msg/s  total: \(published)"
    }
}
