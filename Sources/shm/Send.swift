import ArgumentParser
import Glibc
import SampleSupport
import SharedMemory

/// `shm send NAME`: each line of the input as one message.
struct SendCommand: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Send each line of standard input (or a file) as one message through a channel.",
        discussion: """
            Each line is sent without its newline; a last line without a newline is sent too. At \
            the end of the input the channel is closed: the receiver gets what is left, then the \
            end. The channel is created if it does not exist yet (whichever of `shm send` and \
            `shm recv` starts first creates it); `shm recv` removes its name at the end.

            When the channel is full, send waits for the receiver. If sending fails midway (a \
            line longer than the largest message, the receiver died, the input cannot be read), \
            the error is printed and the channel is left without closing it, so the receiver \
            reports an error rather than a clean end of a shortened stream.

            When NAME is a many-to-one channel (made by `shm recv NAME --senders N`), send joins \
            it as one of its senders (waiting up to 30 s for a free slot) and leaves at the end \
            of the input; several `shm send` may feed one `shm recv` at once.

            Example: seq 1000000 | shm send numbers & shm recv numbers | wc -l
            """)

    @Argument(help: "The channel's name.")
    var name: String

    @Option(help: ArgumentHelp("Read the lines from this file instead of standard input ('-' for standard input).",
                               valueName: "path"))
    var file: String?

    @OptionGroup var shape: ChannelShapeOptions

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "The largest message of a channel this command creates; by default a quarter of the capacity less 16 bytes, at most half of it less 16.",
        valueName: "bytes"))
    var maxMessage: ByteCount?

    func validate() throws {
        if let maxMessage, maxMessage.value <= 0 {
            throw ValidationError("--max-message must be at least 1 byte, not \(maxMessage.value).")
        }
    }

    func execute() throws {
        let name = try segmentName(name)
        let input = try InputSource(path: file)
        let configuration = RingConfiguration(capacity: shape.capacity.value, maxMessageSize: maxMessage?.value)
        switch try ServicePattern.ofSegment(name) {
        case .manyToOne?:
            let sender = try ManyToOneSender.open(name, creating: nil, joinTimeout: .seconds(30))
            Self.stream(LineReader(input), through: sender, label: input.label)
            input.close()
            sender.close()
            return
        case let pattern?:
            throw ToolError("\(name.posixName) is a \(pattern.name), which `shm send` does not write")
        case nil:
            break
        }
        let sender = try ChannelSender.open(name, creating: configuration)
        Self.stream(LineReader(input), through: sender, label: input.label)
        input.close()
        sender.close()
    }

    /// Sends `line`; when the receiver leaves while this waits for space
    /// (``ChannelError/peerLeft(_:)``), waits for the next receiver, as a
    /// pipe's writer would for a reader that is restarted.
    private static func sendWaitingForReceivers(_ line: UnsafeRawBufferPointer, _ sender: borrowing ChannelSender) throws(ChannelError) {
        while true {
            do {
                try sender.send(line)
                return
            } catch .peerLeft {
                usleep(10_000) // the slot says "left" until a new receiver attaches
            }
        }
    }

    /// Sends every line as one sender of a many-to-one channel; on a failure,
    /// reports it and ends the process without closing the sender's ring.
    static func stream(_ reader: LineReader, through sender: borrowing ManyToOneSender, label: String) {
        do {
            try reader.forEachLine(maximumLength: sender.maxMessageSize) { line in try sender.send(line) }
        } catch ChannelError.messageTooLarge(let size, let maximum) {
            abort(ToolError("line \(reader.lineNumber) of \(label) has \(size) bytes, more than the channel's largest message of \(maximum) bytes"))
        } catch {
            abort(error)
        }
    }

    /// Sends every line; on a failure, reports it and ends the process while
    /// `sender` is still borrowed here, so the channel is never closed.
    static func stream(_ reader: LineReader, through sender: borrowing ChannelSender, label: String) {
        do {
            try reader.forEachLine(maximumLength: sender.maxMessageSize) { line in try sendWaitingForReceivers(line, sender) }
        } catch ChannelError.messageTooLarge(let size, let maximum) {
            abort(ToolError("line \(reader.lineNumber) of \(label) has \(size) bytes, more than the channel's largest message of \(maximum) bytes; create the channel with a larger --max-message (and --capacity)"))
        } catch {
            abort(error)
        }
    }
}
