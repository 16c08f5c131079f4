/*
 * cshm_bench_internal.h - what the files of the CShmBench target share
 * (not part of its public header): the clock, mappings, starting and
 * reaping the child, bounded waits, and each mechanism's entry points.
 */
#ifndef CSHM_BENCH_INTERNAL_H
#define CSHM_BENCH_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CSHM_BENCH_HIDDEN __attribute__((visibility("hidden")))
CSHM_BENCH_HIDDEN uint64_t cshm_bench_now_ns(void);
CSHM_BENCH_HIDDEN void *cshm_bench_map(size_t size, int shared, int *error);
CSHM_BENCH_HIDDEN void cshm_bench_prefault(void *address, size_t size);
CSHM_BENCH_HIDDEN void cshm_bench_unmap(void *address, size_t size);
CSHM_BENCH_HIDDEN int cshm_bench_spawn(int (*child_main)(void *context,
                                                         pid_t parent),
                                       void *context, pid_t *child);
CSHM_BENCH_HIDDEN int cshm_bench_finish(pid_t child);
CSHM_BENCH_HIDDEN int cshm_bench_abort(pid_t child, int error);
CSHM_BENCH_HIDDEN int cshm_bench_check_peer(pid_t peer, int peer_is_parent,
                                            uint64_t *since_ns);
CSHM_BENCH_HIDDEN int cshm_bench_wait_flag(_Atomic uint32_t *flag, pid_t peer,
                                           int peer_is_parent);
/* Each mechanism, in cshm_bench_ring.c and cshm_bench_pipe.c. */
CSHM_BENCH_HIDDEN int cshm_bench_ring_latency(int futex, size_t message_size,
                                              uint32_t warmup,
                                              uint32_t round_trips,
                                              uint64_t *rtt_ns_out);
CSHM_BENCH_HIDDEN int cshm_bench_ring_throughput(int futex,
                                                 size_t message_size,
                                                 uint64_t count,
                                                 double *seconds_out);
CSHM_BENCH_HIDDEN int cshm_bench_fd_latency(int socket, size_t message_size,
                                            uint32_t warmup,
                                            uint32_t round_trips,
                                            uint64_t *rtt_ns_out);
CSHM_BENCH_HIDDEN int cshm_bench_fd_throughput(int socket,
                                               size_t message_size,
                                               uint64_t count,
                                               double *seconds_out);

/* A CPU hint for spin-wait loops. */
static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Whether a received message carries sequence number `expected` in its
 * first 8 bytes (messages shorter than that carry none). */
static inline int cshm_bench_sequence_is(const unsigned char *message,
                                         size_t size, uint64_t expected) {
    uint64_t sequence = expected;
    if (size >= sizeof sequence)
        __builtin_memcpy(&sequence, message, sizeof sequence);
    return sequence == expected;
}

#endif /* CSHM_BENCH_INTERNAL_H */
