/// Writes `bytes` as `xxd` does: an 8-hex-digit offset (more when needed),
/// 16 bytes a line in groups of two, and the bytes as ASCII with `.` for
/// anything not printable. `offset` is the position of the first byte.
func hexdump(_ bytes: UnsafeRawBufferPointer, offset: Int, to output: OutputBuffer) throws {
    let hex = Array("0123456789abcdef".utf8)
    var line: [UInt8] = []
    line.reserveCapacity(96)
    var position = 0
    while position < bytes.count {
        let count = min(16, bytes.count - position)
        line.removeAll(keepingCapacity: true)
        let address = String(offset + position, radix: 16)
        line.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: max(0, 8 - address.utf8.count)))
        line.append(contentsOf: address.utf8)
        line.append(UInt8(ascii: ":"))
        for index in 0..<16 {
            if index % 2 == 0 { line.append(UInt8(ascii: " ")) }
            if index < count {
                let byte = bytes[position + index]
                line.append(hex[Int(byte >> 4)])
                line.append(hex[Int(byte & 0xF)])
            } else {
                line.append(UInt8(ascii: " "))
                line.append(UInt8(ascii: " "))
            }
        }
        line.append(UInt8(ascii: " "))
        line.append(UInt8(ascii: " "))
        for index in 0..<count {
            let byte = bytes[position + index]
            line.append(byte >= 0x20 && byte < 0x7F ? byte : UInt8(ascii: "."))
        }
        line.append(UInt8(ascii: "\n"))
        try line.withUnsafeBytes { try output.append($0) }
        position += count
    }
}
