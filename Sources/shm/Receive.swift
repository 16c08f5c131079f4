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

            With --senders N (or on an existing many-to-one channel), recv receives from up to N \
            senders at once: each `shm send NAME` joins as one sender, the lines of each sender \
            arrive in its order, interleaved with the others'. recv ends with status 0 once at \
            least one sender has joined, none is left and every line is printed, and removes the name; \
            with --count it waits for that many lines however often the senders come and go.

            Stopped by --count or --timeout before the end, recv leaves the channel for another \
            receiver (`shm rm` removes it; once nobody uses it and its creator is gone, `shm gc` does). \
            SIGINT or SIGTERM stops it the same way, after the message in hand, with status 130 or 143.

            Nothing is lost when recv dies: a message leaves the channel only once its line is \
            written to standard output (each line with its own write, nothing buffered in recv). If \
            recv is killed, the next `shm recv` on the channel starts with the first message not yet \
            written out, so the outputs of the two, one after the other, hold every message in order; \
            at most the one message recv was writing when it died is repeated (and the first output \
            may end with part of it). If standard output fails, recv stops with that message still in \
            the channel.
            """)

    @Argument(help: "The channel's name.")
    var name: String

    @OptionGroup var limits: StreamLimits

    @OptionGroup var shape: ChannelShapeOptions

    @Option(help: ArgumentHelp(
        "Receive from a many-to-one channel with this many sender slots (1 to 64), created if it does not exist; each `shm send` joins as one sender.",
        valueName: "n"))
    var senders: Int?

    func validate() throws {
        if let senders, !(1...64).contains(senders) {
            throw ValidationError("--senders must be between 1 and 64, not \(senders).")
        }
    }

    func execute() throws {
        let name = try segmentName(name)
        let interruption = Interruption()
        switch try ServicePattern.ofSegment(name) {
        case .manyToOne?:
            return try receiveManyToOne(name, senders: senders ?? ManyToOneConfiguration().maxSenders, interruption: interruption)
        case let pattern?:
            throw ToolError("\(name.posixName) is a \(pattern.name), which `shm recv` does not read")
        case nil where senders != nil:
            return try receiveManyToOne(name, senders: senders!, interruption: interruption)
        case nil:
            break
        }
        let receiver = try ChannelReceiver.open(name, creating: RingConfiguration(capacity: shape.capacity.value))
        let lines = LineWriter()
        var patience = StreamLimits.Patience(limits)
        var received = 0
        var ended = false
        do {
            while limits.wantsMore(after: received) {
                try Self.stopIfInterrupted(interruption, received: received, name: name)
                guard let slice = patience.nextSlice() else { throw ChannelError.timedOut }
                let next = try Self.next(receiver, timeout: slice, lines: lines)
                if next == .end {
                    ended = true
                    break
                }
                if next == .message {
                    received += 1
                    patience.restart()
                }
            }
        } catch let error as ChannelError {
            switch error {
            case .peerDied(let who):
                try? SharedMemorySegment.remove(name)
                throw ToolError("\(who) died without closing the channel, after \(Format.count(received, "message")); removed \(name.posixName)")
            case .timedOut:
                throw ToolError("no message arrived on \(name.posixName) within \(Format.seconds(limits.timeout ?? 0)) s (after \(Format.count(received, "message")))")
            default:
                throw error
            }
        }
        if ended || Self.streamIsOver(name) {
            try? SharedMemorySegment.remove(name)
        }
    }

    enum Next { case message, end, timedOut }

    /// Ends the process with status 128 + the signal's number once SIGINT or
    /// SIGTERM has come, saying how many messages were printed; the rest stays.
    static func stopIfInterrupted(_ interruption: Interruption, received: Int, name: SegmentName) throws {
        guard let number = interruption.caughtSignal else { return }
        writeToStandardError("shm recv: stopped by \(signalName(number)) after \(Format.count(received, "message")); the rest stays in \(name.posixName)\n")
        throw ExitCode(128 + number)
    }

    /// Receives one message and writes its line out before the channel releases it.
    static func next(_ receiver: borrowing ChannelReceiver, timeout: Duration, lines: LineWriter) throws(ChannelError) -> Next {
        do throws(ChannelError) {
            let message: Void? = try receiver.receive(timeout: timeout) { bytes in
                do throws(ToolError) {
                    try lines.write(bytes)
                } catch {
                    // Ends the process before the message is released: it stays for the next receiver.
                    abort(ToolError("\(error.message); the message stays in \(receiver.name.posixName) for the next receiver"))
                }
            }
            return message == nil ? .end : .message
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
