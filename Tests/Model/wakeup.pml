/*
 * The waiting protocol of a lossless channel ring (RingCore.wait, wake,
 * wakeNow, leaveSleep, forgetDeadSleeper; RingWriter.commit and close;
 * RingReader.release and waitForNext), as a Promela model for spin.
 * scripts/test-spin.sh checks it.
 *
 * One writer publishes MSGS messages into a ring of CAP messages and closes
 * it (closed state, then its role lock released, then an unconditional
 * wake-up); one reader consumes them, and ends when the state is closed and
 * the writer's lock is free. The writer waits for space on the space event
 * and space sleepers; the reader waits for data or the close on the data
 * event and data sleepers. Each role is held by up to GENS processes in turn:
 * a process may die between any two of its steps, and a successor then
 * claims the role and takes back the dead process's sleeper announcement
 * (forgetDeadSleeper), as the role lock lets it do in the code.
 *
 * Memory model: sequential consistency. Every shared word is one variable
 * and every load, store and read-modify-write is one step. The code uses
 * sequentially consistent operations where the argument needs them (the
 * publishing stores, the sleepers increment and loads, the condition loads);
 * the relaxed and acquire/release ones are not weakened here.
 *
 * Abstracted away: message bytes, record headers and padding (a position
 * counts messages); the spin phase of a wait and an outnumbered subscriber's
 * naps (they only test the condition, which the sleep phase tests again, and
 * the spinners word that decides between them is a hint); deadlines and cancellation; the
 * publish/subscribe flavour (several readers, slot scans, the writer freeing
 * dead subscribers); a reader's detach and cancelWait (unconditional wakes,
 * like the close). A peer check that throws peerDied is a caller that waits
 * again: it changes no shared word.
 *
 * The event words carry an announcement in their low bit
 * (SleeperCount.enter(announcingOn:)): a sleeper sets it with a fetch-or,
 * whose result (with the bit) is the value it sleeps on, before it counts
 * itself in; a waker that publishes and loads a sleepers count above 0 then
 * makes the wake-up call only if the bit is set, moving the word to the next
 * even value first (a compare-and-exchange, one step here: a failed one is
 * retried); an unconditional wake-up (close) moves it to the next even value
 * whatever the bit says.
 *
 * The futex is modelled as the kernel does it: FUTEX_WAIT compares the word
 * with the expected value and queues the caller in one step, returning at
 * once when they differ; FUTEX_WAKE (count INT_MAX) dequeues every waiter on
 * the word; a process that dies is dequeued. Without TIMEOUTS a wait's 250 ms
 * slice ends only after the peer role's holder died: each death lets one sleep
 * of the peer end at its slice (the wake-up the dead process may have owed;
 * this is the case the code leaves to the slice and its peer check). Any
 * other lost wake-up is a sleep that never ends: spin reports an invalid end
 * state.
 *
 * Properties:
 *   - no invalid end state: no side sleeps for ever, and the reader ends only
 *     when the ring is closed and it has consumed all MSGS messages (an
 *     assertion at its end);
 *   - a sleepers count is never decremented below 0 (assertions in
 *     leaveSleep and forgetDeadSleeper);
 *   - a waker that loads a count of 0 finds no live process of the other
 *     role announced, and one that loads another count (and so calls
 *     FUTEX_WAKE) finds some process, live or dead, counted (assertions in wake);
 *   - ltl finish: the ring is eventually closed and the reader sees the close
 *     (checked with TIMEOUTS, where sleeps may repeat for ever, under weak
 *     fairness; without TIMEOUTS every run is finite and the end states say it).
 *
 * Compile-time switches (spin -D...):
 *   TIMEOUTS              any sleep may also end at any time (slice ends, EINTR)
 *   ANNOUNCE_COUNT_FIRST  announce with sleepers += 1 before setting the sleeping
 *                         flag (RingCore.wait today sets the flag first)
 *   LEAVE_FLAG_FIRST      leave by clearing the flag before sleepers -= 1
 *                         (RingCore.leaveSleep today decrements first)
 *   COUNT_BEFORE_FLAG     both of the above
 *   MUTANT_NO_RECHECK     the sleeper does not test its condition after announcing itself
 *   MUTANT_NO_BUMP        the waker calls FUTEX_WAKE without changing the event word
 *   MUTANT_NO_ANNOUNCE    the sleeper loads the event word without setting its low bit
 *   MUTANT_WAKE_BEFORE_RELEASE  close wakes the reader before it releases the lock
 *   MSGS, CAP, GENS       sizes (defaults 3, 1, 2)
 */

#ifndef MSGS
#define MSGS 3
#endif
#ifndef CAP
#define CAP 1
#endif
#ifndef GENS
#define GENS 2
#endif

#ifdef COUNT_BEFORE_FLAG
#define ANNOUNCE_COUNT_FIRST
#define LEAVE_FLAG_FIRST
#endif

#define DETACHED 0
#define ATTACHED 1
#define CLOSED   2

/* Shared words of the ring. */
byte wpos;                       /* write position (messages published) */
byte rpos;                       /* the reader's read position */
byte writerState = DETACHED;
byte dataEvent, spaceEvent;      /* event words (futex words) */
byte dataSleepers, spaceSleepers;
bit readerSleeping, writerSleeping;  /* per-role flags: counted as asleep */

/* Kernel: whether the role's process is queued on its event word; whether
 * the writer's role lock (its byte-range lock) is held. */
bit readerQueued, writerQueued;
bit writerHeld;

/* Processes: whether the role has a live holder. */
bit readerLive, writerLive;
bit readerSlice, writerSlice;    /* one sleep of this role may end at its slice: its peer died */
bit killReader, killWriter;      /* the killer's decision, taken at the holder's next step */
byte readerGen, writerGen;       /* holders so far */

/* Ghosts, for the properties. */
bit readerAnnounced, writerAnnounced;   /* a live process between its increment and its decrement */
byte dataCounted, spaceCounted;         /* increments not taken back, by live or dead processes */
bit readerDone;                  /* the reader saw the close after the last message */

/* FUTEX_WAIT(word, seen): returns at once if the word differs, otherwise
 * sleeps until a FUTEX_WAKE (or the end of the slice, see above). */
inline futexWait(word, seen, queued, slice) {
    atomic {
        if
        :: word != seen -> skip              /* EAGAIN */
        :: else -> queued = 1
        fi
    }
    if
    :: queued == 0 -> skip                   /* woken, or never queued */
    :: atomic { queued == 1 && slice -> queued = 0; slice = 0 }  /* slice ends after a peer died */
#ifdef TIMEOUTS
    :: atomic { queued == 1 -> queued = 0 }  /* slice ends, or EINTR */
#endif
    fi
}

/* FUTEX_WAKE(word, INT_MAX): at most one process waits on each word here. */
#define futexWake(queued) queued = 0

/* RingCore.wakeNow: move the event word to the next even value (a
 * compare-and-exchange loop), FUTEX_WAKE. */
inline wakeNow(event, queued) {
#ifndef MUTANT_NO_BUMP
    event = (event | 1) + 1;
#endif
    futexWake(queued)
}

/* RingCore.wake: after a sequentially consistent publish, load the sleepers
 * count (sequentially consistent); when it is not 0, load the event word
 * and, if its announcement bit is set, move it to the next even value and
 * wake (RingCore.wakeAnnounced). */
inline wake(event, sleepers, queued, announced, counted) {
    atomic {
        loaded = sleepers;
        /* The count covers every live sleeper. */
        assert(loaded != 0 || !announced);
        /* No wake-up call when no process, live or dead, is counted. */
        assert(loaded == 0 || counted > 0)
    }
    if
    :: loaded != 0 ->
        atomic {
            if
            :: event & 1 ->
#ifndef MUTANT_NO_BUMP
                event++;
#endif
                loaded = 1
            :: else -> loaded = 0
            fi
        };
        if
        :: loaded != 0 -> futexWake(queued)
        :: else -> skip
        fi
    :: else -> skip
    fi
}

/* The first step of a sleep: announce it on the event word (a sequentially
 * consistent fetch-or of the low bit); the value to sleep on. */
inline announceOn(event, seen) {
#ifdef MUTANT_NO_ANNOUNCE
    seen = event
#else
    atomic { seen = event | 1; event = event | 1 }
#endif
}

/* The second half of the announcement: count this process as a sleeper. */
inline announce(sleepers, sleeping, announced, counted) {
#ifdef ANNOUNCE_COUNT_FIRST
    atomic { sleepers++; counted++; announced = 1 };
    sleeping = 1
#else
    sleeping = 1;
    atomic { sleepers++; counted++; announced = 1 }
#endif
}

/* RingCore.leaveSleep. */
inline leaveSleep(sleepers, sleeping, announced, counted) {
#ifdef LEAVE_FLAG_FIRST
    sleeping = 0;
    atomic { assert(sleepers > 0); sleepers--; counted--; announced = 0 }
#else
    atomic { assert(sleepers > 0); sleepers--; counted--; announced = 0 };
    sleeping = 0
#endif
}

/* RingCore.forgetDeadSleeper, run by a successor that has claimed the role. */
inline forgetDeadSleeper(sleepers, sleeping, counted) {
    atomic { old = sleeping; sleeping = 0 };   /* exchange */
    if
    :: old != 0 ->
        atomic { assert(sleepers > 0); assert(counted > 0); sleepers--; counted-- }
    :: else -> skip
    fi
}

proctype Writer() {
    byte t, seen, loaded;
    bit old;
generation:
    atomic { writerGen++; writerLive = 1; writerHeld = 1 }   /* claims the role */
    {
        forgetDeadSleeper(spaceSleepers, writerSleeping, spaceCounted);
        writerState = ATTACHED;
        do
        :: wpos < MSGS ->
            /* reserve: wait for space */
            t = rpos;
            if
            :: wpos - t >= CAP ->
                do
                :: announceOn(spaceEvent, seen);
                   announce(spaceSleepers, writerSleeping, writerAnnounced, spaceCounted);
#ifndef MUTANT_NO_RECHECK
                   t = rpos;
                   if
                   :: wpos - t < CAP ->
                       leaveSleep(spaceSleepers, writerSleeping, writerAnnounced, spaceCounted);
                       break
                   :: else -> skip
                   fi;
#endif
                   futexWait(spaceEvent, seen, writerQueued, writerSlice);
                   leaveSleep(spaceSleepers, writerSleeping, writerAnnounced, spaceCounted);
                   t = rpos;
                   if
                   :: wpos - t < CAP -> break
                   :: else -> skip
                   fi
                od
            :: else -> skip
            fi;
            /* commit: publish (sequentially consistent store), wake readers */
            wpos++;
            wake(dataEvent, dataSleepers, readerQueued, readerAnnounced, dataCounted)
        :: else -> break
        od;
        /* close: the closed state, then the lock released, then the wake-up */
        writerState = CLOSED;
#ifdef MUTANT_WAKE_BEFORE_RELEASE
        wakeNow(dataEvent, readerQueued);
        writerHeld = 0;
#else
        writerHeld = 0;
        wakeNow(dataEvent, readerQueued);
#endif
        writerLive = 0;
        goto done
    } unless { killWriter };
    /* Died: the kernel dequeues it from the futex; the role lock is free. */
    atomic {
        writerQueued = 0; writerAnnounced = 0; writerHeld = 0;
        writerLive = 0; killWriter = 0;
        readerSlice = 1
    };
    if
    :: writerState != CLOSED -> goto generation   /* a successor takes over */
    :: else -> skip                                /* it had closed: nothing left to do */
    fi;
done:
    skip
}

proctype Reader() {
    byte t, state, seen, loaded, position;
    bit old;
generation:
    atomic { readerGen++; readerLive = 1 }   /* claims the role */
    {
        forgetDeadSleeper(dataSleepers, readerSleeping, dataCounted);
        position = rpos;
        do
        :: t = wpos;                                  /* next() */
           if
           :: t != position ->
               /* receive and release: store the read position, wake the writer */
               position++;
               rpos = position;
               wake(spaceEvent, spaceSleepers, writerQueued, writerAnnounced, spaceCounted)
           :: else ->
               state = writerState;                   /* writerClosed: the state, then the lock */
               if
               :: state == CLOSED && !writerHeld ->
                   t = wpos;
                   if
                   :: t == position -> break          /* closed and drained */
                   :: else -> skip
                   fi
               :: else ->
                   /* wait until wpos != position || writerClosed */
                   do
                   :: announceOn(dataEvent, seen);
                      announce(dataSleepers, readerSleeping, readerAnnounced, dataCounted);
#ifndef MUTANT_NO_RECHECK
                      t = wpos;
                      state = writerState;
                      if
                      :: t != position || (state == CLOSED && !writerHeld) ->
                          leaveSleep(dataSleepers, readerSleeping, readerAnnounced, dataCounted);
                          break
                      :: else -> skip
                      fi;
#endif
                      futexWait(dataEvent, seen, readerQueued, readerSlice);
                      leaveSleep(dataSleepers, readerSleeping, readerAnnounced, dataCounted);
                      t = wpos;
                      state = writerState;
                      if
                      :: t != position || (state == CLOSED && !writerHeld) -> break
                      :: else -> skip
                      fi
                   od
               fi
           fi
        od;
        /* Every message the writer published was consumed. */
        assert(position == MSGS);
        atomic { readerLive = 0; readerDone = 1 };
        goto done
    } unless { killReader };
    /* Died: the kernel dequeues it from the futex; the role lock is free. */
    atomic {
        readerQueued = 0; readerAnnounced = 0;
        readerLive = 0; killReader = 0;
        writerSlice = 1
    };
    goto generation;
done:
    skip
}

/* Death: any holder but the last of its role may die at any step. */
proctype Killer() {
end:
    do
    :: atomic { writerLive && writerGen < GENS && !killWriter -> killWriter = 1 }
    :: atomic { readerLive && readerGen < GENS && !killReader -> killReader = 1 }
    od
}

init {
    atomic {
        run Writer();
        run Reader();
        run Killer()
    }
}

/* Every message is published and consumed, the ring is closed, and the
 * reader sees the close (the writer closes only after its last message). */
ltl finish { <> (readerDone && writerState == CLOSED) }
