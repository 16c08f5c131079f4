import ArgumentParser
import Glibc
import SampleSupport
import SharedMemory

/// `shm recv NAME`: each message as one line.
struct ReceiveCommand: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "recv",
        abstract: "Receive messages from a channel and print each on its own line.",
        discussion: """
            Ends with status 0 after --count messages, or when the sender has closed the channel \
            and every message is printed. When the stream is over (the sender closed the channel, \
            or died) recv removes the channel's name, so a finished pipeline leaves nothing in \
            /dev/shm. If the sender dies without closing the channel, recv prints what arrived \
            and fails within a fraction of a second. The channel is created if it does not exist \
            yet (whichever of `shm send` and `shm recv` starts first creates it).

            Stopped by --count or --timeout before the end, recv leaves the channel for another \
            receiver (`shm rm` removes it; once nobody uses it and its creator is gone, `shm gc` does). \
            Output is buffered and written in large blocks, and whenever no message is waiting.
            """)

    @Argument(help: "The channel's name.")
    var name: String

    @Option(help: ArgumentHelp("Stop after this many messages.", valueName: "n"))
    var count: Int?

    @OptionGroup var shape: ChannelShapeOptions

    @Option(help: ArgumentHelp("Fail when no message arrives for this many seconds (by default, wait as long as it takes).",
                               valueName: "seconds"))
    var timeout: Double?

    func validate() throws {
        if let count, count < 1 { throw ValidationError("--count must be at least 1, not \(count).") }
        if let timeout, !(timeout > 0 && timeout < 1e9) {
            throw ValidationError("--timeout must be a positive number of seconds, not \(timeout).")
        }
    }

    /// How long to wait, with the output not yet written, before writing it out and waiting on.
    static let quietWait = Duration.milliseconds(5)

    func execute() throws {
        let name = try segmentName(name)
        let receiver = try ChannelReceiver.open(name, creating: RingConfiguration(capacity: shape.capacity.value))
        let output = OutputBuffer()
        let limit = timeout.map { Duration.nanoseconds(Int64($0 * 1e9)) }
        var received = 0
        var ended = false
        do {
            while count.map({ received < $0 }) ?? true {
                // Wait briefly with the output buffered; when nothing comes, write it out and wait on.
                let first = limit.map { min($0, Self.quietWait) } ?? Self.quietWait
                var next = try Self.next(receiver, timeout: first, output: output)
                if next == .timedOut {
                    try output.flush()
                    next = try Self.next(receiver, timeout: limit.map { $0 - first }, output: output)
                }
                if let failure = output.failure { throw failure }
                if next == .end {
                    ended = true
                    break
                }
                if next == .timedOut { throw ChannelError.timedOut }
                received += 1
            }
        } catch let error as ChannelError {
            try output.flush()
            switch error {
            case .peerDied(let who):
                try? SharedMemorySegment.remove(name)
                throw ToolError("\(who) died without closing the channel, after \(Format.count(received, "message")); removed \(name.posixName)")
            case .timedOut:
                throw ToolError("no message arrived on \(name.posixName) within \(Format.seconds(timeout ?? 0)) s (after \(Format.count(received, "message")))")
            default:
                throw error
            }
        }
        try output.flush()
        if ended || Self.streamIsOver(name) {
            try? SharedMemorySegment.remove(name)
        }
    }

    enum Next { case message, end, timedOut }

    /// Receives one message into `output`.
    static func next(_ receiver: borrowing ChannelReceiver, timeout: Duration?, output: OutputBuffer) throws(ChannelError) -> Next {
        do throws(ChannelError) {
            return try receiver.receive(timeout: timeout) { output.appendLineRecordingFailure($0) } == nil ? .end : .message
        } catch .timedOut {
            return .timedOut
        }
    }

    /// Whether the sender has closed the channel and nothing is left to receive.
    static func streamIsOver(_ name: SegmentName) -> Bool {
        guard let status = try? ChannelStatus.read(name) else { return false }
        return status.writer == .closed && status.readers.allSatisfy { $0.messagesBehind == 0 }
    }
}
