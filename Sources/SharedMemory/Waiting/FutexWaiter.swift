import Glibc
import Synchronization

/// The one thread per process that sleeps on many futex words at once for
/// suspended tasks, so that an `async` wait never blocks a thread of Swift's
/// cooperative pool.
///
/// A task registers a shared word, the value it expects the word to hold, a
/// deadline and a continuation (``register(_:word:expected:deadline:continuation:)``);
/// the thread sleeps in `futex_waitv` on every registered word (up to
/// ``FutexWord/maxCount`` less one at once) and on a private control word
/// that registrations bump. It resumes a continuation once its word no
/// longer holds the expected value, a wake-up came, or the deadline passed;
/// ``cancel(_:)`` resumes one at once. Every resumption may be spurious: the
/// task checks its condition again, as after any futex wait.
///
/// Without `futex_waitv` (`ENOSYS`, Linux before 5.16) the thread waits on
/// one word at a time in slices of at most 1 ms and checks the others
/// between slices; registrations beyond the kernel's limit are checked the
/// same way. The thread only reads the words (a load, then the kernel's
/// compare), never writes them, and a registration is removed under the
/// lock before its continuation resumes, so a task may unmap a word's
/// segment as soon as its wait returns.
final class FutexWaiter: @unchecked Sendable {
    /// The waiter of this process; its thread starts with the first registration.
    static let shared = FutexWaiter(system: CShmBackend())

    /// Names one registration, for ``cancel(_:)``.
    typealias Ticket = UInt64

    private struct Registration {
        let word: FutexWord
        let deadline: ContinuousClock.Instant
        let continuation: UnsafeContinuation<Void, Never>
    }

    /// A wait on several words at once (a wait set's): it ends when any of them changes.
    private struct GroupRegistration {
        let words: [FutexWord]
        let deadline: ContinuousClock.Instant
        let continuation: UnsafeContinuation<Void, Never>
    }

    private struct State {
        var registrations: [Ticket: Registration] = [:]
        var groups: [Ticket: GroupRegistration] = [:]
        /// Tickets cancelled before they were registered.
        var cancelledEarly: Set<Ticket> = []
        var threadStarted = false
    }

    private let system: any SharedMemoryBackend
    private let state = Mutex(State())
    private let nextTicket = Atomic<UInt64>(1)
    /// Bumped (and woken) by every change to the registrations; never freed.
    private let control: UnsafeMutablePointer<Atomic<UInt32>>
    /// Set once `futex_waitv` reported `ENOSYS`; tests set it to exercise the fallback.
    let useFallback = Atomic<Bool>(false)

    /// The longest slice the fallback sleeps on one word.
    static let fallbackSlice: Duration = .milliseconds(1)

    init(system: any SharedMemoryBackend) {
        self.system = system
        control = .allocate(capacity: 1)
        control.initialize(to: Atomic(0))
    }

    /// A new ticket for one wait.
    func makeTicket() -> Ticket { nextTicket.wrappingAdd(1, ordering: .relaxed).oldValue }

    /// Registers a wait: `continuation` resumes once the word at `word` no
    /// longer holds `expected` (or a wake-up on it came), at `deadline`, or on
    /// ``cancel(_:)`` of `ticket`, whichever is first.
    func register(
        _ ticket: Ticket, word: UnsafeMutablePointer<UInt32>, expected: UInt32,
        deadline: ContinuousClock.Instant, continuation: UnsafeContinuation<Void, Never>
    ) {
        enqueue(ticket, continuation) { state in
            state.registrations[ticket] = Registration(word: FutexWord(word, expected: expected), deadline: deadline,
                                                       continuation: continuation)
        }
    }

    /// Registers a wait on several words: `continuation` resumes once any
    /// word no longer holds its expected value (or a wake-up on one came), at
    /// `deadline`, or on ``cancel(_:)`` of `ticket`, whichever is first.
    func registerGroup(
        _ ticket: Ticket, words: [FutexWord], deadline: ContinuousClock.Instant,
        continuation: UnsafeContinuation<Void, Never>
    ) {
        enqueue(ticket, continuation) { state in
            state.groups[ticket] = GroupRegistration(words: words, deadline: deadline, continuation: continuation)
        }
    }

    /// Stores a registration with `store` under the lock, unless `ticket` was
    /// cancelled before it came (then `continuation` resumes at once); starts
    /// the waiting thread the first time, and wakes it to read the registrations.
    private func enqueue(
        _ ticket: Ticket, _ continuation: UnsafeContinuation<Void, Never>, store: (inout State) -> Void
    ) {
        let (resumeNow, start) = state.withLock { state -> (Bool, Bool) in
            if state.cancelledEarly.remove(ticket) != nil { return (true, false) }
            store(&state)
            let start = !state.threadStarted
            state.threadStarted = true
            return (false, start)
        }
        if resumeNow {
            continuation.resume()
            return
        }
        if start && !startThread() {
            // No thread: the wait ends at once, and the caller's loop polls.
            cancel(ticket)
            return
        }
        poke()
    }

    /// Suspends the calling task until any of `words` no longer holds its
    /// expected value, a wake-up on one, `deadline`, or the task's
    /// cancellation. It may return early; the caller checks its condition again.
    nonisolated(nonsending) func wait(onAny words: [FutexWord], until deadline: ContinuousClock.Instant) async {
        let ticket = makeTicket()
        await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                registerGroup(ticket, words: words, deadline: deadline, continuation: continuation)
            }
        } onCancel: {
            cancel(ticket)
        }
        if Task.isCancelled { forget(ticket) }
    }

    /// Ends the wait of `ticket` now; a ticket not yet registered ends as soon as it is.
    func cancel(_ ticket: Ticket) {
        let continuation = state.withLock { state -> UnsafeContinuation<Void, Never>? in
            if let group = state.groups.removeValue(forKey: ticket) { return group.continuation }
            guard let registration = state.registrations.removeValue(forKey: ticket) else {
                state.cancelledEarly.insert(ticket)
                return nil
            }
            return registration.continuation
        }
        continuation?.resume()
    }

    /// Forgets a ticket that ``cancel(_:)`` marked after its wait had ended.
    func forget(_ ticket: Ticket) {
        state.withLock { _ = $0.cancelledEarly.remove(ticket) }
    }

    /// Suspends the calling task until the word at `word` no longer holds
    /// `expected`, a wake-up on it, `deadline`, or the task's cancellation.
    /// It may return early; the caller checks its condition again.
    nonisolated(nonsending) func wait(on word: UnsafeMutablePointer<UInt32>, expected: UInt32, until deadline: ContinuousClock.Instant) async {
        let ticket = makeTicket()
        let address = UInt(bitPattern: word)
        await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                register(ticket, word: UnsafeMutablePointer(bitPattern: address)!, expected: expected,
                         deadline: deadline, continuation: continuation)
            }
        } onCancel: {
            cancel(ticket)
        }
        if Task.isCancelled { forget(ticket) }
    }

    /// Wakes the thread so that it reads the registrations again.
    private func poke() {
        control.pointee.wrappingAdd(1, ordering: .releasing)
        _ = try? system.futexWake(UnsafeMutableRawPointer(control).assumingMemoryBound(to: UInt32.self), count: 1)
    }

    private func startThread() -> Bool {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(&thread, nil, { context in
            Unmanaged<FutexWaiter>.fromOpaque(context!).takeRetainedValue().run()
        }, context)
        guard result == 0 else {
            Unmanaged<FutexWaiter>.fromOpaque(context).release()
            state.withLock { $0.threadStarted = false }
            return false
        }
        pthread_detach(thread)
        return true
    }

    // MARK: The waiting thread

    private func run() -> Never {
        let controlWord = UnsafeMutableRawPointer(control).assumingMemoryBound(to: UInt32.self)
        var words: [FutexWord] = []
        words.reserveCapacity(FutexWord.maxCount)
        var due: [UnsafeContinuation<Void, Never>] = []
        while true {
            let controlSeen = control.pointee.load(ordering: .acquiring)
            words.removeAll(keepingCapacity: true)
            words.append(FutexWord(controlWord, expected: controlSeen))
            let now = ContinuousClock.now
            // Resume what is due, and gather the rest.
            let (earliest, overflow) = state.withLock { state -> (ContinuousClock.Instant?, Bool) in
                var earliest: ContinuousClock.Instant?
                var overflow = false
                for (ticket, registration) in state.registrations {
                    let current = UnsafeMutablePointer<Atomic<UInt32>>(bitPattern: registration.word.address)!
                        .pointee.load(ordering: .acquiring)
                    if current != registration.word.expected || registration.deadline <= now {
                        state.registrations.removeValue(forKey: ticket)
                        due.append(registration.continuation)
                        continue
                    }
                    if words.count < FutexWord.maxCount {
                        words.append(registration.word)
                    } else {
                        overflow = true
                    }
                    earliest = min(earliest ?? registration.deadline, registration.deadline)
                }
                for (ticket, group) in state.groups {
                    let changed = group.words.contains { word in
                        UnsafeMutablePointer<Atomic<UInt32>>(bitPattern: word.address)!
                            .pointee.load(ordering: .acquiring) != word.expected
                    }
                    if changed || group.deadline <= now {
                        state.groups.removeValue(forKey: ticket)
                        due.append(group.continuation)
                        continue
                    }
                    for word in group.words {
                        if words.count < FutexWord.maxCount {
                            words.append(word)
                        } else {
                            overflow = true
                        }
                    }
                    earliest = min(earliest ?? group.deadline, group.deadline)
                }
                return (earliest, overflow)
            }
            for continuation in due { continuation.resume() }
            due.removeAll(keepingCapacity: true)
            var timeout = earliest.map { max($0 - now, .zero) }
            if overflow { timeout = min(timeout ?? Self.fallbackSlice, Self.fallbackSlice) }
            sleep(on: words, timeout: timeout)
        }
    }

    /// One sleep on `words` (the control word first), with `futex_waitv` or the fallback.
    private func sleep(on words: [FutexWord], timeout: Duration?) {
        if !useFallback.load(ordering: .relaxed) {
            let result = words.withUnsafeBufferPointer { buffer in
                Result { () throws(Errno) in try system.futexWaitMany(buffer, timeout: timeout) }
            }
            switch result {
            case .success, .failure(.wouldBlock), .failure(.timedOut), .failure(.interrupted):
                return
            case .failure(let error) where error.rawValue == ENOSYS:
                useFallback.store(true, ordering: .relaxed)
            case .failure:
                // A word the kernel cannot read (a segment truncated under
                // this process): wake every wait, whose own checks report it.
                resumeAll()
                let pause = min(timeout ?? Self.fallbackSlice, Self.fallbackSlice)
                _ = try? system.futexWait(words[0].pointer, expected: words[0].expected, timeout: pause)
                return
            }
        }
        // One word at a time: the first registered one (or the control word), in short slices.
        let word = words.count > 1 ? words[1] : words[0]
        let slice = words.count > 1 ? min(timeout ?? Self.fallbackSlice, Self.fallbackSlice) : timeout
        _ = try? system.futexWait(word.pointer, expected: word.expected, timeout: slice)
    }

    private func resumeAll() {
        let continuations = state.withLock { state in
            defer {
                state.registrations.removeAll()
                state.groups.removeAll()
            }
            return state.registrations.values.map(\.continuation) + state.groups.values.map(\.continuation)
        }
        for continuation in continuations { continuation.resume() }
    }
}

extension FutexWord {
    var pointer: UnsafeMutablePointer<UInt32> { UnsafeMutablePointer(bitPattern: address)! }
}
