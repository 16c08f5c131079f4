/*
 * cshm_guard_test.c - checks the SIGBUS guard (cshm_guard_* in cshm.h).
 *
 *     cshm_guard_test CASE NAME
 *
 * NAME is a segment name of the caller's (scripts/test-c.sh passes a unique
 * one); the test removes it right after creating it, so nothing is left
 * behind even when a child dies. Each case prints what it checks and exits 0
 * when everything held, 1 otherwise:
 *
 *     absorb-read     a registered mapping whose object is truncated reads
 *                     zeros and its flag is set; a page not yet lost still
 *                     reads the data first; read-only and unaligned views too
 *     absorb-write    the same for writes
 *     unregistered    with the handler installed, a fault in a mapping never
 *                     registered, or unregistered again, still kills the
 *                     process with SIGBUS, and so does a SIGBUS sent with kill
 *     chained         a SIGBUS handler installed before the first
 *                     registration (SA_SIGINFO, then a plain one) still gets
 *                     the faults outside registered ranges, and only those
 *     registry        many registrations and unregistrations; a full
 *                     registry fails with ENOSPC; bad arguments with EINVAL
 *
 * Build: cc -std=c11 -Wall -Wextra -Werror -pedantic -Iinclude \
 *            Tests/CInterop/cshm_guard_test.c libCShm.a -o cshm_guard_test
 */
#define _POSIX_C_SOURCE 200809L /* sigaction, kill, waitpid */

#include "cshm.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *segment_name;
static int failures = 0;

/* Prints "ok" or "FAILED" with the description; counts failures. */
static void expect(int condition, const char *description) {
    printf("%s  %s\n", condition ? "ok    " : "FAILED", description);
    fflush(stdout);
    if (!condition) failures++;
}

/* Stops at once when a setup call fails: nothing after it would mean anything. */
static void require(int error, const char *call) {
    if (error == 0) return;
    printf("FAILED  %s: %s\n", call, cshm_error_name(error));
    exit(1);
}

/* A segment of `size` bytes whose name is already removed, mapped from
 * `offset` for `length` bytes; `*fd_out` is a descriptor to truncate it. */
static volatile unsigned char *map_segment(uint64_t size, uint64_t offset, size_t length,
                                           int writable, int *fd_out) {
    int fd;
    void *view;
    require(cshm_open(segment_name, CSHM_READ_WRITE | CSHM_CREATE | CSHM_EXCLUSIVE, 0600, &fd, NULL),
            "cshm_open");
    require(cshm_unlink(segment_name), "cshm_unlink");
    require(cshm_truncate(fd, size), "cshm_truncate");
    void *filler;
    require(cshm_map(fd, 0, (size_t)size, 1, &filler), "cshm_map (fill)");
    memset(filler, 0xA5, (size_t)size);
    require(cshm_unmap(filler, (size_t)size), "cshm_unmap (fill)");
    require(cshm_map(fd, offset, length, writable, &view), "cshm_map");
    *fd_out = fd;
    return (volatile unsigned char *)view;
}

/* Truncates through a second descriptor of the object, as another process would. */
static void truncate_through_copy(int fd, uint64_t size) {
    int copy;
    require(cshm_duplicate(fd, &copy), "cshm_duplicate");
    require(cshm_truncate(copy, size), "cshm_truncate (the peer's)");
    require(cshm_close(copy), "cshm_close (the peer's)");
}

static int all_bytes(volatile unsigned char *view, size_t length, unsigned char value) {
    size_t index;
    for (index = 0; index < length; index++)
        if (view[index] != value) return 0;
    return 1;
}

/* --- absorb-read, absorb-write ---------------------------------------------- */

static void absorb(int writes) {
    size_t page = cshm_page_size();
    int fd, guard;

    /* Two pages, truncated to one: the first still holds the data until the
     * second page faults; then the whole range is zeros. */
    volatile unsigned char *view = map_segment(2 * page, 0, 2 * page, 1, &fd);
    require(cshm_guard_register((void *)view, 2 * page, 1, &guard), "cshm_guard_register");
    const volatile uint32_t *flag = cshm_guard_flag(guard);
    expect(flag != NULL, "cshm_guard_flag gives the word of a registered guard");
    if (flag == NULL) exit(1);
    expect(!cshm_guard_tripped(flag), "a fresh guard is not tripped");
    truncate_through_copy(fd, page);
    expect(view[0] == 0xA5 && !cshm_guard_tripped(flag),
           "after truncation to one page, the first page still reads the data, no trip");
    if (writes) {
        view[page + 10] = 0x5A;
        expect(cshm_guard_tripped(flag), "a write past the new end trips the guard");
        expect(view[page + 10] == 0x5A, "the write landed in the replacement page");
        expect(view[0] == 0, "the whole range is replaced: the first page reads zero");
        view[0] = 7;
        expect(view[0] == 7, "further writes to the range work");
    } else {
        unsigned char byte = view[page + 10];
        expect(cshm_guard_tripped(flag), "a read past the new end trips the guard");
        expect(byte == 0, "the read past the new end gives zero");
        expect(all_bytes(view, 2 * page, 0), "the whole range reads zeros");
    }
    require(cshm_guard_unregister(guard), "cshm_guard_unregister");
    require(cshm_unmap((void *)view, 2 * page), "cshm_unmap");
    require(cshm_close(fd), "cshm_close");

    /* A read-only view at an unaligned offset, registered read-only: the
     * registration covers the whole pages, the fault is in the last one. */
    size_t length = 2 * page + 50;
    view = map_segment(4 * page, 100, length, 0, &fd);
    require(cshm_guard_register((void *)view, length, 0, &guard), "cshm_guard_register (read-only)");
    flag = cshm_guard_flag(guard);
    if (flag == NULL) exit(1);
    truncate_through_copy(fd, 0);
    expect(view[length - 1] == 0 && cshm_guard_tripped(flag),
           "a read-only view at offset 100: the last byte reads zero, guard tripped");
    expect(all_bytes(view, length, 0), "the read-only view reads zeros throughout");
    require(cshm_guard_unregister(guard), "cshm_guard_unregister (read-only)");
    require(cshm_unmap((void *)view, length), "cshm_unmap (read-only)");
    require(cshm_close(fd), "cshm_close (read-only)");

    /* Overlapping registrations: the second page alone (found first), then
     * both pages. A fault in the second page trips both, and the span grows
     * to the whole of both: the first page, still backed, reads zeros too. */
    view = map_segment(2 * page, 0, 2 * page, 1, &fd);
    int whole;
    require(cshm_guard_register((void *)(view + page + 8), 16, 1, &guard), "cshm_guard_register (part)");
    require(cshm_guard_register((void *)view, 2 * page, 1, &whole), "cshm_guard_register (whole)");
    truncate_through_copy(fd, page);
    if (writes) view[page + 8] = 1; else (void)view[page + 8];
    expect(cshm_guard_tripped(cshm_guard_flag(guard)) && cshm_guard_tripped(cshm_guard_flag(whole)),
           "overlapping registrations both trip");
    expect(view[0] == 0, "the replaced span covers the larger registration: its first page reads zero");
    require(cshm_guard_unregister(whole), "cshm_guard_unregister (whole)");
    require(cshm_guard_unregister(guard), "cshm_guard_unregister (part)");
    require(cshm_unmap((void *)view, 2 * page), "cshm_unmap (overlapping)");
    require(cshm_close(fd), "cshm_close (overlapping)");
}

/* --- unregistered, chained ---------------------------------------------------- */

/* Runs `body` in a child; returns its wait status. */
static int in_child(void (*body)(void)) {
    fflush(stdout);
    pid_t child = fork();
    if (child < 0) require(errno, "fork");
    if (child == 0) {
        struct rlimit no_core = {0, 0}; /* a child meant to die leaves no core file */
        setrlimit(RLIMIT_CORE, &no_core);
        body();
        _exit(0);
    }
    int status;
    while (waitpid(child, &status, 0) < 0)
        if (errno != EINTR) require(errno, "waitpid");
    return status;
}

static int killed_by_sigbus(int status) { return WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS; }

/* Installs the guard's handler by registering (and keeping) one page of its own. */
static void install_guard(void) {
    static unsigned char page_buffer[1];
    int guard;
    require(cshm_guard_register(page_buffer, 1, 1, &guard), "cshm_guard_register (install)");
}

/* A fault in a mapping that was never registered. */
static void fault_unregistered(void) {
    int fd;
    size_t page = cshm_page_size();
    install_guard();
    volatile unsigned char *view = map_segment(page, 0, page, 1, &fd);
    truncate_through_copy(fd, 0);
    (void)view[0];
}

/* A fault in a mapping registered, then unregistered again. */
static void fault_after_unregister(void) {
    int fd, guard;
    size_t page = cshm_page_size();
    volatile unsigned char *view = map_segment(page, 0, page, 1, &fd);
    require(cshm_guard_register((void *)view, page, 1, &guard), "cshm_guard_register");
    require(cshm_guard_unregister(guard), "cshm_guard_unregister");
    truncate_through_copy(fd, 0);
    (void)view[0];
}

static void sigbus_from_kill(void) {
    install_guard();
    kill(getpid(), SIGBUS);
}

static void unregistered(void) {
    expect(killed_by_sigbus(in_child(fault_unregistered)),
           "a fault in an unregistered mapping kills the process with SIGBUS");
    expect(killed_by_sigbus(in_child(fault_after_unregister)),
           "a fault in a mapping registered and unregistered again kills it with SIGBUS");
    expect(killed_by_sigbus(in_child(sigbus_from_kill)),
           "a SIGBUS sent with kill still kills the process");
}

enum { SIGINFO_HANDLER_EXIT = 42, PLAIN_HANDLER_EXIT = 43 };

static void earlier_siginfo_handler(int number, siginfo_t *info, void *context) {
    static const char marker[] = "earlier SA_SIGINFO handler called\n";
    (void)context;
    if (number == SIGBUS && info != NULL && info->si_code > 0) {
        (void)!write(STDOUT_FILENO, marker, sizeof marker - 1);
        _exit(SIGINFO_HANDLER_EXIT);
    }
    _exit(1);
}

static void earlier_plain_handler(int number) {
    static const char marker[] = "earlier plain handler called\n";
    if (number == SIGBUS) {
        (void)!write(STDOUT_FILENO, marker, sizeof marker - 1);
        _exit(PLAIN_HANDLER_EXIT);
    }
    _exit(1);
}

/* With an earlier handler: a registered fault is absorbed without it, then
 * an unregistered one reaches it. */
static void fault_with_earlier_handler(int siginfo) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    sigemptyset(&action.sa_mask);
    if (siginfo) {
        action.sa_sigaction = earlier_siginfo_handler;
        action.sa_flags = SA_SIGINFO;
    } else {
        action.sa_handler = earlier_plain_handler;
    }
    require(sigaction(SIGBUS, &action, NULL) == 0 ? 0 : errno, "sigaction");

    int fd, guard;
    size_t page = cshm_page_size();
    volatile unsigned char *guarded = map_segment(page, 0, page, 1, &fd);
    require(cshm_guard_register((void *)guarded, page, 1, &guard), "cshm_guard_register");
    truncate_through_copy(fd, 0);
    if (guarded[0] != 0 || !cshm_guard_tripped(cshm_guard_flag(guard))) _exit(2);
    require(cshm_close(fd), "cshm_close");

    volatile unsigned char *unguarded = map_segment(page, 0, page, 1, &fd);
    truncate_through_copy(fd, 0);
    (void)unguarded[0];
    _exit(3); /* the earlier handler exits; reaching here means it was not called */
}

static void fault_with_siginfo_handler(void) { fault_with_earlier_handler(1); }
static void fault_with_plain_handler(void) { fault_with_earlier_handler(0); }

static int exited_with(int status, int code) { return WIFEXITED(status) && WEXITSTATUS(status) == code; }

static void chained(void) {
    int status = in_child(fault_with_siginfo_handler);
    expect(exited_with(status, SIGINFO_HANDLER_EXIT),
           "an earlier SA_SIGINFO handler misses the registered fault and gets the unregistered one");
    status = in_child(fault_with_plain_handler);
    expect(exited_with(status, PLAIN_HANDLER_EXIT),
           "an earlier plain handler misses the registered fault and gets the unregistered one");
}

/* --- registry ---------------------------------------------------------------- */

static void registry(void) {
    static int ids[CSHM_GUARD_CAPACITY];
    static unsigned char seen[CSHM_GUARD_CAPACITY];
    static unsigned char target[64];
    int index, round, extra, error, distinct = 1, in_range = 1;

    expect(cshm_guard_register(NULL, 10, 1, &extra) == EINVAL, "a NULL address: EINVAL");
    expect(cshm_guard_register(target, 0, 1, &extra) == EINVAL, "a zero length: EINVAL");
    expect(cshm_guard_register(target, SIZE_MAX, 1, &extra) == EINVAL, "a range that wraps: EINVAL");
    expect(cshm_guard_unregister(-1) == EINVAL && cshm_guard_unregister(CSHM_GUARD_CAPACITY) == EINVAL,
           "unregistering an id out of range: EINVAL");
    expect(cshm_guard_flag(0) == NULL, "no flag for an id not registered");

    for (round = 0; round < 3; round++) {
        memset(seen, 0, sizeof seen);
        for (index = 0; index < CSHM_GUARD_CAPACITY; index++) {
            require(cshm_guard_register(target + index % 64, 1, index & 1, &ids[index]), "cshm_guard_register");
            if (ids[index] < 0 || ids[index] >= CSHM_GUARD_CAPACITY) {
                in_range = 0;
            } else {
                if (seen[ids[index]]) distinct = 0;
                seen[ids[index]] = 1;
            }
        }
        error = cshm_guard_register(target, 1, 1, &extra);
        if (round == 0) {
            expect(in_range && distinct, "CSHM_GUARD_CAPACITY registrations get distinct ids in range");
            expect(error == ENOSPC, "one more registration: ENOSPC");
        } else if (error != ENOSPC) {
            expect(0, "a full registry again: ENOSPC");
        }
        /* Free every other one, refill, then free all. */
        for (index = 0; index < CSHM_GUARD_CAPACITY; index += 2)
            require(cshm_guard_unregister(ids[index]), "cshm_guard_unregister");
        for (index = 0; index < CSHM_GUARD_CAPACITY; index += 2)
            require(cshm_guard_register(target, 8, 1, &ids[index]), "cshm_guard_register (refill)");
        for (index = 0; index < CSHM_GUARD_CAPACITY; index++)
            require(cshm_guard_unregister(ids[index]), "cshm_guard_unregister (all)");
    }
    expect(in_range && distinct, "three rounds of filling, freeing and refilling keep ids distinct");
    expect(cshm_guard_unregister(ids[0]) == EINVAL, "unregistering twice: EINVAL");
    expect(cshm_guard_flag(ids[0]) == NULL, "no flag after unregistering");
    require(cshm_guard_register(target, 1, 1, &extra), "cshm_guard_register (after emptying)");
    expect(cshm_guard_flag(extra) != NULL && !cshm_guard_tripped(cshm_guard_flag(extra)),
           "a slot used again starts untripped");
    require(cshm_guard_unregister(extra), "cshm_guard_unregister (last)");
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: cshm_guard_test absorb-read|absorb-write|unregistered|chained|registry NAME\n");
        return 2;
    }
    segment_name = argv[2];
    if (strcmp(argv[1], "absorb-read") == 0) absorb(0);
    else if (strcmp(argv[1], "absorb-write") == 0) absorb(1);
    else if (strcmp(argv[1], "unregistered") == 0) unregistered();
    else if (strcmp(argv[1], "chained") == 0) chained();
    else if (strcmp(argv[1], "registry") == 0) registry();
    else {
        fprintf(stderr, "unknown case %s\n", argv[1]);
        return 2;
    }
    return failures == 0 ? 0 : 1;
}
