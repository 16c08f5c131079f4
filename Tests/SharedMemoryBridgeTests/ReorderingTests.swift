import Testing
@testable import SharedMemoryBridge

/// The inbound reordering of a lossless service: samples of one origin and
/// sender leave in sequence order, bounded in count and time.
@Suite("Bridge reordering: samples back in order per sender")
struct ReorderingTests {
    /// Feeds `sequences` of sender `key` and returns what was let go, in order, and the missed count.
    static func feed(_ sequences: [UInt64], limit: Int = 8, key: [UInt8] = [1]) -> (order: [UInt64], missed: UInt64, late: Int) {
        var reordering = Reordering(limit: limit)
        var order: [UInt64] = []
        var missed: UInt64 = 0
        var late = 0
        for sequence in sequences {
            let bytes = withUnsafeBytes(of: sequence) { Array($0) }
            let outcome = bytes.withUnsafeBytes { reordering.accept(key: key, sequence: sequence, bytes: $0) }
            func take(_ released: Reordering.Released) {
                missed += released.missed
                order += released.messages.map { $0.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } }
            }
            switch outcome {
            case .deliver(let released):
                order.append(sequence)
                take(released)
            case .held: break
            case .late: late += 1
            case .gaveUp(let released): take(released)
            }
        }
        return (order, missed, late)
    }

    @Test("In order: every sample at once")
    func inOrder() {
        let result = Self.feed([5, 6, 7, 8])
        #expect(result.order == [5, 6, 7, 8] && result.missed == 0 && result.late == 0)
    }

    @Test("A swapped pair, and a sample sent again late, come out in order")
    func swapped() {
        let result = Self.feed([10, 12, 11, 13, 15, 14, 16])
        #expect(result.order == [10, 11, 12, 13, 14, 15, 16] && result.missed == 0)
    }

    @Test("Past the limit the missing sample is given up, counted, and dropped if it comes later")
    func givesUp() {
        let result = Self.feed([0, 2, 3, 4, 5], limit: 3, key: [9])
        #expect(result.order == [0, 2, 3, 4, 5] && result.missed == 1)
        // 1 is given up when 2...6 overflow a limit of 4; a copy of 5 sent again is late.
        let later = Self.feed([0, 2, 3, 4, 5, 6, 5], limit: 4)
        #expect(later.late == 1 && later.order == [0, 2, 3, 4, 5, 6] && later.missed == 1)
    }

    @Test("A sender whose count starts again far behind is a new stream, not a late sample")
    func restartedCount() {
        let result = Self.feed([100, 101, 102, 0, 1, 2], limit: 8)
        #expect(result.order == [100, 101, 102, 0, 1, 2] && result.late == 0)
    }

    @Test("Senders are put in order independently")
    func perSender() {
        var reordering = Reordering(limit: 8)
        var order: [[UInt8]: [UInt64]] = [:]
        for (key, sequence) in [([1], UInt64(0)), ([2], 7), ([1], 2), ([2], 8), ([1], 1)] as [([UInt8], UInt64)] {
            let outcome = [UInt8]().withUnsafeBytes { reordering.accept(key: key, sequence: sequence, bytes: $0) }
            if case .deliver(let released) = outcome {
                order[key, default: []].append(sequence)
                order[key, default: []] += released.messages.map { _ in sequence + 1 }
            }
        }
        #expect(order[[1]] == [0, 1, 2])
        #expect(order[[2]] == [7, 8])
    }
}

@Suite("Bridge inbound: gaps in an overwrite service's sequence numbers")
struct InboundGapTests {
    @Test("a skip counts the numbers skipped; the next one, a repeat or an older one counts nothing")
    func gaps() {
        #expect(InboundForwarder.gap(after: 5, to: 6) == nil)
        #expect(InboundForwarder.gap(after: 5, to: 9) == 3)
        #expect(InboundForwarder.gap(after: 5, to: 5) == nil)
        #expect(InboundForwarder.gap(after: 9, to: 5) == nil)
    }

    @Test("sequence numbers from the network near the top of UInt64 do not trap")
    func noTrapAtTheTop() {
        // Before the fix: `sequence > last &+ 1` held (last &+ 1 == 0) and `sequence - last - 1` trapped.
        #expect(InboundForwarder.gap(after: .max, to: 5) == nil)
        #expect(InboundForwarder.gap(after: .max, to: 0) == nil)
        #expect(InboundForwarder.gap(after: .max - 1, to: .max) == nil)
        #expect(InboundForwarder.gap(after: 0, to: .max) == UInt64.max - 1)
    }
}
