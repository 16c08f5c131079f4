import ArgumentParser
import SampleSupport
import SharedMemory

/// The shape of a channel that `send` or `recv` creates when it starts first.
struct ChannelShapeOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: ArgumentHelp(
        "The data capacity of a channel this command creates, rounded up to a power of two (at least 4K). An existing channel keeps its own.",
        valueName: "bytes"))
    var capacity: ByteCount = ByteCount(1 << 20)

    func validate() throws {
        guard capacity.value > 0, capacity.value <= 1 << 40 else {
            throw ValidationError("--capacity must be between 1 byte and 1T, not \(capacity.value).")
        }
    }
}
