/// A segment that views can be mapped from: ``SharedMemorySegment`` (offsets
/// from the first byte) or ``ManagedSegment`` (offsets from the payload).
public protocol ViewSource: ~Copyable {
    /// The segment's name.
    var name: SegmentName { get }
    /// Whether this process created the segment.
    var wasCreated: Bool { get }
    /// Maps a view; `length` 0 means to the end.
    func map(offset: Int, length: Int, access: SharedMemorySegment.Access?) throws(SharedMemoryError) -> MappedView
    /// Removes the segment's name.
    func unlink() throws(SharedMemoryError)
}

extension SharedMemorySegment: ViewSource {}
extension ManagedSegment: ViewSource {}
