import Glibc

/// Why a command run for a request gave no reply.
struct CommandFailure: Error {
    let reason: String
}

/// Runs `arguments` (the program found on PATH) once with `input` on its
/// standard input and returns what it wrote to standard output; its standard
/// error is this process's. Input and output go through pipes served with
/// `poll`, so a command that writes before it has read everything cannot
/// deadlock. More output than `limit` bytes, a non-zero exit status or a
/// signal is a failure; so is a program that cannot be started.
func runCommand(_ arguments: [String], input: [UInt8], limit: Int) -> Result<[UInt8], CommandFailure> {
    var toChild: [Int32] = [-1, -1]
    var fromChild: [Int32] = [-1, -1]
    guard pipe(&toChild) == 0 else { return .failure(CommandFailure(reason: "pipe: \(errorText(errno))")) }
    guard pipe(&fromChild) == 0 else {
        toChild.forEach { close($0) }
        return .failure(CommandFailure(reason: "pipe: \(errorText(errno))"))
    }
    // Close-on-exec on every end: the command gets only the two it is given as 0 and 1.
    for end in toChild + fromChild { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, toChild[0], 0)
    posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1)
    let argv = arguments.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = posix_spawnp(&pid, arguments[0], &actions, nil, argv, environ)
    close(toChild[0])
    close(fromChild[1])
    guard spawned == 0 else {
        close(toChild[1])
        close(fromChild[0])
        return .failure(CommandFailure(reason: "cannot run \(arguments[0]): \(errorText(spawned))"))
    }
    let output = exchange(input: input, writeTo: toChild[1], readFrom: fromChild[0], limit: limit)
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let command = arguments.joined(separator: " ")
    if status & 0x7F != 0 { return .failure(CommandFailure(reason: "\(command) was killed by signal \(status & 0x7F)")) }
    let code = (status >> 8) & 0xFF
    if code != 0 { return .failure(CommandFailure(reason: "\(command) exited with status \(code)")) }
    guard let output else { return .failure(CommandFailure(reason: "\(command) wrote more than the largest reply of \(limit) bytes")) }
    return .success(output)
}

/// Writes `input` and reads the output until the command closes it; `nil`
/// when the output passes `limit` (the pipe is then closed, and the command
/// gets SIGPIPE or EPIPE if it writes on).
private func exchange(input: [UInt8], writeTo inputEnd: Int32, readFrom outputEnd: Int32, limit: Int) -> [UInt8]? {
    var inputOpen = true
    var written = 0
    if input.isEmpty {
        close(inputEnd)
        inputOpen = false
    } else {
        _ = fcntl(inputEnd, F_SETFL, fcntl(inputEnd, F_GETFL) | O_NONBLOCK)
    }
    var output: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    defer {
        if inputOpen { close(inputEnd) }
        close(outputEnd)
    }
    // A command that exits without reading its input must not kill serve.
    signal(SIGPIPE, SIG_IGN)
    while true {
        var descriptors = [pollfd(fd: outputEnd, events: Int16(POLLIN), revents: 0)]
        if inputOpen { descriptors.append(pollfd(fd: inputEnd, events: Int16(POLLOUT), revents: 0)) }
        let ready = poll(&descriptors, nfds_t(descriptors.count), -1)
        if ready < 0 {
            if errno == EINTR { continue }
            return output
        }
        if inputOpen, descriptors.count > 1, descriptors[1].revents != 0 {
            let result = input.withUnsafeBytes { write(inputEnd, $0.baseAddress! + written, $0.count - written) }
            if result > 0 { written += result }
            if (result < 0 && errno != EAGAIN && errno != EINTR) || written == input.count {
                close(inputEnd)
                inputOpen = false
            }
        }
        if descriptors[0].revents != 0 {
            let count = chunk.withUnsafeMutableBytes { read(outputEnd, $0.baseAddress!, $0.count) }
            if count == 0 { return output }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return output
            }
            output.append(contentsOf: chunk[..<count])
            if output.count > limit { return nil }
        }
    }
}
