import Glibc

/// A process, told apart from a later process that reuses its pid.
///
/// The identity is the pid together with the time the process started: field
/// 22 of `/proc/<pid>/stat`, in clock ticks since boot. When a process exits
/// and the kernel hands its pid to a new process, the new one has a different
/// start time, so ``isAlive`` does not mistake it for the old one.
public struct ProcessIdentity: Hashable, Sendable, CustomStringConvertible {
    /// The process id.
    public let pid: Int32
    /// When the process started, in clock ticks since boot.
    public let startTime: UInt64

    /// An identity from its parts, such as one recorded by another process.
    public init(pid: Int32, startTime: UInt64) {
        self.pid = pid
        self.startTime = startTime
    }

    /// This process.
    ///
    /// When `/proc` cannot be read, the start time is 0 and ``isAlive`` is false.
    public static var current: ProcessIdentity {
        let pid = getpid()
        return ProcessStat.read(pid: pid).map { ProcessIdentity(pid: pid, startTime: $0.startTime) }
            ?? ProcessIdentity(pid: pid, startTime: 0)
    }

    /// The process with id `pid` as it is now, or `nil` when there is no such
    /// process or its `/proc` entry cannot be read.
    ///
    /// A process that has exited but is not yet reaped (a zombie) still has an
    /// identity; its ``isAlive`` is false. The id of a thread that does not lead
    /// its process is not a process id and gives `nil`.
    public static func of(pid: Int32) -> ProcessIdentity? {
        guard pid > 0, let stat = ProcessStat.read(pid: pid), ProcessStat.isProcess(pid) else { return nil }
        return ProcessIdentity(pid: pid, startTime: stat.startTime)
    }

    /// Whether the process is still running: a process with ``pid`` exists,
    /// has not exited (is no zombie), and started at ``startTime``, so it is
    /// not a later process that reuses the pid.
    public var isAlive: Bool {
        guard pid > 0, let stat = ProcessStat.read(pid: pid) else { return false }
        return !stat.hasExited && stat.startTime == startTime
    }

    /// `pid 1234 (start 5678)`.
    public var description: String { "pid \(pid) (start \(startTime))" }
}

/// The fields of `/proc/<pid>/stat` that ``ProcessIdentity`` needs.
struct ProcessStat: Hashable, Sendable {
    /// The state letter (field 3), such as `R`, `S` or `Z`.
    let state: UInt8
    /// Field 22: the start time in clock ticks since boot.
    let startTime: UInt64

    /// Whether the process has exited: a zombie (`Z`) or dead (`X`, `x`).
    var hasExited: Bool { state == UInt8(ascii: "Z") || state == UInt8(ascii: "X") || state == UInt8(ascii: "x") }

    /// Reads and parses `/proc/<pid>/stat`; `nil` when it is missing or unreadable.
    static func read(pid: Int32) -> ProcessStat? {
        guard let bytes = ProcFiles.read("/proc/\(pid)/stat") else { return nil }
        return parse(bytes)
    }

    /// Parses the text of `/proc/<pid>/stat`.
    ///
    /// The second field is the command name in parentheses; it may contain
    /// spaces and `)`, so the fields are counted from after the last `)`.
    static func parse<Bytes: BidirectionalCollection<UInt8>>(_ bytes: Bytes) -> ProcessStat? {
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        var state: UInt8?
        var field = 2  // the field that ends at `close`
        var value: UInt64 = 0
        var inNumber = false
        var index = bytes.index(after: close)
        while index != bytes.endIndex {
            let byte = bytes[index]
            index = bytes.index(after: index)
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") {
                inNumber = false
                continue
            }
            if !inNumber {
                inNumber = true
                field += 1
                if field == 3 { state = byte; continue }
                value = 0
            }
            guard field == 22 else { continue }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
            if index == bytes.endIndex || bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\n") {
                guard let state else { return nil }
                return ProcessStat(state: state, startTime: value)
            }
        }
        return nil
    }

    /// Whether `pid` names a process rather than a thread inside one: `/proc`
    /// also answers for thread ids, and `Tgid` in `/proc/<pid>/status` tells them apart.
    static func isProcess(_ pid: Int32) -> Bool {
        guard let status = ProcFiles.read("/proc/\(pid)/status") else { return false }
        let key = Array("\nTgid:".utf8)
        guard let start = status.firstRange(of: key)?.upperBound else { return false }
        let digits = status[start...].drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
            .prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        return Int32(String(decoding: digits, as: UTF8.self)) == pid
    }
}

/// Reads small `/proc` files with `open`, `read` and `close`, without Foundation.
enum ProcFiles {
    /// The whole file at `path`, or `nil` when it cannot be opened or read.
    static func read(_ path: String) -> [UInt8]? {
        let descriptor = open(path, relativeTo: AT_FDCWD)
        guard descriptor >= 0 else { return nil }
        defer { Glibc.close(descriptor) }
        var buffer: [UInt8] = []
        guard let count = readAll(descriptor, into: &buffer) else { return nil }
        buffer.removeSubrange(count...)
        return buffer
    }

    /// Opens `path` for reading, relative to the directory `directory` when
    /// `path` is relative; retries on `EINTR`. Returns -1 on failure.
    static func open(_ path: String, relativeTo directory: Int32, directoryOnly: Bool = false) -> Int32 {
        let flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | (directoryOnly ? O_DIRECTORY : 0)
        while true {
            let descriptor = openat(directory, path, flags)
            if descriptor >= 0 || errno != EINTR { return descriptor }
        }
    }

    /// Reads `descriptor` to its end into `buffer`, growing it as needed, and
    /// returns the number of bytes read; `nil` on a read error. The buffer may
    /// be longer than the count; it can be reused for the next file.
    ///
    /// `close` is not retried on `EINTR` by the callers: on Linux the
    /// descriptor is released even then.
    static func readAll(_ descriptor: Int32, into buffer: inout [UInt8]) -> Int? {
        if buffer.count < 4096 { buffer = [UInt8](repeating: 0, count: 4096) }
        var used = 0
        while true {
            if used == buffer.count { buffer.append(contentsOf: repeatElement(0, count: buffer.count)) }
            let result = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + used, $0.count - used) }
            if result > 0 {
                used += result
            } else if result == 0 {
                return used
            } else if errno != EINTR {
                return nil
            }
        }
    }
}
