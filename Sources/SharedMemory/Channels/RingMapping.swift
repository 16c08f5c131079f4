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

    /// The file size the mapping needs: the managed header and the payload.
    var fileSize: UInt64 { UInt64(SegmentHeader.size + view.count) }

    /// Whether the segment was truncated under this process: a fault in
    /// the mapping was absorbed, or the file is shorter than the mapping.
    func isTruncated() -> Bool {
        if mappingGuard.isTripped { return true }
        guard let size = try? system.size(descriptor) else { return false }
        return size < fileSize
    }

    /// The error for a segment that shrank under this process; `what` is
    /// what needs the bytes ("ring", "service").
    func truncationError(of what: String) -> ChannelError {
        let size = (try? system.size(descriptor)).map { "\($0)" } ?? "fewer"
        return .badChannel("\(segment.name.posixName) was truncated to \(size) bytes under this process; the \(what) needs \(fileSize)")
    }

    /// Takes `length` lock bytes from file offset `byte` exclusively, on this
    /// mapping's open file description; `false` when some process holds one.
    func tryLock(_ byte: UInt64, length: UInt64 = 1) throws(ChannelError) -> Bool {
        do {
            try system.rangeLock(descriptor, offset: byte, length: length, exclusive: true)
            return true
        } catch .wouldBlock {
            return false
        } catch {
            throw .segment(SharedMemoryError(operation: .open, errno: error, systemCall: "fcntl(F_OFD_SETLK)",
                                             backend: segment.segment.backend))
        }
    }

    func unlock(_ byte: UInt64, length: UInt64 = 1) {
        try? system.rangeUnlock(descriptor, offset: byte, length: length)
    }

    /// Whether some process holds one of `length` lock bytes from `byte`
    /// (`true` when the kernel cannot say: never mistake a peer for dead).
    func isLocked(_ byte: UInt64, length: UInt64 = 1) -> Bool {
        (try? system.rangeIsLocked(descriptor, offset: byte, length: length)) ?? true
    }

    deinit {
        // Before the view is unmapped, as the guard requires.
        system.unguardMapping(mappingGuard)
    }
}
