/// An open descriptor, closed exactly once: by ``close()`` or when dropped.
struct DescriptorHandle: ~Copyable {
    let descriptor: Int32
    let backend: Backend

    deinit { try? backend.implementation.close(descriptor) }

    /// Closes the descriptor and reports the outcome.
    consuming func close() throws(Errno) {
        let (descriptor, backend) = (self.descriptor, self.backend)
        discard self
        try backend.implementation.close(descriptor)
    }
}

/// A mapped range, unmapped exactly once: by ``unmap()`` or when dropped.
struct MappingHandle: ~Copyable {
    let address: UnsafeMutableRawPointer
    let length: Int
    let backend: Backend

    deinit { try? backend.implementation.unmap(address, length: length) }

    /// Unmaps the range and reports the outcome.
    consuming func unmap() throws(Errno) {
        let (address, length, backend) = (self.address, self.length, self.backend)
        discard self
        try backend.implementation.unmap(address, length: length)
    }
}
