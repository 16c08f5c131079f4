import ArgumentParser
import Glibc
import SampleSupport
import SharedMemory

/// `shm watch NAME`: a channel's throughput and fill level, every interval.
struct WatchCommand: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Show a channel's messages and bytes per second and how full it is, every interval.",
        discussion: """
            Reads the channel's or ring's state without attaching to it, every interval, and \
            shows the rates of the published counters (bytes include the 16-byte record headers \
            and padding), how full the ring is for its slowest reader, and the writer's state. On \
            a terminal the line is redrawn in place; otherwise one line is printed per interval. \
            Stops after --count lines, at SIGINT or SIGTERM, or when the channel is removed.
            """)

    @Argument(help: "The channel's name.")
    var name: String

    @Option(help: ArgumentHelp("Seconds between two readings.", valueName: "seconds"))
    var interval: Double = 1

    @Option(help: ArgumentHelp("Stop after this many lines.", valueName: "n"))
    var count: Int?

    func validate() throws {
        try validateRepetition(seconds: interval, option: "--interval", count: count)
    }

    func execute() throws {
        let name = try segmentName(name)
        let interruption = Interruption()
        var previous = try ChannelStatus.read(name)
        let inPlace = standardOutputTakesEscapes
        let output = OutputBuffer()
        var shown = 0
        defer {
            if inPlace && shown > 0 {
                try? output.append("\n")
                try? output.flush()
            }
        }
        try interruption.repeatEvery(seconds: interval, count: count) { seconds in
            guard let status = try Self.status(name) else {
                if inPlace && shown > 0 { try output.append("\n") }
                try output.append("\(name.posixName) was removed\n")
                try output.flush()
                shown = 0
                return false
            }
            let line = Self.line(status, previous, seconds: seconds)
            try output.append(inPlace ? "\r\u{1B}[2K" + line : line + "\n")
            try output.flush()
            previous = status
            shown += 1
            return true
        }
    }

    /// The channel's state; `nil` when the name no longer exists.
    static func status(_ name: SegmentName) throws(ChannelError) -> ChannelStatus? {
        try unlessRemoved { () throws(ChannelError) in try ChannelStatus.read(name) }
    }

    static func line(_ status: ChannelStatus, _ previous: ChannelStatus, seconds: Double) -> String {
        // The counters come from another process: a channel removed and made
        // anew starts them again, and a broken or hostile peer may write anything.
        let messages = Self.increase(from: previous.published, to: status.published)
        let bytes = Self.increase(from: previous.bytesPublished, to: status.bytesPublished)
        let capacity = Double(max(0, status.capacity))
        let percent = capacity > 0 ? min(100, Double(status.fill) * 100 / capacity) : 0
        return "\(clock())  \(Format.grouped(Self.perSecond(messages, seconds))) msg/s  \(Format.bytes(Double(Self.perSecond(bytes, seconds))))/s"
            + "  fill \(Format.decimal(percent, places: 1))% (\(Format.bytes(Double(status.fill))) of \(Format.bytes(capacity)))"
            + "  writer \(status.writer.rawValue)  published \(Format.grouped(status.published))"
    }

    /// How much a counter grew; a counter that went back started again, and counts from 0.
    static func increase(from previous: UInt64, to current: UInt64) -> UInt64 {
        current >= previous ? current - previous : current
    }

    /// `count` per second over `seconds`, rounded; as large as a `UInt64`
    /// holds at most, and 0 for an interval that is not a positive number.
    static func perSecond(_ count: UInt64, _ seconds: Double) -> UInt64 {
        guard seconds > 0, seconds.isFinite else { return 0 }
        let rate = (Double(count) / seconds).rounded()
        return rate.isFinite ? UInt64(exactly: rate) ?? (rate < 0 ? 0 : UInt64.max) : UInt64.max
    }

    /// The local time as `HH:MM:SS`.
    static func clock() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
    }
}
