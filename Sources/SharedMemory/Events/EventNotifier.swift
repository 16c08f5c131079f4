/// The notifying side of an events segment: marks event ids pending and
/// wakes the listener, without a payload.
///
/// Any number of processes may notify at once; they take no role. A
/// notification is one atomic OR on the id's pending bit and, only when the
/// listener is counted asleep, a counter bump and a futex wake. Repeats of
/// an id before the listener takes it coalesce into one. Ids marked while no
/// listener is attached stay pending for the next one.
///
/// The layout and the waiting protocol are described in <doc:EventProtocol>.
public struct EventNotifier: ~Copyable, Sendable {
    let core: EventCore

    /// Opens the events segment `name` for notifying.
    ///
    /// - Parameters:
    ///   - name: the segment's name.
    ///   - creating: whether to create the segment when it does not exist
    ///     (`false`: require an existing one).
    ///   - mode: the permission bits of a new segment.
    ///   - backend: the system calls to use.
    /// - Throws: ``ChannelError/badChannel(_:)`` for a segment that is no
    ///   events segment of this layout, ``ChannelError/segment(_:)`` when it
    ///   cannot be created or opened.
    public static func open(
        _ name: SegmentName, creating: Bool = true, mode: UInt32 = SharedMemorySegment.defaultMode,
        backend: SharedMemorySegment.Backend = .default
    ) throws(ChannelError) -> EventNotifier {
        EventNotifier(core: try EventCore.open(name, create: creating, mode: mode, backend: backend))
    }

    /// The managed segment kind of an events segment, 2.
    public static let segmentKind: UInt32 = EventLayout.segmentKind

    /// The segment's name.
    public var name: SegmentName { core.name }

    /// Whether a listener is attached now (its lock is held).
    public var hasListener: Bool { core.listenerIsHeld() }

    /// Marks `id` pending and wakes the listener if it sleeps.
    /// - Throws: ``ChannelError/badChannel(_:)`` when the segment was truncated under this process.
    public func notify(_ id: EventID) throws(ChannelError) {
        core.mark(id)
        core.wakeIfSleeping()
        if core.mappingGuard.isTripped { throw core.truncationError() }
    }

    /// Marks every id in `ids` pending, then wakes the listener once if it sleeps.
    /// - Throws: ``ChannelError/badChannel(_:)`` when the segment was truncated under this process.
    public func notify(ids: some Sequence<EventID>) throws(ChannelError) {
        for id in ids { core.mark(id) }
        core.wakeIfSleeping()
        if core.mappingGuard.isTripped { throw core.truncationError() }
    }
}
