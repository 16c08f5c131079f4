import ArgumentParser
import Glibc
import SampleSupport
import SharedMemory

/// What a topic does with a slow subscriber, as the command line spells it.
enum PolicyOption: String, CaseIterable, ExpressibleByArgument {
    case lossless, overwrite

    var policy: SlowSubscriberPolicy { self == .lossless ? .lossless : .overwrite }
}

/// The shape of a topic that `shm publish` or `shm subscribe` creates.
struct TopicShapeOptions: ParsableArguments {
    @OptionGroup var shape: ChannelShapeOptions

    @Option(help: ArgumentHelp("Publisher slots of a topic this command creates (1 to 64).", valueName: "n"))
    var publishers: Int = 16

    @Option(help: ArgumentHelp("Subscriber slots of a topic this command creates (1 to 64).", valueName: "n"))
    var subscribers: Int = 8

    @Option(help: "What a topic this command creates does when a subscriber falls behind: lossless (publishers wait) or overwrite (the subscriber misses messages).")
    var policy: PolicyOption = .lossless

    func validate() throws {
        guard (1...64).contains(publishers) else { throw ValidationError("--publishers must be between 1 and 64, not \(publishers).") }
        guard (1...64).contains(subscribers) else { throw ValidationError("--subscribers must be between 1 and 64, not \(subscribers).") }
    }

    func configuration(history: Int = 0) -> TopicConfiguration {
        TopicConfiguration(maxPublishers: publishers, subscriberSlots: subscribers, policy: policy.policy,
                           ring: RingConfiguration(capacity: shape.capacity.value), history: history)
    }
}

/// `shm publish NAME`: each line of the input as one message of a topic.
struct PublishCommand: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Publish each line of standard input (or a file) as one message of a topic.",
        discussion: """
            Joins the topic NAME as one of its publishers (creating the topic if it does not exist), \
            publishes each line without its newline, and leaves at the end of the input. Several \
            `shm publish` may publish to one topic at once; every `shm subscribe` receives the lines \
            of each publisher in order. Subscribers present when a publisher joins receive all its \
            lines (it waits up to a second for them to attach).

            Example: seq 10 | shm publish news & seq 100 110 | shm publish news & shm subscribe news
            """)

    @Argument(help: "The topic's name.")
    var name: String

    @Option(help: ArgumentHelp("Read the lines from this file instead of standard input ('-' for standard input).", valueName: "path"))
    var file: String?

    @Option(help: ArgumentHelp("Past messages a joining subscriber receives (a topic this command creates).", valueName: "n"))
    var history: Int = 0

    @OptionGroup var topic: TopicShapeOptions

    func validate() throws {
        guard history >= 0 else { throw ValidationError("--history must be 0 or more, not \(history).") }
    }

    func execute() throws {
        let name = try segmentName(name)
        let input = try InputSource(path: file)
        let publisher = try TopicPublisher.open(name, creating: topic.configuration(history: history), joinTimeout: .seconds(30))
        Self.stream(LineReader(input), through: publisher, label: input.label)
        input.close()
        publisher.close()
    }

    /// Publishes every line; on a failure, reports it and ends the process without closing the ring.
    static func stream(_ reader: LineReader, through publisher: borrowing TopicPublisher, label: String) {
        do {
            try reader.forEachLine(maximumLength: publisher.maxMessageSize) { line in try publisher.send(line) }
        } catch ChannelError.messageTooLarge(let size, let maximum) {
            abort(ToolError("line \(reader.lineNumber) of \(label) has \(size) bytes, more than the topic's largest message of \(maximum) bytes"))
        } catch {
            abort(error)
        }
    }
}

/// `shm subscribe NAME`: each message of every publisher as one line.
struct SubscribeCommand: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "subscribe",
        abstract: "Print each message of a topic, from every publisher, on its own line.",
        discussion: """
            Subscribes to the topic NAME (creating it if it does not exist) and prints each message \
            published from then on. Ends with status 0 after --count messages, or once at least one \
            publisher has joined, none is left, and every message is printed (with --count it waits \
            for that many messages however often the publishers come and go). The topic stays \
            (`shm rm` removes it).
            """)

    @Argument(help: "The topic's name.")
    var name: String

    @OptionGroup var limits: StreamLimits

    @OptionGroup var topic: TopicShapeOptions

    func execute() throws {
        let name = try segmentName(name)
        let interruption = Interruption()
        let subscriber = try TopicSubscriber.open(name, creating: topic.configuration())
        let lines = LineWriter()
        var patience = StreamLimits.Patience(limits)
        var received = 0
        while limits.wantsMore(after: received) {
            if let number = interruption.caughtSignal {
                writeToStandardError("shm subscribe: stopped by \(signalName(number)) after \(Format.count(received, "message"))\n")
                throw ExitCode(128 + number)
            }
            guard let slice = patience.nextSlice() else {
                throw ToolError("no message arrived on \(name.posixName) within \(Format.seconds(limits.timeout ?? 0)) s (after \(Format.count(received, "message")))")
            }
            switch try Self.next(subscriber, timeout: slice) {
            case .end:
                guard limits.count != nil else { return }
                // With --count, no publisher joined just now is no end: more may join.
                usleep(10_000)
            case .timedOut: continue
            case .message(let bytes):
                let failure: ToolError? = bytes.withUnsafeBytes { buffer in
                    do throws(ToolError) {
                        try lines.write(buffer)
                        return nil
                    } catch {
                        return error
                    }
                }
                if let failure { throw failure }
                received += 1
                patience.restart()
            }
        }
    }

    enum Next { case message([UInt8]), end, timedOut }

    static func next(_ subscriber: borrowing TopicSubscriber, timeout: Duration) throws(ChannelError) -> Next {
        do throws(ChannelError) {
            guard let message = try subscriber.receive(timeout: timeout) else { return .end }
            return .message(message.bytes)
        } catch .timedOut {
            return .timedOut
        }
    }
}
