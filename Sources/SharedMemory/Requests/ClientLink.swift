import Glibc
import Synchronization

/// A server's attachment to one client session: the receiver of the
/// client's request ring (used under the server's receiving lock only) and
/// the writer of its response ring, behind a lock of its own because
/// serving tasks reply at the same time.
final class ClientLink: Sendable {
    let member: Int
    let session: UInt32
    let reader: RingReader
    let responses: Mutex<RingWriter?>
    /// Stream requests the client cancelled and the server has not ended yet.
    let cancelled = Mutex<Set<UInt64>>([])
    let name: String
    /// The server's receiving side, which a stream reply waiting for space
    /// asks to read the request rings (so that a cancellation is seen).
    weak let owner: RequestPump?

    init(member: Int, session: UInt32, reader: RingReader, writer: RingWriter, service: String, owner: RequestPump?) {
        self.owner = owner
        self.member = member
        self.session = session
        self.reader = reader
        responses = Mutex(writer)
        name = "client \(member) of \(service)"
    }

    /// Closes both roles; replies after this fail with ``ChannelError/peerLeft(_:)``.
    func detach() {
        reader.detach()
        responses.withLock { writer in
            writer?.close()
            writer = nil
        }
    }

    /// The most cancellations a client can have pending: a client may write
    /// any ids in cancel frames, and the server's memory stays bounded.
    static let cancelLimit = 4096

    /// Records that the client cancelled stream request `id`. Past
    /// ``cancelLimit`` pending ones the cancel is ignored (a cancel is best
    /// effort: the stream then runs to its end).
    func cancel(_ id: UInt64) {
        cancelled.withLock { set in
            if set.count < Self.cancelLimit { set.insert(id) }
        }
    }

    /// Whether a frame of `kind` for request `id` is still wanted: a reply
    /// of a stream the client cancelled throws; what ends it is dropped (and
    /// the cancellation forgotten). Replies of kind 3 (one-reply requests) are not looked up.
    @inline(__always)
    private func wanted(_ kind: RequestFrame.Kind, id: UInt64) throws(ChannelError) -> Bool {
        guard kind != .reply else { return true }
        let wasCancelled = cancelled.withLock { set in kind == .replyMore ? set.contains(id) : set.remove(id) != nil }
        guard wasCancelled else { return true }
        if kind == .replyMore { throw .peerLeft("\(name) (it cancelled request \(id))") }
        return false
    }

    /// Writes a frame, blocking up to `timeout` for space. A stream reply
    /// waiting for space reads the request rings meanwhile, and stops when
    /// the client cancels the stream.
    func write(_ kind: RequestFrame.Kind, id: UInt64, _ payload: UnsafeRawBufferPointer, timeout: Duration?) throws(ChannelError) {
        if kind == .replyMore {
            if try tryWrite(kind, id: id, payload) { return }
            let deadline = deadline(after: timeout)
            while true {
                owner?.pump()
                if try tryWrite(kind, id: id, payload) { return }
                if let deadline, ContinuousClock.now >= deadline { throw .timedOut }
                usleep(200)
            }
        }
        guard try wanted(kind, id: id) else { return }
        try responses.withLock { (writer) throws(ChannelError) in
            // Called through the optional, not a copy of it: no retain and release per reply.
            guard try writer?.writeFrame(id: id, kind: kind, payload: payload, timeout: timeout, waits: true) != nil else {
                throw ChannelError.peerLeft(name)
            }
        }
    }

    /// Writes a frame if there is space now; checks the client's liveness when there is not.
    func tryWrite(_ kind: RequestFrame.Kind, id: UInt64, _ payload: UnsafeRawBufferPointer) throws(ChannelError) -> Bool {
        guard try wanted(kind, id: id) else { return true }
        return try responses.withLock { (writer) throws(ChannelError) -> Bool in
            guard let writer else { throw ChannelError.peerLeft(name) }
            if try writer.writeFrame(id: id, kind: kind, payload: payload, timeout: nil, waits: false) { return true }
            try writer.checkReaders()
            return false
        }
    }

    /// Writes a frame without blocking a thread: a full response ring is
    /// tried again every millisecond until `deadline`.
    nonisolated(nonsending) func writeAsync(_ kind: RequestFrame.Kind, id: UInt64, _ payload: [UInt8], timeout: Duration?) async throws(ChannelError) {
        let deadline = deadline(after: timeout)
        while true {
            let done = try withBytes(of: payload) { (buffer) throws(ChannelError) -> Bool in try tryWrite(kind, id: id, buffer) }
            if done { return }
            if kind == .replyMore { owner?.pump() }
            if Task.isCancelled { throw .cancelled }
            if let deadline, ContinuousClock.now >= deadline { throw .timedOut }
            do { try await Task.sleep(for: .milliseconds(1)) } catch { throw .cancelled }
        }
    }

    var sleeperCount: SleeperCount {
        SleeperCount(sleepers: reader.core.dataSleepers, sleeping: reader.core.sleepingFlag(slot: 0))
    }
}
