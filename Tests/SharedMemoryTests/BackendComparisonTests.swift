import Glibc
import SampleSupport
import SharedMemory
import Testing

/// Every segment and view behaviour, run on both backends. Each scenario
/// writes down what it observes (results, sizes, bytes, errno values and
/// reports) as lines of a transcript; the transcripts of the two backends
/// must be the same, and the same as the expected one.
@Suite("Both backends behave the same")
struct BackendComparisonTests {
    struct Scenario: Sendable, CustomTestStringConvertible {
        let title: String
        let run: @Sendable (SharedMemorySegment.Backend, String) -> [String]
        let expected: [String]
        var testDescription: String { title }
    }

    @Test("Same transcript on both backends, as expected", arguments: scenarios)
    func compare(scenario: Scenario) {
        let shim = withUniqueName("cmp") { scenario.run(.cshim, $0) }
        let swift = withUniqueName("cmp") { scenario.run(.swift, $0) }
        #expect(shim == swift, "the backends differ")
        #expect(shim == scenario.expected, "the C shim backend")
        #expect(swift == scenario.expected, "the Swift backend")
    }

    /// One line for an outcome: the value, or the error's errno, report and call.
    static func note<T>(_ label: String, _ body: () throws(SharedMemoryError) -> T) -> String {
        do {
            return "\(label): \(try body())"
        } catch {
            return "\(label): \(error.errno.name ?? "?") \(error.sampleReport) [\(error.systemCall ?? "check")]"
        }
    }

    static let scenarios: [Scenario] = [
        Scenario(title: "create, open, sizes", run: { backend, name in
            var lines: [String] = []
            do {
                let first = try SharedMemorySegment.create(named: name, size: 65536, backend: backend)
                lines.append("created: \(first.wasCreated), size: \(try first.size())")
                let second = try SharedMemorySegment.create(named: name, size: 100, backend: backend)
                lines.append("again: created \(second.wasCreated), size \(try second.size()), \(second.access)")
                lines.append(note("exclusive") { () throws(SharedMemoryError) in
                    try SharedMemorySegment.create(named: name, size: 100, exclusive: true, backend: backend).wasCreated
                })
                let reader = try SharedMemorySegment.open(named: name, backend: backend)
                lines.append("open: \(reader.access), size \(try reader.size()), created \(reader.wasCreated)")
                try first.unlink()
                lines.append(note("open after unlink") { () throws(SharedMemoryError) in
                    try SharedMemorySegment.open(named: name, backend: backend).access
                })
                lines.append(note("unlink again") { () throws(SharedMemoryError) in try first.unlink() })
                lines.append("size after unlink: \(try reader.size())")
                try reader.close()
            } catch {
                lines.append("unexpected: \(error)")
            }
            return lines
        }, expected: [
            "created: true, size: 65536",
            "again: created false, size 65536, readWrite",
            "exclusive: EEXIST CreateFileMapping failed w/err 0x00000011 [shm_open(O_CREAT|O_EXCL)]",
            "open: readOnly, size 65536, created false",
            "open after unlink: ENOENT OpenFileMapping failed w/err 0x00000002 [shm_open]",
            "unlink again: ENOENT DeleteFileMapping failed w/err 0x00000002 [shm_unlink]",
            "size after unlink: 65536",
        ]),

        Scenario(title: "bad sizes and modes", run: { backend, name in
            [
                note("size 0") { () throws(SharedMemoryError) in try SharedMemorySegment.create(named: name, size: 0, backend: backend).wasCreated },
                note("size -1") { () throws(SharedMemoryError) in try SharedMemorySegment.create(named: name, size: -1, backend: backend).wasCreated },
                note("mode 0o1000") { () throws(SharedMemoryError) in
                    try SharedMemorySegment.create(named: name, size: 10, mode: 0o1000, backend: backend).wasCreated
                },
                note("too large") { () throws(SharedMemoryError) in
                    try SharedMemorySegment.create(named: name, size: Int.max, backend: backend).wasCreated
                },
                "left behind: \(segmentFileExists(name))",
                note("bad name") { () throws(SharedMemoryError) in try SharedMemorySegment.create(named: "a/b", size: 10, backend: backend).wasCreated },
            ]
        }, expected: [
            "size 0: EINVAL CreateFileMapping failed w/err 0x00000016 [check]",
            "size -1: EINVAL CreateFileMapping failed w/err 0x00000016 [check]",
            "mode 0o1000: EINVAL CreateFileMapping failed w/err 0x00000016 [check]",
            "too large: ENOSPC CreateFileMapping failed w/err 0x0000001c [posix_fallocate]",
            "left behind: false",
            "bad name: EINVAL CreateFileMapping failed w/err 0x00000016 [check]",
        ]),

        Scenario(title: "views at several offsets and lengths", run: { backend, name in
            var lines: [String] = []
            do {
                let size = 3 * 4096 + 100
                let segment = try SharedMemorySegment.create(named: name, size: size, backend: backend)
                let whole = try segment.map(length: 0)
                lines.append("whole: offset \(whole.offset), count \(whole.count), writable \(whole.isWritable)")
                try whole.write((0..<size).map { UInt8(truncatingIfNeeded: $0 * 7 + 3) })
                let reader = try SharedMemorySegment.open(named: name, backend: backend)
                for (offset, length) in [(0, 1024), (1, 10), (4095, 2), (4096, 0), (size - 1, 1), (size - 5, 0), (8191, 4097)] {
                    let view = try reader.map(offset: offset, length: length)
                    let bytes = try view.read(count: view.count)
                    let expected = (offset..<(offset + view.count)).map { UInt8(truncatingIfNeeded: $0 * 7 + 3) }
                    lines.append("view \(offset)+\(length): count \(view.count), bytes match \(bytes == expected)")
                }
            } catch {
                lines.append("unexpected: \(error)")
            }
            return lines
        }, expected: [
            "whole: offset 0, count 12388, writable true",
            "view 0+1024: count 1024, bytes match true",
            "view 1+10: count 10, bytes match true",
            "view 4095+2: count 2, bytes match true",
            "view 4096+0: count 8292, bytes match true",
            "view 12387+1: count 1, bytes match true",
            "view 12383+0: count 5, bytes match true",
            "view 8191+4097: count 4097, bytes match true",
        ]),

        Scenario(title: "views that do not fit", run: { backend, name in
            do {
                let segment = try SharedMemorySegment.create(named: name, size: 1000, backend: backend)
                func map(_ offset: Int, _ length: Int) -> String {
                    note("map \(offset)+\(length)") { () throws(SharedMemoryError) in try segment.map(offset: offset, length: length).count }
                }
                return [map(0, 1001), map(990, 20), map(1000, 0), map(1000, 1), map(-1, 10), map(0, -1), map(Int.max, 2), map(999, 1)]
            } catch {
                return ["unexpected: \(error)"]
            }
        }, expected: [
            "map 0+1001: EINVAL MapViewOfFile failed w/err 0x00000016 [check]",
            "map 990+20: EINVAL MapViewOfFile failed w/err 0x00000016 [check]",
            "map 1000+0: EINVAL MapViewOfFile failed w/err 0x00000016 [check]",
            "map 1000+1: EINVAL MapViewOfFile failed w/err 0x00000016 [check]",
            "map -1+10: EINVAL MapViewOfFile failed w/err 0x00000016 [check]",
            "map 0+-1: EINVAL MapViewOfFile failed w/err 0x00000016 [check]",
            "map 9223372036854775807+2: EOVERFLOW MapViewOfFile failed w/err 0x0000004b [check]",
            "map 999+1: 1",
        ]),

        Scenario(title: "read-only enforcement", run: { backend, name in
            do {
                let writer = try SharedMemorySegment.create(named: name, size: 4096, backend: backend)
                let reader = try SharedMemorySegment.open(named: name, access: .readOnly, backend: backend)
                let view = try reader.map(length: 16)
                let readOnlyOfWritable = try writer.map(length: 16, access: .readOnly)
                var mutableAccess = "allowed"
                do { try view.withUnsafeMutableBytes { $0[0] = 1 } } catch { mutableAccess = "\(error)".split(separator: "\n")[0].description }
                return [
                    note("writable view of read-only segment") { () throws(SharedMemoryError) in try reader.map(length: 16, access: .readWrite).count },
                    note("write") { () throws(SharedMemoryError) in try view.write([1, 2, 3]) },
                    note("write string") { () throws(SharedMemoryError) in try view.writeString("x") },
                    note("write through read-only view of writable segment") { () throws(SharedMemoryError) in try readOnlyOfWritable.write([1]) },
                    "mutable bytes: \(mutableAccess)",
                    "unchanged: \(try view.read(count: 16) == Array(repeating: 0, count: 16))",
                ]
            } catch {
                return ["unexpected: \(error)"]
            }
        }, expected: [
            "writable view of read-only segment: EACCES MapViewOfFile failed w/err 0x0000000d [check]",
            "write: EACCES memcpy_s failed w/err 0x0000000d [check]",
            "write string: EACCES memcpy_s failed w/err 0x0000000d [check]",
            "write through read-only view of writable segment: EACCES memcpy_s failed w/err 0x0000000d [check]",
            "mutable bytes: write: Permission denied (EACCES): the view is read-only",
            "unchanged: true",
        ]),

        Scenario(title: "bounded reads, writes and strings", run: { backend, name in
            do {
                let segment = try SharedMemorySegment.create(named: name, size: 4096, backend: backend)
                let view = try segment.map(offset: 100, length: 32)
                return [
                    note("write 33 bytes") { () throws(SharedMemoryError) in try view.write([UInt8](repeating: 9, count: 33)) },
                    note("write at 30") { () throws(SharedMemoryError) in try view.write([1, 2, 3], at: 30) },
                    note("read past end") { () throws(SharedMemoryError) in try view.read(at: 31, count: 2) },
                    note("read at -1") { () throws(SharedMemoryError) in try view.read(at: -1, count: 1) },
                    note("long string") { () throws(SharedMemoryError) in try view.writeString(String(repeating: "x", count: 32)) },
                    "untouched: \(try view.read(count: 32).allSatisfy { $0 == 0 })",
                    note("fitting string") { () throws(SharedMemoryError) in try view.writeString(String(repeating: "x", count: 31)) },
                    note("utf16 string") { () throws(SharedMemoryError) in try view.writeString("abc", at: 8, encoding: .utf16le) },
                    note("read back") { () throws(SharedMemoryError) in try view.readString(at: 8, encoding: .utf16le) },
                    note("unterminated") { () throws(SharedMemoryError) in
                        try view.write(Array("0123456789".utf8), at: 22)
                        return try view.readString(at: 22)
                    },
                    note("flush") { () throws(SharedMemoryError) in try view.flush() },
                    note("segment bytes") { () throws(SharedMemoryError) in try segment.map(offset: 108, length: 8).read(count: 8) },
                ]
            } catch {
                return ["unexpected: \(error)"]
            }
        }, expected: [
            "write 33 bytes: ERANGE memcpy_s failed w/err 0x00000022 [check]",
            "write at 30: ERANGE memcpy_s failed w/err 0x00000022 [check]",
            "read past end: ERANGE memcpy_s failed w/err 0x00000022 [check]",
            "read at -1: EINVAL memcpy_s failed w/err 0x00000016 [check]",
            "long string: ERANGE memcpy_s failed w/err 0x00000022 [check]",
            "untouched: true",
            "fitting string: 32",
            "utf16 string: 8",
            "read back: abc",
            "unterminated: 0123456789",
            "flush: ()",
            "segment bytes: [97, 0, 98, 0, 99, 0, 0, 0]",
        ]),

        Scenario(title: "mode applies whatever the umask; views outlive the segment", run: { backend, name in
            var lines: [String] = []
            do {
                var view: MappedView
                do {
                    let segment = try SharedMemorySegment.create(named: name, size: 64, mode: 0o666, backend: backend)
                    var info = stat()
                    _ = stat("/dev/shm/" + name, &info)
                    lines.append("mode: 0o\(String(info.st_mode & 0o777, radix: 8))")
                    view = try segment.map()
                    try segment.unlink()
                    try segment.close()
                }
                try view.writeString("still mapped")
                lines.append("read: \(try view.readString())")
                try view.unmap()
            } catch {
                lines.append("unexpected: \(error)")
            }
            return lines
        }, expected: ["mode: 0o666", "read: still mapped"]),
    ]

    @Test("A segment made by one backend is read by the other")
    func crossBackend() throws {
        try withUniqueName("x") { name in
            let segment = try SharedMemorySegment.create(named: name, size: 8192, backend: .cshim)
            try segment.map(offset: 4097, length: 100).writeString("from the shim", encoding: .utf32le)
            let other = try SharedMemorySegment.open(named: name, backend: .swift)
            #expect(try other.map(offset: 4097, length: 100).readString(encoding: .utf32le) == "from the shim")
            #expect(try other.size() == 8192)
        }
    }
}
