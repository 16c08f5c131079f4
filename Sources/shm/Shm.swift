import ArgumentParser

/// `shm`: look into POSIX shared memory and use it from the shell.
@main
struct Shm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shm",
        abstract: "Inspect and use POSIX shared memory: segments, channels and benchmarks.",
        discussion: """
            Names may be given as Local\\NAME, Global\\NAME, /NAME or NAME; all name the POSIX \
            object /NAME, the file /dev/shm/NAME. A name is printed with its backslashes, control \
            characters and bytes that are not UTF-8 escaped: \\\\ for a backslash, \\n, \\t, \\r, and \
            \\xHH for any other such byte (\\x1b for ESC, \\xff); names are read back the same way, so \
            whatever `shm list` prints can be typed to inspect, rm or gc (quote it for the shell: \
            shm rm '/a\\x1bb'). Any other backslash after the prefix is an error. `--json` gives the \
            escaped name and its exact bytes in hexadecimal (name_hex). Sizes, offsets and lengths take K, M and G \
            suffixes (powers of 1024) and 0x for hexadecimal. A failure is explained on standard \
            error and gives exit status 1; a command line that cannot be parsed gives 64.
            """,
        subcommands: [
            ListCommand.self, InspectCommand.self, DumpCommand.self,
            CreateCommand.self, WriteCommand.self, ReadCommand.self,
            SendCommand.self, ReceiveCommand.self, PublishCommand.self, SubscribeCommand.self, ServeCommand.self, RequestCommand.self,
            NotifyCommand.self, ListenCommand.self, WatchCommand.self, HzCommand.self,
            RemoveCommand.self, CollectCommand.self, BenchCommand.self,
        ])
}
