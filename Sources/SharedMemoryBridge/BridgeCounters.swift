import Synchronization

/// The bridge's counters, updated by its forwarding threads and read by
/// whoever prints them. Each is an atomic word; a snapshot is not one
/// instant but each number in it is exact.
public final class BridgeCounters: Sendable {
    let messagesOut = Atomic<UInt64>(0)
    let bytesOut = Atomic<UInt64>(0)
    let messagesIn = Atomic<UInt64>(0)
    let bytesIn = Atomic<UInt64>(0)
    let droppedOwn = Atomic<UInt64>(0)
    let droppedTooLarge = Atomic<UInt64>(0)
    let droppedType = Atomic<UInt64>(0)
    let droppedLocal = Atomic<UInt64>(0)
    let missedLocal = Atomic<UInt64>(0)
    let missedNetwork = Atomic<UInt64>(0)
    let writeBlocked = Atomic<UInt64>(0)
    let remoteParticipants = Atomic<Int64>(0)
    let matchedReaders = Atomic<Int64>(0)

    init() {}

    /// The counters now.
    public var snapshot: BridgeCountersSnapshot {
        BridgeCountersSnapshot(
            messagesOut: messagesOut.load(ordering: .relaxed), bytesOut: bytesOut.load(ordering: .relaxed),
            messagesIn: messagesIn.load(ordering: .relaxed), bytesIn: bytesIn.load(ordering: .relaxed),
            droppedOwn: droppedOwn.load(ordering: .relaxed), droppedTooLarge: droppedTooLarge.load(ordering: .relaxed),
            droppedType: droppedType.load(ordering: .relaxed), droppedLocal: droppedLocal.load(ordering: .relaxed),
            missedLocal: missedLocal.load(ordering: .relaxed), missedNetwork: missedNetwork.load(ordering: .relaxed),
            writeBlocked: writeBlocked.load(ordering: .relaxed), remoteParticipants: Int(remoteParticipants.load(ordering: .relaxed)),
            matchedReaders: Int(matchedReaders.load(ordering: .relaxed)))
    }
}

/// The bridge's counters at one moment.
public struct BridgeCountersSnapshot: Hashable, Sendable, CustomStringConvertible {
    /// Local messages written to DDS.
    public var messagesOut: UInt64
    /// Their payload bytes.
    public var bytesOut: UInt64
    /// DDS samples republished locally.
    public var messagesIn: UInt64
    /// Their payload bytes.
    public var bytesIn: UInt64
    /// Samples this bridge wrote itself and got back (dropped: no loops).
    public var droppedOwn: UInt64
    /// Samples larger than the local ring's largest message (dropped).
    public var droppedTooLarge: UInt64
    /// Samples whose type fingerprint, size or byte order does not match the local ring (dropped).
    public var droppedType: UInt64
    /// Samples the local ring refused (dropped).
    public var droppedLocal: UInt64
    /// Local messages the bridge's subscriber missed (overwrite rings).
    public var missedLocal: UInt64
    /// Gaps in the sequence numbers of samples from the network (KEEP_LAST, or lost while partitioned or restarting).
    public var missedNetwork: UInt64
    /// Times a DDS write waited out its blocking time (back-pressure from remote readers).
    public var writeBlocked: UInt64
    /// Remote DDS participants in the domain.
    public var remoteParticipants: Int
    /// DDS readers of other participants matched with this bridge's writers,
    /// summed over its outgoing services: samples written reach these readers.
    public var matchedReaders: Int = 0

    /// One line: `out N msgs B bytes, in ..., dropped ..., missed ..., participants P; matched readers R`.
    public var description: String {
        "out \(messagesOut) msgs \(bytesOut) bytes; in \(messagesIn) msgs \(bytesIn) bytes; "
            + "dropped own \(droppedOwn) too-large \(droppedTooLarge) type \(droppedType) local \(droppedLocal); "
            + "missed local \(missedLocal) network \(missedNetwork); write-blocked \(writeBlocked); "
            + "remote participants \(remoteParticipants); matched readers \(matchedReaders)"
    }
}
