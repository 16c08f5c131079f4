import ArgumentParser
import Glibc
import SharedMemory

/// Receives a stream through a channel or as a subscriber and checks it.
struct Receive: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Receive a stream of test messages and check it.",
        discussion: """
            The last line of standard output sums up the stream. A strict receiver checks every \
            byte, the order and the gaps; a tolerant one (--tolerant, for rings a hostile peer \
            writes into) checks only that each message's length is within the ring's bounds.
            """)

    @OptionGroup var options: StreamOptions
    @Flag(help: "Read each message in place.") var inPlace = false
    @Option(help: "Stop after this many messages (a subscriber leaving early).") var stopAfter: Int?
    @Option(help: "Sleep this many microseconds after each message (a slow reader; 0 to 1000000).") var delay = 0
    @Flag(help: "Check framing and lengths only: payload bytes may be wrong.") var tolerant = false
    @Flag(help: "Accept any first message (a receiver taking over a stream).") var anyStart = false
    @Flag(help: "Subscribe without the ring's history: start at the live stream.") var noHistory = false

    func validate() throws {
        try checkRange(delay, 0...1_000_000, "--delay")
        if let stopAfter { try checkRange(stopAfter, 0...StreamOptions.maxCount, "--stop-after") }
    }

    func run() throws {
        let name = try options.segmentName
        var checker = StreamChecker(options: options, tolerant: tolerant, anyStart: anyStart)
        do {
            if options.flavour == .channel {
                try receiveChannel(name, &checker)
            } else if options.flavour == .topic {
                try receiveTopic(name, &checker)
            } else {
                try receiveSubscribed(name, &checker)
            }
        } catch {
            print("\(checker.summary); error: \(error)")
            complain("\(error)")
            throw ExitCode(3)
        }
        print(checker.summary)
        if checker.outOfBounds > 0 {
            complain("\(checker.outOfBounds) messages had lengths out of bounds (\(checker.firstProblem))")
            throw ExitCode(4)
        }
        if checker.problems > 0 {
            complain("\(checker.problems) problems in the stream (\(checker.firstProblem))")
            throw ExitCode(2)
        }
    }

    private var limit: UInt64 { stopAfter.map { UInt64($0) } ?? .max }

    private func receiveChannel(_ name: SegmentName, _ checker: inout StreamChecker) throws(ChannelError) {
        let receiver = try ChannelReceiver.open(name, creating: options.ring, wait: options.wait.strategy)
        say("ready")
        while checker.received < limit {
            let more: Void?
            if inPlace {
                more = try receiver.receive(timeout: options.timeout) { checker.accept($0, missed: 0) }
            } else {
                more = try receiver.receive(timeout: options.timeout).map { message in
                    message.withUnsafeBytes { checker.accept($0, missed: 0) }
                }
            }
            guard more != nil else { break }
            if delay > 0 { usleep(UInt32(delay)) }
        }
    }

    private func receiveTopic(_ name: SegmentName, _ checker: inout StreamChecker) throws(ChannelError) {
        let subscriber = try TopicSubscriber.open(name, creating: options.topic, wait: options.wait.strategy)
        say("ready")
        let first = options.firstTimeoutMs.map { Duration.milliseconds($0) } ?? options.timeout
        while checker.received < limit, let message = try subscriber.receive(timeout: checker.received == 0 ? first : options.timeout) {
            message.bytes.withUnsafeBytes { checker.accept($0, missed: message.missedBefore) }
            if delay > 0 { usleep(UInt32(delay)) }
        }
        subscriber.leave()
    }

    private func receiveSubscribed(_ name: SegmentName, _ checker: inout StreamChecker) throws(ChannelError) {
        // The messages published just before and just after the join, as the
        // ring's status shows them: a subscriber's stream starts between them,
        // less the ring's history.
        let before = (try? ChannelStatus.read(name))?.published ?? 0
        let subscriber = try Subscriber.open(name, creating: options.pubsub, history: !noHistory, wait: options.wait.strategy)
        let after = (try? ChannelStatus.read(name))?.published ?? 0
        say("joined after \(before) before \(after)")
        say("ready")
        while checker.received < limit, let message = try subscriber.receive(timeout: options.timeout) {
            message.bytes.withUnsafeBytes { checker.accept($0, missed: message.missedBefore) }
            if delay > 0 { usleep(UInt32(delay)) }
        }
        subscriber.leave()
    }
}
