import Foundation
import Testing

@Suite("A hostile /dev/shm, against every shm subcommand and the sample programs")
struct HostileDevShmTests {
    /// `scripts/test-hostile.sh` in this package.
    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/test-hostile.sh").path

    @Test("FIFOs, a directory, symlinks, mode 000, another user's file and escape, newline and invalid UTF-8 names: no hang, no crash, clear errors, nothing wrongly removed; gc as nobody leaves root's segments",
          .enabled(if: Environment.canMountPrivateTmpfs, "needs root and unshare -m for a private tmpfs on /dev/shm"))
    func hostileDevShm() throws {
        let result = try runCommand(["bash", Self.script, BuiltProducts.directory.path], timeout: 120)
        #expect(result.status == 0, "\(result.output)\(result.errors)")
        #expect(result.output.contains(" passed, 0 failed"), "\(result.output)")
    }
}
