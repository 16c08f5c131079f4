import Synchronization

/// A request a client sent and waits for replies to.
struct PendingRequest {
    let id: UInt64
    /// The first reply read for it and not yet taken (most requests get
    /// one: no array for it), then the others, in order.
    var first: RequestFrame?
    var rest: [RequestFrame] = []

    mutating func append(_ frame: consuming RequestFrame) {
        if first == nil && rest.isEmpty { first = frame } else { rest.append(frame) }
    }

    mutating func next() -> RequestFrame? {
        if let frame = first {
            first = nil
            return frame
        }
        return rest.isEmpty ? nil : rest.removeFirst()
    }
    /// Why it failed, once it did (taken after the frames read before).
    var failure: ChannelError?
    /// Whether it asked for a stream of replies.
    let stream: Bool
    /// The request ring's write position before its frame (and any padding
    /// before it). A receiver's read position is always the end of a whole
    /// record, so a server that took over a read position past this one
    /// took it over after the frame was read: it will never answer it.
    let start: UInt64
}

/// The requests a client waits for: few at a time, so a short array
/// searched from the newest is cheaper than hashing ids.
struct PendingTable {
    private(set) var entries: [PendingRequest] = []

    var isEmpty: Bool { entries.isEmpty }

    @inline(__always)
    func index(of id: UInt64) -> Int? { entries.lastIndex { $0.id == id } }

    mutating func insert(_ request: PendingRequest) { entries.append(request) }

    /// Removes the entry at `index` (the order of the others may change).
    mutating func remove(at index: Int) {
        // Mostly the newest (one request at a time): no swap.
        if index != entries.count - 1 { entries.swapAt(index, entries.count - 1) }
        entries.removeLast()
    }

    mutating func remove(_ id: UInt64) {
        if let index = index(of: id) { remove(at: index) }
    }

    subscript(index: Int) -> PendingRequest {
        get { entries[index] }
        _modify { yield &entries[index] }
    }

    var indices: Range<Int> { entries.indices }
}

/// A client's side of its response ring, used under the client's lock: the
/// reader, the requests waiting for replies, and the sleepers count.
struct ReplyInbox {
    let reader: RingReader
    var pending = PendingTable()
    var sleepers = SharedSleepers()
    /// Whether a server was seen attached during this session.
    var sawServer = false
    var nextCheck: ClockReading?
    var closed = false

    /// The most messages one drain moves out of the ring.
    static let drainLimit = 4096

    /// Moves every reply in the ring to its request; drops replies to
    /// requests nobody waits for any more (stale replies of timed-out requests).
    ///
    /// `reader` is this inbox's ``reader``, passed by the client from a
    /// `let` of its own: read through the inout inbox, each call on it
    /// retained and released it. No closure names the server (a closure
    /// context is retained too): `service` does, in errors.
    /// - Throws: ``ChannelError/badChannel(_:)`` for a message that is no
    ///   frame (it is consumed), and the ring's own errors.
    /// - Returns: whether it moved any reply.
    @discardableResult
    mutating func drain(_ reader: RingReader, service: ServiceSegment) throws(ChannelError) -> Bool {
        var moved = false
        for _ in 0..<Self.drainLimit {
            let arrival: Arrival?
            do {
                // The ring is lossless: the body runs once per message, which it consumes.
                arrival = try reader.tryReceive { accept($0, ring: reader.core, service: service) }
            } catch .closed {
                failAll(.peerLeft(Self.serverName(service)))
                return true
            }
            guard let arrival else { return moved }
            switch arrival {
            case .moved:
                moved = true
            case .broken(let problem):
                throw .badChannel(problem.describe(from: Self.serverName(service)))
            case .request(let kind):
                throw .badChannel("\(Self.serverName(service)) sent a request (kind \(kind)) to a client")
            case .shortAnnouncement(let count):
                throw .badChannel("\(Self.serverName(service)) announced itself with \(count) bytes, not a position of 8")
            }
        }
        return moved
    }

    /// How errors name the server of `service`.
    static func serverName(_ service: ServiceSegment) -> String { "the server of \(service.name.posixName)" }

    /// What ``accept(_:service:)`` did with a message (no reference to count).
    enum Arrival {
        /// Moved to its request, or dropped as stale, or applied (a server's announcement).
        case moved
        case broken(FrameProblem)
        /// A frame of a kind only a client sends.
        case request(kind: UInt32)
        /// A server announcement with fewer than 8 payload bytes.
        case shortAnnouncement(count: Int)
    }

    /// Takes one message in place: a reply's payload is copied out of the
    /// ring once, straight into its request's entry, and not at all when nobody waits for it.
    ///
    /// What it read is used only when `ring`'s mapping was intact after it
    /// was read; a truncated one is reported by the reader once this returns.
    private mutating func accept(_ bytes: UnsafeRawBufferPointer, ring: RingCore, service: ServiceSegment) -> Arrival {
        let header: RequestFrame.Header
        switch RequestFrame.header(of: bytes) {
        case .failure(let problem): return .broken(problem)
        case .success(let found): header = found
        }
        sawServer = true
        switch header.kind {
        case .serverAttached:
            guard bytes.count >= RequestFrame.prefixSize + 8 else { return .shortAnnouncement(count: bytes.count - RequestFrame.prefixSize) }
            let taken = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: RequestFrame.prefixSize, as: UInt64.self))
            if ring.mappingGuard.isTripped { return .moved }
            // What the new server took over was read by the one before: it will never be answered.
            for index in pending.indices where pending[index].start < taken && pending[index].failure == nil {
                pending[index].failure = .peerDied("\(Self.serverName(service)) (it was replaced before it answered)")
            }
        case .request, .streamRequest, .cancel:
            return .request(kind: header.kind.rawValue)
        case .reply, .replyMore, .end, .error:
            guard let index = pending.index(of: header.id) else { return .moved } // stale: nobody waits for it
            let payload = RequestFrame.payload(of: bytes)
            if ring.mappingGuard.isTripped { return .moved }
            pending[index].append(RequestFrame(id: header.id, kind: header.kind, payload: payload))
        }
        return .moved
    }

    /// The next reply to request `id`, or `nil` when none is there yet;
    /// throws the request's failure. The request is forgotten once its last reply is taken.
    mutating func take(_ id: UInt64) throws(ChannelError) -> RequestFrame? {
        // In place: a copy of the entry would copy its frames too.
        guard let index = pending.index(of: id) else { throw .closed }
        switch take(at: index) {
        case .success(let frame): return frame
        case .failure(let failure): throw failure
        case nil: return nil
        }
    }

    /// The next reply of the request at `index` in ``pending``, or its
    /// failure once the replies read before are taken; `nil` when none is
    /// there yet. The request is forgotten once its last reply is taken.
    @inline(__always)
    mutating func take(at index: Int) -> Result<RequestFrame, ChannelError>? {
        if let frame = pending[index].next() {
            if !pending[index].stream || frame.kind != .replyMore { pending.remove(at: index) }
            return .success(frame)
        }
        if let failure = pending[index].failure {
            pending.remove(at: index)
            return .failure(failure)
        }
        return nil
    }

    /// Fails every request that has not failed yet.
    mutating func failAll(_ error: ChannelError) {
        for index in pending.indices where pending[index].failure == nil { pending[index].failure = error }
    }

    /// Fails the waiting requests when no server holds the owner lock: with
    /// ``ChannelError/peerLeft(_:)`` when the last one closed the response
    /// ring, ``ChannelError/peerDied(_:)`` when it died. Before any server
    /// attached to this session, requests wait for one.
    mutating func checkServer(_ service: ServiceSegment, responses: RingCore, server: String) {
        if service.ownerIsAlive {
            sawServer = true
            return
        }
        let state = responses.writerState.pointee.load(ordering: .acquiring)
        if state == RingLayout.WriterState.closed.rawValue {
            failAll(.peerLeft(server))
        } else if sawServer || state == RingLayout.WriterState.attached.rawValue {
            failAll(.peerDied(server))
        }
    }
}
