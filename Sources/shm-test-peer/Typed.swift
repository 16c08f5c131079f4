import ArgumentParser
import SharedMemory

/// The shapes a typed peer can send or receive.
enum ShapeName: String, CaseIterable, ExpressibleByArgument {
    case scalar, mixed, simd, cacheline
}

/// Sends or receives a stream of typed values through a typed channel.
struct Typed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send or check a stream of typed values through a typed channel.",
        discussion: "Exit status: 0 when every value arrived as sent, 2 when one did not, 3 when a channel operation failed.")

    enum Role: String, CaseIterable, ExpressibleByArgument { case send, receive }

    @Argument(help: "send or receive.") var role: Role
    @Argument(help: "The channel's segment name.") var name: String
    @Option(help: "The value type: \(ShapeName.allCases.map(\.rawValue).joined(separator: ", ")).") var shape: ShapeName = .scalar
    @Option(help: "How many values, 0 to 10000000.") var count = 1000
    @Option(help: "The payload alignment of a channel this peer creates (1 to 64).") var alignment = 8
    @Flag(help: "Send by typed loans, or receive in place.") var inPlace = false

    func validate() throws {
        try checkRange(count, 0...10_000_000, "--count")
        guard (try? SegmentName(name)) != nil else { throw ValidationError("\(name.debugDescription) is not a valid segment name") }
    }

    func run() throws {
        do {
            switch shape {
            case .scalar: try stream(UInt64.self)
            case .mixed: try stream(Mixed.self)
            case .simd: try stream(SIMD4<Float>.self)
            case .cacheline: try stream(CacheLine.self)
            }
        } catch let error as ChannelError {
            complain("\(error)")
            throw ExitCode(3)
        }
    }

    private func stream<T: TestShape>(_ type: T.Type) throws {
        let segment = try SegmentName(name)
        let ring = RingConfiguration(capacity: 1 << 16, alignment: alignment)
        if role == .send {
            let sender = try TypedChannelSender<T>.open(segment, creating: ring)
            say("ready")
            for index in 0..<UInt64(count) {
                if inPlace {
                    try sender.send(loaningFor: .seconds(30)) { value in
                        value = T.make(index)
                        return .commit
                    }
                } else {
                    try sender.send(T.make(index), timeout: .seconds(30))
                }
            }
            sender.close()
            return
        }
        let receiver = try TypedChannelReceiver<T>.open(segment, creating: ring)
        say("ready")
        var received: UInt64 = 0
        var wrong: UInt64 = 0
        while true {
            let index = received
            let good: Bool?
            if inPlace {
                good = try receiver.receive(timeout: .seconds(30)) { (value: borrowing T) in value.matches(index) }
            } else {
                good = try receiver.receive(timeout: .seconds(30)).map { $0.matches(index) }
            }
            guard let good else { break }
            if !good { wrong += 1 }
            received += 1
        }
        print("received \(received) wrong \(wrong)")
        if wrong > 0 || received != UInt64(count) { throw ExitCode(2) }
    }
}
