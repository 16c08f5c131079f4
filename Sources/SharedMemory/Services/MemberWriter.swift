import Glibc

/// A joined member's ring writer and membership (a many-to-one sender or a
/// topic publisher), released exactly once: the writer closes, then the member leaves.
///
/// `@unchecked Sendable`: like ``RingWriter``, used by one thread at a time
/// (its owner is ~Copyable); `close` runs once, guarded by `isClosed`.
final class MemberWriter: @unchecked Sendable {
    let service: ServiceSegment
    let membership: ServiceSegment.Membership
    let writer: RingWriter
    private var isClosed = false

    /// Joins `service` as a `role` ("sender", "publisher") and claims the writer of its ring 0.
    init(service: ServiceSegment, role: String, joinTimeout: Duration, wait: WaitStrategy) throws(ChannelError) {
        let membership = try service.join(role: role, timeout: joinTimeout)
        do {
            writer = try RingWriter(core: try service.ring(member: membership.member, ring: 0), strategy: wait)
        } catch {
            service.leave(membership.member)
            throw error
        }
        self.service = service
        self.membership = membership
        // A bit a member that died spinning in this slot left behind is cleared; then this one's is used.
        let bit = UInt64(1) << UInt64(membership.member & 63)
        let spinners = service.word64(ServiceLayout.Offset.memberSpinners)
        spinners.pointee.bitwiseAnd(~bit, ordering: .relaxed)
        writer.spinnerGate = RingCore.SpinnerGate(word: spinners, bit: bit)
    }

    deinit { close() }

    /// Closes the ring (readers drain it, then see the end), then leaves the member slot.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        writer.close()
        service.leave(membership.member)
    }

    /// Topics: waits up to `timeout` until every subscriber that holds its
    /// subscriber lock is attached to this ring, so that subscribers present
    /// at the join receive every message. Subscribers find a new publisher
    /// by their scans, within about ``RingCore/checkInterval``.
    func awaitSubscribers(timeout: Duration) {
        let deadline = ContinuousClock.now + min(max(timeout, .zero), .seconds(3600))
        let core = writer.core
        while ContinuousClock.now < deadline {
            var subscribers = 0
            for slot in 0..<service.readerSlots where service.isLocked(ServiceLayout.subscriberLockByte(slot)) { subscribers += 1 }
            var readers = 0
            for slot in 0..<core.slotCount where core.roleIsHeld(slot: slot) { readers += 1 }
            if readers >= subscribers { return }
            usleep(1_000)
        }
    }
}
