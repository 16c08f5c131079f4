/*
 * What every benchmark row shares, whoever measured it (shm-bench or a peer
 * harness under Benchmarks/Peers): percentiles of round-trip samples, one
 * JSON row schema, and the CPU time, wake-ups and resident memory of a
 * process read from /proc.
 */
#define _GNU_SOURCE
#include "cshm_bench.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int compare_u64(const void *left, const void *right) {
    uint64_t a = *(const uint64_t *)left, b = *(const uint64_t *)right;
    return a < b ? -1 : a > b;
}

/* Nearest rank: the smallest sample with at least `fraction` of the samples
 * at or below it. */
static double rank(const uint64_t *sorted, size_t count, double fraction) {
    if (count == 0) return NAN;
    double position = ceil(fraction * (double)count);
    size_t index = position < 1 ? 0 : (size_t)position - 1;
    if (index >= count) index = count - 1;
    return (double)sorted[index];
}

void cshm_bench_percentiles(uint64_t *samples, size_t count, double *p50,
                            double *p99, double *p999) {
    if (samples != NULL && count > 1)
        qsort(samples, count, sizeof *samples, compare_u64);
    if (p50) *p50 = rank(samples, count, 0.5);
    if (p99) *p99 = rank(samples, count, 0.99);
    if (p999) *p999 = rank(samples, count, 0.999);
}

void cshm_bench_row_init(cshm_bench_row *row, const char *mechanism,
                         const char *dimension) {
    memset(row, 0, sizeof *row);
    row->mechanism = mechanism;
    row->dimension = dimension;
    row->p50_ns = row->p99_ns = row->p999_ns = NAN;
    row->msgs_per_s = row->gb_per_s = NAN;
    row->idle_cpu_s = row->wakeups_per_s = NAN;
    row->rss_sender_kb = row->rss_receiver_kb = NAN;
}

/* Appends to buffer[*used..capacity), never past it; *used counts what
 * would have been written. */
static void append(char *buffer, size_t capacity, size_t *used,
                   const char *format, ...) __attribute__((format(printf, 4, 5)));
static void append(char *buffer, size_t capacity, size_t *used,
                   const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    size_t room = *used < capacity ? capacity - *used : 0;
    int length = vsnprintf(room ? buffer + *used : NULL, room, format, arguments);
    va_end(arguments);
    if (length > 0) *used += (size_t)length;
}

static void append_string(char *buffer, size_t capacity, size_t *used,
                          const char *key, const char *value) {
    append(buffer, capacity, used, "\"%s\": \"", key);
    for (const unsigned char *c = (const unsigned char *)(value ? value : "");
         *c; c++) {
        if (*c == '"' || *c == '\\')
            append(buffer, capacity, used, "\\%c", *c);
        else if (*c < 0x20)
            append(buffer, capacity, used, "\\u%04x", *c);
        else
            append(buffer, capacity, used, "%c", *c);
    }
    append(buffer, capacity, used, "\"");
}

static void append_number(char *buffer, size_t capacity, size_t *used,
                          const char *key, double value) {
    if (isfinite(value))
        append(buffer, capacity, used, ", \"%s\": %.3f", key, value);
    else
        append(buffer, capacity, used, ", \"%s\": null", key);
}

size_t cshm_bench_row_json(const cshm_bench_row *row, char *buffer,
                           size_t capacity) {
    size_t used = 0;
    if (capacity > 0) buffer[0] = 0;
    append(buffer, capacity, &used, "{");
    append_string(buffer, capacity, &used, "mechanism", row->mechanism);
    append(buffer, capacity, &used, ", ");
    append_string(buffer, capacity, &used, "dimension", row->dimension);
    if (row->size_bytes > 0)
        append(buffer, capacity, &used, ", \"size_bytes\": %llu",
               (unsigned long long)row->size_bytes);
    else
        append(buffer, capacity, &used, ", \"size_bytes\": null");
    if (row->subscribers > 0)
        append(buffer, capacity, &used, ", \"subscribers\": %u",
               row->subscribers);
    else
        append(buffer, capacity, &used, ", \"subscribers\": null");
    append_number(buffer, capacity, &used, "p50_ns", row->p50_ns);
    append_number(buffer, capacity, &used, "p99_ns", row->p99_ns);
    append_number(buffer, capacity, &used, "p999_ns", row->p999_ns);
    append_number(buffer, capacity, &used, "msgs_per_s", row->msgs_per_s);
    append_number(buffer, capacity, &used, "gb_per_s", row->gb_per_s);
    append_number(buffer, capacity, &used, "idle_cpu_s", row->idle_cpu_s);
    append_number(buffer, capacity, &used, "wakeups_per_s", row->wakeups_per_s);
    append_number(buffer, capacity, &used, "rss_sender_kb", row->rss_sender_kb);
    append_number(buffer, capacity, &used, "rss_receiver_kb",
                  row->rss_receiver_kb);
    append(buffer, capacity, &used, ", ");
    append_string(buffer, capacity, &used, "settings", row->settings);
    append(buffer, capacity, &used, "}");
    return used;
}

uint32_t cshm_bench_sweep_round_trips(uint32_t base, size_t size) {
    uint64_t count = size <= 65536 ? base : (uint64_t)base * 65536 / size;
    return count < 100 ? 100 : (uint32_t)count;
}

/* Reads a small /proc file into buffer (NUL-terminated); 0 or an errno. */
static int read_small_file(const char *path, char *buffer, size_t capacity) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    size_t used = 0;
    while (used + 1 < capacity) {
        ssize_t got = read(fd, buffer + used, capacity - 1 - used);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            int error = errno;
            close(fd);
            return error;
        }
        if (got == 0) break;
        used += (size_t)got;
    }
    close(fd);
    buffer[used] = 0;
    return 0;
}

/* The number after "key:" in a /proc/PID/status text, or -1. */
static long long status_field(const char *text, const char *key) {
    size_t key_length = strlen(key);
    for (const char *line = text; line && *line;) {
        if (strncmp(line, key, key_length) == 0 && line[key_length] == ':') {
            char *end;
            errno = 0;
            long long value = strtoll(line + key_length + 1, &end, 10);
            return errno == 0 && end != line + key_length + 1 && value >= 0
                       ? value : -1;
        }
        line = strchr(line, '\n');
        if (line) line++;
    }
    return -1;
}

int cshm_bench_process_usage(pid_t pid, cshm_bench_usage *usage) {
    if (pid <= 0 || usage == NULL) return EINVAL;
    char path[64], text[8192];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int error = read_small_file(path, text, sizeof text);
    if (error != 0) return error;
    /* The command name may hold spaces and parentheses: fields start after
     * the last ')'. utime and stime are fields 14 and 15 of the line. */
    const char *rest = strrchr(text, ')');
    if (rest == NULL) return EPROTO;
    unsigned long long utime = 0, stime = 0;
    if (sscanf(rest + 1,
               " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
               &utime, &stime) != 2)
        return EPROTO;
    long ticks = sysconf(_SC_CLK_TCK);
    if (ticks <= 0) ticks = 100;
    usage->cpu_seconds = (double)(utime + stime) / (double)ticks;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    error = read_small_file(path, text, sizeof text);
    if (error != 0) return error;
    long long rss = status_field(text, "VmRSS");
    long long peak = status_field(text, "VmHWM");
    if (rss < 0 || peak < 0) return EPROTO;
    /* Context switches are counted per thread: add up every thread's. */
    usage->voluntary_switches = usage->involuntary_switches = 0;
    unsigned long long on_cpu_ns = 0;
    int precise = 1;
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *tasks = opendir(path);
    if (tasks == NULL) return errno;
    for (struct dirent *entry; (entry = readdir(tasks)) != NULL;) {
        if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
        char task_path[96];
        snprintf(task_path, sizeof task_path, "/proc/%d/task/%.20s/status", (int)pid,
                 entry->d_name);
        if (read_small_file(task_path, text, sizeof text) != 0) continue; /* it ended */
        long long voluntary = status_field(text, "voluntary_ctxt_switches");
        long long involuntary = status_field(text, "nonvoluntary_ctxt_switches");
        if (voluntary < 0 || involuntary < 0) {
            closedir(tasks);
            return EPROTO;
        }
        usage->voluntary_switches += (uint64_t)voluntary;
        usage->involuntary_switches += (uint64_t)involuntary;
        /* schedstat: nanoseconds on a CPU, first of three numbers. */
        snprintf(task_path, sizeof task_path, "/proc/%d/task/%.20s/schedstat", (int)pid,
                 entry->d_name);
        unsigned long long task_ns = 0;
        if (read_small_file(task_path, text, sizeof text) == 0 &&
            sscanf(text, "%llu", &task_ns) == 1)
            on_cpu_ns += task_ns;
        else
            precise = 0;
    }
    closedir(tasks);
    usage->cpu_seconds_precise = precise ? (double)on_cpu_ns / 1e9 : -1;
    usage->rss_kb = (uint64_t)rss;
    usage->peak_rss_kb = (uint64_t)peak;
    return 0;
}
