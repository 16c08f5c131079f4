/// What a loan's closure decides about the slot it filled.
public enum LoanDecision: Hashable, Sendable {
    /// Publish the whole slot.
    case commit
    /// Publish the first `count` elements of the slot (0 publishes an empty message).
    case commitFirst(Int)
    /// Publish nothing: the slot is given back, and the next message takes its place.
    case abandon
}

extension RingWriter {
    /// Reserves a slot for `count` values of `T`, aligned for `T`, lets
    /// `fill` initialise them in place, and publishes what `fill` decides.
    /// - Returns: the number of values published, or `nil` when abandoned.
    func loan<T: PlainData>(
        _ type: T.Type, count: Int, timeout: Duration?, _ fill: (inout MutableSpan<T>) -> LoanDecision
    ) throws(ChannelError) -> Int? {
        guard core.alignment >= MemoryLayout<T>.alignment else {
            throw .typeMismatch("\(core.name.posixName) aligns payloads to \(core.alignment) bytes, and \(T.self) needs \(MemoryLayout<T>.alignment); send a copy instead, or create the ring with that alignment")
        }
        let stride = MemoryLayout<T>.stride
        guard count >= 0, count <= core.maxMessageSize / stride else {
            throw .messageTooLarge(size: count.multipliedReportingOverflow(by: stride).partialValue, maximum: core.maxMessageSize)
        }
        let payload = try reserve(length: count * stride, timeout: timeout)
        // The payload is aligned for T, and every bit pattern is a valid T.
        let start = (core.data + payload).bindMemory(to: T.self, capacity: count)
        var span = MutableSpan(_unsafeElements: UnsafeMutableBufferPointer(start: count == 0 ? nil : start, count: count))
        let published: Int
        switch fill(&span) {
        case .commit: published = count
        case .commitFirst(let first): published = min(max(first, 0), count)
        case .abandon: return nil
        }
        commit(length: published * stride)
        if core.mappingGuard.isTripped { throw core.truncationError() }
        return published
    }
}
