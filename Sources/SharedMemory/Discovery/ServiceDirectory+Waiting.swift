import Glibc

/// Waiting until a service has its participants.
extension ServiceDirectory {
    /// How often ``waitForParticipants(_:role:count:timeout:backend:)`` asks the kernel again.
    public static let participantPollInterval: Duration = .milliseconds(10)

    /// Waits until at least `count` participants in `role` are alive in the
    /// service `name`, and returns the service as it was then.
    ///
    /// Polls the role locks every ``participantPollInterval`` (reading
    /// only, as ``describe(_:backend:)`` does), and never waits past
    /// `timeout`. A service that does not exist yet, or is still being
    /// created, is waited for too. A `count` of 0 or less is met as soon as
    /// the service exists.
    ///
    /// - Throws: ``ChannelError/timedOut`` when the timeout passes first;
    ///   ``ChannelError/badChannel(_:)`` when `name` is not a service, or
    ///   breaks its layout's rules; ``ChannelError/segment(_:)`` when it
    ///   cannot be opened.
    @discardableResult
    public static func waitForParticipants(
        _ name: SegmentName, role: ServiceParticipant.Role, count: Int = 1, timeout: Duration,
        backend: SharedMemorySegment.Backend = .default
    ) throws(ChannelError) -> ServiceInfo {
        let clock = ContinuousClock()
        // Cut to at most a century, so that now plus it cannot overflow.
        let deadline = clock.now.advanced(by: min(max(.zero, timeout), longestTimeout))
        while true {
            switch lookUp(name, backend: backend) {
            case .success(let info):
                if let problem = info.problem { throw .badChannel(problem) }
                if info.alive(role).count >= count { return info }
            case .failure(.missing), .failure(.initialising):
                break
            case .failure(.refused(let error)):
                throw error
            }
            let now = clock.now
            guard now < deadline else { throw .timedOut }
            let pause = min(participantPollInterval, now.duration(to: deadline))
            let (seconds, attoseconds) = pause.components
            usleep(useconds_t(clamping: seconds * 1_000_000 + attoseconds / 1_000_000_000_000))
        }
    }
}

extension Publisher {
    /// Waits until at least `count` subscribers are attached and alive, as
    /// ``ServiceDirectory/waitForParticipants(_:role:count:timeout:backend:)``
    /// tells it (by the ring's name); throws ``ChannelError/timedOut`` when
    /// `timeout` passes first.
    public func waitForSubscribers(_ count: Int = 1, timeout: Duration) throws(ChannelError) {
        try ServiceDirectory.waitForParticipants(name, role: .subscriber, count: count, timeout: timeout)
    }
}

extension ChannelSender {
    /// Waits until the channel's receiver is attached and alive, as
    /// ``ServiceDirectory/waitForParticipants(_:role:count:timeout:backend:)``
    /// tells it (by the channel's name); throws ``ChannelError/timedOut``
    /// when `timeout` passes first.
    public func waitForReceiver(timeout: Duration) throws(ChannelError) {
        try ServiceDirectory.waitForParticipants(name, role: .receiver, count: 1, timeout: timeout)
    }
}
