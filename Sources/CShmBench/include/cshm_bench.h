/*
 * cshm_bench.h - baseline IPC benchmarks in plain C.
 *
 * The shm-bench executable calls these to print well-known baselines beside
 * the channel's own numbers, measured in the same run on the same machine.
 * Each call forks one child process that runs the peer side in plain C and
 * _exits; this process waits for it. No threads, no names in /dev/shm: the
 * shared state is an anonymous MAP_SHARED mapping made before the fork, and
 * descriptors are created close-on-exec.
 *
 * Every function returns 0 on success or an errno value on failure and
 * prints nothing. Failures:
 *   EINVAL     an argument is out of range (see each function)
 *   ETIMEDOUT  a wait here or in the child made no progress for
 *              CSHM_BENCH_TIMEOUT_SECONDS
 *   EPIPE      the child went away in the middle of the run (for example,
 *              it was killed with SIGKILL)
 *   EPROTO     a message arrived with the wrong length or sequence number
 *   EIO        the child was killed by another signal
 *   otherwise  the errno of the system call that failed, here or in the
 *              child (the child reports it as its exit status)
 * On every failure the child has been killed (SIGKILL) and reaped. While a
 * call runs, the calling thread has SIGPIPE blocked (pipe only; a SIGPIPE it
 * causes is consumed, never delivered). Nothing else in the process may
 * reap the child (SIGCHLD set to SIG_IGN, a waitpid(-1, ...) elsewhere):
 * the call would then fail with ECHILD or EPIPE.
 *
 * Every wait is bounded: spin loops look at the clock and at the child now
 * and then, futex sleeps end every 100 ms to do the same, the parent's
 * socket has SO_RCVTIMEO/SO_SNDTIMEO. A pipe has no timeout: there the
 * child arms alarm() and re-arms it as it makes progress, so a stuck child
 * dies and the parent's read() or write() fails (a child stopped with
 * SIGSTOP is the one case this does not bound).
 *
 * Timing uses CLOCK_MONOTONIC. Processes are not pinned to CPUs.
 */
#ifndef CSHM_BENCH_H
#define CSHM_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest message_size accepted (1 GiB). */
#define CSHM_BENCH_MAX_MESSAGE_SIZE 1073741824

/* A wait that makes no progress for this long fails with ETIMEDOUT. */
#define CSHM_BENCH_TIMEOUT_SECONDS 30

typedef enum {
    /* Raw shared-memory ring, both sides spin: the floor. */
    CSHM_BENCH_RING_SPIN = 0,
    /* Raw shared-memory ring; the receiver sleeps on a futex at once
     * whenever the ring is empty (and the sender whenever it is full); the
     * other side wakes it only when it sleeps (event counter + sleeping
     * flag, no lost wake-ups). */
    CSHM_BENCH_RING_FUTEX = 1,
    /* pipe(): two for latency (one each way), one for throughput. */
    CSHM_BENCH_PIPE = 2,
    /* socketpair(AF_UNIX, SOCK_STREAM). */
    CSHM_BENCH_UNIX_SOCKET = 3
} cshm_bench_mechanism;

/*
 * Ping-pong of message_size-byte messages between this process and a forked
 * child, which echoes each message back: warmup untimed round trips, then
 * round_trips timed ones. rtt_ns_out[i] (round_trips entries) receives the
 * time of round trip i in ns: from just before this process starts to send
 * the ping until it has copied the whole pong out into its own buffer.
 *
 * The rings are single-producer single-consumer byte rings, one each way,
 * of the smallest power of two >= max(64 KiB, 4 * (message_size + 8))
 * bytes; messages are written in place and copied out by the receiver.
 *
 * EINVAL: mechanism unknown, message_size 0 or above
 * CSHM_BENCH_MAX_MESSAGE_SIZE, or rtt_ns_out NULL while round_trips > 0.
 */
int cshm_bench_latency(cshm_bench_mechanism mechanism, size_t message_size,
                       uint32_t warmup, uint32_t round_trips,
                       uint64_t *rtt_ns_out);

/*
 * One-way lossless stream of count messages of message_size bytes from a
 * forked child (the sender) to this process (the receiver), which copies
 * every message out into its own buffer (for pipe and socket, read() does
 * that copy) and checks its length and sequence number.
 *
 * *seconds_out = time from the start signal to the last message: the child
 * is started, sets up and reports ready first; then this process reads the
 * clock and tells it to start, and reads the clock again once the last
 * message has been copied out. So count / *seconds_out is messages/s and
 * count * message_size / *seconds_out is bytes/s. Fork, set-up and the
 * child's exit are not timed.
 *
 * EINVAL: mechanism unknown, message_size 0 or above
 * CSHM_BENCH_MAX_MESSAGE_SIZE, or seconds_out NULL.
 */
int cshm_bench_throughput(cshm_bench_mechanism mechanism,
                          size_t message_size, uint64_t count,
                          double *seconds_out);

/* --- What every row shares (cshm_bench_report.c) ------------------------ */

/*
 * Nearest-rank percentiles (p50, p99, p99.9) of count samples; sorts the
 * samples in place. With count 0 every output is NaN. Outputs may be NULL.
 */
void cshm_bench_percentiles(uint64_t *samples, size_t count, double *p50,
                            double *p99, double *p999);

/*
 * One row of any benchmark, ours or a peer's: the one JSON schema of
 * shm-bench and scripts/bench-peers.sh. A NaN figure, a size_bytes or
 * subscribers of 0, prints as null. dimension says which figures the row
 * carries: "headline" (64 B round trip, 64 B msgs/s, 1 MiB GB/s), "size"
 * (round trip of size_bytes messages), "fanout" (messages published per
 * second to `subscribers` subscribers, each receiving every one), "idle"
 * (CPU seconds and wake-ups per second of a receiver waiting with no
 * traffic) or "rss" (peak resident memory of a sender and a receiver).
 * settings is free text naming what the row was measured with.
 */
typedef struct cshm_bench_row {
    const char *mechanism;
    const char *dimension;
    uint64_t size_bytes;
    uint32_t subscribers;
    double p50_ns, p99_ns, p999_ns;
    double msgs_per_s, gb_per_s;
    double idle_cpu_s, wakeups_per_s;
    double rss_sender_kb, rss_receiver_kb;
    const char *settings;
} cshm_bench_row;

/* Every figure NaN, sizes 0, settings NULL (printed as ""). */
void cshm_bench_row_init(cshm_bench_row *row, const char *mechanism,
                         const char *dimension);

/*
 * The row as one JSON object on one line, always with every key, written
 * to buffer (at most capacity bytes, NUL-terminated when capacity > 0).
 * Returns the length the whole object needs, without the NUL: a result
 * >= capacity means it was cut short.
 */
size_t cshm_bench_row_json(const cshm_bench_row *row, char *buffer,
                           size_t capacity);

/*
 * Timed round trips of a size-sweep row of size bytes: base for sizes up to
 * 64 KiB, fewer above (base * 64 KiB / size), at least 100; the warm-up is a
 * tenth of that. shm-bench and the peer harnesses use the same rule.
 */
uint32_t cshm_bench_sweep_round_trips(uint32_t base, size_t size);

/* What /proc says about a process. */
typedef struct cshm_bench_usage {
    double cpu_seconds;            /* utime + stime, all threads */
    uint64_t voluntary_switches;   /* sleeps that ended in a wake-up, all threads */
    uint64_t involuntary_switches;
    uint64_t rss_kb;               /* VmRSS */
    uint64_t peak_rss_kb;          /* VmHWM */
    double cpu_seconds_precise;    /* time on a CPU, all threads, from
                                      /proc/PID/task/TID/schedstat (ns); -1
                                      when the kernel does not say */
} cshm_bench_usage;

/*
 * Reads /proc/PID/stat and /proc/PID/status. 0, or ENOENT (no such
 * process), EPROTO (a file that does not parse) or another errno.
 */
int cshm_bench_process_usage(pid_t pid, cshm_bench_usage *usage);

#ifdef __cplusplus
}
#endif

#endif /* CSHM_BENCH_H */
