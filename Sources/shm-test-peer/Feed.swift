import ArgumentParser
import Glibc
import SharedMemory

/// Feeds several sources of different kinds from one process: channels,
/// many-to-one channels (as one of their senders), topics (as one of their
/// publishers) and events segments, for the tests of a wait set over many sources.
struct Feed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "feed",
        abstract: "Send numbered messages to several sources of different kinds, round-robin.",
        discussion: """
            Each TARGET is KIND:NAME, KIND one of channel, many, topic, events; every segment must \
            exist already. Joins or opens every target, prints `ready`, waits for a line on standard \
            input, then sends --count messages to each message target, round-robin: 8 bytes, the \
            little-endian u32 --id and the u32 sequence number. An events target is notified with \
            id 1 + --id after the last message. Then it closes every target and prints `sent N`.
            """)

    @Argument(help: "The targets, KIND:NAME.") var targets: [String]
    @Option(help: "The feeder's id, carried in every message (0 to 4094).") var id: Int = 0
    @Option(help: "Messages per message target.") var count: Int = 100

    func validate() throws {
        try checkRange(id, 0...(EventID.maximum - 1), "--id")
        // Each message carries its sequence number as a u32.
        try checkRange(count, 0...Int(UInt32.max), "--count")
        for target in targets {
            let parts = target.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, ["channel", "many", "topic", "events"].contains(parts[0]) else {
                throw ValidationError("a target is KIND:NAME with KIND channel, many, topic or events, not \(target)")
            }
        }
    }

    func run() throws {
        var sent = 0
        do {
            var opened: [any FeedTarget] = []
            for target in targets {
                let parts = target.split(separator: ":", maxSplits: 1)
                let name = try SegmentName(String(parts[1]))
                switch parts[0] {
                case "channel": opened.append(ChannelTarget(try ChannelSender.open(name, creating: nil)))
                case "many": opened.append(ManyTarget(try ManyToOneSender.open(name, creating: nil, joinTimeout: .seconds(30))))
                case "topic":
                    opened.append(TopicTarget(try TopicPublisher.open(name, creating: nil, joinTimeout: .seconds(30), subscriberWait: .seconds(20))))
                default: opened.append(EventsTarget(try EventNotifier.open(name, creating: false), id: id + 1))
                }
            }
            say("ready")
            var byte: UInt8 = 0
            while read(0, &byte, 1) == 1, byte != UInt8(ascii: "\n") {}
            for sequence in 0..<count {
                var words = (UInt32(id).littleEndian, UInt32(sequence).littleEndian)
                let bytes = withUnsafeBytes(of: &words) { Array($0) }
                for target in opened where try target.send(bytes) { sent += 1 }
            }
            for target in opened { try target.finish() }
            opened = [] // dropping a sender or publisher closes it
        } catch {
            throw sendingFailed(after: sent, error)
        }
        say("sent \(sent)")
    }
}

/// One opened target of ``Feed``; dropping it closes it.
protocol FeedTarget: AnyObject {
    /// Sends `bytes`; `false` for a target that takes no messages.
    func send(_ bytes: [UInt8]) throws(ChannelError) -> Bool
    /// What the target does after the last message.
    func finish() throws(ChannelError)
}

extension FeedTarget {
    /// Nothing, for a message target.
    func finish() throws(ChannelError) {}
}

/// A channel, fed as its sender.
final class ChannelTarget: FeedTarget {
    let sender: ChannelSender
    init(_ sender: consuming ChannelSender) { self.sender = sender }
    func send(_ bytes: [UInt8]) throws(ChannelError) -> Bool {
        try sender.send(bytes, timeout: .seconds(30))
        return true
    }
}

/// A many-to-one channel, fed as one of its senders.
final class ManyTarget: FeedTarget {
    let sender: ManyToOneSender
    init(_ sender: consuming ManyToOneSender) { self.sender = sender }
    func send(_ bytes: [UInt8]) throws(ChannelError) -> Bool {
        try sender.send(bytes, timeout: .seconds(30))
        return true
    }
}

/// A topic, fed as one of its publishers.
final class TopicTarget: FeedTarget {
    let publisher: TopicPublisher
    init(_ publisher: consuming TopicPublisher) { self.publisher = publisher }
    func send(_ bytes: [UInt8]) throws(ChannelError) -> Bool {
        try publisher.send(bytes, timeout: .seconds(30))
        return true
    }
}

/// An events segment: notified once, after the last message.
final class EventsTarget: FeedTarget {
    let notifier: EventNotifier
    let id: Int
    init(_ notifier: consuming EventNotifier, id: Int) {
        self.notifier = notifier
        self.id = id
    }
    func send(_ bytes: [UInt8]) throws(ChannelError) -> Bool { false }
    /// Notifies the feeder's id, after its last message.
    func finish() throws(ChannelError) {
        if let event = EventID(id) { try notifier.notify(event) }
    }
}
