extension SharedMemorySegment {
    /// Whether a segment or view may be written.
    public enum Access: String, Hashable, Sendable, CaseIterable {
        /// Reading only; writes through the API fail with `EACCES`.
        case readOnly
        /// Reading and writing.
        case readWrite
    }
}
