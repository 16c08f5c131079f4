import Glibc
import SharedMemory
import Synchronization

/// Unique segment names for tests, removed again whatever the test does.
enum TestNames {
    private static let counter = Atomic<Int>(0)

    /// A name no other test, process or run uses: `shmtest-<pid>-<n>-<random>`.
    static func unique(_ label: String = "t") -> String {
        let n = counter.add(1, ordering: .relaxed).newValue
        return "shmtest-\(label)-\(getpid())-\(n)-\(UInt32.random(in: 0...UInt32.max))"
    }
}

/// Runs `body` with a fresh unique name and removes the segment of that name
/// afterwards, when `body` returns or throws.
func withUniqueName<R>(_ label: String = "t", _ body: (String) throws -> R) rethrows -> R {
    let name = TestNames.unique(label)
    defer { _ = shm_unlink("/" + name) }
    return try body(name)
}

/// Runs `body`, expecting it to throw; returns the error, or `nil` when none was thrown.
func caught<E: Error, R: ~Copyable>(_ body: () throws(E) -> R) -> E? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}

/// ``caught(_:)`` for the segment API.
func expectedError<R: ~Copyable>(_ body: () throws(SharedMemoryError) -> R) -> SharedMemoryError? { caught(body) }

/// Whether `/dev/shm/<name>` exists.
func segmentFileExists(_ name: String) -> Bool {
    access("/dev/shm/" + name, F_OK) == 0
}
