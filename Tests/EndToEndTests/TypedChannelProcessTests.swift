import Foundation
import SharedMemory
import Testing

/// Typed channels between real processes: `shm-test-peer typed` sends and
/// checks values of several shapes, each following from its index.
@Suite("Typed channels between processes")
struct TypedChannelProcessTests {
    static let shapes: [(String, String, [String])] = [
        ("scalar", "8", []),
        ("mixed", "8", ["--in-place"]),
        ("simd", "16", []),
        ("simd", "16", ["--in-place"]),
        ("cacheline", "64", ["--in-place"]),
    ]

    @Test("Values of several shapes arrive intact, copied or in place, through typed loans or copies", arguments: shapes)
    func roundTrip(shape: String, alignment: String, extra: [String]) throws {
        try withUniqueName { name in
            let common = ["--shape", shape, "--count", "20000", "--alignment", alignment]
            let receiver = try ChildProcess("shm-test-peer", ["typed", "receive", name] + common + extra)
            try receiver.waitForOutput(containing: "ready")
            let sender = try ChildProcess("shm-test-peer", ["typed", "send", name] + common + extra)
            #expect(try sender.waitForExit(timeout: 60) == 0, "\(sender.errorOutput)")
            #expect(try receiver.waitForExit(timeout: 60) == 0, "\(receiver.errorOutput)")
            #expect(receiver.output.contains("received 20000 wrong 0"))
        }
    }

    @Test("A peer expecting another type is refused, naming both types")
    func mismatch() throws {
        try withUniqueName { name in
            let receiver = try ChildProcess("shm-test-peer", ["typed", "receive", name, "--shape", "mixed", "--count", "1"])
            try receiver.waitForOutput(containing: "ready")
            let sender = try ChildProcess("shm-test-peer", ["typed", "send", name, "--shape", "simd", "--count", "1"])
            #expect(try sender.waitForExit(timeout: 30) == 3)
            #expect(sender.errorOutput.contains("carries Mixed (size 25, alignment 8, stride 32"), "\(sender.errorOutput)")
            #expect(sender.errorOutput.contains("not SIMD4<Float> (size 16, alignment 16"), "\(sender.errorOutput)")
            receiver.send(SIGKILL)
            _ = try? receiver.waitForExit(timeout: 10)
        }
    }
}
