import SharedMemory
import Testing

@Suite("Text encodings")
struct TextEncodingTests {
    @Test("UTF-16LE gives the Windows sample's bytes")
    func windowsBytes() {
        let bytes = TextEncoding.utf16le.encode("Message")
        #expect(bytes == [0x4d, 0, 0x65, 0, 0x73, 0, 0x73, 0, 0x61, 0, 0x67, 0, 0x65, 0, 0, 0])
        #expect(TextEncoding.utf16le.encode("Message from the first process.").count == 64)
    }

    @Test("UTF-32LE and UTF-8 bytes")
    func otherBytes() {
        #expect(TextEncoding.utf32le.encode("A€") == [0x41, 0, 0, 0, 0xac, 0x20, 0, 0, 0, 0, 0, 0])
        #expect(TextEncoding.utf8.encode("A€") == [0x41, 0xe2, 0x82, 0xac, 0])
        #expect(TextEncoding.utf8.encode("A", terminated: false) == [0x41])
    }

    @Test("Decoding stops at the terminator or the end", arguments: TextEncoding.allCases)
    func roundTrip(encoding: TextEncoding) {
        let text = "héllo, 世界 🌍"
        var bytes = encoding.encode(text) + encoding.encode("after")
        #expect(bytes.withUnsafeBytes { encoding.decode($0) } == text)
        bytes = encoding.encode(text, terminated: false)
        #expect(bytes.withUnsafeBytes { encoding.decode($0) } == text)
        // A partial code unit at the end is ignored.
        bytes = encoding.encode("ab", terminated: false) + [0x41]
        let expected = encoding == .utf8 ? "abA" : "ab"
        #expect(bytes.withUnsafeBytes { encoding.decode($0) } == expected)
    }
}
