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
    let requestsOut = Atomic<UInt64>(0)
    let requestsIn = Atomic<UInt64>(0)
    let repliesOut = Atomic<UInt64>(0)
    let repliesIn = Atomic<UInt64>(0)
    let requestsFailed = Atomic<UInt64>(0)
    let droppedMalformed = Atomic<UInt64>(0)
    let droppedUnknownReply = Atomic<UInt64>(0)
    let ignoredNotForUs = Atomic<UInt64>(0)

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
            matchedReaders: Int(matchedReaders.load(ordering: .relaxed)),
            requests: RequestCountersSnapshot(
                requestsOut: requestsOut.load(ordering: .relaxed), requestsIn: requestsIn.load(ordering: .relaxed),
                repliesOut: repliesOut.load(ordering: .relaxed), repliesIn: repliesIn.load(ordering: .relaxed),
                failed: requestsFailed.load(ordering: .relaxed), droppedMalformed: droppedMalformed.load(ordering: .relaxed),
                droppedUnknownReply: droppedUnknownReply.load(ordering: .relaxed), ignoredNotForUs: ignoredNotForUs.load(ordering: .relaxed)))
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
    /// The request/response counters (all 0 without request/response services).
    public var requests = RequestCountersSnapshot()

    /// One line: `out N msgs B bytes, in ..., dropped ..., missed ..., participants P; matched readers R`.
    public var description: String {
        "out \(messagesOut) msgs \(bytesOut) bytes; in \(messagesIn) msgs \(bytesIn) bytes; "
            + "dropped own \(droppedOwn) too-large \(droppedTooLarge) type \(droppedType) local \(droppedLocal); "
            + "missed local \(missedLocal) network \(missedNetwork); write-blocked \(writeBlocked); "
            + "remote participants \(remoteParticipants); matched readers \(matchedReaders)"
            + (requests == RequestCountersSnapshot() ? "" : "; \(requests)")
    }
}

/// The request/response part of the bridge's counters.
public struct RequestCountersSnapshot: Hashable, Sendable, CustomStringConvertible {
    /// Local requests written to DDS (`--requests-out`).
    public var requestsOut: UInt64 = 0
    /// Requests from DDS made locally, or answered with an error at once (`--requests-in`).
    public var requestsIn: UInt64 = 0
    /// Replies, stream items, ends and errors written to DDS (`--requests-in`).
    public var repliesOut: UInt64 = 0
    /// Replies, stream items, ends and errors from DDS handed to a local client (`--requests-out`).
    public var repliesIn: UInt64 = 0
    /// Requests that ended with an error: one the bridge made (no server, too
    /// many pending, timeout, responder gone) or one the remote side sent.
    public var failed: UInt64 = 0
    /// Samples with a kind outside the protocol (dropped).
    public var droppedMalformed: UInt64 = 0
    /// Replies to requests not pending here, or from another responder than
    /// the one asked: late, expired or forged (dropped).
    public var droppedUnknownReply: UInt64 = 0
    /// Samples addressed to another bridge (ignored: normal with several bridges).
    public var ignoredNotForUs: UInt64 = 0

    /// Zero counters.
    public init() {}

    init(requestsOut: UInt64, requestsIn: UInt64, repliesOut: UInt64, repliesIn: UInt64, failed: UInt64,
         droppedMalformed: UInt64, droppedUnknownReply: UInt64, ignoredNotForUs: UInt64) {
        self.requestsOut = requestsOut
        self.requestsIn = requestsIn
        self.repliesOut = repliesOut
        self.repliesIn = repliesIn
        self.failed = failed
        self.droppedMalformed = droppedMalformed
        self.droppedUnknownReply = droppedUnknownReply
        self.ignoredNotForUs = ignoredNotForUs
    }

    /// One line: `requests out N in N; replies out N in N; failed N; dropped malformed N unknown-reply N; not-for-us N`.
    public var description: String {
        "requests out \(requestsOut) in \(requestsIn); replies out \(repliesOut) in \(repliesIn); failed \(failed); "
            + "dropped malformed \(droppedMalformed) unknown-reply \(droppedUnknownReply); not-for-us \(ignoredNotForUs)"
    }
}
