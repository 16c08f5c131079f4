import Synchronization

/// A request a client sent and waits for replies to.
struct PendingRequest {
    /// Replies read for it and not yet taken.
    var frames: [RequestFrame] = []
    /// Why it failed, once it did (taken after the frames read before).
    var failure: ChannelError?
    /// Whether it asked for a stream of replies.
    let stream: Bool
    /// The request ring's write position after its frame: a server that
    /// took over a read position at or past it will never answer it.
    var end: UInt64 = .max
}

/// A client's side of its response ring, used under the client's lock: the
/// reader, the requests waiting for replies, and the sleepers count.
struct ReplyInbox {
    let reader: RingReader
    var pending: [UInt64: PendingRequest] = [:]
    var sleepers = SharedSleepers()
    /// Whether a server was seen attached during this session.
    var sawServer = false
    var nextCheck: ContinuousClock.Instant?
    var closed = false

    /// The most messages one drain moves out of the ring.
    static let drainLimit = 4096

    /// Moves every reply in the ring to its request; drops replies to
    /// requests nobody waits for any more (stale replies of timed-out requests).
    /// - Throws: ``ChannelError/badChannel(_:)`` for a message that is no
    ///   frame (it is consumed), and the ring's own errors.
    mutating func drain(server: @autoclosure () -> String) throws(ChannelError) {
        for _ in 0..<Self.drainLimit {
            let found: Result<RequestFrame, FrameProblem>?
            do {
                found = try reader.tryReceive { RequestFrame.parse($0) }
            } catch .closed {
                failAll(.peerLeft(server()))
                return
            }
            guard let found else { return }
            switch found {
            case .failure(let problem):
                throw .badChannel(problem.describe(from: server()))
            case .success(let frame):
                try deliver(frame, server: server())
            }
        }
    }

    private mutating func deliver(_ frame: RequestFrame, server: String) throws(ChannelError) {
        sawServer = true
        switch frame.kind {
        case .serverAttached:
            guard frame.payload.count >= 8 else {
                throw .badChannel("\(server) announced itself with \(frame.payload.count) bytes, not a position of 8")
            }
            let taken = frame.payload.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
            // What the new server took over was read by the one before: it will never be answered.
            for (id, request) in pending where request.end <= taken && request.failure == nil {
                pending[id]?.failure = .peerDied("\(server) (it was replaced before it answered)")
            }
        case .request, .streamRequest:
            throw .badChannel("\(server) sent a request (kind \(frame.kind.rawValue)) to a client")
        case .reply, .replyMore, .end, .error:
            guard pending[frame.id] != nil else { return } // stale: nobody waits for it
            pending[frame.id]!.frames.append(frame)
        }
    }

    /// The next reply to request `id`, or `nil` when none is there yet;
    /// throws the request's failure. The request is forgotten once its last reply is taken.
    mutating func take(_ id: UInt64) throws(ChannelError) -> RequestFrame? {
        guard var request = pending[id] else { throw .closed }
        if !request.frames.isEmpty {
            let frame = request.frames.removeFirst()
            let last = !request.stream || frame.kind != .replyMore
            pending[id] = last ? nil : request
            return frame
        }
        if let failure = request.failure {
            pending[id] = nil
            throw failure
        }
        return nil
    }

    /// Fails every request that has not failed yet.
    mutating func failAll(_ error: ChannelError) {
        for (id, request) in pending where request.failure == nil { pending[id]?.failure = error }
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
