import ArgumentParser
import Glibc
import SampleSupport
import SharedMemory

/// `shm serve NAME --echo` or `shm serve NAME -- COMMAND [ARG...]`: a request/response server.
struct ServeCommand: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a request/response service: echo each request, or answer it with a command's output.",
        discussion: """
            With --echo each reply is the request itself. With `-- COMMAND [ARG...]` COMMAND runs \
            once per request (found on PATH), with the request on standard input; what it writes to \
            standard output is the reply, and what it writes to standard error goes to serve's. A \
            command that exits with a non-zero status, is killed, or writes more than the largest \
            reply is answered with an error reply (`shm request` prints it on standard error); \
            serve goes on with the next request. Requests are served one at a time, clients in turn.

            The service is created if it does not exist (`shm request` may start first). serve runs \
            until --count requests are answered, or until SIGINT or SIGTERM (status 130 or 143): \
            clients waiting for a reply then get an error, and another `shm serve` may take over.
            """)

    @Argument(help: "The service's name.")
    var name: String

    @Flag(help: "Reply with each request itself.")
    var echo = false

    @Option(help: ArgumentHelp("Client slots of a service this command creates (1 to 64).", valueName: "n"))
    var maxClients = 16

    @Option(help: ArgumentHelp("Stop after answering this many requests.", valueName: "n"))
    var count: Int?

    @OptionGroup var shape: ChannelShapeOptions

    @Argument(parsing: .postTerminator, help: ArgumentHelp("The command that answers each request, after `--`.", valueName: "command"))
    var command: [String] = []

    func validate() throws {
        guard echo != !command.isEmpty else {
            throw ValidationError("give either --echo or `-- COMMAND [ARG...]`.")
        }
        guard (1...ServiceLayout.maxMembers).contains(maxClients) else {
            throw ValidationError("--max-clients must be between 1 and \(ServiceLayout.maxMembers), not \(maxClients).")
        }
        if let count, count < 1 { throw ValidationError("--count must be at least 1, not \(count).") }
    }

    func execute() throws {
        let name = try segmentName(name)
        let interruption = Interruption()
        let configuration = RequestResponseConfiguration(
            maxClients: maxClients, ring: RingConfiguration(capacity: shape.capacity.value))
        let server = try RequestServer.open(name, creating: configuration)
        let maximum = server.maxPayloadSize
        var answered = 0
        while count.map({ answered < $0 }) ?? true {
            if let number = interruption.caughtSignal {
                server.close()
                writeToStandardError("shm serve: stopped by \(signalName(number)) after \(Format.count(answered, "request"))\n")
                throw ExitCode(128 + number)
            }
            let request: IncomingRequest
            do {
                request = try server.nextRequest(timeout: StreamLimits.waitSlice)
            } catch {
                switch error {
                case .timedOut: continue
                case .badChannel(let reason):
                    writeToStandardError("shm serve: dropped a message: \(reason)\n")
                    continue
                default: throw error
                }
            }
            let outcome: Result<[UInt8], CommandFailure> = echo
                ? .success(request.payload)
                : runCommand(command, input: request.payload, limit: maximum)
            do {
                switch outcome {
                case .success(let reply): try server.reply(to: request, reply, timeout: .seconds(10))
                case .failure(let failure): try server.fail(request, reason: failure.reason, timeout: .seconds(10))
                }
            } catch {
                // The client went away meanwhile: its reply is dropped, the others are served.
                writeToStandardError("shm serve: the reply to client \(request.client) was dropped: \(error)\n")
            }
            answered += 1
        }
        server.close()
    }
}
