import Glibc

/// Which files some process holds an `flock` on, as `/proc/locks` lists them.
///
/// Looking there, rather than trying to take the lock, changes nothing: a
/// momentary exclusive lock would make a process that closes a
/// ``ManagedSegment/Lifetime/lastClose`` segment at that moment believe it is not the last.
/// `/proc/locks` shows every user's locks, but not those of processes
/// outside this process's pid namespace.
struct FileLocks {
    /// A file as `/proc/locks` names it: device major and minor, inode.
    struct Key: Hashable {
        let major: UInt64
        let minor: UInt64
        let inode: UInt64
    }

    private let held: Set<Key>

    /// Reads `/proc/locks` once; empty when it cannot be read.
    init() {
        held = ProcFiles.read("/proc/locks").map(Self.parse) ?? []
    }

    /// Whether a process holds (not merely waits for) an `flock` on the file with this device and inode.
    func isLocked(device: UInt64, inode: UInt64) -> Bool {
        // Linux's encoding of dev_t (see <sys/sysmacros.h>).
        let major = ((device >> 8) & 0xfff) | ((device >> 32) & ~UInt64(0xfff))
        let minor = (device & 0xff) | ((device >> 12) & ~UInt64(0xff))
        return held.contains(Key(major: major, minor: minor, inode: inode))
    }

    /// The files with a granted `FLOCK` in the text of `/proc/locks`, whose
    /// lines read `1: FLOCK  ADVISORY  READ 1234 00:1a:5678 0 EOF`; waiting
    /// requests (`1: -> FLOCK ...`) and other kinds of lock are skipped, and
    /// so is any line that does not parse.
    static func parse(_ text: [UInt8]) -> Set<Key> {
        var keys = Set<Key>()
        for line in text.split(separator: UInt8(ascii: "\n")) {
            let fields = line.split(separator: UInt8(ascii: " "))
            guard fields.count >= 6, fields[1].elementsEqual("FLOCK".utf8) else { continue }
            let parts = fields[5].split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
            guard parts.count == 3,
                  let major = number(parts[0], radix: 16), let minor = number(parts[1], radix: 16),
                  let inode = number(parts[2], radix: 10) else { continue }
            keys.insert(Key(major: major, minor: minor, inode: inode))
        }
        return keys
    }

    private static func number(_ digits: ArraySlice<UInt8>, radix: Int) -> UInt64? {
        guard !digits.isEmpty, digits.count <= 20 else { return nil }
        return UInt64(String(decoding: digits, as: UTF8.self), radix: radix)
    }
}
