import Glibc

/// Messages whose every byte follows from their sequence number, so that a
/// receiver can tell a lost, duplicated, reordered or torn message from a good one.
enum TestMessages {
    /// SplitMix64: a small, good generator for test data.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// The size of message `sequence`: 8 bytes of sequence number, at least,
    /// up to `maximum`.
    static func size(of sequence: UInt64, seed: UInt64, minimum: Int, maximum: Int) -> Int {
        var generator = Generator(state: seed ^ (sequence &* 0xD6E8_FEB8_6659_FD93))
        let span = UInt64(max(0, maximum - minimum) + 1)
        return max(8, minimum + Int(generator.next() % span))
    }

    /// Writes message `sequence` into `buffer` (exactly `size(of:...)` bytes).
    static func fill(_ buffer: UnsafeMutableRawBufferPointer, sequence: UInt64, seed: UInt64) {
        buffer.storeBytes(of: sequence.littleEndian, toByteOffset: 0, as: UInt64.self)
        var generator = Generator(state: seed &+ sequence)
        var index = 8
        while index + 8 <= buffer.count {
            buffer.storeBytes(of: generator.next(), toByteOffset: index, as: UInt64.self)
            index += 8
        }
        var word = generator.next()
        while index < buffer.count {
            buffer[index] = UInt8(truncatingIfNeeded: word)
            word >>= 8
            index += 1
        }
    }

    /// The sequence number a message claims, and whether all of it is what that number gives.
    static func check(_ message: UnsafeRawBufferPointer, seed: UInt64, minimum: Int, maximum: Int) -> (sequence: UInt64, intact: Bool) {
        guard message.count >= 8 else { return (0, false) }
        let sequence = UInt64(littleEndian: message.loadUnaligned(as: UInt64.self))
        guard message.count == size(of: sequence, seed: seed, minimum: minimum, maximum: maximum) else { return (sequence, false) }
        let expected = UnsafeMutableRawBufferPointer.allocate(byteCount: message.count, alignment: 8)
        defer { expected.deallocate() }
        fill(expected, sequence: sequence, seed: seed)
        return (sequence, memcmp(expected.baseAddress!, message.baseAddress!, message.count) == 0)
    }
}
