/// A requester bridge's requests sent to the network and not yet answered:
/// bridge request id -> what it needs to answer the local client. Bounded
/// (``capacity``) and expiring (an entry idle longer than ``timeout`` is
/// taken out by ``expire(now:)``), so it cannot grow forever. Pure: no DDS,
/// no shared memory.
struct PendingRequests<Value> {
    /// The most ``capacity`` can be.
    static var largestCapacity: Int { 1 << 20 }

    struct Entry {
        var value: Value
        /// The responder the request was sent to: only its replies are taken.
        var responder: [UInt8]
        var isStream: Bool
        /// When it is given up: ``timeout`` after it was sent, or after the last stream item.
        var deadline: ContinuousClock.Instant
    }

    let capacity: Int
    let timeout: Duration
    private(set) var entries: [UInt64: Entry] = [:]

    init(capacity: Int, timeout: Duration) {
        self.capacity = max(1, min(capacity, Self.largestCapacity))
        self.timeout = timeout
    }

    var count: Int { entries.count }

    /// Adds request `id`; `false` (nothing added) when the map is full or the id is taken.
    mutating func insert(_ id: UInt64, _ value: Value, responder: [UInt8], isStream: Bool, now: ContinuousClock.Instant) -> Bool {
        guard entries.count < capacity, entries[id] == nil else { return false }
        entries[id] = Entry(value: value, responder: responder, isStream: isStream, deadline: now + timeout)
        return true
    }

    /// What a reply of `kind` from `responder` to request `id` answers:
    /// `nil` when `id` is not pending or was sent to another responder.
    /// A stream item keeps the entry (its deadline starts again); anything
    /// else (a reply, the end, an error) takes it out.
    mutating func answer(_ id: UInt64, from responder: [UInt8], kind: ReplySampleKind, now: ContinuousClock.Instant) -> Entry? {
        guard let entry = entries[id], responder == entry.responder else { return nil }
        if kind == .streamItem && entry.isStream {
            entries[id]?.deadline = now + timeout
            return entry
        }
        entries[id] = nil
        return entry
    }

    /// Takes out request `id`.
    @discardableResult
    mutating func remove(_ id: UInt64) -> Entry? { entries.removeValue(forKey: id) }

    /// Takes out every request whose deadline passed.
    mutating func expire(now: ContinuousClock.Instant) -> [(UInt64, Entry)] {
        let due = entries.filter { $0.value.deadline <= now }
        for id in due.keys { entries[id] = nil }
        return due.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Takes out every request sent to a responder other than those in `alive`.
    mutating func removeAll(notSentTo alive: Set<[UInt8]>) -> [(UInt64, Entry)] {
        let lost = entries.filter { !alive.contains($0.value.responder) }
        for id in lost.keys { entries[id] = nil }
        return lost.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Takes out everything.
    mutating func removeAll() -> [(UInt64, Entry)] {
        let all = entries.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        entries = [:]
        return all
    }
}

extension PendingRequests: Sendable where Value: Sendable {}
extension PendingRequests.Entry: Sendable where Value: Sendable {}
