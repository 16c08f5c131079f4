import ArgumentParser
import Glibc
import SampleSupport
import SharedMemory

/// `shm request NAME`: each input line as one request, each reply as one line.
struct RequestCommand: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "request",
        abstract: "Send each line of standard input (or a file) as a request to a service and print each reply.",
        discussion: """
            Each line is sent without its newline, one request at a time; its reply is printed as \
            one line (a reply's own final newline is not doubled). Ends with status 0 at the end of \
            the input. A request the server answers with an error is reported on standard error \
            and the next line is sent; the status is then 1 at the end. When the server dies or \
            leaves, or a reply takes longer than --timeout, request stops with status 1.

            The service is created if it does not exist yet (`shm serve` may start later): requests \
            wait for a server then.
            """)

    @Argument(help: "The service's name.")
    var name: String

    @Option(help: ArgumentHelp("Read the lines from this file instead of standard input ('-' for standard input).",
                               valueName: "path"))
    var file: String?

    @Option(help: ArgumentHelp("Fail when a reply takes longer than this many seconds (by default, wait as long as it takes).",
                               valueName: "seconds"))
    var timeout: Double?

    @Option(help: ArgumentHelp("Client slots of a service this command creates (1 to 64).", valueName: "n"))
    var maxClients = 16

    @OptionGroup var shape: ChannelShapeOptions

    func validate() throws {
        if let timeout, !(timeout > 0 && timeout < 1e9) {
            throw ValidationError("--timeout must be a positive number of seconds, not \(timeout).")
        }
        guard (1...ServiceLayout.maxMembers).contains(maxClients) else {
            throw ValidationError("--max-clients must be between 1 and \(ServiceLayout.maxMembers), not \(maxClients).")
        }
    }

    func execute() throws {
        let name = try segmentName(name)
        let input = try InputSource(path: file)
        defer { input.close() }
        let configuration = RequestResponseConfiguration(
            maxClients: maxClients, ring: RingConfiguration(capacity: shape.capacity.value))
        let client = try RequestClient.open(name, creating: configuration, joinTimeout: .seconds(5))
        defer { client.close() }
        let lines = LineWriter()
        let reader = LineReader(input)
        let wait = timeout.map { Duration.nanoseconds(Int64($0 * 1e9)) }
        var failed = 0
        try reader.forEachLine(maximumLength: client.maxPayloadSize) { line in
            let reply: [UInt8]
            do throws(ChannelError) {
                reply = try client.request(Array(line), timeout: wait)
            } catch {
                switch error {
                case .requestFailed(let reason):
                    failed += 1
                    writeToStandardError("shm request: line \(reader.lineNumber) failed: \(reason)\n")
                    return
                case .timedOut:
                    throw ToolError("no reply to line \(reader.lineNumber) within \(Format.seconds(timeout ?? 0)) s")
                default:
                    throw error
                }
            }
            let shown = reply.last == UInt8(ascii: "\n") ? reply.dropLast() : reply[...]
            try shown.withUnsafeBytes { bytes in try lines.write(bytes) }
        }
        if failed > 0 { throw ToolError("\(Format.count(failed, "request")) failed") }
    }
}
