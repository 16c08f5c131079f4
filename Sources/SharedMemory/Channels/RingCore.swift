import CShm
import Glibc
import Synchronization

/// A ring mapped into this process: the shared words, the data area, and the
/// waiting protocol that writers and readers share.
///
/// A ring fills a managed segment's payload (a channel or a publish/subscribe
/// ring, segment kind 1) or one region of a service segment (kind 3, see
/// <doc:ServiceProtocol>), which holds several rings in one mapping.
@usableFromInline
final class RingCore: @unchecked Sendable {
    /// The mapping the ring lives in, shared with the other rings of a service segment.
    let mapping: RingMapping
    let base: UnsafeMutableRawPointer
    @usableFromInline let data: UnsafeMutableRawPointer
    let capacity: Int
    let mask: UInt64
    let maxMessageSize: Int
    /// The payload alignment, a power of two from 1 to 64.
    @usableFromInline let alignment: Int
    /// Whether the alignment is 8 or less, so that a payload always starts
    /// right after its record's header.
    let packed: Bool
    /// The message type of a typed ring, as its creator recorded it.
    let messageType: MessageTypeIdentity?
    let slotCount: Int
    let policy: SlowSubscriberPolicy
    let flavour: Flavour
    /// How many of the last published messages a publish/subscribe ring keeps
    /// for subscribers that join (0: none, and always 0 for a channel).
    let historyDepth: Int
    let system: any SharedMemoryBackend
    let descriptor: Int32
    /// The file offset of the writer's lock byte; reader slot `k` locks the byte `1 + k` after it.
    let lockBase: UInt64
    /// The mapping's registration with the SIGBUS guard: a peer that truncates
    /// the segment trips it instead of killing this process.
    @usableFromInline let mappingGuard: MappingGuard

    enum Flavour: UInt32 {
        case channel = 0
        case publishSubscribe = 1
    }

    var name: SegmentName { mapping.segment.name }

    /// Checks and maps a ring that fills a managed segment's payload.
    /// `flavour` is the kind of ring the caller expects (`nil`: either);
    /// `access` is `.readOnly` for inspection.
    convenience init(segment: consuming ManagedSegment, expected flavour: Flavour?, access: SharedMemorySegment.Access = .readWrite) throws(ChannelError) {
        let name = segment.name.posixName
        guard segment.header.kind == RingLayout.segmentKind else {
            throw .badChannel("\(name) is a managed segment of kind \(segment.header.kind), not a channel")
        }
        let mapping = try RingMapping(segment: segment, access: access)
        try self.init(mapping: mapping, offset: 0, size: mapping.view.count, lockBase: 0, expected: flavour)
    }

    /// Checks a ring that fills `size` bytes at payload offset `offset` of
    /// `mapping` (a multiple of 64), whose lock bytes start at file offset `lockBase`.
    init(mapping: RingMapping, offset: Int, size: Int, lockBase: UInt64, expected flavour: Flavour?) throws(ChannelError) {
        let name = mapping.segment.name.posixName
        guard offset >= 0, offset & 63 == 0, size > 0, offset <= mapping.view.count - size else {
            throw .badChannel("\(name): a ring of \(size) bytes at offset \(offset) does not fit its \(mapping.view.count) bytes")
        }
        let base = mapping.view.unsafeBaseAddress + offset
        func load32(_ offset: Int) -> UInt32 { UInt32(littleEndian: base.load(fromByteOffset: offset, as: UInt32.self)) }
        guard load32(RingLayout.Offset.magic) == RingLayout.magic else {
            throw .badChannel("\(name) has no ring magic")
        }
        let version = load32(RingLayout.Offset.version)
        guard version == RingLayout.version else {
            throw .badChannel("\(name) has ring layout version \(version); this library reads \(RingLayout.version)"
                              + (version < RingLayout.version ? " (remove the ring and create it again)" : ""))
        }
        let capacity = Int(clamping: UInt64(littleEndian: base.load(fromByteOffset: RingLayout.Offset.capacity, as: UInt64.self)))
        let slots = Int(load32(RingLayout.Offset.slots))
        var configuration = RingConfiguration(exactCapacity: capacity, maxMessageSize: Int(load32(RingLayout.Offset.maxMessage)))
        configuration.alignment = Int(load32(RingLayout.Offset.alignment))
        try configuration.validate()
        let messageType = try MessageTypeIdentity.read(from: UnsafeRawPointer(base), ringName: name)
        guard (1...RingLayout.maxSlots).contains(slots),
              RingLayout.payloadSize(capacity: capacity, slots: slots) == size else {
            throw .badChannel("\(name) has \(slots) reader slots and \(capacity) bytes of data, which do not fill its \(size) bytes")
        }
        guard let policy = SlowSubscriberPolicy(rawValue: load32(RingLayout.Offset.policy)),
              let actual = Flavour(rawValue: load32(RingLayout.Offset.flavour)) else {
            throw .badChannel("\(name) has an unknown policy or flavour")
        }
        if let flavour, actual != flavour {
            throw .badChannel("\(name) is a \(actual == .channel ? "channel" : "publish/subscribe ring"), not a \(flavour == .channel ? "channel" : "publish/subscribe ring")")
        }
        let historyDepth = load32(RingLayout.Offset.historyDepth)
        guard historyDepth <= RingLayout.maxHistoryDepth, actual == .publishSubscribe || historyDepth == 0 else {
            throw .badChannel("\(name) has a history depth of \(historyDepth); a publish/subscribe ring keeps 0 to \(RingLayout.maxHistoryDepth) messages, a channel none")
        }
        self.historyDepth = Int(historyDepth)
        self.capacity = capacity
        self.mask = UInt64(capacity - 1)
        self.maxMessageSize = configuration.maxMessageSize
        self.alignment = configuration.alignment
        self.packed = configuration.alignment <= 8
        self.messageType = messageType
        self.slotCount = slots
        self.policy = policy
        self.flavour = actual
        self.base = base
        self.data = base + RingLayout.dataOffset(slots: slots)
        self.system = mapping.system
        self.descriptor = mapping.descriptor
        self.mappingGuard = mapping.mappingGuard
        self.lockBase = lockBase
        self.mapping = mapping
    }

    /// Opens the ring `name`, creating it with `configuration` when it does not exist.
    static func open(
        _ name: SegmentName, flavour: Flavour, configuration: RingConfiguration?, slots: Int,
        policy: SlowSubscriberPolicy, historyDepth: Int = 0, mode: UInt32, backend: SharedMemorySegment.Backend
    ) throws(ChannelError) -> RingCore {
        try configuration?.validate()
        let segment: ManagedSegment
        do {
            if let configuration {
                segment = try ManagedSegment.create(
                    name, payloadSize: RingLayout.payloadSize(capacity: configuration.capacity, slots: slots),
                    mode: mode, lifetime: configuration.lifetime, kind: RingLayout.segmentKind, backend: backend
                ) { payload in
                    RingLayout.initialize(payload, configuration: configuration, slots: slots, policy: policy, flavour: flavour,
                                          historyDepth: historyDepth)
                }
            } else {
                segment = try ManagedSegment.open(name, access: .readWrite, backend: backend)
            }
        } catch {
            throw .segment(error)
        }
        return try RingCore(segment: segment, expected: flavour)
    }

    // MARK: Shared words

    @inline(__always) func word64(_ offset: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        (base + offset).assumingMemoryBound(to: Atomic<UInt64>.self)
    }

    @inline(__always) func word32(_ offset: Int) -> UnsafeMutablePointer<Atomic<UInt32>> {
        (base + offset).assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    var writePosition: UnsafeMutablePointer<Atomic<UInt64>> { word64(RingLayout.Offset.writePosition) }
    var reservePosition: UnsafeMutablePointer<Atomic<UInt64>> { word64(RingLayout.Offset.reservePosition) }
    var published: UnsafeMutablePointer<Atomic<UInt64>> { word64(RingLayout.Offset.published) }
    var oldestPosition: UnsafeMutablePointer<Atomic<UInt64>> { word64(RingLayout.Offset.oldestPosition) }
    var oldestSequence: UnsafeMutablePointer<Atomic<UInt64>> { word64(RingLayout.Offset.oldestSequence) }
    var writerState: UnsafeMutablePointer<Atomic<UInt32>> { word32(RingLayout.Offset.writerState) }
    /// Where the oldest message the history keeps starts (publish/subscribe with a history).
    var historyPosition: UnsafeMutablePointer<Atomic<UInt64>> { word64(RingLayout.Offset.historyPosition) }
    /// The pid the attached writer reported for itself: shown, never trusted.
    var writerPid: UnsafeMutablePointer<Atomic<UInt32>> { word32(RingLayout.Offset.writerPid) }
    var dataEvent: UnsafeMutablePointer<Atomic<UInt32>> { word32(RingLayout.Offset.dataEvent) }
    var dataSleepers: UnsafeMutablePointer<Atomic<UInt32>> { word32(RingLayout.Offset.dataSleepers) }
    var spaceEvent: UnsafeMutablePointer<Atomic<UInt32>> { word32(RingLayout.Offset.spaceEvent) }
    var spaceSleepers: UnsafeMutablePointer<Atomic<UInt32>> { word32(RingLayout.Offset.spaceSleepers) }
    /// The roles of a publish/subscribe ring that spin in a wait now (a hint, see ``startSpinning(_:)``).
    var spinners: UnsafeMutablePointer<Atomic<UInt32>> { word32(RingLayout.Offset.spinners) }

    func slotWord64(_ slot: Int, _ offset: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        word64(RingLayout.Offset.slots0 + 64 * slot + offset)
    }

    func slotState(_ slot: Int) -> UnsafeMutablePointer<Atomic<UInt32>> {
        word32(RingLayout.Offset.slots0 + 64 * slot + RingLayout.SlotOffset.state)
    }

    /// The pid the reader of slot `slot` reported for itself: shown, never trusted.
    func slotPid(_ slot: Int) -> UnsafeMutablePointer<Atomic<UInt32>> {
        word32(RingLayout.Offset.slots0 + 64 * slot + RingLayout.SlotOffset.pid)
    }

    /// This process's pid as it sees it (its own pid namespace), for the pid words.
    static var selfReportedPid: UInt32 { UInt32(bitPattern: getpid()) }

    // MARK: Roles

    /// The lock byte of the writer (``lockBase``) or of reader slot `slot` (``lockBase`` + 1 + slot).
    func lockByte(slot: Int?) -> UInt64 { lockBase + (slot.map { UInt64(1 + $0) } ?? 0) }

    /// Takes the role's lock; `false` when another process holds it.
    func claimRole(slot: Int?) throws(ChannelError) -> Bool {
        try mapping.tryLock(lockByte(slot: slot))
    }

    func releaseRole(slot: Int?) {
        mapping.unlock(lockByte(slot: slot))
    }

    /// Whether some process holds the role's lock.
    func roleIsHeld(slot: Int?) -> Bool {
        mapping.isLocked(lockByte(slot: slot))
    }

    // MARK: Trust

    /// The file size the ring needs: the managed header and the payload.
    var fileSize: UInt64 { mapping.fileSize }

    /// Whether the segment was truncated under this process (see ``RingMapping/isTruncated()``).
    func isTruncated() -> Bool { mapping.isTruncated() }

    /// The error for shared state that breaks the ring's rules: a
    /// truncation when the segment shrank, otherwise corruption.
    func corrupt(_ reason: @autoclosure () -> String) -> ChannelError {
        if let error = truncation() { return error }
        return .badChannel("\(name.posixName): \(reason())")
    }

    /// A truncation error if the segment shrank under this process.
    func truncation() -> ChannelError? {
        isTruncated() ? truncationError() : nil
    }

    /// The error for a segment that shrank under this process.
    @usableFromInline
    func truncationError() -> ChannelError {
        mapping.truncationError(of: "ring")
    }

    /// The periodic check of a waiting side: the segment is still whole.
    func checkIntact() throws(ChannelError) {
        if let error = truncation() { throw error }
    }

    // MARK: Waiting

    /// Wakes every sleeper on `event`, if one is counted in `sleepers` and
    /// announced on `event` since the last wake-up (its low bit, see
    /// ``SleeperCount/enter(announcingOn:)``). The caller has just published
    /// with a sequentially consistent store.
    @inline(__always)
    func wake(_ event: UnsafeMutablePointer<Atomic<UInt32>>, _ sleepers: UnsafeMutablePointer<Atomic<UInt32>>) {
        if sleepers.pointee.load(ordering: .sequentiallyConsistent) != 0 {
            wakeAnnounced(event)
        }
    }

    /// The most attempts to move an event word that other processes keep changing.
    static let bumpAttempts = 16

    /// Moves `event` to the next even value and wakes its sleepers, if its
    /// announcement bit is set; otherwise makes no system call: every
    /// sleeper announced before the last bump was woken by it, and one that
    /// announces later re-checks its condition after this caller published.
    @inline(never)
    func wakeAnnounced(_ event: UnsafeMutablePointer<Atomic<UInt32>>) {
        var value = event.pointee.load(ordering: .sequentiallyConsistent)
        for _ in 0..<Self.bumpAttempts {
            guard value & 1 != 0 else { return }
            let (exchanged, current) = event.pointee.compareExchange(
                expected: value, desired: value &+ 1, ordering: .sequentiallyConsistent)
            if exchanged {
                futexWake(event)
                return
            }
            value = current
        }
        wakeNow(event)
    }

    /// Bumps `event` to a new value and wakes its sleepers, announced or not
    /// (a close, a cancelled wait, a role taken over).
    func wakeNow(_ event: UnsafeMutablePointer<Atomic<UInt32>>) {
        var value = event.pointee.load(ordering: .relaxed)
        var bumped = false
        for _ in 0..<Self.bumpAttempts {
            let (exchanged, current) = event.pointee.compareExchange(
                expected: value, desired: (value | 1) &+ 1, ordering: .sequentiallyConsistent)
            if exchanged {
                bumped = true
                break
            }
            value = current
        }
        // A word that keeps changing changes anyway; its announcement bit stays as it is.
        if !bumped { event.pointee.wrappingAdd(2, ordering: .sequentiallyConsistent) }
        futexWake(event)
    }

    private func futexWake(_ event: UnsafeMutablePointer<Atomic<UInt32>>) {
        _ = try? system.futexWake(UnsafeMutableRawPointer(event).assumingMemoryBound(to: UInt32.self), count: Int32.max)
    }

    /// How often a waiting side checks its peer and the segment: the
    /// longest sleep without a wake-up. An idle waiter wakes 4 times a
    /// second, and a dead peer is noticed within about a quarter of a second.
    /// Every other wait (an event listener's, a wait set's, the async waits)
    /// sleeps in slices of this length; callers that wait in slices of their
    /// own (`shm recv`, `shm listen`) make them longer than this.
    static let checkInterval: Duration = .milliseconds(250)

    /// Waits until `ready()` holds, as `strategy` says: spinning, then (unless
    /// `.spin`) sleeping on `event`. Throws `.timedOut` at `deadline`, what
    /// `check` throws (a dead peer), or `.cancelled` when `cancelled()` holds.
    func wait(
        until ready: () throws(ChannelError) -> Bool,
        event: UnsafeMutablePointer<Atomic<UInt32>>, sleepers: UnsafeMutablePointer<Atomic<UInt32>>,
        sleeping: UnsafeMutablePointer<Atomic<UInt32>>,
        strategy: WaitStrategy, deadline: ContinuousClock.Instant?,
        check: () throws(ChannelError) -> Void, cancelled: () -> Bool = { false }, gate: SpinnerGate? = nil
    ) throws(ChannelError) {
        var spinLimit = strategy.spinCount
        var spinBit: UInt32 = 0
        var outnumbered = false
        var gated = false
        if flavour == .publishSubscribe && spinLimit > 0 && spinLimit != Int.max {
            spinBit = roleSpinBit(sleeping)
            if !startSpinning(spinBit) {
                spinLimit = 0
                spinBit = 0
                outnumbered = true
            }
        } else if let gate, spinLimit > 0 && spinLimit != Int.max {
            // A service's members share one spinners word instead (a many-to-one sender waiting for space).
            if gate.start() { gated = true } else { spinLimit = 0 }
        }
        do {
            if try spin(until: ready, limit: spinLimit, deadline: deadline, check: check, cancelled: cancelled) {
                stopSpinning(spinBit)
                if gated { gate?.stop() }
                return
            }
        } catch {
            stopSpinning(spinBit)
            if gated { gate?.stop() }
            throw error
        }
        stopSpinning(spinBit)
        if gated { gate?.stop() }
        // Readers only: a writer waiting for space is woken by the readers
        // that free it, once per round, and must not lose time napping.
        if outnumbered && sleeping != sleepingFlag(slot: nil),
           try nap(until: ready, deadline: deadline, cancelled: cancelled) { return }
        let futexWord = UnsafeMutableRawPointer(event).assumingMemoryBound(to: UInt32.self)
        while true {
            // The role's own flag says it is counted, so that whoever takes the
            // role over from a process that died asleep can take it back out.
            let seen = SleeperCount(sleepers: sleepers, sleeping: sleeping).enter(announcingOn: event)
            let readyNow: Bool
            do { readyNow = try ready() } catch {
                leaveSleep(sleepers, sleeping)
                throw error
            }
            if readyNow {
                leaveSleep(sleepers, sleeping)
                return
            }
            var slice = Self.checkInterval
            if let deadline {
                let left = deadline - .now
                if left <= .zero {
                    leaveSleep(sleepers, sleeping)
                    throw .timedOut
                }
                slice = min(slice, left)
            }
            try? system.futexWait(futexWord, expected: seen, timeout: slice)
            leaveSleep(sleepers, sleeping)
            if try ready() { return }
            if let deadline, ContinuousClock.now >= deadline { throw .timedOut }
            try checkIntact()
            try check()
            if cancelled() { throw .cancelled }
        }
    }

    /// The spin phase of ``wait(until:event:sleepers:sleeping:strategy:deadline:check:cancelled:)``:
    /// `true` once `ready()` holds, `false` after `limit` rounds.
    @inline(__always)
    private func spin(
        until ready: () throws(ChannelError) -> Bool, limit: Int, deadline: ContinuousClock.Instant?,
        check: () throws(ChannelError) -> Void, cancelled: () -> Bool
    ) throws(ChannelError) -> Bool {
        var spins = 0
        var nextCheck: ContinuousClock.Instant?
        while spins < limit {
            if try ready() { return true }
            cshm_spin_pause()
            spins &+= 1
            if spins & 1023 == 0 {
                let now = ContinuousClock.now
                if let deadline, now >= deadline { throw .timedOut }
                guard let due = nextCheck else {
                    nextCheck = now + Self.checkInterval
                    continue
                }
                if now >= due {
                    try checkIntact()
                    try check()
                    if cancelled() { throw .cancelled }
                    nextCheck = now + Self.checkInterval
                }
            }
        }
        return false
    }

    /// How long one nap of an outnumbered waiter lasts, and how many it takes
    /// before it sleeps on the event word.
    static let napLength: UInt32 = 100, napCount = 16

    /// The waiting of a publish/subscribe reader that may not spin because
    /// others spin on every core but one: up to ``napCount`` short sleeps of
    /// ``napLength`` µs, testing the condition after each, before the caller
    /// counts itself asleep. `true` once `ready()` holds.
    ///
    /// Uncounted, so the peer makes no wake-up call for it: while messages
    /// flow, each nap ends with a batch to consume, the cost of one wake-up
    /// spread over it, instead of a wake-up call and a sleep per message or
    /// a spin that takes the core the peer needs. A few milliseconds
    /// without a message and the waiter sleeps on the event word as usual.
    private func nap(
        until ready: () throws(ChannelError) -> Bool, deadline: ContinuousClock.Instant?, cancelled: () -> Bool
    ) throws(ChannelError) -> Bool {
        for _ in 0..<Self.napCount {
            usleep(Self.napLength)
            if try ready() { return true }
            if cancelled() { throw .cancelled }
            if let deadline, ContinuousClock.now >= deadline { return false }
        }
        return false
    }

    // MARK: Spinners

    /// A spinners word shared by the roles of several rings (a service's
    /// members, see <doc:ServiceProtocol>), and the bit of one role in it:
    /// the ring-level ``startSpinning(_:)`` rule over a 64-bit word.
    struct SpinnerGate {
        let word: UnsafeMutablePointer<Atomic<UInt64>>
        let bit: UInt64

        /// Whether the role may spin: fewer than ``RingCore/spinnerLimit``
        /// other roles spin now. If so, its bit is set until ``stop()``.
        func start() -> Bool {
            let others = word.pointee.load(ordering: .relaxed) & ~bit
            guard others.nonzeroBitCount < RingCore.spinnerLimit else { return false }
            word.pointee.bitwiseOr(bit, ordering: .relaxed)
            return true
        }

        /// Clears the role's bit.
        func stop() { word.pointee.bitwiseAnd(~bit, ordering: .relaxed) }
    }

    /// How many roles of one publish/subscribe ring spin at once: one core
    /// is left for the peer they wait for (at least one spins).
    static let spinnerLimit = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) - 1)

    /// The role's bit in the spinners word, for the role whose sleeping flag
    /// is `sleeping`: bit 0 for the writer, bit 1 + slot mod 31 for a reader slot.
    /// Slots 31 apart share a bit: the word is a hint.
    func roleSpinBit(_ sleeping: UnsafeMutablePointer<Atomic<UInt32>>) -> UInt32 {
        let offset = UnsafeMutableRawPointer(sleeping) - base
        guard offset >= RingLayout.Offset.slots0 else { return 1 }
        return 1 << UInt32(1 + (offset - RingLayout.Offset.slots0) / 64 % 31)
    }

    /// Whether a waiter of a publish/subscribe ring may spin: fewer than
    /// ``spinnerLimit`` other roles spin now. If so, its bit is set until
    /// ``stopSpinning(_:)``. Waiters that outnumber the cores would spin
    /// against each other and against the peer they wait for; instead a
    /// reader naps (``nap(until:deadline:cancelled:)``) and a writer sleeps
    /// at once, and their peers wake them once per round (see
    /// ``SleeperCount/enter(announcingOn:)``).
    func startSpinning(_ bit: UInt32) -> Bool {
        let others = spinners.pointee.load(ordering: .relaxed) & ~bit
        guard others.nonzeroBitCount < Self.spinnerLimit else { return false }
        spinners.pointee.bitwiseOr(bit, ordering: .relaxed)
        return true
    }

    /// Clears the role's bit in the spinners word; a `bit` of 0 (a wait that did not mark itself) changes nothing.
    @inline(__always)
    func stopSpinning(_ bit: UInt32) {
        if bit != 0 { spinners.pointee.bitwiseAnd(~bit, ordering: .relaxed) }
    }

    @inline(__always)
    private func leaveSleep(_ sleepers: UnsafeMutablePointer<Atomic<UInt32>>, _ sleeping: UnsafeMutablePointer<Atomic<UInt32>>) {
        SleeperCount(sleepers: sleepers, sleeping: sleeping).leave()
    }

    /// Takes a role over from a process that died while counted as asleep:
    /// removes it from `sleepers`, so that writers stop making wake-up calls for it.
    /// A process that died spinning leaves its bit in the spinners word: it is cleared too.
    func forgetDeadSleeper(_ sleepers: UnsafeMutablePointer<Atomic<UInt32>>, _ sleeping: UnsafeMutablePointer<Atomic<UInt32>>) {
        SleeperCount(sleepers: sleepers, sleeping: sleeping).forgetDead()
        if flavour == .publishSubscribe { stopSpinning(roleSpinBit(sleeping)) }
    }

    /// The flag of the writer (`nil`) or of reader slot `slot` that says it is counted asleep.
    func sleepingFlag(slot: Int?) -> UnsafeMutablePointer<Atomic<UInt32>> {
        guard let slot else { return word32(RingLayout.Offset.writerSleeping) }
        return word32(RingLayout.Offset.slots0 + 64 * slot + RingLayout.SlotOffset.sleeping)
    }

    // MARK: Records

    @inline(__always) func recordLength(at offset: Int) -> Int {
        Int(UInt32(littleEndian: data.load(fromByteOffset: offset, as: UInt32.self)))
    }

    @inline(__always) func recordFlags(at offset: Int) -> UInt32 {
        UInt32(littleEndian: data.load(fromByteOffset: offset + 4, as: UInt32.self))
    }

    @inline(__always) func recordSequence(at offset: Int) -> UInt64 {
        UInt64(littleEndian: data.load(fromByteOffset: offset + 8, as: UInt64.self))
    }

    @inline(__always) func writePaddingHeader(at offset: Int) {
        data.storeBytes(of: UInt32(0), toByteOffset: offset, as: UInt32.self)
        data.storeBytes(of: RingLayout.paddingFlag.littleEndian, toByteOffset: offset + 4, as: UInt32.self)
    }

    /// The size of a record that starts at `offset` with `length` bytes.
    /// With an alignment of 8 or less the payload follows the header
    /// directly (records start at multiples of 8): the formula of layout 2,
    /// without the alignment's arithmetic on the hot path.
    @inline(__always) func recordSize(at offset: Int, length: Int) -> Int {
        packed ? (RingLayout.recordHeaderSize + length + 7) & ~7
            : RingLayout.recordSize(at: offset, length: length, alignment: alignment)
    }

    /// Where the payload of a record that starts at `offset` begins.
    @inline(__always) func payloadOffset(at offset: Int) -> Int {
        packed ? offset + RingLayout.recordHeaderSize : RingLayout.payloadOffset(at: offset, alignment: alignment)
    }

    @inline(__always) func writeRecordHeader(at offset: Int, length: Int, flags: UInt32, sequence: UInt64) {
        data.storeBytes(of: UInt32(truncatingIfNeeded: length).littleEndian, toByteOffset: offset, as: UInt32.self)
        data.storeBytes(of: flags.littleEndian, toByteOffset: offset + 4, as: UInt32.self)
        data.storeBytes(of: sequence.littleEndian, toByteOffset: offset + 8, as: UInt64.self)
    }
}

extension RingLayout {
    /// The most reader slots a ring may have.
    static let maxSlots = 64

    /// Writes a new ring's configuration into its zeroed payload.
    static func initialize(
        _ payload: UnsafeMutableRawBufferPointer, configuration: RingConfiguration, slots: Int,
        policy: SlowSubscriberPolicy, flavour: RingCore.Flavour, historyDepth: Int = 0
    ) {
        let base = payload.baseAddress!
        base.storeBytes(of: magic.littleEndian, toByteOffset: Offset.magic, as: UInt32.self)
        base.storeBytes(of: version.littleEndian, toByteOffset: Offset.version, as: UInt32.self)
        base.storeBytes(of: UInt64(configuration.capacity).littleEndian, toByteOffset: Offset.capacity, as: UInt64.self)
        base.storeBytes(of: UInt32(configuration.maxMessageSize).littleEndian, toByteOffset: Offset.maxMessage, as: UInt32.self)
        base.storeBytes(of: UInt32(slots).littleEndian, toByteOffset: Offset.slots, as: UInt32.self)
        base.storeBytes(of: policy.rawValue.littleEndian, toByteOffset: Offset.policy, as: UInt32.self)
        base.storeBytes(of: flavour.rawValue.littleEndian, toByteOffset: Offset.flavour, as: UInt32.self)
        base.storeBytes(of: UInt32(configuration.alignment).littleEndian, toByteOffset: Offset.alignment, as: UInt32.self)
        if flavour == .publishSubscribe {
            base.storeBytes(of: UInt32(historyDepth).littleEndian, toByteOffset: Offset.historyDepth, as: UInt32.self)
        }
        configuration.messageType?.write(to: base)
        if flavour == .channel {
            // A channel's one reader cursor exists from the start, so that
            // nothing sent before the receiver attaches is lost.
            base.storeBytes(of: SlotState.active.rawValue.littleEndian,
                            toByteOffset: Offset.slots0 + SlotOffset.state, as: UInt32.self)
        }
    }
}

extension RingConfiguration {
    /// A configuration as read from a ring, without rounding.
    init(exactCapacity: Int, maxMessageSize: Int) {
        self.init(capacity: 4096)
        self.capacity = exactCapacity
        self.maxMessageSize = maxMessageSize
    }
}
