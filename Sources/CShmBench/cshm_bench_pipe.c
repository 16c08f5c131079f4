/*
 * The kernel baselines: CSHM_BENCH_PIPE and CSHM_BENCH_UNIX_SOCKET.
 *
 * Blocking descriptors, one read()/write() per message (looping over short
 * reads and writes and EINTR), default pipe and socket buffer sizes.
 *
 * Bounds: the parent's socket has SO_RCVTIMEO and SO_SNDTIMEO, so its waits
 * end with ETIMEDOUT. A pipe has no such timeout, so the parent's pipe waits
 * are bounded by the child's life instead: the child (the only other holder
 * of the pipes, which are close-on-exec) arms alarm() and re-arms it as it
 * makes progress, so a stuck child dies of SIGALRM and the parent's read()
 * sees end-of-file, or its write() EPIPE. The child dies with its parent
 * (PR_SET_PDEATHSIG) and sees end-of-file or EPIPE too.
 */
#define _GNU_SOURCE
#include "cshm_bench.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "cshm_bench_internal.h"

#define ALARM_EVERY_MESSAGES 1024u
#define ALARM_EVERY_BYTES ((size_t)16 << 20)
#define CONTROL_SIZE 4096u

/* The descriptors each side uses; -1 where a direction is not needed. With
 * a socket, a side's in and out are the same descriptor. */
struct channel {
    int socket;
    int parent_in, parent_out;
    int child_in, child_out;
};

/* The throughput start handshake, in a shared page. */
struct control {
    _Atomic uint32_t ready;  /* set by the child once set up */
    _Atomic uint32_t go;     /* set by the parent when the clock starts */
};

static void close_pair(int *in, int *out) {
    if (*in >= 0) close(*in);
    if (*out >= 0 && *out != *in) close(*out);
    *in = *out = -1;
}

static void close_parent_ends(struct channel *channel) {
    close_pair(&channel->parent_in, &channel->parent_out);
}

static void close_child_ends(struct channel *channel) {
    close_pair(&channel->child_in, &channel->child_out);
}

/* Child to parent always; parent to child too when `both`. */
static int channel_open(struct channel *channel, int socket, int both) {
    channel->socket = socket;
    channel->parent_in = channel->parent_out = -1;
    channel->child_in = channel->child_out = -1;
    if (socket) {
        int pair[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
            return errno;
        channel->parent_in = pair[0];
        channel->child_out = pair[1];
        if (both) {
            channel->parent_out = pair[0];
            channel->child_in = pair[1];
        }
        struct timeval timeout = {CSHM_BENCH_TIMEOUT_SECONDS, 0};
        if (setsockopt(pair[0], SOL_SOCKET, SO_RCVTIMEO, &timeout,
                       sizeof timeout) != 0 ||
            setsockopt(pair[0], SOL_SOCKET, SO_SNDTIMEO, &timeout,
                       sizeof timeout) != 0) {
            int error = errno;
            close_parent_ends(channel);
            close_child_ends(channel);
            return error;
        }
        return 0;
    }
    int up[2];
    if (pipe2(up, O_CLOEXEC) != 0) return errno;
    channel->parent_in = up[0];
    channel->child_out = up[1];
    if (both) {
        int down[2];
        if (pipe2(down, O_CLOEXEC) != 0) {
            int error = errno;
            close_parent_ends(channel);
            close_child_ends(channel);
            return error;
        }
        channel->child_in = down[0];
        channel->parent_out = down[1];
    }
    return 0;
}

/* --- I/O ---------------------------------------------------------------- */

/* EAGAIN can only come from a socket timeout. */
static int write_all(const struct channel *channel, int fd,
                     const unsigned char *bytes, size_t size) {
    while (size > 0) {
        ssize_t done = channel->socket ? send(fd, bytes, size, MSG_NOSIGNAL)
                                       : write(fd, bytes, size);
        if (done > 0) {
            bytes += done;
            size -= (size_t)done;
        } else if (done == 0) {
            return EIO;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return ETIMEDOUT;
        } else if (errno != EINTR) {
            return errno;
        }
    }
    return 0;
}

static int read_all(int fd, unsigned char *bytes, size_t size) {
    while (size > 0) {
        ssize_t done = read(fd, bytes, size);
        if (done > 0) {
            bytes += done;
            size -= (size_t)done;
        } else if (done == 0) {
            return EPIPE; /* the other side is gone */
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return ETIMEDOUT;
        } else if (errno != EINTR) {
            return errno;
        }
    }
    return 0;
}

/* --- The child's lifeline ----------------------------------------------- */

struct lifeline {
    uint32_t messages;
    size_t bytes;
};

static void lifeline_start(struct lifeline *lifeline) {
    lifeline->messages = 0;
    lifeline->bytes = 0;
    alarm(CSHM_BENCH_TIMEOUT_SECONDS);
}

/* Re-arms the alarm every so often, so only a stuck child runs out. */
static void lifeline_progress(struct lifeline *lifeline, size_t bytes) {
    lifeline->bytes += bytes;
    if (++lifeline->messages >= ALARM_EVERY_MESSAGES ||
        lifeline->bytes >= ALARM_EVERY_BYTES)
        lifeline_start(lifeline);
}

/* --- SIGPIPE ------------------------------------------------------------ */

/* The parent writes to a pipe whose reader may die: block SIGPIPE in this
 * thread meanwhile (write() fails with EPIPE) and consume one it raised. */
struct sigpipe_guard {
    sigset_t set, saved;
    int was_pending;
};

static void sigpipe_block(struct sigpipe_guard *guard) {
    sigemptyset(&guard->set);
    sigaddset(&guard->set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &guard->set, &guard->saved);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    guard->was_pending = sigismember(&pending, SIGPIPE) == 1;
}

static void sigpipe_restore(struct sigpipe_guard *guard) {
    sigset_t pending;
    sigemptyset(&pending);
    if (!guard->was_pending && sigpending(&pending) == 0 &&
        sigismember(&pending, SIGPIPE) == 1) {
        struct timespec now = {0, 0};
        while (sigtimedwait(&guard->set, NULL, &now) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &guard->saved, NULL);
}

/* --- Latency ------------------------------------------------------------ */

struct latency_job {
    struct channel channel;
    size_t message_size;
    uint64_t messages;   /* warm-up + timed */
};

/* Reads each ping whole and writes it back. */
static int latency_child(void *context, pid_t parent) {
    (void)parent;
    struct latency_job *job = context;
    struct channel *channel = &job->channel;
    close_parent_ends(channel);
    struct lifeline lifeline;
    lifeline_start(&lifeline);
    int error = 0;
    unsigned char *message = cshm_bench_map(job->message_size, 0, &error);
    for (uint64_t i = 0; error == 0 && i < job->messages; i++) {
        error = read_all(channel->child_in, message, job->message_size);
        if (error == 0)
            error = write_all(channel, channel->child_out, message,
                              job->message_size);
        lifeline_progress(&lifeline, job->message_size);
    }
    return error;
}

static int latency_parent(struct latency_job *job, uint32_t warmup,
                          uint64_t *rtt_ns_out, unsigned char *message) {
    struct channel *channel = &job->channel;
    size_t size = job->message_size;
    for (uint64_t i = 0; i < job->messages; i++) {
        if (size >= sizeof i) memcpy(message, &i, sizeof i);
        uint64_t start = cshm_bench_now_ns();
        int error = write_all(channel, channel->parent_out, message, size);
        if (error == 0) error = read_all(channel->parent_in, message, size);
        uint64_t end = cshm_bench_now_ns();
        if (error != 0) return error;
        uint64_t echoed = i;
        if (size >= sizeof i) memcpy(&echoed, message, sizeof echoed);
        if (echoed != i) return EPROTO;
        if (i >= warmup) rtt_ns_out[i - warmup] = end - start;
    }
    return 0;
}

int cshm_bench_fd_latency(int socket, size_t message_size, uint32_t warmup,
                          uint32_t round_trips, uint64_t *rtt_ns_out) {
    struct latency_job job = {
        .message_size = message_size,
        .messages = (uint64_t)warmup + round_trips,
    };
    struct sigpipe_guard guard;
    if (!socket) sigpipe_block(&guard);
    int error = channel_open(&job.channel, socket, 1);
    unsigned char *message = NULL;
    if (error == 0) message = cshm_bench_map(message_size, 0, &error);
    pid_t child = 0;
    if (message != NULL) error = cshm_bench_spawn(latency_child, &job, &child);
    close_child_ends(&job.channel);
    if (error == 0) {
        /* First writes after fork copy the pages (copy-on-write): before
         * the timed part. */
        if (round_trips > 0)
            memset(rtt_ns_out, 0, round_trips * sizeof *rtt_ns_out);
        memset(message, 0x5A, message_size);
        error = latency_parent(&job, warmup, rtt_ns_out, message);
        error = error != 0 ? cshm_bench_abort(child, error)
                           : cshm_bench_finish(child);
    }
    close_parent_ends(&job.channel);
    cshm_bench_unmap(message, message_size);
    if (!socket) sigpipe_restore(&guard);
    return error;
}

/* --- Throughput --------------------------------------------------------- */

struct throughput_job {
    struct channel channel;
    struct control *control;
    size_t message_size;
    uint64_t count;
};

/* Sends count messages from its own buffer, each stamped with its number. */
static int throughput_child(void *context, pid_t parent) {
    struct throughput_job *job = context;
    struct channel *channel = &job->channel;
    close_parent_ends(channel);
    struct lifeline lifeline;
    lifeline_start(&lifeline);
    int error = 0;
    unsigned char *message = cshm_bench_map(job->message_size, 0, &error);
    if (message == NULL) return error;
    memset(message, 0xA5, job->message_size);
    atomic_store_explicit(&job->control->ready, 1, memory_order_release);
    error = cshm_bench_wait_flag(&job->control->go, parent, 1);
    lifeline_start(&lifeline);
    for (uint64_t i = 0; error == 0 && i < job->count; i++) {
        if (job->message_size >= sizeof i) memcpy(message, &i, sizeof i);
        error = write_all(channel, channel->child_out, message,
                          job->message_size);
        lifeline_progress(&lifeline, job->message_size);
    }
    return error;
}

static int throughput_parent(struct throughput_job *job, pid_t child,
                             unsigned char *copy, double *seconds_out) {
    int error = cshm_bench_wait_flag(&job->control->ready, child, 0);
    if (error != 0) return error;
    uint64_t start = cshm_bench_now_ns();
    atomic_store_explicit(&job->control->go, 1, memory_order_release);
    for (uint64_t i = 0; i < job->count; i++) {
        error = read_all(job->channel.parent_in, copy, job->message_size);
        if (error != 0) return error;
        if (!cshm_bench_sequence_is(copy, job->message_size, i)) return EPROTO;
    }
    *seconds_out = (double)(cshm_bench_now_ns() - start) / 1e9;
    return 0;
}

int cshm_bench_fd_throughput(int socket, size_t message_size, uint64_t count,
                             double *seconds_out) {
    struct throughput_job job = {
        .message_size = message_size,
        .count = count,
    };
    int error = channel_open(&job.channel, socket, 0);
    if (error == 0) job.control = cshm_bench_map(CONTROL_SIZE, 1, &error);
    unsigned char *copy = NULL;
    if (job.control != NULL) copy = cshm_bench_map(message_size, 0, &error);
    pid_t child = 0;
    if (copy != NULL) error = cshm_bench_spawn(throughput_child, &job, &child);
    close_child_ends(&job.channel);
    if (error == 0) {
        memset(copy, 0, message_size); /* copy-on-write, before timing */
        double seconds = 0;
        error = throughput_parent(&job, child, copy, &seconds);
        error = error != 0 ? cshm_bench_abort(child, error)
                           : cshm_bench_finish(child);
        if (error == 0) *seconds_out = seconds;
    }
    close_parent_ends(&job.channel);
    cshm_bench_unmap(copy, message_size);
    cshm_bench_unmap(job.control, CONTROL_SIZE);
    return error;
}
