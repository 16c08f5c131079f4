import CShm
import SharedMemory
import Testing

@Suite("Error formatting: the sample's report, errno names and texts")
struct ErrorFormattingTests {
    @Test("The report has the sample's format", arguments: SharedMemorySegment.Backend.allCases)
    func sampleFormat(backend: SharedMemorySegment.Backend) {
        let system = backend.implementation
        #expect(system.formatError(operation: "OpenFileMapping", errno: .noSuchFileOrDirectory)
                == "OpenFileMapping failed w/err 0x00000002")
        #expect(system.formatError(operation: "CreateFileMapping", errno: .fileExists)
                == "CreateFileMapping failed w/err 0x00000011")
        #expect(system.formatError(operation: "MapViewOfFile", errno: .permissionDenied)
                == "MapViewOfFile failed w/err 0x0000000d")
        #expect(system.formatError(operation: "X", errno: Errno(rawValue: 0x7fff_ffff))
                == "X failed w/err 0x7fffffff")
        #expect(system.formatError(operation: "X", errno: Errno(rawValue: -1)) == "X failed w/err 0xffffffff")
    }

    @Test("Both backends name and describe every errno value alike")
    func namesAndTextsAgree() {
        let shim = CShmBackend(), swift = PosixBackend()
        for value in Int32(0)...200 {
            let errno = Errno(rawValue: value)
            #expect(shim.errorName(errno) == swift.errorName(errno), "name of errno \(value)")
            #expect(shim.errorText(errno) == swift.errorText(errno), "text of errno \(value)")
            #expect(shim.formatError(operation: "Op", errno: errno) == swift.formatError(operation: "Op", errno: errno))
        }
        #expect(swift.errorName(.noSuchFileOrDirectory) == "ENOENT")
        #expect(swift.errorName(Errno(rawValue: 11)) == "EAGAIN")
        #expect(swift.errorName(Errno(rawValue: 4000)) == nil)
        #expect(swift.errorText(.noSuchFileOrDirectory) == "No such file or directory")
    }

    @Test("The shim truncates a report into a small buffer and still terminates it")
    func truncation() {
        var buffer = [CChar](repeating: 0x7f, count: 10)
        let needed = cshm_format_error(&buffer, buffer.count, "OpenFileMapping", 2)
        #expect(needed == Int32("OpenFileMapping failed w/err 0x00000002".utf8.count))
        #expect(buffer[9] == 0)
        #expect(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) == "OpenFileM")
    }

    @Test("An error carries the operation, the errno, the report and a hint")
    func errorDescription() {
        let error = SharedMemoryError(operation: .open, errno: .noSuchFileOrDirectory, systemCall: "shm_open",
                                      reason: "no segment named /x exists")
        #expect(error.report == "OpenFileMapping failed w/err 0x00000002")
        #expect(error.hint == "shm_open: ENOENT (No such file or directory): no segment named /x exists")
        #expect(error.description == error.report + "\n" + error.hint)
    }
}
