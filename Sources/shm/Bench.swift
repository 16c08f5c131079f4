import ArgumentParser
import Glibc

/// `shm bench ...`: runs `shm-bench`, which is installed beside `shm`.
struct BenchCommand: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run shm-bench, the benchmark of channels against pipes, sockets and C rings.",
        discussion: """
            Runs the shm-bench program that sits in the same directory as shm, with the arguments \
            as given, and exits with its status. `shm bench --help` shows shm-bench's own options.
            """)

    @Argument(parsing: .captureForPassthrough, help: "Arguments for shm-bench.")
    var arguments: [String] = []

    func execute() throws {
        let program = try Self.benchPath()
        guard access(program, X_OK) == 0 else {
            if arguments.contains("--help") || arguments.contains("-h") {
                print(Self.helpMessage())
            }
            throw ToolError("no shm-bench program next to shm (\(program): \(errorText(errno))); build it with `swift build --product shm-bench`")
        }
        fflush(nil)
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        execv(program, argv)
        throw ToolError("cannot run \(program): \(errorText(errno))")
    }

    /// `shm-bench` in the directory of this executable.
    static func benchPath() throws(ToolError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { throw ToolError("cannot find this program's directory: readlink /proc/self/exe: \(errorText(errno))") }
        let path = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        return (directory.isEmpty ? "" : directory) + "/shm-bench"
    }
}
