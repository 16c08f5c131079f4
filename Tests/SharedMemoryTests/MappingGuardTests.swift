import Glibc
import SharedMemory
import Testing

/// The SIGBUS guard through the backend protocol: a mapping whose segment
/// another descriptor truncates reads zeros instead of killing the test
/// process, and its guard says so. Without the guard these tests die of SIGBUS.
@Suite("SIGBUS guard through the backends")
struct MappingGuardTests {
    /// A segment of two pages filled with 0xA5, mapped whole; `body` gets the
    /// backend, the mapping, the page size and a second descriptor to
    /// truncate through. The name is removed as soon as both descriptors are
    /// open (so even a crash leaves nothing); the rest is released after.
    private func withFilledMapping(_ backend: SharedMemorySegment.Backend, writable: Bool = true,
                                   _ body: (any SharedMemoryBackend, UnsafeMutableRawPointer, Int, Int32) throws -> Void) throws {
        try withUniqueName("guard") { name in
            let system = backend.implementation
            let page = system.pageSize
            let (descriptor, _) = try system.open("/" + name, flags: [.readWrite, .create, .exclusive], mode: 0o600)
            defer { try? system.close(descriptor) }
            try system.truncate(descriptor, size: UInt64(2 * page))
            let filler = try system.map(descriptor, offset: 0, length: 2 * page, writable: true)
            filler.initializeMemory(as: UInt8.self, repeating: 0xA5, count: 2 * page)
            try system.unmap(filler, length: 2 * page)
            let (peer, _) = try system.open("/" + name, flags: [.readWrite], mode: 0)
            defer { try? system.close(peer) }
            try system.unlink("/" + name)
            let address = try system.map(descriptor, offset: 0, length: 2 * page, writable: writable)
            defer { try? system.unmap(address, length: 2 * page) }
            try body(system, address, page, peer)
        }
    }

    @Test("A truncated, guarded mapping reads zeros and the guard trips", arguments: SharedMemorySegment.Backend.allCases)
    func truncatedRead(backend: SharedMemorySegment.Backend) throws {
        try withFilledMapping(backend, writable: false) { system, address, page, peer in
            let mappingGuard = try system.guardMapping(address, length: 2 * page, writable: false)
            defer { system.unguardMapping(mappingGuard) }
            #expect(!mappingGuard.isTripped)
            try system.truncate(peer, size: UInt64(page))
            // The first page is still backed: no fault, no trip.
            #expect(address.load(as: UInt8.self) == 0xA5)
            #expect(!mappingGuard.isTripped)
            let past = address.load(fromByteOffset: page + 100, as: UInt8.self)
            #expect(mappingGuard.isTripped)
            #expect(past == 0)
            let all = UnsafeRawBufferPointer(start: address, count: 2 * page)
            #expect(all.allSatisfy { $0 == 0 }, "the whole guarded range reads zeros")
        }
    }

    @Test("A write past the new end trips the guard and reaches no one", arguments: SharedMemorySegment.Backend.allCases)
    func truncatedWrite(backend: SharedMemorySegment.Backend) throws {
        try withFilledMapping(backend) { system, address, page, peer in
            let mappingGuard = try system.guardMapping(address + 10, length: 2 * page - 10, writable: true)
            defer { system.unguardMapping(mappingGuard) }
            try system.truncate(peer, size: 0)
            address.storeBytes(of: 0x5A, toByteOffset: page + 1, as: UInt8.self)
            #expect(mappingGuard.isTripped)
            #expect(address.load(fromByteOffset: page + 1, as: UInt8.self) == 0x5A)
            // The segment itself is empty: the write went nowhere near it.
            #expect(try system.size(peer) == 0)
        }
    }

    @Test("Guards of different mappings trip independently; bad ranges are refused", arguments: SharedMemorySegment.Backend.allCases)
    func independentAndRefused(backend: SharedMemorySegment.Backend) throws {
        try withFilledMapping(backend) { system, address, page, peer in
            let first = try system.guardMapping(address, length: page, writable: true)
            defer { system.unguardMapping(first) }
            let second = try system.guardMapping(address + page, length: page, writable: true)
            defer { system.unguardMapping(second) }
            try system.truncate(peer, size: UInt64(page))
            _ = address.load(fromByteOffset: page, as: UInt8.self)
            #expect(second.isTripped)
            #expect(!first.isTripped)
            #expect(address.load(as: UInt8.self) == 0xA5, "the first mapping's page is untouched")
            #expect(caught { () throws(Errno) in try system.guardMapping(address, length: 0, writable: true) } == .invalidArgument)
            #expect(caught { () throws(Errno) in try system.guardMapping(address, length: -1, writable: true) } == .invalidArgument)
        }
    }
}
