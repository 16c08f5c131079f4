import Synchronization

/// The writing side of a ring: reserves space, fills records, publishes them.
/// One per ring at a time (it holds the writer's lock); not for concurrent use.
final class RingWriter: @unchecked Sendable {
    let core: RingCore
    let strategy: WaitStrategy
    /// The write position as this writer knows it, padding included.
    @exclusivity(unchecked) private var position: UInt64

    /// The write position this writer published last: where its next
    /// record (after any padding) starts. Read from this process's copy, not
    /// from the shared word (whose cache line the readers keep polling).
    var publishedPosition: UInt64 { position }
    @exclusivity(unchecked) private var sequence: UInt64
    /// The slowest reader's position when last looked up (lossless policy).
    @exclusivity(unchecked) private var cachedMinRead: UInt64
    @exclusivity(unchecked) private var oldest: UInt64
    @exclusivity(unchecked) private var oldestSeq: UInt64
    @exclusivity(unchecked) private var isClosed = false
    /// Whether this writer has seen the channel's receiver hold its lock.
    @exclusivity(unchecked) private var sawReceiver = false
    /// History (a publish/subscribe ring with a history depth): the starts of
    /// the last published records, oldest first from `historyHead`, in a
    /// circular array of `core.historyDepth` entries (empty without history).
    @exclusivity(unchecked) private var historyStarts: [UInt64]
    @exclusivity(unchecked) private var historyHead = 0
    @exclusivity(unchecked) private var historyCount = 0
    /// The history position as this writer last stored it: the oldest start
    /// kept, or the write position when none is kept. Never ahead of
    /// `position`; under the lossless policy the writer treats it as one more
    /// reader, and gives history up (moves it forward) rather than wait for it.
    @exclusivity(unchecked) private var historyPosition: UInt64
    /// The spinners word this writer shares with other writers (a service
    /// member's), consulted only when it waits for space; `nil` for a ring of its own.
    var spinnerGate: RingCore.SpinnerGate?

    init(core: RingCore, strategy: WaitStrategy) throws(ChannelError) {
        guard try core.claimRole(slot: nil) else {
            throw .busy("another process is already writing to \(core.name.posixName)")
        }
        self.core = core
        self.strategy = strategy
        // A writer continues the stream where the last one left it, but
        // checks every word it takes over: another process may have written anything.
        position = core.writePosition.pointee.load(ordering: .acquiring)
        sequence = core.published.pointee.load(ordering: .acquiring)
        oldest = core.oldestPosition.pointee.load(ordering: .acquiring)
        oldestSeq = core.oldestSequence.pointee.load(ordering: .acquiring)
        cachedMinRead = position
        // A writer that takes a ring over does not know where the records of
        // the history start: history restarts at the write position.
        historyPosition = position
        historyStarts = Array(repeating: 0, count: core.historyDepth)
        guard position & 7 == 0 else {
            core.releaseRole(slot: nil)
            throw core.corrupt("the write position \(position) is not a multiple of 8")
        }
        if core.policy == .overwrite && !(oldest & 7 == 0 && position &- oldest <= UInt64(core.capacity)) {
            // Readers resynchronise to the oldest position: start it afresh.
            oldest = position
            oldestSeq = sequence
        }
        core.forgetDeadSleeper(core.spaceSleepers, core.sleepingFlag(slot: nil))
        if core.historyDepth != 0 {
            // Sequentially consistent, as every store of the history position (<doc:MemoryOrdering#History>).
            core.historyPosition.pointee.store(historyPosition, ordering: .sequentiallyConsistent)
        }
        core.writerPid.pointee.store(RingCore.selfReportedPid, ordering: .relaxed)
        core.writerState.pointee.store(RingLayout.WriterState.attached.rawValue, ordering: .releasing)
        // A writer that died between publishing and waking owed the readers a
        // wake-up: pay it, rather than let them sleep out their slice.
        core.wakeNow(core.dataEvent)
        do {
            cachedMinRead = try minimumReadPosition()
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    /// Marks the ring closed: readers drain what is left, then see the end.
    /// The end counts only once the writer's lock is released, so the lock
    /// goes before the wake-up.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        core.writerState.pointee.store(RingLayout.WriterState.closed.rawValue, ordering: .sequentiallyConsistent)
        CrashPoint.reach(.closeStarted)
        core.releaseRole(slot: nil)
        core.wakeNow(core.dataEvent)
    }

    /// Messages published so far.
    var publishedCount: UInt64 { sequence }

    // MARK: Space

    /// Whether `read` is a position a live reader can have: a multiple of 8,
    /// at most a capacity behind this writer and not ahead of it.
    @inline(__always)
    private func isPlausibleReadPosition(_ read: UInt64) -> Bool {
        read & 7 == 0 && position &- read <= UInt64(core.capacity)
    }

    /// The slowest active reader's position, the history counting as a
    /// reader; the write position when there is neither.
    ///
    /// A channel's receiver position that breaks the rules is corruption. A
    /// subscriber's is not counted: a subscriber that is joining may briefly
    /// show a position it will move past before it reads (see the join in
    /// ``RingReader``), and one that lies only harms itself.
    private func minimumReadPosition() throws(ChannelError) -> UInt64 {
        if core.flavour == .channel {
            // Sequentially consistent: the sleep/wake argument needs this load in the total order.
            let read = core.slotWord64(0, RingLayout.SlotOffset.readPosition).pointee.load(ordering: .sequentiallyConsistent)
            guard isPlausibleReadPosition(read) else {
                throw core.corrupt("the receiver's read position \(read) is not within a capacity behind the write position \(position)")
            }
            return read
        }
        var minimum = core.historyDepth != 0 ? historyPosition : position
        // The state too is loaded sequentially consistent: a joiner that takes
        // history stores its position and state before it checks the history
        // position this writer stores before scanning (<doc:MemoryOrdering#History>).
        for slot in 0..<core.slotCount where core.slotState(slot).pointee.load(ordering: .sequentiallyConsistent) != RingLayout.SlotState.free.rawValue {
            let read = core.slotWord64(slot, RingLayout.SlotOffset.readPosition).pointee.load(ordering: .sequentiallyConsistent)
            if isPlausibleReadPosition(read) && position &- read > position &- minimum { minimum = read }
        }
        return minimum
    }

    /// Frees the slots of subscribers that died (publish/subscribe), or
    /// reports the channel's receiver that died. Liveness comes from the
    /// kernel's role locks; the slot states only say where to look.
    func checkReaders() throws(ChannelError) {
        if core.flavour == .channel {
            if core.roleIsHeld(slot: 0) {
                sawReceiver = true
                return
            }
            // A receiver that left cleanly marks its cursor left (an older
            // library: active again); one that is gone without that mark died.
            // Any process can write the mark, so it only names how the
            // receiver went: that it went comes from its lock.
            let state = core.slotState(0).pointee.load(ordering: .acquiring)
            if state == RingLayout.SlotState.left.rawValue
                || (sawReceiver && state == RingLayout.SlotState.active.rawValue) {
                throw .peerLeft("the receiver of \(core.name.posixName)")
            }
            if state == RingLayout.SlotState.attached.rawValue || sawReceiver {
                throw .peerDied("the receiver of \(core.name.posixName)")
            }
            return
        }
        for slot in 0..<core.slotCount {
            let state = core.slotState(slot)
            guard state.pointee.load(ordering: .acquiring) != RingLayout.SlotState.free.rawValue,
                  !core.roleIsHeld(slot: slot) else { continue }
            // Claim the dead slot's lock briefly so that a joiner cannot race us.
            if (try? core.claimRole(slot: slot)) == true {
                core.forgetDeadSleeper(core.dataSleepers, core.sleepingFlag(slot: slot))
                state.pointee.store(RingLayout.SlotState.free.rawValue, ordering: .releasing)
                core.releaseRole(slot: slot)
            }
        }
    }

    @inline(__always)
    private func hasSpace(_ total: Int) -> Bool {
        core.capacity - Int(truncatingIfNeeded: position &- cachedMinRead) >= total
    }

    // MARK: Writing

    /// Reserves a record for up to `length` payload bytes and returns the
    /// payload's offset in the data area. Nothing is visible to readers until ``commit(length:)``; a reservation
    /// that is never committed publishes nothing (the next one starts at the same place).
    /// Waits up to `timeout` (nil: as long as it takes) for space; without
    /// `waits`, a full ring throws `.timedOut` at once.
    func reserve(
        length: Int, timeout: Duration?, waits: Bool = true, cancelled: () -> Bool = { false }
    ) throws(ChannelError) -> Int {
        guard !isClosed else { throw .closed }
        guard length >= 0, length <= core.maxMessageSize else {
            throw .messageTooLarge(size: length, maximum: core.maxMessageSize)
        }
        let offset = Int(truncatingIfNeeded: position & core.mask)
        let need = core.recordSize(at: offset, length: length)
        let contiguous = core.capacity - offset
        // After padding, the record starts at offset 0.
        let total = need <= contiguous ? need : contiguous + core.recordSize(at: 0, length: length)
        if core.policy == .lossless {
            if !hasSpace(total) {
                cachedMinRead = try minimumReadPosition()
                if !hasSpace(total) && core.historyDepth != 0 {
                    // History never makes the writer wait: give up as much as the record needs, then look again.
                    forgetHistory(olderThan: UInt64(core.capacity - total))
                    cachedMinRead = try minimumReadPosition()
                }
                if !hasSpace(total) {
                    guard waits else { throw .timedOut }
                    try waitForSpace(total, timeout: timeout, cancelled: cancelled)
                }
            }
        } else {
            announceOverwrite(upTo: position &+ UInt64(total))
        }
        if need > contiguous {
            // Only length and flags: as few as 8 bytes may remain before the end.
            core.writePaddingHeader(at: offset)
            position &+= UInt64(contiguous)
        }
        CrashPoint.reach(.sendReserved)
        return core.payloadOffset(at: Int(truncatingIfNeeded: position & core.mask))
    }

    /// Waits until `total` bytes are free. Out of line, so that the clock's
    /// arithmetic stays off the path of a send that finds space.
    @inline(never)
    private func waitForSpace(_ total: Int, timeout: Duration?, cancelled: () -> Bool) throws(ChannelError) {
        try core.wait(
            until: { () throws(ChannelError) -> Bool in
                cachedMinRead = try minimumReadPosition()
                return hasSpace(total)
            },
            event: core.spaceEvent, sleepers: core.spaceSleepers, sleeping: core.sleepingFlag(slot: nil),
            strategy: strategy, deadline: deadline(after: timeout),
            check: checkReaders, cancelled: cancelled, gate: spinnerGate)
    }

    /// Overwrite policy: says which bytes are about to change, and moves the
    /// oldest intact record past them, before any of them is written.
    private func announceOverwrite(upTo end: UInt64) {
        core.reservePosition.pointee.store(end, ordering: .sequentiallyConsistent)
        // The announcement must be visible before any byte it covers changes.
        atomicMemoryFence(ordering: .releasing)
        guard end > UInt64(core.capacity) else { return }
        let firstKept = end - UInt64(core.capacity)
        var moved = false
        // Each step moves at least 8 bytes, so a capacity's worth of steps
        // covers the ring; a step past this writer's position (a length
        // another process garbled) ends the walk too.
        var steps = core.capacity / 8 + 1
        while oldest < firstKept && oldest < position && steps > 0 {
            steps -= 1
            let offset = Int(truncatingIfNeeded: oldest & core.mask)
            if core.recordFlags(at: offset) & RingLayout.paddingFlag != 0 {
                oldest &+= UInt64(core.capacity - offset)
            } else {
                // A length another process garbled is clamped, so the sum cannot overflow;
                // the walk then ends past this writer's position.
                oldest &+= UInt64(core.recordSize(at: offset, length: min(core.recordLength(at: offset), core.capacity)))
                oldestSeq &+= 1
            }
            moved = true
        }
        if oldest < firstKept || oldest > position {
            // Everything written so far is overwritten (or the walk went
            // astray): the next record is the oldest.
            oldest = position
            oldestSeq = sequence
            moved = true
        }
        if moved {
            core.oldestSequence.pointee.store(oldestSeq, ordering: .relaxed)
            core.oldestPosition.pointee.store(oldest, ordering: .releasing)
            // History never reaches back past the oldest intact record.
            if core.historyDepth != 0 { forgetHistory(olderThan: position &- oldest) }
        }
    }

    // MARK: History

    /// Notes that a record starts at `start` (this writer's position, padding
    /// skipped) and moves the history position to the start of the
    /// `historyDepth`-th last record. Out of line: a ring without history
    /// pays one comparison per commit.
    @inline(never)
    private func remember(recordAt start: UInt64) {
        let depth = historyStarts.count
        if historyCount == depth {
            historyHead = historyHead + 1 == depth ? 0 : historyHead + 1
            historyCount -= 1
        }
        let tail = historyHead + historyCount
        historyStarts[tail >= depth ? tail - depth : tail] = start
        historyCount += 1
        storeHistoryPosition(historyStarts[historyHead])
    }

    /// Forgets the history records that start more than `distance` bytes
    /// behind this writer's position; with none left, the history position
    /// is the write position.
    private func forgetHistory(olderThan distance: UInt64) {
        while historyCount > 0 && position &- historyStarts[historyHead] > distance {
            historyHead = historyHead + 1 == historyStarts.count ? 0 : historyHead + 1
            historyCount -= 1
        }
        storeHistoryPosition(historyCount > 0 ? historyStarts[historyHead] : position)
    }

    /// Publishes a new history position, sequentially consistent: a joiner
    /// that checks it after storing its own position either sees the new
    /// value or is seen by this writer's next scan (<doc:MemoryOrdering#History>).
    private func storeHistoryPosition(_ start: UInt64) {
        guard start != historyPosition else { return }
        historyPosition = start
        core.historyPosition.pointee.store(start, ordering: .sequentiallyConsistent)
    }

    /// Publishes the record last reserved with `length` bytes (at most what
    /// was reserved), and wakes readers that sleep.
    func commit(length: Int) {
        CrashPoint.reach(.sendFilled)
        let offset = Int(truncatingIfNeeded: position & core.mask)
        core.writeRecordHeader(at: offset, length: length, flags: 0, sequence: sequence)
        // Before the record is published: history never holds more than the
        // last historyDepth records, the one being published included.
        if core.historyDepth != 0 { remember(recordAt: position) }
        position &+= UInt64(core.recordSize(at: offset, length: length))
        sequence &+= 1
        core.published.pointee.store(sequence, ordering: .relaxed)
        CrashPoint.reach(.sendCommitted)
        core.writePosition.pointee.store(position, ordering: .sequentiallyConsistent)
        CrashPoint.reach(.sendPublished)
        core.wake(core.dataEvent, core.dataSleepers)
    }

    /// Copies `bytes` into a new record and publishes it.
    func write(_ bytes: UnsafeRawBufferPointer, timeout: Duration?, waits: Bool = true) throws(ChannelError) {
        let payload = try reserve(length: bytes.count, timeout: timeout, waits: waits)
        if let source = bytes.baseAddress, bytes.count > 0 {
            (core.data + payload).copyMemory(from: source, byteCount: bytes.count)
        }
        commit(length: bytes.count)
        if core.mappingGuard.isTripped { throw core.truncationError() }
    }

    /// Tries to write without waiting; `false` when the ring is full.
    func tryWrite(_ bytes: UnsafeRawBufferPointer) throws(ChannelError) -> Bool {
        do {
            try write(bytes, timeout: nil, waits: false)
            return true
        } catch .timedOut {
            return false
        }
    }
}

extension RingWriter {
    /// Zero-copy write: reserves `capacity` bytes, lets `fill` write them in
    /// place, and publishes as many as it returns (clamped to 0...capacity).
    func loan(
        capacity: Int, timeout: Duration?, _ fill: (UnsafeMutableRawBufferPointer) -> Int
    ) throws(ChannelError) -> Int {
        let payload = try reserve(length: capacity, timeout: timeout)
        let written = fill(UnsafeMutableRawBufferPointer(start: core.data + payload, count: capacity))
        let count = min(max(written, 0), capacity)
        commit(length: count)
        if core.mappingGuard.isTripped { throw core.truncationError() }
        return count
    }
}
