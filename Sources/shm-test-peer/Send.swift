import ArgumentParser
import Glibc
import SharedMemory

/// Sends messages `--from` to `--count` - 1 through a channel or as a publisher.
struct Send: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Send a stream of test messages.")

    @OptionGroup var options: StreamOptions
    @Flag(help: "Write each message in place through a loan.") var loan = false
    @Option(help: "Wait this many milliseconds before the first message (0 to 60000).") var startDelay = 0
    @Option(help: "Pause this many microseconds after each message (0 to 1000000).") var paceUs = 0
    @Option(help: "Before the first message, wait until this many readers are attached (0 to 64), up to --timeout-ms or 10 s.")
    var awaitReaders = 0
    @Flag(help: "Stop without closing (the test kills the process).") var hang = false

    func validate() throws {
        try checkRange(startDelay, 0...60_000, "--start-delay")
        try checkRange(paceUs, 0...1_000_000, "--pace-us")
        try checkRange(awaitReaders, 0...64, "--await-readers")
    }

    func run() throws {
        let name = try options.segmentName
        var sent = 0
        do {
            if options.flavour == .channel {
                let sender = try ChannelSender.open(name, creating: options.ring, wait: options.wait.strategy)
                try stream(&sent) { (sequence, size) throws(ChannelError) in
                    if loan {
                        try sender.send(loaning: size, timeout: options.timeout) { buffer in
                            TestMessages.fill(buffer, sequence: sequence, seed: options.seed)
                            return size
                        }
                    } else {
                        try send(size, sequence) { (bytes) throws(ChannelError) in try sender.send(bytes, timeout: options.timeout) }
                    }
                }
                // The sender must live on while the process hangs: use it after the loop.
                while hang { sleep(60); _ = sender.capacity }
                sender.close()
            } else if options.flavour == .topic {
                let publisher = try TopicPublisher.open(name, creating: options.topic, subscriberWait: .milliseconds(options.subscriberWaitMs),
                                                       wait: options.wait.strategy)
                try stream(&sent) { (sequence, size) throws(ChannelError) in
                    try send(size, sequence) { (bytes) throws(ChannelError) in try publisher.send(bytes, timeout: options.timeout) }
                }
                while hang { sleep(60); _ = publisher.publishedCount }
                publisher.close()
            } else {
                let publisher = try Publisher.open(name, creating: options.pubsub, wait: options.wait.strategy)
                try stream(&sent) { (sequence, size) throws(ChannelError) in
                    try send(size, sequence) { (bytes) throws(ChannelError) in try publisher.send(bytes, timeout: options.timeout) }
                }
                while hang { sleep(60); _ = publisher.publishedCount }
                publisher.close()
            }
        } catch {
            throw sendingFailed(after: sent, error)
        }
        print("sent \(sent)")
    }

    /// Says "ready", waits the start delay, then calls `body` for each message of the stream.
    private func stream(_ sent: inout Int, _ body: (UInt64, Int) throws(ChannelError) -> Void) throws(ChannelError) {
        say("ready")
        if startDelay > 0 { usleep(UInt32(startDelay) * 1000) }
        if awaitReaders > 0 { try waitForReaders() }
        for sequence in UInt64(options.from)..<UInt64(options.count) {
            try body(sequence, options.size(of: sequence))
            sent += 1
            if options.printEach { say("sent message \(sequence)") }
            if paceUs > 0 { usleep(UInt32(paceUs)) }
        }
    }

    /// Waits until `--await-readers` readers are attached, as `shm inspect` sees them.
    private func waitForReaders() throws(ChannelError) {
        let name = try? options.segmentName
        let deadline = ContinuousClock.now + (options.timeout ?? .seconds(10))
        while true {
            if let name, let status = try? ChannelStatus.read(name),
               status.readers.filter(\.attached).count >= awaitReaders { return }
            if ContinuousClock.now >= deadline { throw .timedOut }
            usleep(2_000)
        }
    }

    private func send(_ size: Int, _ sequence: UInt64, _ deliver: (UnsafeRawBufferPointer) throws(ChannelError) -> Void) throws(ChannelError) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
        defer { buffer.deallocate() }
        TestMessages.fill(buffer, sequence: sequence, seed: options.seed)
        try deliver(UnsafeRawBufferPointer(buffer))
    }
}
