extension RingReader {
    /// The `async` twin of ``waitForNext(deadline:)``.
    nonisolated(nonsending) func waitForNextAsync(deadline: ContinuousClock.Instant?) async throws(ChannelError) -> RingRecord? {
        while true {
            if let record = try found() { return record }
            if writerClosed {
                // Anything published before the close is visible now.
                return try found()
            }
            if let deadline, ContinuousClock.now >= deadline { throw .timedOut }
            try await core.waitAsync(
                until: { [self] in
                    core.writePosition.pointee.load(ordering: .sequentiallyConsistent) != currentPosition || writerClosed
                },
                event: core.dataEvent, sleepers: core.dataSleepers, sleeping: core.sleepingFlag(slot: slot),
                strategy: strategy, deadline: deadline, check: checkWriter)
        }
    }

    /// Calls `body` with the next record's payload in place, then releases
    /// it; suspends (never blocks) up to `timeout` when none is there.
    /// `nil` when the writer closed and nothing is left.
    nonisolated(nonsending) func receiveAsync<R>(
        timeout: Duration?, _ body: (UnsafeRawBufferPointer, RingRecord) throws(ChannelError) -> R
    ) async throws(ChannelError) -> R? {
        // A message that is there already: no clock, no allocation, no suspension.
        if let record = try found() {
            let result = try body(UnsafeRawBufferPointer(start: core.data + record.payloadOffset, count: record.length), record)
            if try finish(record) { return result }
        }
        return try await receiveWaitingAsync(timeout: timeout, body)
    }

    /// ``receiveAsync(timeout:_:)`` once it has to wait. A function of its
    /// own, so that the fast path's async frame holds no clock instant (a
    /// resilient type, whose size is looked up at run time).
    @inline(never)
    nonisolated(nonsending) private func receiveWaitingAsync<R>(
        timeout: Duration?, _ body: (UnsafeRawBufferPointer, RingRecord) throws(ChannelError) -> R
    ) async throws(ChannelError) -> R? {
        let deadline = deadline(after: timeout)
        while true {
            guard let record = try await waitForNextAsync(deadline: deadline) else { return nil }
            let result = try body(UnsafeRawBufferPointer(start: core.data + record.payloadOffset, count: record.length), record)
            if try finish(record) { return result }
        }
    }

    /// Copies `bytes` (a record's payload) into `buffer`; its length.
    static func copy(_ bytes: UnsafeRawBufferPointer, into buffer: UnsafeMutableRawBufferPointer) throws(ChannelError) -> Int {
        guard bytes.count <= buffer.count else {
            throw .messageTooLarge(size: bytes.count, maximum: buffer.count)
        }
        if let source = bytes.baseAddress, bytes.count > 0 {
            buffer.baseAddress!.copyMemory(from: source, byteCount: bytes.count)
        }
        return bytes.count
    }
}
