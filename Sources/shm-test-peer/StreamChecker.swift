import Glibc

/// Checks a received stream. Strict: every message intact, in order, none
/// twice, and gaps only where the ring said messages were missed. Tolerant:
/// only that each message's length is within the ring's largest message.
struct StreamChecker {
    let options: StreamOptions
    let tolerant: Bool
    let anyStart: Bool
    /// The largest message the ring may deliver.
    let largest: Int
    var received: UInt64 = 0
    var missed: UInt64 = 0
    var problems = 0
    var intact: UInt64 = 0
    var outOfBounds = 0
    var first: UInt64?
    var last: UInt64?
    var firstProblem = ""

    init(options: StreamOptions, tolerant: Bool, anyStart: Bool) {
        self.options = options
        self.tolerant = tolerant
        self.anyStart = anyStart
        largest = options.ring.maxMessageSize
    }

    mutating func accept(_ message: UnsafeRawBufferPointer, missed gap: UInt64) {
        received += 1
        missed &+= gap
        guard message.count <= largest else {
            outOfBounds += 1
            remember("a message of \(message.count) bytes, more than the largest, \(largest)")
            if options.printEach { say("got out-of-bounds message of \(message.count) bytes") }
            return
        }
        let (sequence, whole) = TestMessages.check(message, seed: options.seed, minimum: options.minSize, maximum: options.maxSize)
        if whole { intact += 1 }
        if options.printEach { say("got message \(sequence)\(whole ? "" : " damaged")") }
        guard !tolerant else { return }
        if !whole { note("message \(sequence) is torn or wrong") }
        if let last {
            if sequence != last &+ 1 &+ gap { note("message \(sequence) follows \(last) with \(gap) missed") }
        } else {
            first = sequence
            if options.flavour == .channel && !anyStart && sequence != UInt64(options.from) {
                note("the first message is \(sequence), not \(options.from)")
            }
        }
        last = sequence
    }

    private mutating func note(_ problem: String) {
        problems += 1
        remember(problem)
    }

    private mutating func remember(_ problem: String) {
        if firstProblem.isEmpty { firstProblem = problem }
    }

    var summary: String {
        if tolerant {
            return "received \(received) intact \(intact) damaged \(received - intact - UInt64(outOfBounds)) out-of-bounds \(outOfBounds)"
        }
        return "received \(received) first \(first.map(String.init) ?? "-") last \(last.map(String.init) ?? "-") missed \(missed) problems \(problems)"
            + (problems > 0 ? " (\(firstProblem))" : "")
    }
}
