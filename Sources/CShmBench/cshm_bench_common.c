/*
 * The two public entry points, and what every mechanism shares: the clock,
 * mappings, starting the child, bounded waits and reaping.
 *
 * The child runs after fork() in a process that may have had other threads,
 * so from fork to _exit it only makes system calls and touches memory that
 * was set up for it: no malloc, no stdio, no locks.
 */
#define _GNU_SOURCE
#include "cshm_bench.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cshm_bench_internal.h"

#define TIMEOUT_NS ((uint64_t)CSHM_BENCH_TIMEOUT_SECONDS * 1000000000u)
#define PAGE 4096u

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/* --- Public entry points ------------------------------------------------ */

static int valid_size(size_t message_size) {
    return message_size > 0 && message_size <= CSHM_BENCH_MAX_MESSAGE_SIZE;
}

int cshm_bench_latency(cshm_bench_mechanism mechanism, size_t message_size,
                       uint32_t warmup, uint32_t round_trips,
                       uint64_t *rtt_ns_out) {
    if (!valid_size(message_size)) return EINVAL;
    if (round_trips > 0 && rtt_ns_out == NULL) return EINVAL;
    switch (mechanism) {
    case CSHM_BENCH_RING_SPIN:
    case CSHM_BENCH_RING_FUTEX:
        return cshm_bench_ring_latency(mechanism == CSHM_BENCH_RING_FUTEX,
                                       message_size, warmup, round_trips,
                                       rtt_ns_out);
    case CSHM_BENCH_PIPE:
    case CSHM_BENCH_UNIX_SOCKET:
        return cshm_bench_fd_latency(mechanism == CSHM_BENCH_UNIX_SOCKET,
                                     message_size, warmup, round_trips,
                                     rtt_ns_out);
    }
    return EINVAL;
}

int cshm_bench_throughput(cshm_bench_mechanism mechanism,
                          size_t message_size, uint64_t count,
                          double *seconds_out) {
    if (!valid_size(message_size) || seconds_out == NULL) return EINVAL;
    switch (mechanism) {
    case CSHM_BENCH_RING_SPIN:
    case CSHM_BENCH_RING_FUTEX:
        return cshm_bench_ring_throughput(
            mechanism == CSHM_BENCH_RING_FUTEX, message_size, count,
            seconds_out);
    case CSHM_BENCH_PIPE:
    case CSHM_BENCH_UNIX_SOCKET:
        return cshm_bench_fd_throughput(mechanism == CSHM_BENCH_UNIX_SOCKET,
                                        message_size, count, seconds_out);
    }
    return EINVAL;
}

/* --- Clock and memory --------------------------------------------------- */

uint64_t cshm_bench_now_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/* Page tables for the whole range, writable, without changing the contents.
 * A child gets no page-table entries for MAP_SHARED ranges at fork, so it
 * calls this to keep its first-touch faults out of the timed part. */
void cshm_bench_prefault(void *address, size_t size) {
    if (madvise(address, size, MADV_POPULATE_WRITE) == 0) return;
    /* Older kernels: a read per page maps it (writable, for shmem). */
    volatile unsigned char *bytes = address;
    for (size_t offset = 0; offset < size; offset += PAGE) (void)bytes[offset];
}

/* An anonymous mapping, populated; NULL with *error set on failure. */
void *cshm_bench_map(size_t size, int shared, int *error) {
    int flags = (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS |
                MAP_POPULATE;
    void *address = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (address == MAP_FAILED) {
        *error = errno;
        return NULL;
    }
    if (shared) cshm_bench_prefault(address, size);
    return address;
}

void cshm_bench_unmap(void *address, size_t size) {
    if (address != NULL) munmap(address, size);
}

/* --- The child ---------------------------------------------------------- */

/* A child that inherited a signal handler would run the host's code (Swift)
 * in a forked copy of a multi-threaded process: put caught signals back to
 * their defaults. SIGALRM kills (it bounds the child's life), SIGPIPE is
 * ignored (writes fail with EPIPE instead). Nothing is blocked. */
static void reset_child_signals(void) {
    for (int signal_number = 1; signal_number < NSIG; signal_number++) {
        struct sigaction action;
        if (sigaction(signal_number, NULL, &action) != 0) continue;
        if (!(action.sa_flags & SA_SIGINFO) &&
            (action.sa_handler == SIG_DFL || action.sa_handler == SIG_IGN))
            continue;
        signal(signal_number, SIG_DFL);
    }
    signal(SIGALRM, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Forks; the child runs child_main(context, parent) and _exits with what it
 * returns (an errno value, 0 for success). The parent gets the child's pid. */
int cshm_bench_spawn(int (*child_main)(void *context, pid_t parent),
                     void *context, pid_t *child) {
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return errno;
    if (pid == 0) {
        /* Dies with the thread that forked it, so never outlives the call. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(EPIPE);
        reset_child_signals();
        int error = child_main(context, parent);
        _exit(error >= 0 && error < 256 ? error : EIO);
    }
    *child = pid;
    return 0;
}

/* --- Reaping ------------------------------------------------------------ */

static int status_error(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) return ETIMEDOUT;
    return EIO;
}

static int reap(pid_t child, int *status) {
    for (;;) {
        if (waitpid(child, status, 0) == child) return 0;
        if (errno != EINTR) return errno;
    }
}

/* Waits, bounded, for a child that should exit by itself now; returns its
 * error. One that does not exit in time is killed: ETIMEDOUT. */
int cshm_bench_finish(pid_t child) {
    uint64_t start = cshm_bench_now_ns();
    long pause_ns = 20000;
    for (;;) {
        int status;
        pid_t result = waitpid(child, &status, WNOHANG);
        if (result == child) return status_error(status);
        if (result < 0 && errno != EINTR) return errno;
        if (cshm_bench_now_ns() - start > TIMEOUT_NS)
            return cshm_bench_abort(child, ETIMEDOUT);
        struct timespec nap = {0, pause_ns};
        nanosleep(&nap, NULL);
        if (pause_ns < 10000000) pause_ns *= 2;
    }
}

/* Kills and reaps the child after `error` here. Returns the child's own
 * error if it had already failed or timed out, else `error`. */
int cshm_bench_abort(pid_t child, int error) {
    int status;
    kill(child, SIGKILL);
    if (reap(child, &status) != 0) return error;
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) return error;
    int child_error = status_error(status);
    return child_error != 0 ? child_error : error;
}

/* --- Bounded waits ------------------------------------------------------ */

/* Called now and then from a wait. The first call starts the clock in
 * *since_ns (0 before). Returns 0 to keep waiting, ETIMEDOUT after
 * CSHM_BENCH_TIMEOUT_SECONDS, EPIPE if the peer is gone: the parent looks
 * for a child that exited (without reaping it), the child for a new parent. */
int cshm_bench_check_peer(pid_t peer, int peer_is_parent, uint64_t *since_ns) {
    uint64_t now = cshm_bench_now_ns();
    if (*since_ns == 0)
        *since_ns = now;
    else if (now - *since_ns > TIMEOUT_NS)
        return ETIMEDOUT;
    if (peer_is_parent) return getppid() == peer ? 0 : EPIPE;
    siginfo_t info;
    info.si_pid = 0;
    if (waitid(P_PID, (id_t)peer, &info, WEXITED | WNOHANG | WNOWAIT) != 0)
        return errno == EINTR ? 0 : EPIPE;
    return info.si_pid == peer ? EPIPE : 0;
}

/* Spins until *flag is not 0 (the start handshake; never timed). */
int cshm_bench_wait_flag(_Atomic uint32_t *flag, pid_t peer,
                         int peer_is_parent) {
    uint64_t since = 0;
    for (uint32_t spins = 1;; spins++) {
        if (atomic_load_explicit(flag, memory_order_acquire) != 0) return 0;
        cpu_relax();
        if ((spins & 0x3FFF) == 0) {
            int error = cshm_bench_check_peer(peer, peer_is_parent, &since);
            if (error != 0) return error;
        }
    }
}
