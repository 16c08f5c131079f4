// The `async` side of channels and publish/subscribe rings. A wait spins
// briefly, then suspends the task on the process's futex waiter (see the
// catalog's <doc:Concurrency> article): it never blocks a thread of the
// cooperative pool, and cancelling the task ends it with ``ChannelError/cancelled``.

extension ChannelSender {
    /// Sends a message, suspending up to `timeout` (nil: as long as it takes) for space.
    /// - Throws: ``ChannelError/peerLeft(_:)`` when the receiver closed or left
    ///   while this waited, ``ChannelError/peerDied(_:)`` when it died,
    ///   ``ChannelError/cancelled`` when the task is cancelled (nothing is sent),
    ///   ``ChannelError/timedOut``, and the errors of the blocking send.
    nonisolated(nonsending) public func send(_ bytes: UnsafeRawBufferPointer, timeout: Duration? = nil) async throws(ChannelError) {
        try await writer.writeAsync(timeout: timeout) { () throws(ChannelError) in try writer.tryWrite(bytes) }
    }

    /// Sends a message, suspending up to `timeout` for space; see ``send(_:timeout:)-7yks4``.
    nonisolated(nonsending) public func send(_ bytes: [UInt8], timeout: Duration? = nil) async throws(ChannelError) {
        try await writer.writeAsync(timeout: timeout) { () throws(ChannelError) in
            try withBytes(of: bytes) { (buffer) throws(ChannelError) in try writer.tryWrite(buffer) }
        }
    }

    /// Sends a string's UTF-8 bytes, suspending up to `timeout` for space.
    nonisolated(nonsending) public func send(_ text: String, timeout: Duration? = nil) async throws(ChannelError) {
        try await writer.writeAsync(timeout: timeout) { () throws(ChannelError) in
            try withBytes(of: text) { (buffer) throws(ChannelError) in try writer.tryWrite(buffer) }
        }
    }
}

extension ChannelReceiver {
    /// Receives the next message, suspending up to `timeout` (nil: as long as it takes).
    /// - Returns: the message, or `nil` when the sender closed the channel and all is received.
    /// - Throws: ``ChannelError/timedOut``, ``ChannelError/cancelled``, or
    ///   ``ChannelError/peerDied(_:)`` when the sender died and all it sent is received.
    nonisolated(nonsending) public func receive(timeout: Duration? = nil) async throws(ChannelError) -> [UInt8]? {
        try await reader.receiveAsync(timeout: timeout) { bytes, _ in Array(bytes) }
    }

    /// Receives the next message into `buffer`, suspending up to `timeout`.
    /// A message that is there already is copied without allocating or suspending.
    /// - Returns: the message's length, or `nil` at the end.
    /// - Throws: ``ChannelError/messageTooLarge(size:maximum:)`` when `buffer` is too small
    ///   (the message stays in the channel), and the errors of ``receive(timeout:)-6kvnm``.
    nonisolated(nonsending) public func receive(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration? = nil) async throws(ChannelError) -> Int? {
        try await reader.receiveAsync(timeout: timeout) { (bytes, _) throws(ChannelError) in
            try RingReader.copy(bytes, into: buffer)
        }
    }

    /// Closes the receiving end now: a sender waiting for space gets
    /// ``ChannelError/peerLeft(_:)``. What is left in the channel stays for
    /// the next receiver. Dropping the receiver at the end of its scope does the same.
    public consuming func close() { reader.detach() }
}

extension Publisher {
    /// Publishes a message, suspending up to `timeout` for the slowest subscriber (lossless policy).
    nonisolated(nonsending) public func send(_ bytes: [UInt8], timeout: Duration? = nil) async throws(ChannelError) {
        try await writer.writeAsync(timeout: timeout) { () throws(ChannelError) in
            try withBytes(of: bytes) { (buffer) throws(ChannelError) in try writer.tryWrite(buffer) }
        }
    }

    /// Publishes a message, suspending up to `timeout` for the slowest subscriber (lossless policy).
    nonisolated(nonsending) public func send(_ bytes: UnsafeRawBufferPointer, timeout: Duration? = nil) async throws(ChannelError) {
        try await writer.writeAsync(timeout: timeout) { () throws(ChannelError) in try writer.tryWrite(bytes) }
    }
}

extension Subscriber {
    /// Receives the next message, suspending up to `timeout` (nil: as long as it takes).
    /// - Returns: the message, or `nil` when the publisher closed the ring and all is received.
    nonisolated(nonsending) public func receive(timeout: Duration? = nil) async throws(ChannelError) -> SubscriberMessage? {
        try await reader.receiveAsync(timeout: timeout) { bytes, record in
            SubscriberMessage(bytes: Array(bytes), sequence: record.sequence, missedBefore: record.missedBefore)
        }
    }
}
