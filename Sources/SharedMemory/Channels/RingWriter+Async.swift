extension RingWriter {
    /// Writes with `attempt` (a write that does not wait: `true` when it
    /// wrote), suspending (never blocking) up to `timeout` until there is
    /// space. Task cancellation ends the wait with `.cancelled` and nothing written.
    nonisolated(nonsending) func writeAsync(timeout: Duration?, _ attempt: () throws(ChannelError) -> Bool) async throws(ChannelError) {
        if try attempt() { return }
        try await writeWaitingAsync(timeout: timeout, attempt)
    }

    /// ``writeAsync(timeout:_:)`` once it has to wait, in a function of its
    /// own so that the fast path's async frame holds no clock instant.
    @inline(never)
    nonisolated(nonsending) private func writeWaitingAsync(timeout: Duration?, _ attempt: () throws(ChannelError) -> Bool) async throws(ChannelError) {
        let deadline = deadline(after: timeout)
        try await core.waitAsync(
            until: attempt,
            event: core.spaceEvent, sleepers: core.spaceSleepers, sleeping: core.sleepingFlag(slot: nil),
            strategy: strategy, deadline: deadline, check: checkReaders)
    }
}
