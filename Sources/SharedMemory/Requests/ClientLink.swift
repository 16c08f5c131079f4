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
    let name: String

    init(member: Int, session: UInt32, reader: RingReader, writer: RingWriter, service: String) {
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

    /// Writes a frame, blocking up to `timeout` for space.
    func write(_ kind: RequestFrame.Kind, id: UInt64, _ payload: UnsafeRawBufferPointer, timeout: Duration?) throws(ChannelError) {
        try responses.withLock { (writer) throws(ChannelError) in
            guard let writer else { throw ChannelError.peerLeft(name) }
            _ = try writer.writeFrame(id: id, kind: kind, payload: payload, timeout: timeout, waits: true)
        }
    }

    /// Writes a frame if there is space now; checks the client's liveness when there is not.
    func tryWrite(_ kind: RequestFrame.Kind, id: UInt64, _ payload: UnsafeRawBufferPointer) throws(ChannelError) -> Bool {
        try responses.withLock { (writer) throws(ChannelError) -> Bool in
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
            if Task.isCancelled { throw .cancelled }
            if let deadline, ContinuousClock.now >= deadline { throw .timedOut }
            do { try await Task.sleep(for: .milliseconds(1)) } catch { throw .cancelled }
        }
    }

    var sleeperCount: SleeperCount {
        SleeperCount(sleepers: reader.core.dataSleepers, sleeping: reader.core.sleepingFlag(slot: 0))
    }
}
