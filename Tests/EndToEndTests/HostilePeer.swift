import Glibc

/// The test process as a hostile peer: it opens a ring's segment raw, read
/// and write, and writes what it likes into it, or cuts it short.
final class HostilePeer {
    /// The byte offsets of a ring in its segment (see `RingLayout`), for the
    /// segment `totalSize` bytes long with `slots` reader slots.
    struct Layout {
        static let headerSize = 128
        let slots: Int
        let totalSize: Int

        /// Where the ring's control block starts: right after the managed header.
        var ring: Int { Self.headerSize }
        /// Where the data area starts.
        var data: Int { Self.headerSize + ((192 + 64 * slots + 63) & ~63) }
        var capacity: Int { totalSize - data }
        func slot(_ index: Int) -> Int { ring + 192 + 64 * index }
    }

    let layout: Layout
    private let descriptor: Int32
    private let base: UnsafeMutableRawPointer

    /// Opens `/name` read-write and maps all of it.
    init?(name: String, slots: Int) {
        let descriptor = shm_open("/" + name, O_RDWR, 0)
        guard descriptor >= 0 else { return nil }
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_size > HostilePeer.Layout.headerSize,
              let address = mmap(nil, Int(status.st_size), PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0),
              address != MAP_FAILED else {
            close(descriptor)
            return nil
        }
        self.descriptor = descriptor
        self.base = address
        self.layout = Layout(slots: slots, totalSize: Int(status.st_size))
    }

    deinit {
        munmap(base, layout.totalSize)
        close(descriptor)
    }

    /// Reads the `width`-byte word (4 or 8) at `offset`, which may be misaligned.
    func load(_ offset: Int, width: Int) -> UInt64 {
        precondition(offset >= 0 && offset + width <= layout.totalSize)
        return width == 8 ? UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            : UInt64(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
    }

    /// Writes a `width`-byte word (4 or 8) at `offset`, which may be misaligned.
    func store(_ value: UInt64, at offset: Int, width: Int) {
        precondition(offset >= 0 && offset + width <= layout.totalSize)
        if width == 8 {
            base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt64.self)
        } else {
            base.storeBytes(of: UInt32(truncatingIfNeeded: value).littleEndian, toByteOffset: offset, as: UInt32.self)
        }
    }

    /// Fills `range` with bytes from `random`.
    func scribble(_ range: Range<Int>, using random: inout SeededRandom) {
        precondition(range.lowerBound >= 0 && range.upperBound <= layout.totalSize)
        for offset in range { base.storeBytes(of: UInt8.random(in: 0...255, using: &random), toByteOffset: offset, as: UInt8.self) }
    }

    /// Cuts the segment to `size` bytes. Nothing may touch the mapping afterwards.
    func truncate(to size: Int) -> Bool { ftruncate(descriptor, off_t(size)) == 0 }
}
