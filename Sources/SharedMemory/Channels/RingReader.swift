import Synchronization

/// A message found by a ``RingReader``: where its payload is, and its place in the stream.
@usableFromInline
struct RingRecord {
    /// The payload's offset in the data area.
    @usableFromInline let payloadOffset: Int
    @usableFromInline let length: Int
    let sequence: UInt64
    /// Messages skipped before this one (overwrite policy).
    let missedBefore: UInt64
}

/// The reading side of a ring, through one reader slot. Not for concurrent use.
@usableFromInline
final class RingReader: @unchecked Sendable {
    @usableFromInline let core: RingCore
    let slot: Int
    let strategy: WaitStrategy
    @exclusivity(unchecked) private var position: UInt64
    @exclusivity(unchecked) private var cachedWrite: UInt64
    @exclusivity(unchecked) private var nextSequence: UInt64
    @exclusivity(unchecked) private var detached = false
    /// Set to end a wait from another thread (task cancellation).
    let cancellation = Atomic<Bool>(false)

    /// Attaches to reader slot `slot` (a channel's receiver uses slot 0).
    private init(core: RingCore, slot: Int, strategy: WaitStrategy) {
        self.core = core
        self.slot = slot
        self.strategy = strategy
        position = core.slotWord64(slot, RingLayout.SlotOffset.readPosition).pointee.load(ordering: .acquiring)
        nextSequence = core.slotWord64(slot, RingLayout.SlotOffset.nextSequence).pointee.load(ordering: .acquiring)
        cachedWrite = position
    }

    /// The receiver of a channel: slot 0, whose cursor lives as long as the channel.
    static func receiver(core: RingCore, strategy: WaitStrategy) throws(ChannelError) -> RingReader {
        guard try core.claimRole(slot: 0) else {
            throw .busy("another process is already receiving from \(core.name.posixName)")
        }
        core.forgetDeadSleeper(core.dataSleepers, core.sleepingFlag(slot: 0))
        core.slotState(0).pointee.store(RingLayout.SlotState.attached.rawValue, ordering: .releasing)
        return RingReader(core: core, slot: 0, strategy: strategy)
    }

    /// A new subscriber: a free slot, reading from the next message published.
    static func subscriber(core: RingCore, strategy: WaitStrategy) throws(ChannelError) -> RingReader {
        let slot: Int? = core.withSlotLock {
            // A slot whose lock nobody holds is free, or was left by a subscriber that died.
            for slot in 0..<core.slotCount {
                guard (try? core.claimRole(slot: slot)) == true else { continue }
                core.forgetDeadSleeper(core.dataSleepers, core.sleepingFlag(slot: slot))
                let start = core.writePosition.pointee.load(ordering: .acquiring)
                let sequence = core.published.pointee.load(ordering: .acquiring)
                core.slotWord64(slot, RingLayout.SlotOffset.readPosition).pointee.store(start, ordering: .relaxed)
                core.slotWord64(slot, RingLayout.SlotOffset.nextSequence).pointee.store(sequence, ordering: .relaxed)
                core.slotWord64(slot, RingLayout.SlotOffset.missed).pointee.store(0, ordering: .relaxed)
                core.slotWord64(slot, RingLayout.SlotOffset.received).pointee.store(0, ordering: .relaxed)
                core.slotState(slot).pointee.store(RingLayout.SlotState.attached.rawValue, ordering: .releasing)
                return slot
            }
            return nil
        }
        guard let slot else {
            throw .busy("all \(core.slotCount) subscriber slots of \(core.name.posixName) are taken")
        }
        return RingReader(core: core, slot: slot, strategy: strategy)
    }

    deinit { detach() }

    /// Leaves the ring: a channel keeps its cursor; a subscriber's slot is freed.
    func detach() {
        guard !detached else { return }
        detached = true
        let state: RingLayout.SlotState = core.flavour == .channel ? .active : .free
        core.slotState(slot).pointee.store(state.rawValue, ordering: .sequentiallyConsistent)
        core.releaseRole(slot: slot)
        core.wakeNow(core.spaceEvent) // a writer waiting for this reader re-checks
    }

    /// This reader's position in the stream, in bytes.
    var currentPosition: UInt64 { position }

    /// Messages missed so far (overwrite policy).
    var missedCount: UInt64 { core.slotWord64(slot, RingLayout.SlotOffset.missed).pointee.load(ordering: .relaxed) }

    // MARK: Reading

    private var overwrites: Bool { core.policy == .overwrite }

    /// Whether the bytes at `position` may have been overwritten (overwrite policy).
    @inline(__always)
    private func lapped(_ position: UInt64) -> Bool {
        core.reservePosition.pointee.load(ordering: .acquiring) &- position > UInt64(core.capacity)
    }

    /// Moves a lapped reader to the oldest intact record; if even that is
    /// overwritten (a writer died between announcing an overwrite and moving
    /// the oldest record), to the end of what was published.
    private func resynchronize() {
        position = core.oldestPosition.pointee.load(ordering: .acquiring)
        if lapped(position) {
            position = core.writePosition.pointee.load(ordering: .acquiring)
        }
    }

    /// The next record, or `nil` when none is published yet.
    func next() throws(ChannelError) -> RingRecord? {
        while true {
            // Reload when this reader caught up with what it knew (or was
            // moved past it by a resynchronisation).
            if cachedWrite &- position == 0 || cachedWrite &- position > UInt64(Int64.max) {
                cachedWrite = core.writePosition.pointee.load(ordering: .acquiring)
                if cachedWrite &- position == 0 || cachedWrite &- position > UInt64(Int64.max) { return nil }
            }
            let offset = Int(truncatingIfNeeded: position & core.mask)
            // Length and flags first: a padding record may have only these 8 bytes before the end.
            let flags = core.recordFlags(at: offset)
            let length = core.recordLength(at: offset)
            if overwrites {
                atomicMemoryFence(ordering: .acquiring)
                if lapped(position) {
                    resynchronize()
                    continue
                }
            }
            if flags & RingLayout.paddingFlag != 0 {
                position &+= UInt64(core.capacity - offset)
                continue
            }
            guard length <= core.maxMessageSize, offset + RingLayout.recordSize(length) <= core.capacity else {
                throw .badChannel("a record at position \(position) of \(core.name.posixName) claims \(length) bytes")
            }
            let sequence = core.recordSequence(at: offset)
            let missed = sequence &- nextSequence
            return RingRecord(payloadOffset: offset + RingLayout.recordHeaderSize, length: length,
                              sequence: sequence, missedBefore: missed > UInt64(Int64.max) ? 0 : missed)
        }
    }

    /// Whether `record` is still intact after it was read (always, unless the policy overwrites).
    @inline(__always)
    @usableFromInline
    func stillValid(_ record: RingRecord) -> Bool {
        guard overwrites else { return true }
        atomicMemoryFence(ordering: .acquiring)
        return !lapped(position)
    }

    /// Releases `record`: its space may be reused, and a sleeping writer is woken.
    @usableFromInline
    func release(_ record: RingRecord) {
        position &+= UInt64(RingLayout.recordSize(record.length))
        nextSequence = record.sequence &+ 1
        let slotBase = RingLayout.Offset.slots0 + 64 * slot
        // This reader alone writes its slot: plain loads and stores, no locked instructions.
        if record.missedBefore > 0 {
            let missed = core.word64(slotBase + RingLayout.SlotOffset.missed)
            missed.pointee.store(missed.pointee.load(ordering: .relaxed) &+ record.missedBefore, ordering: .relaxed)
        }
        let received = core.word64(slotBase + RingLayout.SlotOffset.received)
        received.pointee.store(received.pointee.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
        core.word64(slotBase + RingLayout.SlotOffset.nextSequence).pointee.store(nextSequence, ordering: .relaxed)
        core.word64(slotBase + RingLayout.SlotOffset.readPosition).pointee.store(position, ordering: .sequentiallyConsistent)
        if !overwrites { core.wake(core.spaceEvent, core.spaceSleepers) }
    }

    /// Skips a record that was overwritten while it was read.
    @usableFromInline
    func discard() { resynchronize() }

    // MARK: Waiting

    /// Whether the writer closed the ring.
    private var writerClosed: Bool {
        core.writerState.pointee.load(ordering: .acquiring) == RingLayout.WriterState.closed.rawValue
    }

    private func checkWriter() throws(ChannelError) {
        if core.writerState.pointee.load(ordering: .acquiring) == RingLayout.WriterState.attached.rawValue
            && !core.roleIsHeld(slot: nil) {
            throw .peerDied("the sender of \(core.name.posixName)")
        }
    }

    /// Waits until a record is published, the writer closes, or `deadline`.
    /// - Returns: the record, or `nil` when the writer closed and nothing is left.
    @usableFromInline
    func waitForNext(deadline: ContinuousClock.Instant?) throws(ChannelError) -> RingRecord? {
        while true {
            if let record = try next() { return record }
            if writerClosed {
                // Anything published before the close is visible now.
                if let record = try next() { return record }
                return nil
            }
            try core.wait(
                until: { [self] in
                    core.writePosition.pointee.load(ordering: .sequentiallyConsistent) != position || writerClosed
                },
                event: core.dataEvent, sleepers: core.dataSleepers, sleeping: core.sleepingFlag(slot: slot),
                strategy: strategy, deadline: deadline,
                check: checkWriter, cancelled: { [self] in cancellation.load(ordering: .relaxed) })
        }
    }

    /// Ends a wait in progress with `.cancelled`, from any thread.
    func cancelWait() {
        cancellation.store(true, ordering: .relaxed)
        core.wakeNow(core.dataEvent)
    }
}

extension RingReader {
    /// Calls `body` with the next message in place, then releases it;
    /// `nil` when the writer closed and nothing is left.
    @inlinable
    func receive<R>(deadline: ContinuousClock.Instant?, _ body: (UnsafeRawBufferPointer) -> R) throws(ChannelError) -> R? {
        while true {
            guard let record = try waitForNext(deadline: deadline) else { return nil }
            let result = body(UnsafeRawBufferPointer(start: core.data + record.payloadOffset, count: record.length))
            if stillValid(record) {
                release(record)
                return result
            }
            discard()
        }
    }

    /// Copies the next message into `buffer`; its length, or `nil` at the end.
    func receive(into buffer: UnsafeMutableRawBufferPointer, deadline: ContinuousClock.Instant?) throws(ChannelError) -> Int? {
        while true {
            guard let record = try waitForNext(deadline: deadline) else { return nil }
            guard record.length <= buffer.count else {
                throw .messageTooLarge(size: record.length, maximum: buffer.count)
            }
            if record.length > 0 {
                buffer.baseAddress!.copyMemory(from: core.data + record.payloadOffset, byteCount: record.length)
            }
            if stillValid(record) {
                release(record)
                return record.length
            }
            discard()
        }
    }

    /// Like ``receive(deadline:_:)`` without waiting: `nil` when nothing is
    /// there now; throws `.closed` when the writer closed and nothing is left.
    func tryReceive<R>(_ body: (UnsafeRawBufferPointer) -> R) throws(ChannelError) -> R? {
        while let record = try next() {
            let result = body(UnsafeRawBufferPointer(start: core.data + record.payloadOffset, count: record.length))
            if stillValid(record) {
                release(record)
                return result
            }
            discard()
        }
        if isDrainedAndClosed { throw .closed }
        return nil
    }

    /// The next message copied out with its sequence number, waiting or not.
    func receiveMessage(deadline: ContinuousClock.Instant?, waits: Bool) throws(ChannelError) -> SubscriberMessage? {
        while true {
            let found = waits ? try waitForNext(deadline: deadline) : try next()
            guard let record = found else { return nil }
            let bytes = Array(UnsafeRawBufferPointer(start: core.data + record.payloadOffset, count: record.length))
            if stillValid(record) {
                release(record)
                return SubscriberMessage(bytes: bytes, sequence: record.sequence, missedBefore: record.missedBefore)
            }
            discard()
        }
    }

    /// Whether the writer closed the ring and this reader has received everything.
    var isDrainedAndClosed: Bool {
        core.writerState.pointee.load(ordering: .acquiring) == RingLayout.WriterState.closed.rawValue
            && core.writePosition.pointee.load(ordering: .acquiring) == currentPosition
    }
}
