import SharedMemory
import Testing

@Suite("Segment names")
struct SegmentNameTests {
    @Test("Windows prefixes and a leading slash map to one POSIX name",
          arguments: ["Local\\SampleMap", "Global\\SampleMap", "SampleMap", "/SampleMap"])
    func accepted(name: String) throws {
        let parsed = try SegmentName(name)
        #expect(parsed.posixName == "/SampleMap")
        #expect(parsed.displayName == name)
        #expect(parsed.path == "/dev/shm/SampleMap")
    }

    @Test("Backslashes after the prefix, UTF-8 and 255 bytes are fine")
    func unusualButValid() throws {
        // The bytes are exact; the printed form escapes the backslash so that it reads back.
        #expect(try SegmentName("Local\\a\\b").posixBytes == Array("/a\\b".utf8))
        #expect(try SegmentName("Local\\a\\b").posixName == "/a\\\\b")
        #expect(try SegmentName("café").posixName == "/café")
        #expect(try SegmentName(String(repeating: "x", count: 255)).posixName.utf8.count == 256)
    }

    @Test("Bad names are refused before any system call", arguments: [
        ("", Errno.invalidArgument, "empty"),
        ("/", .invalidArgument, "empty"),
        ("Local\\", .invalidArgument, "empty"),
        ("a/b", .invalidArgument, "'/'"),
        ("//a", .invalidArgument, "'/'"),
        ("a\u{0}b", .invalidArgument, "NUL"),
        (".", .invalidArgument, "'.'"),
        ("..", .invalidArgument, "'.'"),
        (String(repeating: "x", count: 256), .nameTooLong, "256 bytes"),
        (String(repeating: "é", count: 128), .nameTooLong, "256 bytes"),
    ])
    func refused(name: String, errno: Errno, words: String) {
        let error = expectedError { () throws(SharedMemoryError) in try SegmentName(name) }
        #expect(error?.errno == errno)
        #expect(error?.operation == .validateName)
        #expect(error?.systemCall == nil)
        #expect(error?.reason?.contains(words) == true, "\(String(describing: error?.reason))")
    }
}
