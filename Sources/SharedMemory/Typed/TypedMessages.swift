// Typed values on the byte channels and publish/subscribe rings: plain-data
// values and arrays of them copied in and out with one call, read in place
// through spans, and written in place through typed loans.

extension ChannelSender {
    /// Sends one plain-data value as a message of `MemoryLayout<T>.size` bytes,
    /// waiting up to `timeout` (nil: as long as it takes) for space.
    public func send<T: PlainData>(_ value: T, timeout: Duration? = nil) throws(ChannelError) {
        try withValueBytes(value) { (bytes) throws(ChannelError) in try writer.write(bytes, timeout: timeout) }
    }

    /// Sends an array of plain-data values as one message of `count × stride` bytes.
    public func send<T: PlainData>(contentsOf values: [T], timeout: Duration? = nil) throws(ChannelError) {
        try withArrayBytes(values) { (bytes) throws(ChannelError) in try writer.write(bytes, timeout: timeout) }
    }

    /// Sends the bytes of a span as one message.
    public func send(_ bytes: RawSpan, timeout: Duration? = nil) throws(ChannelError) {
        try bytes.withUnsafeBytes { (buffer) throws(ChannelError) in try writer.write(buffer, timeout: timeout) }
    }

    /// Sends one plain-data value if there is space now; `false` when the channel is full.
    public func trySend<T: PlainData>(_ value: T) throws(ChannelError) -> Bool {
        try withValueBytes(value) { (bytes) throws(ChannelError) in try writer.tryWrite(bytes) }
    }

    /// Typed zero-copy send: loans a slot for `count` values of `T`, aligned
    /// for `T`, and lets `fill` initialise them in place (the slot holds
    /// whatever bytes it held before, which are valid values of a plain-data
    /// type). `fill` decides: ``LoanDecision/commit`` publishes the slot,
    /// ``LoanDecision/abandon`` publishes nothing.
    /// - Returns: the number of values published, or `nil` when `fill` abandoned the loan.
    /// - Throws: ``ChannelError/typeMismatch(_:)`` when the channel's
    ///   ``RingConfiguration/alignment`` is less than `T`'s,
    ///   ``ChannelError/messageTooLarge(size:maximum:)``, and the errors of ``send(_:timeout:)-7yks4``.
    @discardableResult
    public func send<T: PlainData>(
        loaning type: T.Type, count: Int = 1, timeout: Duration? = nil, _ fill: (inout MutableSpan<T>) -> LoanDecision
    ) throws(ChannelError) -> Int? {
        try writer.loan(type, count: count, timeout: timeout, fill)
    }

    /// Sends one plain-data value, suspending up to `timeout` for space.
    nonisolated(nonsending) public func send<T: PlainData>(_ value: T, timeout: Duration? = nil) async throws(ChannelError) {
        try await writer.writeAsync(timeout: timeout) { () throws(ChannelError) in
            try withValueBytes(value) { (bytes) throws(ChannelError) in try writer.tryWrite(bytes) }
        }
    }
}

extension ChannelReceiver {
    /// Receives the next message as one plain-data value, copied out,
    /// waiting up to `timeout` (nil: as long as it takes).
    /// - Returns: the value, or `nil` when the sender closed the channel and all is received.
    /// - Throws: ``ChannelError/typeMismatch(_:)`` when the message's length is
    ///   not `MemoryLayout<T>.size` (the message stays in the channel: receive it
    ///   as bytes to look at it or drop it), and the errors of ``receive(timeout:)-5v87w``.
    public func receive<T: PlainData>(as type: T.Type, timeout: Duration? = nil) throws(ChannelError) -> T? {
        try reader.receiveChecked(timeout: timeout, check: exactly(T.self)) { $0.loadUnaligned(as: T.self) }
    }

    /// Receives the next message as an array of plain-data values, copied out.
    /// - Throws: ``ChannelError/typeMismatch(_:)`` when the message's length is
    ///   not a multiple of `MemoryLayout<T>.stride` (it stays in the channel).
    public func receive<T: PlainData>(arrayOf type: T.Type, timeout: Duration? = nil) throws(ChannelError) -> [T]? {
        try reader.receiveChecked(timeout: timeout, check: arrayOf(T.self)) { array(of: T.self, from: $0) }
    }

    /// Reads the next message in place as values of `T`: calls `body` with a
    /// span over them, then releases the message. The span must not escape `body`.
    /// - Returns: what `body` returns, or `nil` at the end.
    /// - Throws: ``ChannelError/typeMismatch(_:)`` when the channel's
    ///   alignment is less than `T`'s, or the message is not a whole number of `T`.
    public func receive<T: PlainData, R>(
        viewing type: T.Type, timeout: Duration? = nil, _ body: (Span<T>) throws(ChannelError) -> R
    ) throws(ChannelError) -> R? {
        try reader.checkAligned(for: T.self)
        return try reader.receiveChecked(timeout: timeout, check: arrayOf(T.self)) { (bytes) throws(ChannelError) in
            try withSpan(of: T.self, bytes, body)
        }
    }

    /// Reads the next message in place: calls `body` with its bytes, then
    /// releases it. The span must not escape `body`; for C interoperation,
    /// ``receive(timeout:_:)`` gives an `UnsafeRawBufferPointer` instead.
    /// - Returns: what `body` returns, or `nil` at the end.
    public func withBytes<R>(timeout: Duration? = nil, _ body: (RawSpan) throws(ChannelError) -> R) throws(ChannelError) -> R? {
        try reader.receiveChecked(timeout: timeout, check: { (_: Int) throws(ChannelError) in }) { (bytes) throws(ChannelError) in
            try body(RawSpan(_unsafeBytes: bytes))
        }
    }

    /// Receives the next message as one plain-data value, suspending up to `timeout`.
    /// - Throws: the errors of ``receive(as:timeout:)`` and ``ChannelError/cancelled``.
    nonisolated(nonsending) public func receive<T: PlainData>(as type: T.Type, timeout: Duration? = nil) async throws(ChannelError) -> T? {
        try await reader.receiveCheckedAsync(timeout: timeout, check: exactly(T.self)) { $0.loadUnaligned(as: T.self) }
    }
}

extension Publisher {
    /// Publishes a string's UTF-8 bytes, waiting up to `timeout` for the slowest subscriber (lossless policy).
    public func send(_ text: String, timeout: Duration? = nil) throws(ChannelError) {
        try SharedMemory.withBytes(of: text) { (buffer) throws(ChannelError) in try writer.write(buffer, timeout: timeout) }
    }

    /// Publishes one plain-data value; see ``ChannelSender/send(_:timeout:)-1sc1y``.
    public func send<T: PlainData>(_ value: T, timeout: Duration? = nil) throws(ChannelError) {
        try withValueBytes(value) { (bytes) throws(ChannelError) in try writer.write(bytes, timeout: timeout) }
    }

    /// Publishes an array of plain-data values as one message.
    public func send<T: PlainData>(contentsOf values: [T], timeout: Duration? = nil) throws(ChannelError) {
        try withArrayBytes(values) { (bytes) throws(ChannelError) in try writer.write(bytes, timeout: timeout) }
    }

    /// Publishes the bytes of a span as one message.
    public func send(_ bytes: RawSpan, timeout: Duration? = nil) throws(ChannelError) {
        try bytes.withUnsafeBytes { (buffer) throws(ChannelError) in try writer.write(buffer, timeout: timeout) }
    }

    /// Typed zero-copy publish; see ``ChannelSender/send(loaning:count:timeout:_:)``.
    @discardableResult
    public func send<T: PlainData>(
        loaning type: T.Type, count: Int = 1, timeout: Duration? = nil, _ fill: (inout MutableSpan<T>) -> LoanDecision
    ) throws(ChannelError) -> Int? {
        try writer.loan(type, count: count, timeout: timeout, fill)
    }

    /// Publishes a string's UTF-8 bytes, suspending up to `timeout` for the slowest subscriber.
    nonisolated(nonsending) public func send(_ text: String, timeout: Duration? = nil) async throws(ChannelError) {
        try await writer.writeAsync(timeout: timeout) { () throws(ChannelError) in
            try SharedMemory.withBytes(of: text) { (buffer) throws(ChannelError) in try writer.tryWrite(buffer) }
        }
    }

    /// Publishes one plain-data value, suspending up to `timeout` for the slowest subscriber.
    nonisolated(nonsending) public func send<T: PlainData>(_ value: T, timeout: Duration? = nil) async throws(ChannelError) {
        try await writer.writeAsync(timeout: timeout) { () throws(ChannelError) in
            try withValueBytes(value) { (bytes) throws(ChannelError) in try writer.tryWrite(bytes) }
        }
    }
}

extension Subscriber {
    /// Receives the next message as one plain-data value, copied out; see
    /// ``ChannelReceiver/receive(as:timeout:)-6zxa``. ``missedCount`` counts what was skipped.
    public func receive<T: PlainData>(as type: T.Type, timeout: Duration? = nil) throws(ChannelError) -> T? {
        try reader.receiveChecked(timeout: timeout, check: exactly(T.self)) { $0.loadUnaligned(as: T.self) }
    }

    /// Receives the next message as an array of plain-data values, copied out.
    public func receive<T: PlainData>(arrayOf type: T.Type, timeout: Duration? = nil) throws(ChannelError) -> [T]? {
        try reader.receiveChecked(timeout: timeout, check: arrayOf(T.self)) { array(of: T.self, from: $0) }
    }

    /// Reads the next message in place as values of `T`; see ``ChannelReceiver/receive(viewing:timeout:_:)``.
    /// Under the overwrite policy, what `body` read is dropped (and the
    /// next message read) when the publisher overwrote the message meanwhile.
    public func receive<T: PlainData, R>(
        viewing type: T.Type, timeout: Duration? = nil, _ body: (Span<T>) throws(ChannelError) -> R
    ) throws(ChannelError) -> R? {
        try reader.checkAligned(for: T.self)
        return try reader.receiveChecked(timeout: timeout, check: arrayOf(T.self)) { (bytes) throws(ChannelError) in
            try withSpan(of: T.self, bytes, body)
        }
    }

    /// Reads the next message's bytes in place; see ``ChannelReceiver/withBytes(timeout:_:)``.
    public func withBytes<R>(timeout: Duration? = nil, _ body: (RawSpan) throws(ChannelError) -> R) throws(ChannelError) -> R? {
        try reader.receiveChecked(timeout: timeout, check: { (_: Int) throws(ChannelError) in }) { (bytes) throws(ChannelError) in
            try body(RawSpan(_unsafeBytes: bytes))
        }
    }

    /// Receives the next message as one plain-data value, suspending up to `timeout`.
    nonisolated(nonsending) public func receive<T: PlainData>(as type: T.Type, timeout: Duration? = nil) async throws(ChannelError) -> T? {
        try await reader.receiveCheckedAsync(timeout: timeout, check: exactly(T.self)) { $0.loadUnaligned(as: T.self) }
    }
}

/// Calls `body` with the bytes of `value`, keeping `body`'s typed error.
func withValueBytes<T: PlainData, R>(_ value: T, _ body: (UnsafeRawBufferPointer) throws(ChannelError) -> R) throws(ChannelError) -> R {
    try withUnsafeBytes(of: value) { buffer in Result { () throws(ChannelError) in try body(buffer) } }.get()
}

/// Calls `body` with the bytes of `values`, keeping `body`'s typed error.
func withArrayBytes<T: PlainData, R>(_ values: [T], _ body: (UnsafeRawBufferPointer) throws(ChannelError) -> R) throws(ChannelError) -> R {
    try values.withUnsafeBytes { buffer in Result { () throws(ChannelError) in try body(buffer) } }.get()
}
