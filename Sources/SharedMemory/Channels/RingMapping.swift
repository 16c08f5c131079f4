/// A mapped managed segment that holds one ring, or the several rings of a
/// service segment: the segment, its view and the view's SIGBUS guard,
/// shared by the rings' cores and released once, after the last of them.
///
/// `@unchecked Sendable`: every stored property is immutable after `init`;
/// the mapping's bytes are shared memory, reached only through atomics and
/// the rings' checked reads.
final class RingMapping: @unchecked Sendable {
    let segment: ManagedSegment
    let view: MappedView
    let system: any SharedMemoryBackend
    let descriptor: Int32
    let mappingGuard: MappingGuard

    /// Maps `segment`'s payload and registers the mapping with the SIGBUS guard.
    init(segment: consuming ManagedSegment, access: SharedMemorySegment.Access) throws(ChannelError) {
        let view: MappedView
        do { view = try segment.map(access: access) } catch { throw .segment(error) }
        let system = segment.segment.backend.implementation
        do {
            mappingGuard = try system.guardMapping(view.unsafeBaseAddress, length: view.count, writable: access == .readWrite)
        } catch {
            throw .segment(SharedMemoryError(operation: .map, errno: error, systemCall: "cshm_guard_register",
                                             backend: segment.segment.backend))
        }
        self.system = system
        self.descriptor = segment.segment.handle.descriptor
        self.view = view
        self.segment = segment
    }

    deinit {
        // Before the view is unmapped, as the guard requires.
        system.unguardMapping(mappingGuard)
    }
}
