/*
 * The orchestrator every peer harness shares; see peer_harness.h.
 */
#define _GNU_SOURCE
#include "peer_harness.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cshm_bench_internal.h"

/* A child that makes no progress for this long is killed by its alarm. */
#define CHILD_SECONDS 180
#define MAX_SIZES 16
#define MAX_ONLY 32

typedef struct options {
    const char *dimension;
    const char *only[MAX_ONLY];
    int only_count;
    uint32_t warmup, round_trips, sweep_round_trips;
    uint64_t small_messages, large_messages, rss_messages;
    size_t sizes[MAX_SIZES];
    int size_count;
    double idle_seconds;
    pid_t daemon_pid;
} options;

uint64_t peer_now_ns(void) { return cshm_bench_now_ns(); }

int peer_expired(uint64_t start_ns) {
    return cshm_bench_now_ns() - start_ns >
           (uint64_t)CSHM_BENCH_TIMEOUT_SECONDS * 1000000000u;
}

int peer_wait(_Atomic uint32_t *flag) {
    return cshm_bench_wait_flag(flag, getppid(), 1);
}

void peer_set(_Atomic uint32_t *flag) {
    atomic_store_explicit(flag, 1, memory_order_release);
}

int peer_is_set(_Atomic uint32_t *flag) {
    return atomic_load_explicit(flag, memory_order_acquire) != 0;
}

int peer_handshake(const peer_job *job, int side) {
    atomic_store_explicit(&job->shared->ready[side], 1, memory_order_release);
    return peer_wait(&job->shared->ready[1 - side]);
}

void peer_record_rss(const peer_job *job, int side) {
    cshm_bench_usage usage;
    if (cshm_bench_process_usage(getpid(), &usage) == 0)
        job->shared->rss_kb[side] = (double)usage.peak_rss_kb;
}

void peer_stamp(void *message, size_t size, uint64_t sequence) {
    if (size >= sizeof sequence) memcpy(message, &sequence, sizeof sequence);
}

int peer_stamped(const void *message, size_t size, uint64_t sequence) {
    return cshm_bench_sequence_is(message, size, sequence);
}

/* --- Options ------------------------------------------------------------ */

static int parse_number(const char *text, uint64_t low, uint64_t high,
                        uint64_t *value) {
    if (text == NULL || *text < '0' || *text > '9') return 0;
    char *end;
    errno = 0;
    unsigned long long parsed = strtoull(text, &end, 10);
    if (errno != 0 || *end != 0 || parsed < low || parsed > high) return 0;
    *value = parsed;
    return 1;
}

static int usage_error(const char *program, const char *message,
                       const char *value) {
    fprintf(stderr, "%s: %s%s%s\n", program, message, value ? ": " : "",
            value ? value : "");
    fprintf(stderr,
            "usage: %s [--dimension headline|size|idle|rss] [--only M,...]\n"
            "  [--round-trips N] [--warmup N] [--small-messages N]\n"
            "  [--large-messages N] [--sizes B,...] [--sweep-round-trips N]\n"
            "  [--idle-seconds S] [--rss-messages N] [--daemon-pid PID]\n",
            program);
    return 64;
}

static int parse_options(int argc, char **argv, options *o) {
    const char *program = argv[0];
    *o = (options){.dimension = "headline", .warmup = 10000,
                   .round_trips = 100000, .sweep_round_trips = 20000,
                   .small_messages = 2000000, .large_messages = 2000,
                   .rss_messages = 10000, .idle_seconds = 10};
    o->sizes[0] = 64;
    o->size_count = 1;
    for (int i = 1; i < argc; i++) {
        const char *key = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t number = 0;
        if (value == NULL) return usage_error(program, "missing value for", key);
        i++;
        if (strcmp(key, "--dimension") == 0) {
            if (strcmp(value, "headline") && strcmp(value, "size") &&
                strcmp(value, "idle") && strcmp(value, "rss"))
                return usage_error(program, "unknown dimension", value);
            o->dimension = value;
        } else if (strcmp(key, "--only") == 0) {
            char *copy = strdup(value);
            if (copy == NULL) return usage_error(program, "out of memory", NULL);
            for (char *item = strtok(copy, ","); item; item = strtok(NULL, ",")) {
                if (o->only_count == MAX_ONLY)
                    return usage_error(program, "too many --only names", NULL);
                o->only[o->only_count++] = item;
            }
        } else if (strcmp(key, "--sizes") == 0) {
            char *copy = strdup(value);
            if (copy == NULL) return usage_error(program, "out of memory", NULL);
            o->size_count = 0;
            for (char *item = strtok(copy, ","); item; item = strtok(NULL, ",")) {
                if (o->size_count == MAX_SIZES ||
                    !parse_number(item, 8, 16u << 20, &number))
                    return usage_error(program,
                                       "sizes are 8 to 16777216 bytes, at most 16 of them",
                                       value);
                o->sizes[o->size_count++] = (size_t)number;
            }
            if (o->size_count == 0) return usage_error(program, "no sizes", value);
        } else if (strcmp(key, "--round-trips") == 0 ||
                   strcmp(key, "--sweep-round-trips") == 0 ||
                   strcmp(key, "--warmup") == 0) {
            uint64_t low = strcmp(key, "--warmup") == 0 ? 0 : 1;
            if (!parse_number(value, low, 10000000, &number))
                return usage_error(program, "out of range (up to 10000000)", key);
            if (strcmp(key, "--warmup") == 0) o->warmup = (uint32_t)number;
            else if (strcmp(key, "--round-trips") == 0) o->round_trips = (uint32_t)number;
            else o->sweep_round_trips = (uint32_t)number;
        } else if (strcmp(key, "--small-messages") == 0 ||
                   strcmp(key, "--large-messages") == 0 ||
                   strcmp(key, "--rss-messages") == 0) {
            if (!parse_number(value, 1, 1000000000, &number))
                return usage_error(program, "out of range (1 to 1000000000)", key);
            if (key[2] == 's') o->small_messages = number;
            else if (key[2] == 'l') o->large_messages = number;
            else o->rss_messages = number;
        } else if (strcmp(key, "--idle-seconds") == 0) {
            if (!parse_number(value, 1, 600, &number))
                return usage_error(program, "--idle-seconds is 1 to 600", value);
            o->idle_seconds = (double)number;
        } else if (strcmp(key, "--daemon-pid") == 0) {
            if (!parse_number(value, 1, INT_MAX, &number))
                return usage_error(program, "not a process id", value);
            o->daemon_pid = (pid_t)number;
        } else {
            return usage_error(program, "unknown option", key);
        }
    }
    return 0;
}

static int wanted(const options *o, const char *mechanism) {
    if (o->only_count == 0) return 1;
    for (int i = 0; i < o->only_count; i++)
        if (strcmp(o->only[i], mechanism) == 0) return 1;
    return 0;
}

/* --- Children ----------------------------------------------------------- */

typedef struct child_context {
    int (*body)(const peer_job *job);
    const peer_job *job;
} child_context;

static int child_main(void *context, pid_t parent) {
    (void)parent;
    const child_context *child = context;
    alarm(CHILD_SECONDS);
    int error = child->body(child->job);
    fflush(NULL);
    /* exit, not _exit: libraries deregister in their destructors. */
    exit(error >= 0 && error < 256 ? error : EIO);
}

static int status_error(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) return ETIMEDOUT;
    return EIO;
}

/* Waits up to CHILD_SECONDS for a child; kills it after that. */
static int finish(pid_t child) {
    uint64_t start = cshm_bench_now_ns();
    for (;;) {
        int status;
        pid_t result = waitpid(child, &status, WNOHANG);
        if (result == child) return status_error(status);
        if (result < 0 && errno != EINTR) return errno;
        if (cshm_bench_now_ns() - start > (uint64_t)CHILD_SECONDS * 1000000000u)
            return cshm_bench_abort(child, ETIMEDOUT);
        struct timespec nap = {0, 1000000};
        nanosleep(&nap, NULL);
    }
}

/* Runs first and second (each in a child) and, if given, watch in this
 * process while they run; returns the first error. */
static int run_pair(int (*first)(const peer_job *), int (*second)(const peer_job *),
                    const peer_job *job, int (*watch)(const peer_job *, void *, pid_t),
                    void *watch_context) {
    child_context a = {first, job}, b = {second, job};
    pid_t pid_a, pid_b;
    int error = cshm_bench_spawn(child_main, &a, &pid_a);
    if (error != 0) return error;
    error = cshm_bench_spawn(child_main, &b, &pid_b);
    if (error != 0) return cshm_bench_abort(pid_a, error);
    if (watch != NULL) {
        error = watch(job, watch_context, pid_b);
        if (error != 0) {
            cshm_bench_abort(pid_a, error);
            return cshm_bench_abort(pid_b, error);
        }
    }
    error = finish(pid_b);
    if (error != 0) {
        cshm_bench_abort(pid_a, error);
        return error;
    }
    return finish(pid_a);
}

/* --- Rows --------------------------------------------------------------- */

static char tag_buffer[64];
static unsigned row_counter;

static const char *next_tag(void) {
    snprintf(tag_buffer, sizeof tag_buffer, "shm-bench-peer-%d-%u",
             (int)getpid(), ++row_counter);
    return tag_buffer;
}

/* The messages the receiver's queue holds: as many as fit in the bytes the
 * C ring and our channel get for this size (the smallest power of two of
 * at least 64 KiB and four messages), 4 to 256. */
static size_t queue_depth(size_t size) {
    size_t wanted_bytes = 4 * (size + 8), bytes = 65536;
    while (bytes < wanted_bytes) bytes <<= 1;
    size_t depth = bytes / size;
    return depth < 4 ? 4 : depth > 256 ? 256 : depth;
}

static peer_shared *map_shared(size_t samples, size_t *length, int *error) {
    *length = sizeof(peer_shared) + samples * sizeof(uint64_t);
    return cshm_bench_map(*length, 1, error);
}

static int with_prepared(const peer_library *library, peer_job *job,
                         int (*first)(const peer_job *),
                         int (*second)(const peer_job *),
                         int (*watch)(const peer_job *, void *, pid_t), void *context) {
    if (library->prepare) {
        int error = library->prepare(job);
        if (error != 0) return error;
    }
    int error = run_pair(first, second, job, watch, context);
    if (library->cleanup) library->cleanup(job);
    return error;
}

static int latency(const peer_library *library, peer_job job, cshm_bench_row *row) {
    size_t length;
    int error = 0;
    job.shared = map_shared(job.round_trips, &length, &error);
    if (job.shared == NULL) return error;
    job.tag = next_tag();
    error = with_prepared(library, &job, library->echo, library->ping, NULL, NULL);
    if (error == 0)
        cshm_bench_percentiles(job.shared->samples, job.round_trips, &row->p50_ns,
                               &row->p99_ns, &row->p999_ns);
    cshm_bench_unmap(job.shared, length);
    return error;
}

static int throughput(const peer_library *library, peer_job job, double *seconds,
                      double rss[2]) {
    size_t length;
    int error = 0;
    job.shared = map_shared(0, &length, &error);
    if (job.shared == NULL) return error;
    job.tag = next_tag();
    error = with_prepared(library, &job, library->source, library->sink, NULL, NULL);
    if (error == 0) {
        *seconds = job.shared->seconds;
        if (rss) memcpy(rss, job.shared->rss_kb, sizeof job.shared->rss_kb);
        if (!(*seconds > 0)) error = EPROTO;
    }
    cshm_bench_unmap(job.shared, length);
    return error;
}

typedef struct idle_watch {
    double seconds;
    pid_t daemon;
    cshm_bench_usage receiver[2], daemon_usage[2];
} idle_watch;

static void sleep_seconds(double seconds) {
    struct timespec nap = {(time_t)seconds,
                           (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&nap, &nap) != 0 && errno == EINTR) {}
}

/* Measures the idle receiver (run_pair's second child) once both sides are
 * connected, then lets the sender end the wait. */
static int watch_idle(const peer_job *job, void *context, pid_t receiver) {
    idle_watch *watch = context;
    int error = peer_wait(&job->shared->ready[PEER_RECEIVER]);
    if (error == 0) error = peer_wait(&job->shared->ready[PEER_SENDER]);
    if (error != 0) return error;
    sleep_seconds(0.5); /* let the set-up's last wake-ups pass */
    error = cshm_bench_process_usage(receiver, &watch->receiver[0]);
    if (error == 0 && watch->daemon)
        error = cshm_bench_process_usage(watch->daemon, &watch->daemon_usage[0]);
    if (error != 0) return error;
    sleep_seconds(watch->seconds);
    error = cshm_bench_process_usage(receiver, &watch->receiver[1]);
    if (error == 0 && watch->daemon)
        error = cshm_bench_process_usage(watch->daemon, &watch->daemon_usage[1]);
    atomic_store_explicit(&job->shared->stop, 1, memory_order_release);
    return error;
}

static void print_row(const cshm_bench_row *row) {
    char line[2048];
    size_t length = cshm_bench_row_json(row, line, sizeof line);
    if (length < sizeof line) printf("%s\n", line);
    fflush(stdout);
}

static int report(const char *program, const char *mechanism, int error) {
    if (error != 0)
        fprintf(stderr, "%s: %s: %s\n", program, mechanism, strerror(error));
    return error;
}

int peer_main(const peer_library *library, int argc, char **argv) {
    options o;
    int status = parse_options(argc, argv, &o);
    if (status != 0) return status;
    if (o.daemon_pid) ((peer_library *)library)->daemon_pid = o.daemon_pid;
    int failures = 0;
    for (int v = 0; v < library->variant_count; v++) {
        const peer_variant *variant = &library->variants[v];
        peer_job base = {.variant = variant->variant};
        if (strcmp(o.dimension, "headline") == 0 && wanted(&o, variant->mechanism)) {
            cshm_bench_row row;
            cshm_bench_row_init(&row, variant->mechanism, "headline");
            row.size_bytes = 64;
            row.settings = variant->settings;
            peer_job job = base;
            job.size = 64, job.warmup = o.warmup, job.round_trips = o.round_trips;
            job.in_place = 1, job.queue_depth = queue_depth(64);
            int error = latency(library, job, &row);
            double seconds = 0;
            if (error == 0) {
                job.count = o.small_messages;
                error = throughput(library, job, &seconds, NULL);
                row.msgs_per_s = (double)o.small_messages / seconds;
            }
            if (error == 0) {
                job.size = 1 << 20, job.count = o.large_messages;
                job.queue_depth = queue_depth(job.size);
                error = throughput(library, job, &seconds, NULL);
                row.gb_per_s = (double)o.large_messages * (1 << 20) / seconds / 1e9;
            }
            if (report(argv[0], variant->mechanism, error) == 0) print_row(&row);
            else failures++;
        }
        if (strcmp(o.dimension, "size") == 0 && variant->has_size_sweep) {
            for (int loan = 0; loan < 2; loan++) {
                char mechanism[128];
                snprintf(mechanism, sizeof mechanism, "%s/%s", variant->mechanism,
                         loan ? "loan" : "copy");
                if (!wanted(&o, mechanism) && !wanted(&o, variant->mechanism)) continue;
                for (int s = 0; s < o.size_count; s++) {
                    cshm_bench_row row;
                    cshm_bench_row_init(&row, mechanism, "size");
                    row.settings = variant->settings;
                    peer_job job = base;
                    job.size = o.sizes[s];
                    job.warmup = cshm_bench_sweep_round_trips(o.sweep_round_trips, job.size) / 10;
                    job.round_trips = cshm_bench_sweep_round_trips(o.sweep_round_trips, job.size);
                    job.in_place = loan, job.touch_line = loan;
                    job.queue_depth = queue_depth(job.size);
                    row.size_bytes = job.size;
                    if (report(argv[0], mechanism, latency(library, job, &row)) == 0)
                        print_row(&row);
                    else failures++;
                }
            }
        }
        if (strcmp(o.dimension, "idle") == 0 && variant->has_idle &&
            wanted(&o, variant->mechanism)) {
            size_t length;
            int error = 0;
            peer_job job = base;
            job.size = 64, job.in_place = 1, job.queue_depth = queue_depth(64);
            job.shared = map_shared(0, &length, &error);
            if (job.shared == NULL) return report(argv[0], "idle", error);
            job.tag = next_tag();
            idle_watch watch = {.seconds = o.idle_seconds, .daemon = library->daemon_pid};
            error = with_prepared(library, &job, library->idle_sender,
                                  library->idle_receiver, watch_idle, &watch);
            cshm_bench_unmap(job.shared, length);
            if (report(argv[0], variant->mechanism, error) == 0) {
                cshm_bench_row row;
                cshm_bench_row_init(&row, variant->mechanism, "idle");
                row.settings = variant->settings;
                row.idle_cpu_s = watch.receiver[1].cpu_seconds - watch.receiver[0].cpu_seconds;
                row.wakeups_per_s = (double)(watch.receiver[1].voluntary_switches -
                                             watch.receiver[0].voluntary_switches) /
                                    o.idle_seconds;
                print_row(&row);
                if (watch.daemon) {
                    char mechanism[128];
                    snprintf(mechanism, sizeof mechanism, "%s+daemon", variant->mechanism);
                    row.mechanism = mechanism;
                    row.settings = "the waiting receiver and the library's daemon together";
                    row.idle_cpu_s += watch.daemon_usage[1].cpu_seconds -
                                      watch.daemon_usage[0].cpu_seconds;
                    row.wakeups_per_s += (double)(watch.daemon_usage[1].voluntary_switches -
                                                  watch.daemon_usage[0].voluntary_switches) /
                                         o.idle_seconds;
                    print_row(&row);
                }
            } else failures++;
        }
        if (strcmp(o.dimension, "rss") == 0 && wanted(&o, variant->mechanism)) {
            peer_job job = base;
            job.size = 64, job.count = o.rss_messages, job.in_place = 1;
            job.queue_depth = queue_depth(64);
            double seconds = 0, rss[2] = {0, 0};
            int error = throughput(library, job, &seconds, rss);
            if (report(argv[0], variant->mechanism, error) == 0) {
                cshm_bench_row row;
                cshm_bench_row_init(&row, variant->mechanism, "rss");
                row.size_bytes = 64;
                row.settings = variant->settings;
                row.rss_sender_kb = rss[PEER_SENDER];
                row.rss_receiver_kb = rss[PEER_RECEIVER];
                print_row(&row);
            } else failures++;
        }
    }
    return failures ? 1 : 0;
}
