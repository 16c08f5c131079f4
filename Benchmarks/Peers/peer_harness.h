/*
 * peer_harness.h - the part every peer harness shares (Boost.Interprocess,
 * iceoryx, Cyclone DDS): options, the rows each dimension measures, and
 * the two processes of each row. A peer supplies only how its library moves
 * one message; warm-up, counts, timing, percentiles, the JSON row and the
 * copy-out rule are the ones shm-bench uses (CShmBench's harness code).
 *
 * Every row runs in two fresh processes forked from a single-threaded
 * orchestrator (libraries that start threads or register with a daemon are
 * never forked after they started). Results come back through an anonymous
 * shared mapping. Every wait is bounded: flags through cshm_bench_wait_flag,
 * a peer's own waits by its timeouts, and each child arms alarm() so a stuck
 * one dies (ETIMEDOUT).
 */
#ifndef PEER_HARNESS_H
#define PEER_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cshm_bench.h"

/* C's _Atomic and C++'s std::atomic of a 32-bit word share a layout. */
#ifdef __cplusplus
#include <atomic>
#define PEER_FLAG std::atomic<uint32_t>
extern "C" {
#else
#include <stdatomic.h>
#define PEER_FLAG _Atomic uint32_t
#endif

/* What the two processes of a row share. */
typedef struct peer_shared {
    PEER_FLAG ready[2]; /* each side: connected to the other */
    PEER_FLAG go;       /* the receiver read the clock: send */
    PEER_FLAG stop;     /* idle rows: the wait is over */
    double seconds;            /* throughput: start signal to last message */
    double rss_kb[2];          /* rss rows: VmHWM of the sender, receiver */
    uint64_t samples[];        /* latency: one per timed round trip */
} peer_shared;

/* One row's job, as each side sees it. */
typedef struct peer_job {
    int variant;          /* the peer's own variant number */
    const char *tag;      /* unique per row: use it in names */
    size_t size;          /* message size in bytes */
    uint32_t warmup, round_trips;
    uint64_t count;       /* throughput: messages */
    int in_place;         /* 1: loans, the receiver reads in place */
    int touch_line;       /* 1: loans touch one cache line per side */
    size_t queue_depth;   /* messages the receiver's queue holds */
    peer_shared *shared;
} peer_job;

/* The side indexes of ready[] and rss_kb[]. */
enum { PEER_SENDER = 0, PEER_RECEIVER = 1 };

/* A peer library. Each function runs in a child and returns 0 or an
 * errno value. prepare/cleanup run in the orchestrator (may be NULL). */
typedef struct peer_variant {
    const char *mechanism;
    const char *settings;
    int variant;
    int has_size_sweep; /* copied and loan rows of the size sweep */
    int has_idle;       /* an idle receiver row */
} peer_variant;

typedef struct peer_library {
    const char *name;
    const peer_variant *variants;
    int variant_count;
    int (*prepare)(const peer_job *job);
    void (*cleanup)(const peer_job *job);
    /* Ping-pong: ping times warmup + round_trips round trips into
     * shared->samples (after warmup); echo returns each message. */
    int (*ping)(const peer_job *job);
    int (*echo)(const peer_job *job);
    /* Stream: source sends count messages once shared->go is set; sink
     * sets go after reading the clock, receives (copies out unless
     * in_place) and puts the seconds into shared->seconds. For rss rows
     * each records its VmHWM with peer_record_rss before returning. */
    int (*source)(const peer_job *job);
    int (*sink)(const peer_job *job);
    /* Idle: the receiver waits for one message with the variant's own
     * wait; the sender connects, then sends it once shared->stop is set. */
    int (*idle_sender)(const peer_job *job);
    int (*idle_receiver)(const peer_job *job);
    /* Another process whose CPU counts with an idle row (RouDi), or 0. */
    pid_t daemon_pid;
} peer_library;

/* Runs the harness: parses argv, runs the rows asked for, prints one JSON
 * row per line on stdout. Returns the process exit status. */
int peer_main(const peer_library *library, int argc, char **argv);

/* Helpers for the sides. */
uint64_t peer_now_ns(void);
/* Marks this side ready and waits, bounded, for the other. */
int peer_handshake(const peer_job *job, int side);
/* Waits, bounded, until *flag is set; sets it; reads it. */
int peer_wait(PEER_FLAG *flag);
void peer_set(PEER_FLAG *flag);
int peer_is_set(PEER_FLAG *flag);
/* Whether the bounded wait that started at start_ns is over. */
int peer_expired(uint64_t start_ns);
/* Records this process's VmHWM for side. */
void peer_record_rss(const peer_job *job, int side);
/* Writes / checks the sequence number in a message's first 8 bytes. */
void peer_stamp(void *message, size_t size, uint64_t sequence);
int peer_stamped(const void *message, size_t size, uint64_t sequence);

#ifdef __cplusplus
}
#endif

#endif
