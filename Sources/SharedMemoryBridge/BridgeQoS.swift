internal import CCycloneDDS

/// How a bridged service's promise maps to DDS QoS.
///
/// - A lossless ring: RELIABLE, KEEP_ALL, with resource limits of
///   ``queueDepth`` samples on the writer and 4 times that on the reader (a
///   full KEEP_ALL reader rejects samples, which costs retransmissions). When a remote reader falls
///   behind, the writer's history fills, `dds_write` blocks up to
///   ``blockingTime`` and the bridge stops reading its local ring, so the
///   local publisher's wait is where back-pressure ends. Memory stays bounded
///   by the queue depth times the largest message.
/// - An overwrite ring: RELIABLE, KEEP_LAST ``queueDepth``: a writer never
///   blocks, a slow reader loses the oldest samples, and the receiving bridge
///   counts the gaps in sequence numbers as missed.
///
/// Both are VOLATILE: a reader gets what is written after it matched, no history.
struct BridgeQoS: Sendable {
    /// Lossless (KEEP_ALL) or overwrite (KEEP_LAST).
    var lossless: Bool
    /// Samples kept per writer and reader (the KEEP_LAST depth, or the KEEP_ALL resource limit).
    var queueDepth: Int32
    /// How long a blocked `dds_write` waits before the bridge checks for a stop and tries again.
    var blockingTime: Duration = .milliseconds(200)

    /// A bound on the queue from the message size: at most about 64 MiB of
    /// samples per endpoint, and 2 to `requested` samples.
    static func depth(requested: Int, maxMessageSize: Int) -> Int32 {
        let byBytes = (64 << 20) / max(1, maxMessageSize)
        return Int32(clamping: max(2, min(requested, byBytes)))
    }

    /// A new DDS QoS object; the caller deletes it with `dds_delete_qos`.
    func make(ignoreLocal: Bool) -> OpaquePointer? {
        let qos = dds_create_qos()
        let ns = blockingTime.components.seconds * 1_000_000_000 + blockingTime.components.attoseconds / 1_000_000_000
        dds_qset_reliability(qos, DDS_RELIABILITY_RELIABLE, ns)
        dds_qset_durability(qos, DDS_DURABILITY_VOLATILE)
        if lossless {
            dds_qset_history(qos, DDS_HISTORY_KEEP_ALL, 0)
            dds_qset_resource_limits(qos, queueDepth, 1, queueDepth)
        } else {
            dds_qset_history(qos, DDS_HISTORY_KEEP_LAST, queueDepth)
            dds_qset_resource_limits(qos, queueDepth, 1, queueDepth)
        }
        if ignoreLocal { dds_qset_ignorelocal(qos, DDS_IGNORELOCAL_PARTICIPANT) }
        return qos
    }
}
