import ArgumentParser
import SharedMemory

/// Checks the options of a command that reads every `seconds` (given as
/// `option`, such as `--interval`) and stops after `count` lines.
func validateRepetition(seconds: Double, option: String, count: Int?) throws(ValidationError) {
    guard seconds >= 0.01 && seconds <= 86400 else {
        throw ValidationError("\(option) must be between 0.01 and 86400 seconds, not \(seconds).")
    }
    if let count, count < 1 { throw ValidationError("--count must be at least 1, not \(count).") }
}

/// What `read` gives, or `nil` when the segment it reads no longer exists
/// (a repeating command then says so and stops).
func unlessRemoved<Value>(_ read: () throws(ChannelError) -> Value) throws(ChannelError) -> Value? {
    do throws(ChannelError) {
        return try read()
    } catch {
        if case .segment(let inner) = error, inner.errno == .noSuchFileOrDirectory { return nil }
        throw error
    }
}
