import Glibc

/// What a hostile peer does to a ring in one trial, drawn from the trial's seed.
enum Corruption: CustomStringConvertible {
    /// Cuts the segment to `size` bytes, which falls in `region`.
    case truncate(region: String, size: Int)
    /// Writes `value` (described by `valueLabel`) into the `width`-byte word `field` at `offset`.
    case word(field: String, offset: Int, width: Int, value: UInt64, valueLabel: String)
    /// Writes random bytes over `ranges` of `region`.
    case garbage(region: String, ranges: [Range<Int>])
    /// `corruption`, written again and again for a while.
    indirect case repeated(Corruption)

    var isTruncation: Bool {
        if case .truncate = self { return true }
        return false
    }

    /// The class of the trial, for grouping failures: what was hit, not the exact value.
    var failureClass: String {
        switch self {
        case .truncate(let region, _): "truncate into \(region)"
        case .word(let field, _, _, _, _): "word \(field)"
        case .garbage(let region, _): "garbage over \(region)"
        case .repeated(let corruption): corruption.failureClass + ", repeated"
        }
    }

    var description: String {
        switch self {
        case .truncate(let region, let size): "truncate to \(size) bytes (\(region))"
        case .word(let field, let offset, let width, _, let label): "\(field) (\(width) bytes at \(offset)) = \(label)"
        case .garbage(let region, let ranges): "random bytes over \(region) \(ranges.map { "\($0.lowerBound)..<\($0.upperBound)" }.joined(separator: ", "))"
        case .repeated(let corruption): "\(corruption), again every millisecond for a while"
        }
    }

    /// Does it. Returns `false` when the system refused (a failed `ftruncate`).
    func apply(to peer: HostilePeer, using random: inout SeededRandom) -> Bool {
        switch self {
        case .truncate(_, let size):
            return peer.truncate(to: size)
        case .word(_, let offset, let width, let value, _):
            peer.store(value, at: offset, width: width)
        case .garbage(_, let ranges):
            for range in ranges { peer.scribble(range, using: &random) }
        case .repeated(let corruption):
            return corruption.apply(to: peer, using: &random)
        }
        return true
    }
}

/// Draws corruptions for a ring: targeted words get the values that break
/// careless code (0, all ones, huge, misaligned, small offsets, live and
/// absent process ids), over every field of the managed header, the ring's
/// control block, every reader slot and the record headers in the data area.
enum CorruptionPlan {
    typealias Field = (name: String, offset: Int, width: Int)

    /// The managed header's fields, relative to the segment's start.
    static let headerFields: [Field] = [
        ("header.magic", 0, 8), ("header.version", 8, 4), ("header.headerSize", 12, 4), ("header.totalSize", 16, 8),
        ("header.state", 24, 4), ("header.kind", 28, 4), ("header.creatorPID", 32, 4), ("header.lifetime", 48, 4),
        ("header.payloadOffset", 56, 8), ("header.payloadSize", 64, 8),
    ]
    /// The ring's configuration, relative to the ring's start.
    static let configurationFields: [Field] = [
        ("ring.magic", 0, 4), ("ring.version", 4, 4), ("ring.capacity", 8, 8), ("ring.maxMessage", 16, 4),
        ("ring.slots", 20, 4), ("ring.policy", 24, 4), ("ring.flavour", 28, 4), ("ring.historyDepth", 56, 4),
    ]
    /// The words writers and readers change as they go, relative to the ring's start.
    static let controlFields: [Field] = [
        ("ring.writePosition", 64, 8), ("ring.reservePosition", 72, 8), ("ring.published", 80, 8),
        ("ring.oldestPosition", 88, 8), ("ring.oldestSequence", 96, 8), ("ring.writerState", 104, 4),
        ("ring.oldSlotLock", 108, 4), ("ring.writerSleeping", 112, 4), ("ring.dataEvent", 128, 4),
        ("ring.dataSleepers", 132, 4), ("ring.spaceEvent", 136, 4), ("ring.spaceSleepers", 140, 4),
        ("ring.writerPid", 116, 4), ("ring.historyPosition", 120, 8),
    ]
    /// A reader slot's words, relative to the slot's start.
    static let slotFields: [Field] = [
        ("slot.readPosition", 0, 8), ("slot.nextSequence", 8, 8), ("slot.state", 16, 4),
        ("slot.missed", 24, 8), ("slot.received", 32, 8), ("slot.sleeping", 40, 4), ("slot.pid", 44, 4),
    ]
    /// A record header's words, relative to the record's start.
    static let recordFields: [Field] = [("record.length", 0, 4), ("record.flags", 4, 4), ("record.sequence", 8, 8)]

    /// One corruption for the ring `peer` has open.
    static func draw(for peer: HostilePeer, using random: inout SeededRandom) -> Corruption {
        let layout = peer.layout
        let roll = Double.random(in: 0..<1, using: &random)
        if roll < 0.2 { return truncation(layout, &random) }
        if roll < 0.75 { return word(peer, &random) }
        return garbage(layout, &random)
    }

    static func truncation(_ layout: HostilePeer.Layout, _ random: inout SeededRandom) -> Corruption {
        switch Int.random(in: 0..<4, using: &random) {
        case 0: .truncate(region: "nothing (0 bytes)", size: 0)
        case 1: .truncate(region: "the managed header", size: Int.random(in: 1..<HostilePeer.Layout.headerSize, using: &random))
        case 2: .truncate(region: "the ring's control block", size: Int.random(in: layout.ring..<layout.data, using: &random))
        default: .truncate(region: "the data area", size: Int.random(in: layout.data..<layout.totalSize, using: &random))
        }
    }

    static func word(_ peer: HostilePeer, _ random: inout SeededRandom) -> Corruption {
        let layout = peer.layout
        let field: Field
        let roll = Double.random(in: 0..<1, using: &random)
        if roll < 0.08 {
            field = random.pick(headerFields)
        } else if roll < 0.16 {
            let chosen = random.pick(configurationFields)
            field = (chosen.name, layout.ring + chosen.offset, chosen.width)
        } else if roll < 0.6 {
            let chosen = random.pick(controlFields)
            field = (chosen.name, layout.ring + chosen.offset, chosen.width)
        } else if roll < 0.8 {
            let slot = Int.random(in: 0..<layout.slots, using: &random)
            let chosen = random.pick(slotFields)
            field = ("\(chosen.name)", layout.slot(slot) + chosen.offset, chosen.width)
        } else {
            // A record the readers are about to read, the writer is about to
            // write, or any 8-byte aligned place (where a record may start).
            let mask = UInt64(layout.capacity - 1)
            let start: Int
            switch Int.random(in: 0..<3, using: &random) {
            case 0: start = Int(peer.load(layout.slot(0), width: 8) & mask)
            case 1: start = Int(peer.load(layout.ring + 64, width: 8) & mask)
            default: start = Int.random(in: 0..<(layout.capacity / 8), using: &random) * 8
            }
            let chosen = random.pick(recordFields)
            // A record may start within 8 bytes of the end: its sequence is then not there.
            let offset = min(layout.data + start + chosen.offset, layout.totalSize - chosen.width)
            field = (chosen.name, offset, chosen.width)
        }
        let current = peer.load(field.offset, width: field.width)
        let (value, label) = value(width: field.width, current: current, capacity: layout.capacity, &random)
        return .word(field: field.name, offset: field.offset, width: field.width, value: value, valueLabel: label)
    }

    /// A value that breaks careless code, with a label for reports.
    static func value(width: Int, current: UInt64, capacity: Int, _ random: inout SeededRandom) -> (UInt64, String) {
        let capacity = UInt64(capacity)
        let common: [(UInt64, String)] = [
            (0, "0"), (UInt64.max, "all ones"), (current &+ UInt64.random(in: 1...7, using: &random), "current + 1...7 (misaligned)"),
            (UInt64.random(in: 1...64, using: &random), "a small offset"), (random.next(), "random"),
            (capacity / 4 - 15, "the largest message + 1"), (capacity, "the capacity"),
        ]
        if width == 4 {
            let narrow: [(UInt64, String)] = [
                (0x7FFF_FFFF, "Int32.max"), (0x8000_0000, "Int32.min"), (1, "1 (a live pid: init)"), (2, "2"),
                (UInt64(getpid()), "the hostile peer's pid (alive)"), (0xFFFF_FFFF, "-1 as a pid"),
                (UInt64(UInt32.max - 1), "UInt32.max - 1"),
            ]
            return random.pick(common + narrow)
        }
        let wide: [(UInt64, String)] = [
            (1 << 63, "2^63"), (1 << 40, "2^40"), (current &+ capacity, "current + capacity"),
            (current &- capacity, "current - capacity"), (current &+ capacity / 2, "current + capacity / 2"),
            (current &- 8, "current - 8"), (current &+ 8, "current + 8"), (UInt64(Int64.max), "Int64.max"),
        ]
        return random.pick(common + wide)
    }

    static func garbage(_ layout: HostilePeer.Layout, _ random: inout SeededRandom) -> Corruption {
        let regions: [(String, Range<Int>)] = [
            ("the managed header", 0..<layout.ring),
            ("the ring's configuration", layout.ring..<(layout.ring + 64)),
            ("the ring's control words", (layout.ring + 64)..<(layout.ring + 192)),
            ("the reader slots", (layout.ring + 192)..<layout.data),
            ("the data area", layout.data..<layout.totalSize),
            ("anywhere", 0..<layout.totalSize),
        ]
        let (name, region) = random.pick(regions)
        var ranges: [Range<Int>] = []
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            let start = Int.random(in: region, using: &random)
            let length = Int.random(in: 1...min(64, region.upperBound - start), using: &random)
            ranges.append(start..<(start + length))
        }
        return .garbage(region: name, ranges: ranges)
    }
}
