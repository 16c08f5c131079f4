import CShm
import Glibc
import Synchronization

/// The reading side of a many-to-one channel (its receiver) or of a topic
/// (one subscriber): its lock, and per member slot the ring reader attached
/// to the session it serves.
///
/// It attaches to the ring of every active member session it has not
/// finished, reads the attached rings round-robin, and detaches a ring once
/// its writer closed or its member is gone and it is drained, so that a new
/// member can take the slot. <doc:ServiceProtocol> describes the algorithm.
///
/// `@unchecked Sendable`: not for concurrent use; its one owner, a ~Copyable
/// ``ManyToOneReceiver`` or ``TopicSubscriber``, moves it between threads, never shares it.
final class ServiceInbox: @unchecked Sendable {
    /// Which reader this is.
    enum Role: Equatable {
        /// A many-to-one channel's receiver: the owner lock, each ring's reader slot 0.
        case owner
        /// Topic subscriber `j`: its subscriber lock, a free reader slot of each ring.
        case subscriber(Int)
    }

    struct Attached {
        let reader: RingReader
        let session: UInt32
        /// The sender's member lock was found released: once the ring is drained, detach.
        var gone: Bool
    }

    let service: ServiceSegment
    let strategy: WaitStrategy
    let role: Role
    /// A publisher this reader never attaches to (a bridge's own publisher, see
    /// ``TopicSubscriber/open(_:skipping:creating:mode:wait:backend:)``).
    let skipped: SenderTag?
    @exclusivity(unchecked) private var attached: [Attached?]
    /// The last session finished (drained and detached) in each slot.
    @exclusivity(unchecked) private var finished: [UInt32?]
    /// The attached slots, in round-robin order.
    @exclusivity(unchecked) private var order: [Int] = []
    @exclusivity(unchecked) private var cursor = 0
    /// Messages taken from the ring at `cursor` in a row.
    @exclusivity(unchecked) private var batch = 0
    @exclusivity(unchecked) private var seenMembership: UInt32 = 0
    @exclusivity(unchecked) private var lastScan = ContinuousClock.now
    @exclusivity(unchecked) private var receivedSinceScan = 0
    @exclusivity(unchecked) private var isClosed = false
    /// The ring whose turn it is, while its turn lasts and its last look
    /// found a record: ``next(timeout:)`` looks there first, without the
    /// round-robin loop. Set by ``poll(_:)``, cleared whenever the cursor
    /// moves or a ring is detached.
    @exclusivity(unchecked) private var turn: Turn?

    /// The reader of the ring whose turn it is, and its sender.
    private struct Turn {
        /// Unowned: `attached` holds the reader for as long as the turn is set.
        unowned(unsafe) let reader: RingReader
        let tag: SenderTag
    }

    /// How many messages are received between looks at the clock for a due scan.
    private static let messagesPerClockCheck = 1024
    /// The most messages taken from one ring before the next ring's turn.
    /// A turn ends with a publication of the read position (see
    /// ``consume(_:)``) and a look at the next ring, whose records another
    /// core wrote: 128 rather than 32 in a row took shm-bench many-to-one
    /// from about 0.45x to 0.8x of the one-to-one channel with 4 senders on 2 cores.
    static let batchSize = 128

    init(service: ServiceSegment, owner: Bool, strategy: WaitStrategy, skipping skipped: SenderTag? = nil) throws(ChannelError) {
        if owner {
            guard try service.tryLock(ServiceLayout.ownerLockByte) else {
                throw .busy("another process is already receiving from \(service.name.posixName)")
            }
            role = .owner
            service.word32(ServiceLayout.Offset.ownerPid).pointee.store(UInt32(bitPattern: getpid()), ordering: .relaxed)
        } else {
            var claimed: Int?
            for slot in 0..<service.readerSlots where try service.tryLock(ServiceLayout.subscriberLockByte(slot)) {
                claimed = slot
                break
            }
            guard let claimed else {
                throw .busy("all \(service.readerSlots) subscriber slots of \(service.name.posixName) are taken")
            }
            role = .subscriber(claimed)
        }
        self.service = service
        self.strategy = strategy
        self.skipped = skipped
        attached = Array(repeating: nil, count: service.memberCount)
        finished = Array(repeating: nil, count: service.memberCount)
        do {
            try scan()
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    /// The lock byte this reader holds.
    private var lockByte: UInt64 {
        switch role {
        case .owner: ServiceLayout.ownerLockByte
        case .subscriber(let slot): ServiceLayout.subscriberLockByte(slot)
        }
    }

    /// Detaches every ring and releases the reader's lock; joiners waiting for a slot retry.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        turn = nil
        for member in order { attached[member]?.reader.detach() }
        attached = Array(repeating: nil, count: attached.count)
        order = []
        service.unlock(lockByte)
        service.announceMembership()
    }

    // MARK: Membership

    /// Attaches to the ring of every active session not finished yet, and
    /// marks attached rings whose sender's member lock is released as gone.
    private func scan() throws(ChannelError) {
        try service.checkIntact()
        // Loaded before the entries: a join after this load changes the event again.
        seenMembership = service.membershipEvent.pointee.load(ordering: .acquiring)
        lastScan = .now
        receivedSinceScan = 0
        for member in 0..<service.memberCount {
            if let ring = attached[member] {
                if !ring.gone && !service.memberIsAlive(member) { attached[member]!.gone = true }
                continue
            }
            guard let session = service.memberSession(member), session != finished[member] else { continue }
            if let skipped, skipped.slot == member, skipped.session == session { continue }
            try attach(member)
        }
    }

    /// Claims a reader slot of member `member`'s ring, unless a joiner holds it while it resets the ring.
    private func attach(_ member: Int) throws(ChannelError) {
        let core = try service.ring(member: member, ring: 0)
        let reader: RingReader
        do {
            reader = role == .owner ? try RingReader.receiver(core: core, strategy: strategy)
                                    : try RingReader.subscriber(core: core, strategy: strategy)
        } catch {
            if case .busy = error { return } // a joiner is resetting it: next round
            throw error
        }
        // With the reader lock held no joiner can reset the ring: the entry read now is the ring's session.
        guard let session = service.memberSession(member), session != finished[member] else {
            reader.detach()
            return
        }
        let gone = !service.memberIsAlive(member)
        attached[member] = Attached(reader: reader, session: session, gone: gone)
        order.append(member)
    }

    /// Drops the reader of a drained ring whose sender left; the slot may be reset by the next joiner.
    private func detach(at index: Int) {
        turn = nil
        let member = order.remove(at: index)
        if let ring = attached[member] {
            ring.reader.detach()
            finished[member] = ring.session
        }
        attached[member] = nil
        service.announceMembership()
    }

    private var membershipChanged: Bool {
        service.membershipEvent.pointee.load(ordering: .acquiring) != seenMembership
    }

    private var scanIsDue: Bool { membershipChanged || ContinuousClock.now - lastScan >= RingCore.checkInterval }

    /// Empty looks since the clock was last read for a due scan.
    @exclusivity(unchecked) private var emptyLooks = 0

    /// ``scanIsDue`` for a look that found nothing: reads the clock only every
    /// 64th time (a wait reads it anyway before it sleeps), so that a reader
    /// that keeps catching up with its senders takes no clock per message.
    private var scanIsDueAfterEmptyLook: Bool {
        if membershipChanged { return true }
        emptyLooks &+= 1
        guard emptyLooks & 63 == 0 else { return false }
        return ContinuousClock.now - lastScan >= RingCore.checkInterval
    }

    // MARK: Receiving

    /// Takes a message from a ring: `false` when the ring has none now. The
    /// caller keeps what it took; the inbox's loops are not generic, so that
    /// they run specialised whatever the caller makes of a message.
    typealias Take = (RingReader, SenderTag) throws(ChannelError) -> Bool

    /// Takes the next message of the attached rings, round-robin, with
    /// `take`; `false` when none has one now.
    func poll(_ take: Take) throws(ChannelError) -> Bool {
        turn = nil
        var remaining = order.count
        while remaining > 0 {
            if cursor >= order.count { cursor = 0 }
            let member = order[cursor]
            guard let ring = attached[member] else { order.remove(at: cursor); remaining -= 1; continue }
            do {
                let tag = SenderTag(slot: member, session: ring.session)
                if try take(ring.reader, tag) {
                    batch += 1
                    if batch >= Self.batchSize {
                        // The end of this ring's turn: its space goes back to its sender.
                        ring.reader.publishReleased()
                        cursor += 1
                        batch = 0
                    } else {
                        if ring.reader.caughtUp {
                            // Nothing more known to read here: no release waits for a later look.
                            ring.reader.publishReleased()
                        }
                        turn = Turn(reader: ring.reader, tag: tag)
                    }
                    receivedSinceScan += 1
                    if receivedSinceScan >= Self.messagesPerClockCheck {
                        receivedSinceScan = 0
                        if scanIsDue { try scan() }
                    }
                    return true
                }
                if ring.gone || ring.reader.isDrainedAndClosed {
                    // The member's lock was released before this look, or its writer closed: nothing more can come.
                    detach(at: cursor)
                    batch = 0
                    remaining -= 1
                    continue
                }
            } catch {
                guard case .closed = error else { throw error }
                detach(at: cursor)
                batch = 0
                remaining -= 1
                continue
            }
            ring.reader.publishReleased()
            cursor += 1
            batch = 0
            remaining -= 1
        }
        return false
    }

    /// Whether the channel ended: a sender joined once, no sender holds its
    /// lock, and every ring is drained and detached.
    func ended() throws(ChannelError) -> Bool {
        guard service.sessions.pointee.load(ordering: .acquiring) > 0, order.isEmpty else { return false }
        guard !service.isLocked(ServiceLayout.memberLockByte(0), length: UInt64(service.memberCount)) else { return false }
        // Rings of sessions that ended before this receiver looked may still hold messages.
        try scan()
        return order.isEmpty
    }

    /// What a wait finds before it sleeps: a message, the end, or nothing yet.
    private enum Step {
        case taken
        case end
        case wait
    }

    /// One round of a wait: a message, the end, or nothing yet.
    private func step(_ body: Take) throws(ChannelError) -> Step {
        if try poll(body) { return .taken }
        if scanIsDueAfterEmptyLook {
            try scan()
            if try poll(body) { return .taken }
        }
        if try ended() { return .end }
        return .wait
    }

    /// The rings to sleep on, and the membership flag that counts this reader (the owner's).
    private func sleepTargets() -> (rings: [ServiceSegment.WaitedRing], flag: UnsafeMutablePointer<Atomic<UInt32>>?) {
        let rings = order.compactMap { member in
            attached[member].map { ServiceSegment.WaitedRing(core: $0.reader.core, slot: $0.reader.slot) }
        }
        // A subscriber has no sleeping flag of its own in the header: it notices joins by its scans.
        return (rings, role == .owner ? service.ownerSleeping : nil)
    }

    /// Spins up to `limit` rounds for a change; `true` when something changed,
    /// the deadline passed (it throws `.timedOut` then) or a scan is due (the
    /// caller takes another step). Every 1024 rounds it reads the clock,
    /// taking the deadline `timeout` from then on the first time (`waited`).
    private func spin(
        limit: Int, timeout: Duration?, waited: inout Bool, deadline: inout ContinuousClock.Instant?
    ) throws(ChannelError) -> Bool {
        if waited, let deadline, ContinuousClock.now >= deadline { throw .timedOut }
        var spins = 0
        while spins < limit {
            if somethingChanged() { return true }
            cshm_spin_pause()
            spins &+= 1
            if spins & 1023 == 0 {
                let now = ContinuousClock.now
                if !waited {
                    waited = true
                    deadline = SharedMemory.deadline(after: timeout)
                }
                if let deadline, now >= deadline { throw .timedOut }
                if now - lastScan >= RingCore.checkInterval { return true }
            }
        }
        return false
    }

    /// How long the next sleep may last: a check interval, cut at `deadline`.
    private func slice(until deadline: ContinuousClock.Instant?) throws(ChannelError) -> Duration {
        guard let deadline else { return RingCore.checkInterval }
        let now = ContinuousClock.now
        if now >= deadline { throw .timedOut }
        return min(RingCore.checkInterval, deadline - now)
    }

    /// Whether a message, a closed ring or a membership change is there: the re-check before a sleep.
    private func somethingChanged() -> Bool {
        membershipChanged || order.contains { member in
            guard let ring = attached[member] else { return false }
            return ring.reader.core.writePosition.pointee.load(ordering: .sequentiallyConsistent)
                != ring.reader.currentPosition || ring.reader.core.writerState.pointee.load(ordering: .acquiring)
                == RingLayout.WriterState.closed.rawValue
        }
    }

    /// Calls `body` with the next message in place, waiting up to `timeout`
    /// (nil: as long as it takes); `nil` at the end (see ``ended()``). A
    /// message that is there already takes no clock.
    func receive<R>(timeout: Duration?, _ body: (RingReader, SenderTag) throws(ChannelError) -> R?) throws(ChannelError) -> R? {
        var result: R?
        let taken = try receiveTaking(timeout: timeout) { (reader, tag) throws(ChannelError) in
            result = try body(reader, tag)
            return result != nil
        }
        return taken ? result : nil
    }

    /// ``receive(timeout:_:)`` with a ``Take``: `false` at the end.
    func receiveTaking(timeout: Duration?, _ body: Take) throws(ChannelError) -> Bool {
        var deadline: ContinuousClock.Instant?
        var waited = false
        while true {
            switch try step(body) {
            case .taken: return true
            case .end: return false
            case .wait:
                // The deadline is taken at the first wait that spins past 1024 rounds or sleeps.
                if try spin(limit: strategy.spinCount, timeout: timeout, waited: &waited, deadline: &deadline) { continue }
                if !waited {
                    waited = true
                    deadline = SharedMemory.deadline(after: timeout)
                }
                let slice = try slice(until: deadline)
                let (rings, flag) = sleepTargets()
                _ = try service.sleep(on: rings, membershipFlag: flag, slice: slice) { [self] in somethingChanged() }
                if Task.isCancelled { throw .cancelled }
            }
        }
    }

    /// The `async` twin of ``receive(timeout:_:)``: the sleep suspends the
    /// task on ``FutexWaiter`` (one wait on every ring's event and the
    /// membership event) instead of blocking its thread.
    nonisolated(nonsending) func receiveAsync<R>(
        timeout: Duration?, _ body: (RingReader, SenderTag) throws(ChannelError) -> R?
    ) async throws(ChannelError) -> R? {
        var result: R?
        let taken = try await receiveAsyncTaking(timeout: timeout) { (reader, tag) throws(ChannelError) in
            result = try body(reader, tag)
            return result != nil
        }
        return taken ? result : nil
    }

    /// ``receiveAsync(timeout:_:)`` with a ``Take``: `false` at the end.
    nonisolated(nonsending) func receiveAsyncTaking(timeout: Duration?, _ body: Take) async throws(ChannelError) -> Bool {
        var deadline: ContinuousClock.Instant?
        var waited = false
        while true {
            switch try step(body) {
            case .taken: return true
            case .end: return false
            case .wait:
                // A task must not hold a pool thread for long: the spin is bounded as a ring's async wait's.
                if try spin(limit: min(strategy.spinCount, RingCore.asyncSpinLimit), timeout: timeout, waited: &waited, deadline: &deadline) { continue }
                if !waited {
                    waited = true
                    deadline = SharedMemory.deadline(after: timeout)
                }
                let slice = try slice(until: deadline)
                let (rings, flag) = sleepTargets()
                var words: [FutexWord] = []
                var counts: [SleeperCount] = []
                if let flag {
                    let seen = service.membershipEvent.pointee.load(ordering: .acquiring)
                    counts.append(SleeperCount(sleepers: service.membershipSleepers, sleeping: flag))
                    words.append(FutexWord(UnsafeMutableRawPointer(service.membershipEvent).assumingMemoryBound(to: UInt32.self), expected: seen))
                }
                for ring in rings.prefix(FutexWord.maxCount - 1 - words.count) {
                    // The announcement bit first, the count (below) second, the re-check last: as every ring wait.
                    counts.append(SleeperCount(sleepers: ring.core.dataSleepers, sleeping: ring.core.sleepingFlag(slot: ring.slot)))
                    words.append(FutexWord(announcingOn: ring.core.dataEvent))
                }
                if words.isEmpty {
                    // Nothing to wait on: a join is found by the next scan.
                    try? await Task.sleep(for: slice)
                } else {
                    for count in counts { count.enter() }
                    if !somethingChanged() {
                        await FutexWaiter.shared.wait(onAny: words, until: .now + slice)
                    }
                    for count in counts { count.leave() }
                }
                if Task.isCancelled { throw .cancelled }
            }
        }
    }

    /// Calls `body` with the next message if one is there now; throws `.closed` at the end.
    func tryReceive<R>(_ body: (RingReader, SenderTag) throws(ChannelError) -> R?) throws(ChannelError) -> R? {
        var result: R?
        let take: Take = { (reader, tag) throws(ChannelError) in
            result = try body(reader, tag)
            return result != nil
        }
        if try poll(take) { return result }
        if scanIsDue {
            try scan()
            if try poll(take) { return result }
        }
        if try ended() { throw .closed }
        return nil
    }

    // MARK: Waiting in a wait set

    /// A ``ChannelWaitSet``'s look: scans for joined and departed senders
    /// when due, detaches the drained rings of departed senders (as
    /// ``poll(_:)`` does), and says whether a message is there or the
    /// channel ended. Takes no message.
    func waitSetLook() throws(ChannelError) -> ChannelWaitSet.Readiness? {
        if scanIsDue { try scan() }
        var hasMessage = false
        var index = 0
        while index < order.count {
            guard let ring = attached[order[index]] else {
                order.remove(at: index)
                continue
            }
            let reader = ring.reader
            // Sequentially consistent, as the re-check of a sleep: ordered after any count this reader entered.
            if reader.core.writePosition.pointee.load(ordering: .sequentiallyConsistent) != reader.currentPosition {
                hasMessage = true
            } else if ring.gone || reader.isDrainedAndClosed {
                // Drained, and its sender left (gone was decided before this look) or closed.
                detach(at: index)
                continue
            }
            index += 1
        }
        if hasMessage { return .message }
        return try ended() ? .closed : nil
    }

    /// Counts a wait set's waiter in on the service's membership event and
    /// on every attached ring, appending the words to sleep on and the
    /// counts to leave after the sleep. The ring event words are announced
    /// on (``SleeperCount/enter(announcingOn:)``), as every ring wait does;
    /// the membership event is plain. The owner counts itself in
    /// `membershipSleepers` with its `ownerSleeping` flag, so a join wakes
    /// it; a subscriber has no flag in the header (<doc:ServiceProtocol>),
    /// so the word only ends its sleep at once when a join came after the
    /// last scan (and its sleeps last a check interval at most, after which
    /// a scan finds the new publisher).
    func enterWaitSetSleep(words: inout [FutexWord], counts: inout [SleeperCount]) {
        let event = service.membershipEvent
        let seen = event.pointee.load(ordering: .acquiring)
        if role == .owner {
            let count = SleeperCount(sleepers: service.membershipSleepers, sleeping: service.ownerSleeping)
            count.enter()
            counts.append(count)
        }
        words.append(FutexWord(UnsafeMutableRawPointer(event).assumingMemoryBound(to: UInt32.self), expected: seen))
        for member in order {
            guard let ring = attached[member] else { continue }
            let core = ring.reader.core
            let count = SleeperCount(sleepers: core.dataSleepers, sleeping: core.sleepingFlag(slot: ring.reader.slot))
            let expected = count.enter(announcingOn: core.dataEvent)
            counts.append(count)
            words.append(FutexWord(UnsafeMutableRawPointer(core.dataEvent).assumingMemoryBound(to: UInt32.self), expected: expected))
        }
    }

    /// The re-check of a wait set's sleep: a message, a ring whose writer
    /// closed, or a membership change since the last look. Changes nothing.
    /// Unlike ``somethingChanged()`` a closed ring counts only once its
    /// writer's lock is released (the look detaches it then), so that a
    /// writer state word set to "closed" by a process that keeps the lock
    /// cannot keep the set from sleeping.
    var changedSinceWaitSetLook: Bool {
        membershipChanged || order.contains { member in
            guard let ring = attached[member] else { return false }
            return ring.reader.core.writePosition.pointee.load(ordering: .sequentiallyConsistent)
                != ring.reader.currentPosition || ring.reader.writerClosed
        }
    }

    /// A wait set's periodic check: every attached ring's segment is still whole.
    func checkRingsIntact() throws(ChannelError) {
        for member in order {
            try attached[member]?.reader.core.checkIntact()
        }
    }

    // MARK: Found records (many-to-one)

    /// Finds the next record of the attached rings, without releasing it,
    /// waiting up to `timeout`; `nil` at the end (see ``ended()``). The
    /// caller reads it and hands it to ``consume(_:)`` before it looks for the next.
    func next(timeout: Duration?) throws(ChannelError) -> FoundMessage? {
        if let turn {
            // The ring whose turn it is first: what poll(_:) does for it, without its loop.
            if let record = try turn.reader.next() {
                batch += 1
                if batch >= Self.batchSize {
                    turn.reader.publishReleased()
                    cursor += 1
                    batch = 0
                    self.turn = nil
                }
                receivedSinceScan += 1
                if receivedSinceScan >= Self.messagesPerClockCheck {
                    receivedSinceScan = 0
                    if scanIsDue { try scan() }
                }
                return FoundMessage(bytes: UnsafeRawBufferPointer(start: turn.reader.core.data + record.payloadOffset, count: record.length),
                                    tag: turn.tag, reader: turn.reader, record: record)
            }
            self.turn = nil
        }
        var found: FoundMessage?
        let taken = try receiveTaking(timeout: timeout) { (reader, tag) throws(ChannelError) -> Bool in
            found = try Self.find(reader, tag)
            return found != nil
        }
        return taken ? found : nil
    }

    /// ``next(timeout:)`` without waiting: `nil` when nothing is there now; throws `.closed` at the end.
    func tryNext() throws(ChannelError) -> FoundMessage? {
        var found: FoundMessage?
        let take: Take = { (reader, tag) throws(ChannelError) -> Bool in
            found = try Self.find(reader, tag)
            return found != nil
        }
        if try poll(take) { return found }
        if scanIsDue {
            try scan()
            if try poll(take) { return found }
        }
        if try ended() { throw .closed }
        return nil
    }

    /// The next record of `reader`'s ring, if one is there now.
    @inline(__always)
    private static func find(_ reader: RingReader, _ tag: SenderTag) throws(ChannelError) -> FoundMessage? {
        guard let record = try reader.next() else { return nil } // a closed, drained ring: the inbox detaches it
        return FoundMessage(bytes: UnsafeRawBufferPointer(start: reader.core.data + record.payloadOffset, count: record.length),
                            tag: tag, reader: reader, record: record)
    }

    /// Releases a record ``next(timeout:)`` found, once it was read. Its
    /// space goes back to the sender in runs (``RingReader/publishReleased()``):
    /// after ``batchSize`` records or a quarter of the ring, or once the reader caught up with the
    /// write position it knows, so that no release waits for a ring the inbox
    /// will not look at again.
    @inline(__always)
    func consume(_ found: FoundMessage) throws(ChannelError) {
        let reader = found.reader
        if reader.core.mappingGuard.isTripped { throw reader.core.truncationError() }
        reader.releaseDeferred(found.record)
        if reader.caughtUp || reader.unpublishedCount >= Self.batchSize || reader.unpublishedQuarter { reader.publishReleased() }
    }

    /// The sender slots with an attached ring, and their sessions.
    var attachedSenders: [SenderTag] {
        order.compactMap { member in attached[member].map { SenderTag(slot: member, session: $0.session) } }
    }
}

/// A many-to-one message found in place: its bytes and sender, and the ring
/// record that ``ServiceInbox/consume(_:)`` releases once it was read.
@usableFromInline
struct FoundMessage {
    @usableFromInline let bytes: UnsafeRawBufferPointer
    @usableFromInline let tag: SenderTag
    /// Unowned: the inbox holds the reader until the record is consumed (a
    /// ring with an unreleased record is not drained, so it is not detached).
    unowned(unsafe) let reader: RingReader
    let record: RingRecord
}
