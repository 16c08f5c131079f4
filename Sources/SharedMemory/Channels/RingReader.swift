import Synchronization

/// A message found by a ``RingReader``: where its payload is, and its place in the stream.
@usableFromInline
struct RingRecord {
    /// The payload's offset in the data area.
    @usableFromInline let payloadOffset: Int
    @usableFromInline let length: Int
    /// The record's size in the data area, header and padding included.
    let size: Int
    let sequence: UInt64
    /// Messages skipped before this one (overwrite policy).
    let missedBefore: UInt64
}

/// The reading side of a ring, through one reader slot. Not for concurrent use.
///
/// Every word it loads from the ring is checked before it steers anything:
/// positions are multiples of 8 and within a capacity of each other, records
/// fit the data area and what was published, flags are known. A word that
/// breaks a rule is reported as ``ChannelError/badChannel(_:)``; the loops
/// that follow positions take a bounded number of steps.
@usableFromInline
final class RingReader: @unchecked Sendable {
    @usableFromInline let core: RingCore
    let slot: Int
    let strategy: WaitStrategy
    @exclusivity(unchecked) private var position: UInt64
    @exclusivity(unchecked) private var cachedWrite: UInt64
    @exclusivity(unchecked) private var nextSequence: UInt64
    @exclusivity(unchecked) private var detached = false
    /// Whether this reader has seen the writer hold its lock.
    @exclusivity(unchecked) private var sawWriter = false
    /// Records released by ``releaseDeferred(_:)`` whose space is not given back yet (see ``publishReleased()``).
    @exclusivity(unchecked) private var unpublished: UInt64 = 0
    /// The read position ``publishReleased()`` last stored.
    @exclusivity(unchecked) private var publishedPosition: UInt64
    /// Set to end a wait from another thread (task cancellation).
    let cancellation = Atomic<Bool>(false)

    private init(core: RingCore, slot: Int, strategy: WaitStrategy, position: UInt64, nextSequence: UInt64) {
        self.core = core
        self.slot = slot
        self.strategy = strategy
        self.position = position
        self.nextSequence = nextSequence
        cachedWrite = position
        publishedPosition = position
    }

    /// The receiver of a channel: slot 0, whose cursor lives as long as the channel.
    static func receiver(core: RingCore, strategy: WaitStrategy) throws(ChannelError) -> RingReader {
        guard try core.claimRole(slot: 0) else {
            throw .busy("another process is already receiving from \(core.name.posixName)")
        }
        let position = core.slotWord64(0, RingLayout.SlotOffset.readPosition).pointee.load(ordering: .acquiring)
        let write = core.writePosition.pointee.load(ordering: .acquiring)
        guard position & 7 == 0, write & 7 == 0, write &- position <= UInt64(core.capacity) else {
            core.releaseRole(slot: 0)
            throw core.corrupt("the read position \(position) is not a multiple of 8 within a capacity behind the write position \(write)")
        }
        core.forgetDeadSleeper(core.dataSleepers, core.sleepingFlag(slot: 0))
        core.slotPid(0).pointee.store(RingCore.selfReportedPid, ordering: .relaxed)
        core.slotState(0).pointee.store(RingLayout.SlotState.attached.rawValue, ordering: .releasing)
        // A receiver that died between releasing and waking owed the writer a wake-up.
        core.wakeNow(core.spaceEvent)
        let sequence = core.slotWord64(0, RingLayout.SlotOffset.nextSequence).pointee.load(ordering: .acquiring)
        return RingReader(core: core, slot: 0, strategy: strategy, position: position, nextSequence: sequence)
    }

    /// A new subscriber: a free slot, reading from the oldest message the
    /// ring's history keeps (with `history`, on a ring that keeps one), or
    /// from the next message published.
    ///
    /// There is no lock between joining subscribers and the writer's scans of
    /// the slots: the joiner stores a start position, marks its slot
    /// attached, then loads the write position again and starts there. A
    /// scan that missed the slot was made while the writer was at or behind
    /// that second position, so the writer never overwrites what the
    /// subscriber will read. A joiner that takes history stores the history
    /// position as its own, then checks that the history position has not
    /// moved meanwhile (<doc:MemoryOrdering#History>).
    static func subscriber(core: RingCore, strategy: WaitStrategy, history: Bool = true) throws(ChannelError) -> RingReader {
        // A slot whose lock nobody holds is free, or was left by a subscriber that died.
        for slot in 0..<core.slotCount {
            guard try core.claimRole(slot: slot) else { continue }
            CrashPoint.reach(.joinClaimed)
            core.forgetDeadSleeper(core.dataSleepers, core.sleepingFlag(slot: slot))
            core.slotPid(slot).pointee.store(RingCore.selfReportedPid, ordering: .relaxed)
            let readPosition = core.slotWord64(slot, RingLayout.SlotOffset.readPosition)
            readPosition.pointee.store(core.writePosition.pointee.load(ordering: .acquiring), ordering: .sequentiallyConsistent)
            core.slotWord64(slot, RingLayout.SlotOffset.missed).pointee.store(0, ordering: .relaxed)
            core.slotWord64(slot, RingLayout.SlotOffset.received).pointee.store(0, ordering: .relaxed)
            core.slotState(slot).pointee.store(RingLayout.SlotState.attached.rawValue, ordering: .sequentiallyConsistent)
            CrashPoint.reach(.joinAttached)
            let start: UInt64
            do throws(ChannelError) {
                let fromHistory = history && core.historyDepth != 0 ? try historyStart(core: core, slot: slot) : nil
                if let fromHistory {
                    start = fromHistory
                } else {
                    start = core.writePosition.pointee.load(ordering: .sequentiallyConsistent)
                    guard start & 7 == 0 else { throw core.corrupt("the write position \(start) is not a multiple of 8") }
                    readPosition.pointee.store(start, ordering: .sequentiallyConsistent)
                }
            } catch {
                core.slotState(slot).pointee.store(RingLayout.SlotState.free.rawValue, ordering: .releasing)
                core.releaseRole(slot: slot)
                throw error
            }
            // Loaded after the position, so it is at least the sequence number of the
            // record at `start`; a count that ran ahead (always, when starting in
            // the history) only makes the first missed count smaller (never
            // negative: it is clamped at 0).
            let sequence = core.published.pointee.load(ordering: .acquiring)
            core.slotWord64(slot, RingLayout.SlotOffset.nextSequence).pointee.store(sequence, ordering: .relaxed)
            return RingReader(core: core, slot: slot, strategy: strategy, position: start, nextSequence: sequence)
        }
        throw .busy("all \(core.slotCount) subscriber slots of \(core.name.posixName) are taken")
    }

    /// How often a joiner tries to start at the history position before it
    /// gives history up and starts at the write position.
    static let historyAttempts = 16

    /// Starts the attached slot `slot` at the ring's history position: stores
    /// a candidate as the slot's read position (sequentially consistent),
    /// loads the history position again (sequentially consistent) and keeps
    /// the candidate if it has not moved. The writer stores every new history
    /// position sequentially consistent before it next scans the slots, so a
    /// candidate that survives the check is either seen by that scan or was
    /// never given up (<doc:MemoryOrdering#History>).
    /// - Returns: the start, stored in the slot; `nil` when the history
    ///   position kept moving (the caller starts at the write position).
    private static func historyStart(core: RingCore, slot: Int) throws(ChannelError) -> UInt64? {
        let readPosition = core.slotWord64(slot, RingLayout.SlotOffset.readPosition)
        var candidate = core.historyPosition.pointee.load(ordering: .sequentiallyConsistent)
        for _ in 0..<historyAttempts {
            // Loaded after the candidate: an honest history position is never ahead of it.
            let write = core.writePosition.pointee.load(ordering: .sequentiallyConsistent)
            guard candidate & 7 == 0, write & 7 == 0, write &- candidate <= UInt64(core.capacity) else {
                throw core.corrupt("the history position \(candidate) is not a multiple of 8 within a capacity behind the write position \(write)")
            }
            readPosition.pointee.store(candidate, ordering: .sequentiallyConsistent)
            let again = core.historyPosition.pointee.load(ordering: .sequentiallyConsistent)
            if again == candidate { return candidate }
            candidate = again
        }
        return nil
    }

    deinit { detach() }

    /// Leaves the ring: a channel keeps its cursor, marked as left by a
    /// receiver (so that a waiting sender reports ``ChannelError/peerLeft(_:)``);
    /// a subscriber's slot is freed.
    func detach() {
        guard !detached else { return }
        detached = true
        // What was received is received: a later reader of a channel's cursor must not get it again.
        publishReleased()
        let state: RingLayout.SlotState = core.flavour == .channel ? .left : .free
        core.slotState(slot).pointee.store(state.rawValue, ordering: .sequentiallyConsistent)
        CrashPoint.reach(.leaveStarted)
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
    /// the oldest record) or breaks the rules, to the end of what was published.
    private func resynchronize() throws(ChannelError) {
        let write = core.writePosition.pointee.load(ordering: .acquiring)
        let oldest = core.oldestPosition.pointee.load(ordering: .acquiring)
        if oldest & 7 == 0 && write &- oldest <= UInt64(core.capacity) && !lapped(oldest) {
            position = oldest
        } else {
            // The writer never announces more than a capacity past what it published.
            guard write & 7 == 0, !lapped(write) else {
                throw core.corrupt("the reserve position is more than a capacity ahead of the write position \(write)")
            }
            position = write
        }
        cachedWrite = write
    }

    /// The most steps ``next()`` takes (padding, resynchronisation) before
    /// it reports that nothing is there yet; the waiting loops call it again.
    private static let stepsPerLook = 4

    /// The next record, or `nil` when none is published yet.
    func next() throws(ChannelError) -> RingRecord? {
        for _ in 0..<Self.stepsPerLook {
            var available = cachedWrite &- position
            if available == 0 || available > UInt64(Int64.max) {
                // Reload when this reader caught up with what it knew (or was
                // moved past it by a resynchronisation).
                cachedWrite = core.writePosition.pointee.load(ordering: .acquiring)
                available = cachedWrite &- position
                if available == 0 { return nil }
                guard cachedWrite & 7 == 0, available <= UInt64(Int64.max) else {
                    throw core.corrupt("the write position \(cachedWrite) is not a multiple of 8 or is behind the read position \(position)")
                }
            }
            let offset = Int(truncatingIfNeeded: position & core.mask)
            // Length and flags first: a padding record may have only these 8 bytes before the end.
            let flags = core.recordFlags(at: offset)
            let length = core.recordLength(at: offset)
            if overwrites {
                atomicMemoryFence(ordering: .acquiring)
                if lapped(position) {
                    try resynchronize()
                    continue
                }
            }
            // Not lapped: what was read is what the writer published, and must follow the rules.
            guard available <= UInt64(core.capacity) else {
                throw core.corrupt("the write position \(cachedWrite) is more than a capacity ahead of the read position \(position)")
            }
            if flags == RingLayout.paddingFlag {
                let skip = core.capacity - offset
                guard offset != 0, UInt64(skip) <= available else {
                    throw core.corrupt("a padding record at position \(position) breaks the rules")
                }
                position &+= UInt64(skip)
                continue
            }
            // A length is at most 2^32 - 1, so this arithmetic cannot overflow.
            let size = core.recordSize(at: offset, length: length)
            guard flags == 0, length <= core.maxMessageSize, offset + size <= core.capacity, UInt64(size) <= available else {
                throw core.corrupt("a record at position \(position) claims \(length) bytes with flags \(flags)")
            }
            let sequence = core.recordSequence(at: offset)
            let missed = sequence &- nextSequence
            return RingRecord(payloadOffset: core.payloadOffset(at: offset),
                              length: length, size: size, sequence: sequence, missedBefore: missed > UInt64(Int64.max) ? 0 : missed)
        }
        return nil
    }

    /// The next record if one is there now, as a receive finds it.
    @usableFromInline
    @inline(__always)
    func found() throws(ChannelError) -> RingRecord? {
        guard let record = try next() else { return nil }
        CrashPoint.reach(.receiveFound)
        return record
    }

    /// Whether `record` is still intact after it was read (always, unless the policy overwrites).
    @inline(__always)
    func stillValid(_ record: RingRecord) -> Bool {
        guard overwrites else { return true }
        atomicMemoryFence(ordering: .acquiring)
        return !lapped(position)
    }

    /// Releases `record`: its space may be reused, and a sleeping writer is woken.
    func release(_ record: RingRecord) {
        CrashPoint.reach(.receiveUsed)
        position &+= UInt64(record.size)
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
        CrashPoint.reach(.receiveReleased)
        if !overwrites { core.wake(core.spaceEvent, core.spaceSleepers) }
    }

    /// Releases `record` for this reader only: its space goes back to the
    /// writer with the next ``publishReleased()``, so that a reader that
    /// takes a run of records stores its read position (and looks for a
    /// sleeping writer) once per run. Lossless rings only; the caller
    /// publishes before it waits, detaches, or leaves the ring for long.
    @inline(__always)
    func releaseDeferred(_ record: RingRecord) {
        position &+= UInt64(record.size)
        nextSequence = record.sequence &+ 1
        unpublished &+= 1
    }

    /// Whether this reader has read everything it knows to be published: a
    /// run of deferred releases ends here (the next look reloads the write position).
    @inline(__always)
    var caughtUp: Bool { position == cachedWrite }

    /// Records released by ``releaseDeferred(_:)`` and not published yet.
    var unpublishedCount: Int { Int(truncatingIfNeeded: unpublished) }

    /// Whether the records released but not published fill at least a
    /// quarter of the ring: a run ends there too, so that on a small ring
    /// the writer gets space back before the reader drains it.
    @inline(__always)
    var unpublishedQuarter: Bool { position &- publishedPosition >= UInt64(core.capacity >> 2) }

    /// Gives the space of the records released by ``releaseDeferred(_:)``
    /// back to the writer: stores the read position (sequentially
    /// consistent, as ``release(_:)``) and wakes a writer that sleeps for
    /// space, once at least half the ring is free or this reader caught up.
    ///
    /// Not waking a sleeping writer while more than half the ring holds
    /// unread records is safe: this reader comes back for them, and the
    /// publication that frees the ring down to half (at the latest, the one
    /// that finds it drained) wakes the writer, whose announcement bit is
    /// still set. The writer then finds half a ring of space instead of a
    /// few records: one wake-up per half ring rather than per run.
    func publishReleased() {
        guard unpublished != 0 else { return }
        let slotBase = RingLayout.Offset.slots0 + 64 * slot
        let received = core.word64(slotBase + RingLayout.SlotOffset.received)
        received.pointee.store(received.pointee.load(ordering: .relaxed) &+ unpublished, ordering: .relaxed)
        unpublished = 0
        publishedPosition = position
        core.word64(slotBase + RingLayout.SlotOffset.nextSequence).pointee.store(nextSequence, ordering: .relaxed)
        core.word64(slotBase + RingLayout.SlotOffset.readPosition).pointee.store(position, ordering: .sequentiallyConsistent)
        if core.spaceSleepers.pointee.load(ordering: .sequentiallyConsistent) != 0 {
            // cachedWrite is at most the write position: the unread bytes are
            // never overestimated, so a writer is never left asleep on a ring
            // this reader believes drained.
            if cachedWrite &- position <= UInt64(core.capacity / 2) || cachedWrite &- position > UInt64(Int64.max) {
                core.wakeAnnounced(core.spaceEvent)
            }
        }
    }

    /// Skips a record that was overwritten while it was read.
    func discard() throws(ChannelError) { try resynchronize() }

    // MARK: Waiting

    /// Whether the writer closed the ring: its state says so and its lock is
    /// released. A closed state while the lock is held is not an end (another
    /// process may have written it), nor is a released lock without the state.
    var writerClosed: Bool {
        core.writerState.pointee.load(ordering: .acquiring) == RingLayout.WriterState.closed.rawValue
            && !core.roleIsHeld(slot: nil)
    }

    /// Reports a writer that died: its lock is released, and it was seen
    /// alive, or the ring shows it attached or published something, and it
    /// did not close. Liveness comes from the kernel's lock, never from a word alone.
    func checkWriter() throws(ChannelError) {
        if core.roleIsHeld(slot: nil) {
            sawWriter = true
            return
        }
        let state = core.writerState.pointee.load(ordering: .acquiring)
        if state == RingLayout.WriterState.closed.rawValue { return }
        if sawWriter || state == RingLayout.WriterState.attached.rawValue
            || core.writePosition.pointee.load(ordering: .acquiring) != 0 {
            throw .peerDied("the sender of \(core.name.posixName)")
        }
    }

    /// Waits until a record is published, the writer closes, or `deadline`.
    /// - Returns: the record, or `nil` when the writer closed and nothing is left.
    func waitForNext(deadline: ContinuousClock.Instant?) throws(ChannelError) -> RingRecord? {
        while true {
            if let record = try next() {
                CrashPoint.reach(.receiveFound)
                return record
            }
            if writerClosed {
                // Anything published before the close is visible now.
                if let record = try next() {
                    CrashPoint.reach(.receiveFound)
                    return record
                }
                return nil
            }
            if let deadline, ContinuousClock.now >= deadline { throw .timedOut }
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
    /// Ends the use of `record` once its payload was used: checks that the
    /// segment was not truncated under the reader and, under the overwrite
    /// policy, that the record was not overwritten while it was read.
    /// - Returns: `true` when the record is released, `false` when it was
    ///   overwritten and skipped (what was read from it must be dropped).
    @inline(__always)
    @usableFromInline
    func finish(_ record: RingRecord) throws(ChannelError) -> Bool {
        if core.mappingGuard.isTripped { throw core.truncationError() }
        if stillValid(record) {
            release(record)
            return true
        }
        try discard()
        return false
    }

    /// How many overwritten records a receive that does not wait skips
    /// before it reports that nothing is there now.
    @usableFromInline static let discardsPerTry = 8

    /// Calls `body` with the next message in place, then releases it,
    /// waiting up to `timeout` (nil: as long as it takes) for one;
    /// `nil` when the writer closed and nothing is left.
    @inlinable
    func receive<R>(timeout: Duration?, _ body: (UnsafeRawBufferPointer) -> R) throws(ChannelError) -> R? {
        // A message that is there already takes no clock.
        if let record = try found() {
            let result = body(UnsafeRawBufferPointer(start: core.data + record.payloadOffset, count: record.length))
            if try finish(record) { return result }
        }
        return try receiveWaiting(timeout: timeout, body)
    }

    /// ``receive(timeout:_:)`` once it has to wait.
    @usableFromInline
    @inline(never)
    func receiveWaiting<R>(timeout: Duration?, _ body: (UnsafeRawBufferPointer) -> R) throws(ChannelError) -> R? {
        let deadline = deadline(after: timeout)
        while true {
            guard let record = try waitForNext(deadline: deadline) else { return nil }
            let result = body(UnsafeRawBufferPointer(start: core.data + record.payloadOffset, count: record.length))
            if try finish(record) { return result }
        }
    }

    /// Copies the next message into `buffer`; its length, or `nil` at the end.
    func receive(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration?) throws(ChannelError) -> Int? {
        if let record = try found() {
            if let length = try copy(record, into: buffer) { return length }
        }
        return try receiveWaiting(into: buffer, timeout: timeout)
    }

    /// ``receive(into:timeout:)`` once it has to wait.
    @inline(never)
    private func receiveWaiting(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration?) throws(ChannelError) -> Int? {
        let deadline = deadline(after: timeout)
        while true {
            guard let record = try waitForNext(deadline: deadline) else { return nil }
            if let length = try copy(record, into: buffer) { return length }
        }
    }

    /// Copies `record` into `buffer` and finishes it; its length, or `nil` when it was overwritten meanwhile.
    @inline(__always)
    private func copy(_ record: RingRecord, into buffer: UnsafeMutableRawBufferPointer) throws(ChannelError) -> Int? {
        guard record.length <= buffer.count else {
            throw .messageTooLarge(size: record.length, maximum: buffer.count)
        }
        if record.length > 0 {
            buffer.baseAddress!.copyMemory(from: core.data + record.payloadOffset, byteCount: record.length)
        }
        return try finish(record) ? record.length : nil
    }

    /// Like ``receive(timeout:_:)`` without waiting: `nil` when nothing is
    /// there now; throws `.closed` when the writer closed and nothing is left.
    func tryReceive<R>(_ body: (UnsafeRawBufferPointer) -> R) throws(ChannelError) -> R? {
        for _ in 0..<Self.discardsPerTry {
            guard let record = try next() else { break }
            let result = body(UnsafeRawBufferPointer(start: core.data + record.payloadOffset, count: record.length))
            if try finish(record) { return result }
        }
        if isDrainedAndClosed { throw .closed }
        return nil
    }

    /// ``tryReceive(_:)`` that releases with ``releaseDeferred(_:)`` (a
    /// lossless ring; under the overwrite policy it releases at once): the
    /// caller publishes the run with ``publishReleased()``.
    @inline(__always)
    func tryReceiveDeferred<R>(_ body: (UnsafeRawBufferPointer) -> R) throws(ChannelError) -> R? {
        if overwrites { return try tryReceive(body) }
        guard let record = try next() else {
            if isDrainedAndClosed { throw .closed }
            return nil
        }
        let result = body(UnsafeRawBufferPointer(start: core.data + record.payloadOffset, count: record.length))
        if core.mappingGuard.isTripped { throw core.truncationError() }
        releaseDeferred(record)
        return result
    }

    /// The next message copied out with its sequence number, waiting up to `timeout` or not at all.
    func receiveMessage(timeout: Duration?, waits: Bool) throws(ChannelError) -> SubscriberMessage? {
        // A message that is there already takes no clock: the deadline is
        // computed only once the first look finds nothing.
        var deadline: ContinuousClock.Instant?
        var clockStarted = !waits
        for _ in 0..<(waits ? Int.max : Self.discardsPerTry) {
            var look = waits ? try found() : try next()
            if waits && look == nil {
                if !clockStarted {
                    deadline = SharedMemory.deadline(after: timeout)
                    clockStarted = true
                }
                look = try waitForNext(deadline: deadline)
            }
            guard let record = look else { return nil }
            let bytes = Array(UnsafeRawBufferPointer(start: core.data + record.payloadOffset, count: record.length))
            if try finish(record) {
                return SubscriberMessage(bytes: bytes, sequence: record.sequence, missedBefore: record.missedBefore)
            }
        }
        return nil
    }

    /// Whether the writer closed the ring and this reader has received everything.
    ///
    /// The close is read first: the writer publishes its last record before
    /// it stores "closed", so a write position loaded after seeing "closed"
    /// is final. Loaded the other way round, a writer that published and
    /// closed between the two loads would have its last records taken for
    /// never sent.
    var isDrainedAndClosed: Bool {
        writerClosed && core.writePosition.pointee.load(ordering: .acquiring) == currentPosition
    }
}
