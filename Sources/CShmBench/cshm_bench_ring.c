/*
 * The raw shared-memory ring baselines: CSHM_BENCH_RING_SPIN and
 * CSHM_BENCH_RING_FUTEX.
 *
 * One single-producer single-consumer byte ring per direction, in an
 * anonymous MAP_SHARED mapping made before the fork. head and tail count
 * bytes since the start (never wrap); each lives on its own cache line and
 * each side keeps a cached copy of the other's, re-reading it only when the
 * ring looks full (producer) or empty (consumer). A record is an 8-byte
 * header (the payload length) and the payload, padded to 8 bytes. Records
 * are contiguous: one that does not fit before the end of the ring is
 * preceded by a wrap marker, and starts again at offset 0.
 *
 * Futex mode: a side that must wait sleeps at once. Sleeper: read the event
 * counter, set the sleeping flag, fence (seq_cst), re-check the ring, sleep
 * on the counter value read. Waker: publish head (or tail), fence (seq_cst),
 * and only if the flag is set take it, bump the counter and FUTEX_WAKE.
 * Either the sleeper sees the new index, or the waker sees the flag and the
 * counter moves past the value the sleeper sleeps on: no lost wake-up.
 */
#define _GNU_SOURCE
#include "cshm_bench.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "cshm_bench_internal.h"

#define RECORD_HEADER 8u
#define WRAP_MARKER UINT64_MAX
#define CONTROL_SIZE 4096u        /* the ring's data starts a page in */
#define MIN_CAPACITY (64u * 1024u)
#define SPIN_CHECK_MASK 0xFFFFu   /* look at the clock and peer this often */
#define FUTEX_NAP_NS 100000000L   /* a sleep ends after this to check both */

/* The control block at the start of each ring's mapping. */
struct ring {
    _Alignas(64) _Atomic uint64_t head;         /* written by the producer */
    _Alignas(64) _Atomic uint64_t tail;         /* written by the consumer */
    _Alignas(64) _Atomic uint32_t data_seq;     /* bumped to wake consumer */
    _Atomic uint32_t consumer_sleeping;
    _Alignas(64) _Atomic uint32_t space_seq;    /* bumped to wake producer */
    _Atomic uint32_t producer_sleeping;
    _Alignas(64) _Atomic uint32_t ready;        /* throughput handshake */
    _Atomic uint32_t go;
};
_Static_assert(sizeof(struct ring) <= CONTROL_SIZE, "ring control block");

/* One side's view of a ring: process-local. */
struct side {
    struct ring *ring;
    unsigned char *data;
    uint64_t capacity, mask;
    uint64_t position;   /* producer: head; consumer: tail */
    uint64_t cached;     /* producer: tail; consumer: head */
    uint64_t pending;    /* bytes reserved or peeked, not yet published */
    int futex;
    pid_t peer;
    int peer_is_parent;
};

static uint64_t record_size(uint64_t length) {
    return RECORD_HEADER + ((length + 7u) & ~(uint64_t)7u);
}

/* Smallest power of two >= max(64 KiB, 4 records). */
static uint64_t ring_capacity(size_t message_size) {
    uint64_t capacity = MIN_CAPACITY;
    while (capacity < 4u * record_size(message_size)) capacity <<= 1;
    return capacity;
}

static size_t mapping_size(uint64_t capacity) {
    return CONTROL_SIZE + (size_t)capacity;
}

static struct ring *ring_create(uint64_t capacity, int *error) {
    return cshm_bench_map(mapping_size(capacity), 1, error);
}

static void side_init(struct side *side, struct ring *ring, uint64_t capacity,
                      int futex, pid_t peer, int peer_is_parent) {
    memset(side, 0, sizeof *side);
    side->ring = ring;
    side->data = (unsigned char *)ring + CONTROL_SIZE;
    side->capacity = capacity;
    side->mask = capacity - 1;
    side->futex = futex;
    side->peer = peer;
    side->peer_is_parent = peer_is_parent;
}

/* --- Futex -------------------------------------------------------------- */

/* Sleeps while *word == expected, for at most FUTEX_NAP_NS. Returns 1 when
 * it is time to check on the peer (timeout, signal, error), 0 otherwise. */
static int futex_sleep(_Atomic uint32_t *word, uint32_t expected) {
    struct timespec nap = {0, FUTEX_NAP_NS};
    long result = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, expected,
                          &nap, NULL, 0);
    return result != 0 && errno != EAGAIN;
}

static void futex_wake(_Atomic uint32_t *word) {
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* After publishing an index: wake the other side only if it sleeps. The
 * waker takes the flag (exchange), so a sleeper that takes a while to wake
 * up is woken once, not again on every message meanwhile. That is safe: the
 * sleeper sleeps on the counter it read before setting the flag, and the
 * bump below makes that sleep return at once if it has not begun yet. */
static void wake_if_sleeping(_Atomic uint32_t *sleeping, _Atomic uint32_t *seq) {
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(sleeping, memory_order_relaxed) != 0 &&
        atomic_exchange_explicit(sleeping, 0, memory_order_acq_rel) != 0) {
        atomic_fetch_add_explicit(seq, 1, memory_order_release);
        futex_wake(seq);
    }
}

/* Waits until the index the other side writes (*index) satisfies `ready`;
 * leaves its last value in side->cached. Spins, or sleeps at once. */
static int wait_for(struct side *side, _Atomic uint64_t *index,
                    _Atomic uint32_t *sleeping, _Atomic uint32_t *seq,
                    int (*ready)(const struct side *, uint64_t),
                    uint64_t need) {
    uint64_t since = 0;
    for (uint32_t spins = 1;; spins++) {
        side->cached = atomic_load_explicit(index, memory_order_acquire);
        if (ready(side, need)) return 0;
        if (!side->futex) {
            cpu_relax();
            if ((spins & SPIN_CHECK_MASK) == 0) {
                int error = cshm_bench_check_peer(side->peer,
                                                  side->peer_is_parent, &since);
                if (error != 0) return error;
            }
            continue;
        }
        uint32_t value = atomic_load_explicit(seq, memory_order_acquire);
        atomic_store_explicit(sleeping, 1, memory_order_release);
        atomic_thread_fence(memory_order_seq_cst);
        side->cached = atomic_load_explicit(index, memory_order_acquire);
        if (ready(side, need)) {
            atomic_store_explicit(sleeping, 0, memory_order_relaxed);
            return 0;
        }
        int check = futex_sleep(seq, value);
        atomic_store_explicit(sleeping, 0, memory_order_relaxed);
        if (check) {
            int error = cshm_bench_check_peer(side->peer, side->peer_is_parent,
                                              &since);
            if (error != 0) return error;
        }
    }
}

/* --- Producer ----------------------------------------------------------- */

static int has_space(const struct side *producer, uint64_t need) {
    return producer->capacity - (producer->position - producer->cached) >= need;
}

/* Reserves room for a `length`-byte message; *payload is where to write it.
 * Requires record_size(length) <= capacity / 2. */
static int produce_begin(struct side *producer, uint64_t length,
                         unsigned char **payload) {
    uint64_t record = record_size(length);
    uint64_t offset = producer->position & producer->mask;
    uint64_t padding =
        offset + record > producer->capacity ? producer->capacity - offset : 0;
    if (!has_space(producer, padding + record)) {
        struct ring *ring = producer->ring;
        int error = wait_for(producer, &ring->tail, &ring->producer_sleeping,
                             &ring->space_seq, has_space, padding + record);
        if (error != 0) return error;
    }
    if (padding != 0) {
        uint64_t marker = WRAP_MARKER;
        memcpy(producer->data + offset, &marker, sizeof marker);
        offset = 0;
    }
    memcpy(producer->data + offset, &length, sizeof length);
    *payload = producer->data + offset + RECORD_HEADER;
    producer->pending = padding + record;
    return 0;
}

static void produce_end(struct side *producer) {
    struct ring *ring = producer->ring;
    producer->position += producer->pending;
    atomic_store_explicit(&ring->head, producer->position,
                          memory_order_release);
    if (producer->futex)
        wake_if_sleeping(&ring->consumer_sleeping, &ring->data_seq);
}

/* --- Consumer ----------------------------------------------------------- */

static int has_data(const struct side *consumer, uint64_t need) {
    (void)need;
    return consumer->cached != consumer->position;
}

/* Waits for the next message; *payload and *length describe it in place. */
static int consume_begin(struct side *consumer, unsigned char **payload,
                         uint64_t *length) {
    struct ring *ring = consumer->ring;
    for (;;) {
        if (consumer->cached == consumer->position) {
            int error = wait_for(consumer, &ring->head,
                                 &ring->consumer_sleeping, &ring->data_seq,
                                 has_data, 0);
            if (error != 0) return error;
        }
        uint64_t offset = consumer->position & consumer->mask;
        uint64_t header;
        memcpy(&header, consumer->data + offset, sizeof header);
        if (header == WRAP_MARKER) {
            consumer->position += consumer->capacity - offset;
            continue;
        }
        if (record_size(header) > consumer->capacity - offset) return EPROTO;
        *payload = consumer->data + offset + RECORD_HEADER;
        *length = header;
        consumer->pending = record_size(header);
        return 0;
    }
}

static void consume_end(struct side *consumer) {
    struct ring *ring = consumer->ring;
    consumer->position += consumer->pending;
    atomic_store_explicit(&ring->tail, consumer->position,
                          memory_order_release);
    if (consumer->futex)
        wake_if_sleeping(&ring->producer_sleeping, &ring->space_seq);
}

/* --- Latency: ping ring parent -> child, pong ring child -> parent ------ */

struct latency_job {
    struct ring *ping, *pong;
    uint64_t capacity;
    int futex;
    uint64_t messages;   /* warm-up + timed */
};

/* Echoes every ping back as a pong, copying ring to ring. */
static int latency_child(void *context, pid_t parent) {
    struct latency_job *job = context;
    struct side in, out;
    side_init(&in, job->ping, job->capacity, job->futex, parent, 1);
    side_init(&out, job->pong, job->capacity, job->futex, parent, 1);
    cshm_bench_prefault(job->ping, mapping_size(job->capacity));
    cshm_bench_prefault(job->pong, mapping_size(job->capacity));
    for (uint64_t i = 0; i < job->messages; i++) {
        unsigned char *received = NULL, *reply = NULL;
        uint64_t length;
        int error = consume_begin(&in, &received, &length);
        if (error == 0) error = produce_begin(&out, length, &reply);
        if (error != 0) return error;
        memcpy(reply, received, length);
        produce_end(&out);
        consume_end(&in);
    }
    return 0;
}

/* The parent's side: times each round trip. */
static int latency_parent(struct latency_job *job, pid_t child,
                          size_t message_size, uint32_t warmup,
                          uint64_t *rtt_ns_out, unsigned char *message) {
    struct side out, in;
    side_init(&out, job->ping, job->capacity, job->futex, child, 0);
    side_init(&in, job->pong, job->capacity, job->futex, child, 0);
    for (uint64_t i = 0; i < job->messages; i++) {
        if (message_size >= sizeof i) memcpy(message, &i, sizeof i);
        uint64_t start = cshm_bench_now_ns();
        unsigned char *slot;
        int error = produce_begin(&out, message_size, &slot);
        if (error != 0) return error;
        memcpy(slot, message, message_size);
        produce_end(&out);
        uint64_t length;
        if ((error = consume_begin(&in, &slot, &length)) != 0) return error;
        if (length != message_size) return EPROTO;
        memcpy(message, slot, message_size);
        consume_end(&in);
        uint64_t end = cshm_bench_now_ns();
        uint64_t echoed = i;
        if (message_size >= sizeof i) memcpy(&echoed, message, sizeof echoed);
        if (echoed != i) return EPROTO;
        if (i >= warmup) rtt_ns_out[i - warmup] = end - start;
    }
    return 0;
}

int cshm_bench_ring_latency(int futex, size_t message_size, uint32_t warmup,
                            uint32_t round_trips, uint64_t *rtt_ns_out) {
    struct latency_job job = {
        .capacity = ring_capacity(message_size),
        .futex = futex,
        .messages = (uint64_t)warmup + round_trips,
    };
    size_t size = mapping_size(job.capacity);
    int error = 0;
    job.ping = ring_create(job.capacity, &error);
    if (job.ping != NULL) job.pong = ring_create(job.capacity, &error);
    unsigned char *message = NULL;
    if (job.pong != NULL) message = cshm_bench_map(message_size, 0, &error);
    pid_t child = 0;
    if (message != NULL) error = cshm_bench_spawn(latency_child, &job, &child);
    if (error == 0) {
        /* First writes after fork copy the pages (copy-on-write): before
         * the timed part. */
        if (round_trips > 0)
            memset(rtt_ns_out, 0, round_trips * sizeof *rtt_ns_out);
        memset(message, 0x5A, message_size);
        error = latency_parent(&job, child, message_size, warmup, rtt_ns_out,
                               message);
        error = error != 0 ? cshm_bench_abort(child, error)
                           : cshm_bench_finish(child);
    }
    cshm_bench_unmap(message, message_size);
    cshm_bench_unmap(job.pong, size);
    cshm_bench_unmap(job.ping, size);
    return error;
}

/* --- Throughput: one ring child -> parent ------------------------------- */

struct throughput_job {
    struct ring *ring;
    uint64_t capacity;
    int futex;
    size_t message_size;
    uint64_t count;
};

/* Sends count messages, each copied in place from its own buffer and
 * stamped with its sequence number. */
static int throughput_child(void *context, pid_t parent) {
    struct throughput_job *job = context;
    int error = 0;
    unsigned char *source = cshm_bench_map(job->message_size, 0, &error);
    if (source == NULL) return error;
    memset(source, 0xA5, job->message_size);
    struct side out;
    side_init(&out, job->ring, job->capacity, job->futex, parent, 1);
    cshm_bench_prefault(job->ring, mapping_size(job->capacity));
    atomic_store_explicit(&job->ring->ready, 1, memory_order_release);
    error = cshm_bench_wait_flag(&job->ring->go, parent, 1);
    for (uint64_t i = 0; error == 0 && i < job->count; i++) {
        unsigned char *slot;
        if ((error = produce_begin(&out, job->message_size, &slot)) != 0) break;
        memcpy(slot, source, job->message_size);
        if (job->message_size >= sizeof i) memcpy(slot, &i, sizeof i);
        produce_end(&out);
    }
    return error;
}

/* The parent's side: starts the child, then receives and copies out. */
static int throughput_parent(struct throughput_job *job, pid_t child,
                             unsigned char *copy, double *seconds_out) {
    struct side in;
    side_init(&in, job->ring, job->capacity, job->futex, child, 0);
    int error = cshm_bench_wait_flag(&job->ring->ready, child, 0);
    if (error != 0) return error;
    uint64_t start = cshm_bench_now_ns();
    atomic_store_explicit(&job->ring->go, 1, memory_order_release);
    for (uint64_t i = 0; i < job->count; i++) {
        unsigned char *slot;
        uint64_t length;
        if ((error = consume_begin(&in, &slot, &length)) != 0) return error;
        if (length != job->message_size) return EPROTO;
        memcpy(copy, slot, job->message_size);
        consume_end(&in);
        if (!cshm_bench_sequence_is(copy, job->message_size, i)) return EPROTO;
    }
    *seconds_out = (double)(cshm_bench_now_ns() - start) / 1e9;
    return 0;
}

int cshm_bench_ring_throughput(int futex, size_t message_size, uint64_t count,
                               double *seconds_out) {
    struct throughput_job job = {
        .capacity = ring_capacity(message_size),
        .futex = futex,
        .message_size = message_size,
        .count = count,
    };
    size_t size = mapping_size(job.capacity);
    int error = 0;
    job.ring = ring_create(job.capacity, &error);
    unsigned char *copy = NULL;
    if (job.ring != NULL) copy = cshm_bench_map(message_size, 0, &error);
    pid_t child = 0;
    if (copy != NULL) error = cshm_bench_spawn(throughput_child, &job, &child);
    if (error == 0) {
        memset(copy, 0, message_size); /* copy-on-write, before timing */
        double seconds = 0;
        error = throughput_parent(&job, child, copy, &seconds);
        error = error != 0 ? cshm_bench_abort(child, error)
                           : cshm_bench_finish(child);
        if (error == 0) *seconds_out = seconds;
    }
    cshm_bench_unmap(copy, message_size);
    cshm_bench_unmap(job.ring, size);
    return error;
}

