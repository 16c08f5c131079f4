import ArgumentParser

/// A peer for the channel tests: sends or checks streams of test messages
/// through a channel or a publish/subscribe ring, as a separate process.
@main
struct TestPeerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shm-test-peer",
        abstract: "Send or check test message streams (used by the test suite).",
        discussion: """
            Exit status: 0 when the stream ended as expected, 2 when a strict receiver found a \
            lost, duplicated, reordered or torn message, 3 when a channel operation failed \
            (the error is on standard error), 4 when a tolerant receiver got a message whose \
            length is out of bounds, 64 for invalid options.
            """,
        subcommands: [Send.self, Receive.self, Typed.self, ManySend.self, ManyReceive.self, Serve.self, Request.self, Feed.self])
}
