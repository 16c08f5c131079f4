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
        guard interval >= 0.01 && interval <= 86400 else {
            throw ValidationError("--interval must be between 0.01 and 86400 seconds, not \(interval).")
        }
        if let count, count < 1 { throw ValidationError("--count must be at least 1, not \(count).") }
    }

    func execute() throws {
        let name = try segmentName(name)
        let interruption = Interruption()
        var previous = try ChannelStatus.read(name)
        var previousTime = ContinuousClock.now
        let inPlace = standardOutputTakesEscapes
        let output = OutputBuffer()
        var shown = 0
        defer {
            if inPlace && shown > 0 {
                try? output.append("\n")
                try? output.flush()
            }
        }
        while count.map({ shown < $0 }) ?? true {
            if interruption.sleep(seconds: interval) { break }
            let now = ContinuousClock.now
            guard let status = try Self.status(name) else {
                if inPlace && shown > 0 { try output.append("\n") }
                try output.append("\(name.posixName) was removed\n")
                try output.flush()
                shown = 0
                return
            }
            let elapsed = now - previousTime
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let line = Self.line(status, previous, seconds: seconds)
            try output.append(inPlace ? "\r\u{1B}[2K" + line : line + "\n")
            try output.flush()
            previous = status
            previousTime = now
            shown += 1
        }
    }

    /// The channel's state; `nil` when the name no longer exists.
    static func status(_ name: SegmentName) throws(ChannelError) -> ChannelStatus? {
        do throws(ChannelError) {
            return try ChannelStatus.read(name)
        } catch {
            if case .segment(let inner) = error, inner.errno == .noSuchFileOrDirectory { return nil }
            throw error
        }
    }

    static func line(_ status: ChannelStatus, _ previous: ChannelStatus, seconds: Double) -> String {
        // A channel removed and made anew starts its counters again.
        let messages = status.published >= previous.published ? status.published - previous.published : status.published
        let bytes = status.bytesPublished >= previous.bytesPublished
            ? status.bytesPublished - previous.bytesPublished : status.bytesPublished
        let messageRate = seconds > 0 ? Double(messages) / seconds : 0
        let byteRate = seconds > 0 ? Double(bytes) / seconds : 0
        let percent = status.capacity > 0 ? Double(status.fill) * 100 / Double(status.capacity) : 0
        return "\(clock())  \(Format.grouped(UInt64(messageRate.rounded()))) msg/s  \(Format.bytes(byteRate))/s"
            + "  fill \(Format.decimal(percent, places: 1))% (\(Format.bytes(Double(status.fill))) of \(Format.bytes(Double(status.capacity))))"
            + "  writer \(status.writer.rawValue)  published \(Format.grouped(status.published))"
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
