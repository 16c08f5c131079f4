import ArgumentParser
import Glibc
import SampleSupport
import SharedMemory

extension ReceiveCommand {
    /// `shm recv NAME --senders N`, or `shm recv` on an existing many-to-one
    /// channel: each message of any sender as one line, until the channel
    /// ends (a sender joined once, none is joined now, all is printed).
    func receiveManyToOne(_ name: SegmentName, senders: Int, interruption: Interruption) throws {
        let configuration = ManyToOneConfiguration(maxSenders: senders, ring: RingConfiguration(capacity: shape.capacity.value))
        let receiver = try ManyToOneReceiver.open(name, creating: configuration)
        let lines = LineWriter()
        var patience = StreamLimits.Patience(limits)
        var received = 0
        var ended = false
        do {
            while limits.wantsMore(after: received) {
                try Self.stopIfInterrupted(interruption, received: received, name: name)
                guard let slice = patience.nextSlice() else { throw ChannelError.timedOut }
                let next = try Self.next(receiver, timeout: slice, lines: lines)
                if next == .end {
                    guard limits.count != nil else {
                        ended = true
                        break
                    }
                    // With --count, no sender joined just now is no end: more may join.
                    usleep(10_000)
                    continue
                }
                guard next == .message else { continue }
                received += 1
                patience.restart()
            }
        } catch ChannelError.timedOut {
            throw ToolError("no message arrived on \(name.posixName) within \(Format.seconds(limits.timeout ?? 0)) s (after \(Format.count(received, "message")))")
        }
        if ended {
            try? SharedMemorySegment.remove(name)
        }
    }

    /// Receives one message of any sender and writes its line out before the channel releases it.
    static func next(_ receiver: borrowing ManyToOneReceiver, timeout: Duration, lines: LineWriter) throws(ChannelError) -> Next {
        do throws(ChannelError) {
            let message: Void? = try receiver.receive(timeout: timeout) { bytes, _ in
                do throws(ToolError) {
                    try lines.write(bytes)
                } catch {
                    // Ends the process before the message is released: it stays for the next receiver.
                    abort(ToolError("\(error.message); the message stays in \(receiver.name.posixName) for the next receiver"))
                }
            }
            return message == nil ? .end : .message
        } catch .timedOut {
            return .timedOut
        }
    }
}
