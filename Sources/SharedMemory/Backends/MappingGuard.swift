import CShm

/// A mapping registered with the SIGBUS guard (see cshm.h).
///
/// Made by ``SharedMemoryBackend/guardMapping(_:length:writable:)`` and
/// released by ``SharedMemoryBackend/unguardMapping(_:)``, which must come
/// before the mapping is unmapped. Once another process truncated the
/// segment and an access in the mapping faulted, the mapping reads as zeros,
/// writes to it reach no other process, and ``isTripped`` is true for good:
/// check it after reading, before trusting what was read.
// @unchecked: `flag` points at a word in the shim's static registry, which
// stays mapped for the life of the process and is only read, through
// cshm_guard_tripped, from any thread.
@usableFromInline
package struct MappingGuard: @unchecked Sendable {
    /// The registry slot, for cshm_guard_unregister.
    @usableFromInline let id: Int32
    /// The slot's word that the SIGBUS handler sets.
    @usableFromInline let flag: UnsafePointer<UInt32>

    init(id: Int32, flag: UnsafePointer<UInt32>) {
        self.id = id
        self.flag = flag
    }

    /// Whether a fault in the mapping was absorbed: the segment was truncated under it.
    ///
    /// Reads one word, ordered after the accesses before it by a
    /// compiler-only fence (the handler runs on the faulting thread).
    @inlinable package var isTripped: Bool { cshm_guard_tripped(flag) != 0 }
}
