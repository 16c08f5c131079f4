import Synchronization

/// A snapshot of a channel or publish/subscribe ring, read without
/// attaching to it: what `shm inspect` and `shm watch` show.
public struct ChannelStatus: Hashable, Sendable {
    /// Whether the ring is a channel (one receiver) or publish/subscribe.
    public enum Kind: String, Hashable, Sendable {
        /// A channel: one sender, one receiver.
        case channel
        /// A publish/subscribe ring: one publisher, several subscribers.
        case publishSubscribe = "publish-subscribe"
    }

    /// The writer's state.
    public enum WriterState: String, Hashable, Sendable {
        /// No writer has attached yet.
        case none
        /// A writer is attached and alive.
        case attached
        /// The writer closed the ring.
        case closed
        /// The writer attached and died without closing.
        case dead
    }

    /// One reader slot.
    public struct Reader: Hashable, Sendable {
        /// The slot's index.
        public var slot: Int
        /// Whether a live process is attached to the slot.
        public var attached: Bool
        /// Messages received through the slot.
        public var received: UInt64
        /// Messages missed (overwrite policy).
        public var missed: UInt64
        /// Bytes published that this reader has not read yet.
        public var bytesBehind: UInt64
        /// Messages published that this reader has not read yet.
        public var messagesBehind: UInt64
        /// The process id the reader wrote into its slot when it attached, as
        /// its own pid namespace sees it; `nil` when the word is 0. Self-reported:
        /// any process can write it, so it is shown, never trusted.
        public var selfReportedPid: UInt32?
    }

    /// Whether the ring is a channel or publish/subscribe.
    public var kind: Kind
    /// What the writer does when a reader falls behind.
    public var policy: SlowSubscriberPolicy
    /// The data area's size in bytes.
    public var capacity: Int
    /// The largest message in bytes.
    public var maxMessageSize: Int
    /// The number of reader slots.
    public var slots: Int
    /// Whether a writer is attached, closed or dead.
    public var writer: WriterState
    /// Messages published so far.
    public var published: UInt64
    /// Bytes published so far, record headers and padding included.
    public var bytesPublished: UInt64
    /// Readers with a cursor: a channel's receiver cursor, or the subscribers attached.
    public var readers: [Reader]
    /// Readers counted as asleep on the data event, whom the writer wakes.
    public var readersAsleep: UInt32
    /// Whether the writer is counted as asleep, waiting for space.
    public var writerAsleep: Bool
    /// How many of the last messages a publish/subscribe ring keeps for
    /// subscribers that join late (0 for none, and for a channel).
    public var historyDepth: Int = 0
    /// The process id the last writer wrote into the ring when it attached,
    /// as its own pid namespace sees it; `nil` when no writer wrote one.
    /// Self-reported: shown, never trusted (liveness is ``writer``).
    public var writerSelfReportedPid: UInt32?
    /// Bytes in the ring not yet read by the slowest reader.
    public var fill: UInt64 { min(UInt64(clamping: capacity), readers.map(\.bytesBehind).max() ?? 0) }

    /// Reads the status of the ring `name`. Only looks: takes no lock and
    /// no part in the segment's lifetime, and writes nothing.
    public static func read(_ name: SegmentName, backend: SharedMemorySegment.Backend = .default) throws(ChannelError) -> ChannelStatus {
        let segment: ManagedSegment
        do {
            segment = try ManagedSegment.openToLook(name, readyTimeout: .seconds(1), backend: backend)
        } catch {
            throw .segment(error)
        }
        let core = try RingCore(segment: segment, expected: nil, access: .readOnly)
        let status = RingCore.status(core)
        // A peer may truncate the segment while it is read: the guard turns
        // that into zeros, which must not pass for a status.
        if let error = core.truncation() { throw error }
        return status
    }
}

extension RingCore {
    static func status(_ core: RingCore) -> ChannelStatus {
        let write = core.writePosition.pointee.load(ordering: .acquiring)
        let published = core.published.pointee.load(ordering: .acquiring)
        // Liveness from the writer's lock; the state word only tells a
        // clean close from a death.
        let writer: ChannelStatus.WriterState = if core.roleIsHeld(slot: nil) {
            .attached
        } else {
            switch core.writerState.pointee.load(ordering: .acquiring) {
            case RingLayout.WriterState.closed.rawValue: .closed
            case RingLayout.WriterState.never.rawValue where write == 0: .none
            default: .dead
            }
        }
        var readers: [ChannelStatus.Reader] = []
        for slot in 0..<core.slotCount {
            let state = core.slotState(slot).pointee.load(ordering: .acquiring)
            guard state != RingLayout.SlotState.free.rawValue else { continue }
            let read = core.slotWord64(slot, RingLayout.SlotOffset.readPosition).pointee.load(ordering: .acquiring)
            let next = core.slotWord64(slot, RingLayout.SlotOffset.nextSequence).pointee.load(ordering: .relaxed)
            let attached = state == RingLayout.SlotState.attached.rawValue && core.roleIsHeld(slot: slot)
            if core.flavour == .publishSubscribe && !attached { continue }
            readers.append(ChannelStatus.Reader(
                slot: slot, attached: attached,
                received: core.slotWord64(slot, RingLayout.SlotOffset.received).pointee.load(ordering: .relaxed),
                missed: core.slotWord64(slot, RingLayout.SlotOffset.missed).pointee.load(ordering: .relaxed),
                bytesBehind: write >= read ? write - read : 0,
                messagesBehind: published >= next ? published - next : 0,
                selfReportedPid: Self.pid(core.slotPid(slot).pointee.load(ordering: .relaxed))))
        }
        return ChannelStatus(
            kind: core.flavour == .channel ? .channel : .publishSubscribe, policy: core.policy,
            capacity: core.capacity, maxMessageSize: core.maxMessageSize, slots: core.slotCount,
            writer: writer, published: published, bytesPublished: write, readers: readers,
            readersAsleep: core.dataSleepers.pointee.load(ordering: .relaxed),
            writerAsleep: core.spaceSleepers.pointee.load(ordering: .relaxed) != 0,
            historyDepth: core.historyDepth,
            writerSelfReportedPid: Self.pid(core.writerPid.pointee.load(ordering: .relaxed)))
    }

    /// A pid word: 0 means none was written.
    private static func pid(_ word: UInt32) -> UInt32? { word == 0 ? nil : word }
}
