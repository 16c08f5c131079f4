/// What a typed ring records about its message type: the type's size,
/// alignment and stride, its name (as much of it as fits in 48 bytes), and a
/// 64-bit fingerprint of all four, so that an end expecting another type is
/// refused when it opens the ring.
struct MessageTypeIdentity: Hashable, Sendable, CustomStringConvertible {
    var size: Int
    var alignment: Int
    var stride: Int
    var name: String
    var fingerprint: UInt64

    init<T: PlainData>(_ type: T.Type) {
        size = MemoryLayout<T>.size
        alignment = MemoryLayout<T>.alignment
        stride = MemoryLayout<T>.stride
        name = T.messageTypeName
        fingerprint = Self.fingerprint(name: name, size: size, alignment: alignment, stride: stride)
    }

    private init(size: Int, alignment: Int, stride: Int, name: String, fingerprint: UInt64) {
        self.size = size
        self.alignment = alignment
        self.stride = stride
        self.name = name
        self.fingerprint = fingerprint
    }

    var description: String {
        let hex = String(fingerprint, radix: 16)
        return "\(name) (size \(size), alignment \(alignment), stride \(stride), fingerprint 0x\(String(repeating: "0", count: 16 - hex.count))\(hex))"
    }

    /// 64-bit FNV-1a over the name's UTF-8 bytes, then the size, alignment
    /// and stride as 8-byte little-endian integers.
    static func fingerprint(name: String, size: Int, alignment: Int, stride: Int) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func add(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        for byte in name.utf8 { add(byte) }
        for value in [size, alignment, stride] {
            for shift in Swift.stride(from: 0, to: 64, by: 8) { add(UInt8(truncatingIfNeeded: UInt64(value) >> UInt64(shift))) }
        }
        return hash
    }

    /// Writes the identity into a new ring's control block.
    func write(to base: UnsafeMutableRawPointer) {
        base.storeBytes(of: UInt32(size).littleEndian, toByteOffset: RingLayout.Offset.messageSize, as: UInt32.self)
        base.storeBytes(of: UInt32(alignment).littleEndian, toByteOffset: RingLayout.Offset.messageAlignment, as: UInt32.self)
        base.storeBytes(of: UInt32(stride).littleEndian, toByteOffset: RingLayout.Offset.messageStride, as: UInt32.self)
        base.storeBytes(of: fingerprint.littleEndian, toByteOffset: RingLayout.Offset.messageFingerprint, as: UInt64.self)
        // The name, cut at a character boundary to fit; the rest stays 0.
        var bytes = Array(name.utf8.prefix(RingLayout.typeNameSize))
        while !bytes.isEmpty, String(validating: bytes, as: UTF8.self) == nil { bytes.removeLast() }
        for (index, byte) in bytes.enumerated() {
            base.storeBytes(of: byte, toByteOffset: RingLayout.Offset.messageTypeName + index, as: UInt8.self)
        }
    }

    /// Reads and checks a ring's message type: `nil` for a ring of bytes
    /// (all fields 0). Every field is checked; the name is only shown.
    static func read(from base: UnsafeRawPointer, ringName: String) throws(ChannelError) -> MessageTypeIdentity? {
        func load32(_ offset: Int) -> Int { Int(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))) }
        let size = load32(RingLayout.Offset.messageSize)
        let alignment = load32(RingLayout.Offset.messageAlignment)
        let stride = load32(RingLayout.Offset.messageStride)
        let fingerprint = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: RingLayout.Offset.messageFingerprint, as: UInt64.self))
        if size == 0 && alignment == 0 && stride == 0 && fingerprint == 0 { return nil }
        // A type's alignment is a power of two, its stride its size rounded
        // up to the alignment (at least 1), and a zero-sized type cannot be a message.
        guard size > 0, alignment > 0, alignment & (alignment - 1) == 0, alignment <= RingLayout.maxAlignment,
              stride == max(1, (size + alignment - 1) & ~(alignment - 1)) else {
            throw .badChannel("\(ringName) records an impossible message type: size \(size), alignment \(alignment), stride \(stride)")
        }
        var bytes: [UInt8] = []
        for index in 0..<RingLayout.typeNameSize {
            let byte = base.load(fromByteOffset: RingLayout.Offset.messageTypeName + index, as: UInt8.self)
            if byte == 0 { break }
            bytes.append(byte)
        }
        // Shown in messages only: invalid UTF-8 is repaired, never trusted.
        let name = String(decoding: bytes, as: UTF8.self)
        return MessageTypeIdentity(size: size, alignment: alignment, stride: stride, name: name, fingerprint: fingerprint)
    }
}
