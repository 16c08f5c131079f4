import CShm
import SampleSupport
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

    @Test("An error describes itself as POSIX programs do; the sample programs keep the sample's line")
    func errorDescription() throws {
        let error = SharedMemoryError(operation: .open, errno: .noSuchFileOrDirectory, systemCall: "shm_open",
                                      name: try SegmentName("x"))
        #expect(error.description == #"shm_open("/x"): No such file or directory (ENOENT)"#)
        #expect("\(error)" == error.description)
        #expect(error.sampleReport == "OpenFileMapping failed w/err 0x00000002")
        #expect(!error.description.contains("w/err"))

        let explained = SharedMemoryError(operation: .open, errno: .noSuchFileOrDirectory, systemCall: "shm_open",
                                          reason: "no segment named /x exists")
        #expect(explained.description == "shm_open: No such file or directory (ENOENT): no segment named /x exists")
        #expect(explained.hint == "shm_open: ENOENT (No such file or directory): no segment named /x exists")

        let check = SharedMemoryError(operation: .validateName, errno: .invalidArgument, systemCall: nil, reason: "the name is empty")
        #expect(check.description == "validateName: Invalid argument (EINVAL): the name is empty")
        #expect(check.sampleReport == "CreateFileMapping failed w/err 0x00000016")
    }

    @Test("A real failure names the call and the segment")
    func realFailure() throws {
        let name = try SegmentName(TestNames.unique("nosuch"))
        do {
            _ = try SharedMemorySegment.open(name)
            Issue.record("opening a segment that does not exist succeeded")
        } catch {
            #expect(error.name == name)
            #expect(error.description.hasPrefix(#"shm_open("\#(name.posixName)"): No such file or directory (ENOENT)"#),
                    "\(error.description)")
        }
    }
}
