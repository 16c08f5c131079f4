extension RingReader {
    /// Receives the next message whose length `check` accepts (it throws
    /// otherwise, and the message stays where it is), calls `body` with it
    /// in place, then releases it. Waits up to `timeout`; `nil` at the end.
    func receiveChecked<R>(
        timeout: Duration?, check: (Int) throws(ChannelError) -> Void,
        _ body: (UnsafeRawBufferPointer) throws(ChannelError) -> R
    ) throws(ChannelError) -> R? {
        var limit: ContinuousClock.Instant?
        var waited = false
        while true {
            let record: RingRecord
            if let found = try found() {
                record = found
            } else {
                if !waited {
                    limit = deadline(after: timeout)
                    waited = true
                }
                guard let next = try waitForNext(deadline: limit) else { return nil }
                record = next
            }
            try check(record.length)
            let result = try body(UnsafeRawBufferPointer(start: core.data + record.payloadOffset, count: record.length))
            if try finish(record) { return result }
        }
    }

    /// The `async` twin of ``receiveChecked(timeout:check:_:)``.
    nonisolated(nonsending) func receiveCheckedAsync<R>(
        timeout: Duration?, check: (Int) throws(ChannelError) -> Void,
        _ body: (UnsafeRawBufferPointer) throws(ChannelError) -> R
    ) async throws(ChannelError) -> R? {
        try await receiveAsync(timeout: timeout) { (bytes, _) throws(ChannelError) in
            try check(bytes.count)
            return try body(bytes)
        }
    }

    /// Throws unless payloads of this ring are aligned for `T`.
    func checkAligned<T>(for type: T.Type) throws(ChannelError) {
        guard core.alignment >= MemoryLayout<T>.alignment else {
            throw .typeMismatch("\(core.name.posixName) aligns payloads to \(core.alignment) bytes, and \(T.self) needs \(MemoryLayout<T>.alignment); copy it out instead, or create the ring with that alignment")
        }
    }
}

/// The length check of a message that holds one `T`.
func exactly<T>(_ type: T.Type) -> (Int) throws(ChannelError) -> Void {
    { (length: Int) throws(ChannelError) in
        guard length == MemoryLayout<T>.size else {
            throw .typeMismatch("a message of \(length) bytes is not a \(T.self) (\(MemoryLayout<T>.size) bytes); it stays in the channel")
        }
    }
}

/// The length check of a message that holds an array of `T`.
func arrayOf<T>(_ type: T.Type) -> (Int) throws(ChannelError) -> Void {
    { (length: Int) throws(ChannelError) in
        guard length % MemoryLayout<T>.stride == 0 else {
            throw .typeMismatch("a message of \(length) bytes is no array of \(T.self) (stride \(MemoryLayout<T>.stride) bytes); it stays in the channel")
        }
    }
}

/// Copies `bytes`, whose length was checked, into a new array of `T`.
func array<T: PlainData>(of type: T.Type, from bytes: UnsafeRawBufferPointer) -> [T] {
    let count = bytes.count / MemoryLayout<T>.stride
    return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
        if count > 0 {
            UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: bytes.baseAddress!, byteCount: count * MemoryLayout<T>.stride)
        }
        initialized = count
    }
}

/// Calls `body` with `bytes` (aligned for `T`, a whole number of strides) as a span of `T`.
func withSpan<T: PlainData, R>(of type: T.Type, _ bytes: UnsafeRawBufferPointer, _ body: (Span<T>) throws(ChannelError) -> R) throws(ChannelError) -> R {
    let count = bytes.count / MemoryLayout<T>.stride
    let start = bytes.baseAddress.map { $0.assumingMemoryBound(to: T.self) }
    let span = Span(_unsafeElements: UnsafeBufferPointer(start: count == 0 ? nil : start, count: count))
    return try body(span)
}
