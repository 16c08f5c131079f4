import Glibc
import Synchronization

extension ServiceSegment {
    /// What a joining member learns: its slot and its session number.
    struct Membership: Hashable, Sendable {
        var member: Int
        var session: UInt32
    }

    /// Joins as a member (a sender, publisher or client): takes a member
    /// slot whose lock no process holds and whose rings no other role is
    /// attached to, and resets its rings for a new session. Waits up to
    /// `timeout` for a slot to come free (a receiver may still be draining
    /// what a departed sender left).
    ///
    /// The caller holds the member lock on return, and claims its own roles
    /// in the rings next; it calls ``leave(_:)`` when done.
    func join(role: String, timeout: Duration) throws(ChannelError) -> Membership {
        let deadline = ContinuousClock.now + timeout
        while true {
            for member in 0..<memberCount {
                guard try tryLock(ServiceLayout.memberLockByte(member)) else { continue }
                let session: UInt32?
                do { session = try reset(member) } catch {
                    unlock(ServiceLayout.memberLockByte(member))
                    throw error
                }
                if let session {
                    announceMembership()
                    return Membership(member: member, session: session)
                }
                unlock(ServiceLayout.memberLockByte(member))
            }
            if ContinuousClock.now >= deadline {
                throw .busy("all \(memberCount) \(role) slots of \(name.posixName) are taken")
            }
            // Slots come free when a member leaves or a receiver finishes draining one.
            let seen = membershipEvent.pointee.load(ordering: .acquiring)
            try? system.futexWait(UnsafeMutableRawPointer(membershipEvent).assumingMemoryBound(to: UInt32.self),
                                  expected: seen, timeout: min(.milliseconds(20), deadline - .now))
        }
    }

    /// Leaves member slot `member`: the caller has released its roles in the rings.
    func leave(_ member: Int) {
        unlock(ServiceLayout.memberLockByte(member))
        announceMembership()
    }

    /// Resets member slot `member`'s rings for a new session, if no other
    /// role is attached to them and (many-to-one) nothing a former sender
    /// sent is left unread. The caller holds the member's lock.
    /// - Returns: the new session, or `nil` when the slot cannot be reset now.
    private func reset(_ member: Int) throws(ChannelError) -> UInt32? {
        // Every lock byte of the other side's roles, so that no owner or
        // subscriber attaches while the rings are reset.
        var held: [(byte: UInt64, length: UInt64)] = []
        defer { for lock in held { unlock(lock.byte, length: lock.length) } }
        for ring in 0..<pattern.ringsPerMember {
            let lockBase = ringLockBase(member: member, ring: ring)
            // Ring 0 is written by the member: lock its reader slots. Ring 1
            // (a response ring) is read by the member: lock its writer.
            let lock = ring == 0 ? (byte: lockBase + 1, length: UInt64(readerSlots)) : (byte: lockBase, length: UInt64(1))
            guard try tryLock(lock.byte, length: lock.length) else { return nil }
            held.append(lock)
        }
        var cores: [RingCore] = []
        for ring in 0..<pattern.ringsPerMember { cores.append(try self.ring(member: member, ring: ring)) }
        let state = memberWord(member, ServiceLayout.MemberOffset.state)
        if pattern == .manyToOne, state.pointee.load(ordering: .acquiring) == ServiceLayout.MemberState.active.rawValue {
            // A departed sender's messages belong to the receiver: keep them until read.
            let core = cores[0]
            let read = core.slotWord64(0, RingLayout.SlotOffset.readPosition).pointee.load(ordering: .acquiring)
            if read != core.writePosition.pointee.load(ordering: .acquiring) { return nil }
        }
        // "Free" first: a joiner that dies half-way leaves a slot the next one resets.
        state.pointee.store(ServiceLayout.MemberState.free.rawValue, ordering: .sequentiallyConsistent)
        for core in cores { core.resetForNewSession() }
        let session = UInt32(truncatingIfNeeded: sessions.pointee.wrappingAdd(1, ordering: .sequentiallyConsistent).newValue)
        memberWord(member, ServiceLayout.MemberOffset.session).pointee.store(session, ordering: .relaxed)
        memberWord(member, ServiceLayout.MemberOffset.pid).pointee.store(UInt32(bitPattern: getpid()), ordering: .relaxed)
        state.pointee.store(ServiceLayout.MemberState.active.rawValue, ordering: .sequentiallyConsistent)
        return session
    }
}

extension RingCore {
    /// Clears a ring for a new member session: positions, counters, the
    /// writer's state and every reader slot (a channel's one cursor is
    /// active again at 0). The configuration words and the event counters
    /// stay. The caller holds the lock of every role but its own, so no
    /// process reads or sleeps on the ring meanwhile.
    func resetForNewSession() {
        for offset in stride(from: RingLayout.Offset.writePosition, to: RingLayout.Offset.dataEvent, by: 8) {
            word64(offset).pointee.store(0, ordering: .relaxed)
        }
        dataSleepers.pointee.store(0, ordering: .relaxed)
        spaceSleepers.pointee.store(0, ordering: .relaxed)
        for slot in 0..<slotCount {
            for offset in stride(from: 0, to: 64, by: 8) { slotWord64(slot, offset).pointee.store(0, ordering: .relaxed) }
        }
        let state: RingLayout.SlotState = flavour == .channel ? .active : .free
        slotState(0).pointee.store(state.rawValue, ordering: .sequentiallyConsistent)
    }
}
