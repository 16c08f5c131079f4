import Glibc

/// An open descriptor, released exactly once: by ``close()`` or when dropped.
///
/// For a segment with the last-close lifetime the handle also holds the
/// segment's POSIX name; releasing it then removes the name when no other
/// process holds the segment's shared lock (see ``ManagedSegment/Lifetime/lastClose``).
struct DescriptorHandle: ~Copyable {
    let descriptor: Int32
    let backend: SharedMemorySegment.Backend
    /// The name to remove when this is the last user; owned, freed on release.
    /// A C string keeps the handle's fields trivial, which `discard` needs.
    private let nameToRemoveWhenLast: UnsafeMutablePointer<CChar>?

    /// `name`: the exact POSIX name (without NUL bytes) to remove when last.
    init(descriptor: Int32, backend: SharedMemorySegment.Backend, removeWhenLast name: [UInt8]? = nil) {
        self.descriptor = descriptor
        self.backend = backend
        self.nameToRemoveWhenLast = name.map { bytes in
            let copy = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
            for (index, byte) in bytes.enumerated() { copy[index] = CChar(bitPattern: byte) }
            copy[bytes.count] = 0
            return copy
        }
    }

    deinit { try? Self.release(descriptor, backend, nameToRemoveWhenLast) }

    /// Releases the descriptor and reports the outcome.
    consuming func close() throws(Errno) {
        let (descriptor, backend, name) = (self.descriptor, self.backend, self.nameToRemoveWhenLast)
        discard self
        try Self.release(descriptor, backend, name)
    }

    private static func release(_ descriptor: Int32, _ backend: SharedMemorySegment.Backend, _ name: UnsafeMutablePointer<CChar>?) throws(Errno) {
        let system = backend.implementation
        if let name {
            // Nobody else holds the shared lock: this is the last user.
            if (try? system.lock(descriptor, .exclusive, wait: false)) != nil {
                try? system.unlink(Array(UnsafeRawBufferPointer(start: name, count: strlen(name))))
            }
            name.deallocate()
        }
        try system.close(descriptor)
    }
}

/// A mapped range, unmapped exactly once: by ``unmap()`` or when dropped.
///
/// It keeps its own descriptor of the object, so that the view can check the
/// object's size before each access (another process may shrink it).
struct MappingHandle: ~Copyable {
    let address: UnsafeMutableRawPointer
    let length: Int
    let descriptor: Int32
    let backend: SharedMemorySegment.Backend

    deinit { try? Self.release(address, length, descriptor, backend) }

    /// Unmaps the range and reports the outcome.
    consuming func unmap() throws(Errno) {
        let (address, length, descriptor, backend) = (self.address, self.length, self.descriptor, self.backend)
        discard self
        try Self.release(address, length, descriptor, backend)
    }

    private static func release(_ address: UnsafeMutableRawPointer, _ length: Int, _ descriptor: Int32, _ backend: SharedMemorySegment.Backend) throws(Errno) {
        try? backend.implementation.close(descriptor)
        try backend.implementation.unmap(address, length: length)
    }
}
