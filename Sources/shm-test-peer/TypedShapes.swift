import SharedMemory

/// A tuple of mixed alignment (1, 8, 2, 4, 1), wrapped in a struct as Swift requires.
struct Mixed: PlainData {
    var fields: (UInt8, Double, UInt16, Float, UInt8)
}

/// A cache line: 64 bytes, sent through a ring aligned to 64.
struct CacheLine: PlainData {
    var lanes: SIMD16<Float>
}

/// A value of each test shape follows from its index, so the receiver can check it.
protocol TestShape: PlainData {
    static func make(_ index: UInt64) -> Self
    func matches(_ index: UInt64) -> Bool
}

extension UInt64: TestShape {
    static func make(_ index: UInt64) -> UInt64 { index &* 0x9E37_79B9_7F4A_7C15 }
    func matches(_ index: UInt64) -> Bool { self == Self.make(index) }
}

extension Mixed: TestShape {
    static func make(_ index: UInt64) -> Mixed {
        Mixed(fields: (UInt8(truncatingIfNeeded: index), Double(index) * 0.5, UInt16(truncatingIfNeeded: index &* 3),
                       Float(index % 100_000) + 0.25, UInt8(truncatingIfNeeded: index >> 8)))
    }
    func matches(_ index: UInt64) -> Bool {
        let expected = Self.make(index).fields
        return fields.0 == expected.0 && fields.1 == expected.1 && fields.2 == expected.2
            && fields.3 == expected.3 && fields.4 == expected.4
    }
}

extension SIMD4<Float>: TestShape {
    static func make(_ index: UInt64) -> SIMD4<Float> {
        let base = Float(index % 1_000_000)
        return SIMD4(base, base + 1, -base, base * 0.5)
    }
    func matches(_ index: UInt64) -> Bool { self == Self.make(index) }
}

extension CacheLine: TestShape {
    static func make(_ index: UInt64) -> CacheLine {
        var lanes = SIMD16<Float>(repeating: Float(index % 1_000_000))
        for lane in 0..<16 { lanes[lane] += Float(lane) }
        return CacheLine(lanes: lanes)
    }
    func matches(_ index: UInt64) -> Bool { lanes == Self.make(index).lanes }
}
