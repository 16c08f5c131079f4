/*
 * cshm_peer.c - a plain C peer of shm-server and shm-client, built only on
 * include/cshm.h, so scripts/test-c.sh can check that C and Swift programs
 * share segments.
 *
 *     cshm_peer write NAME MESSAGE [SIZE]
 *         Creates NAME exclusively (SIZE bytes, default 65536), writes
 *         MESSAGE and its NUL terminator at offset 0, prints the server's
 *         lines and waits for one byte or the end of standard input (or
 *         SIGINT / SIGTERM), then unmaps, closes and unlinks NAME.
 *
 *     cshm_peer read NAME
 *         Opens NAME read-only and prints "<text>", the text up to its NUL
 *         terminator or the end of the view.
 *
 * Failures print the Windows sample's line ("OpenFileMapping failed w/err
 * 0x00000002") to standard output and "<call>: <ENAME> (<text>)" to standard
 * error, and exit 1.
 *
 * Build: cc -std=c11 -Wall -Wextra -Werror -pedantic -Iinclude \
 *            Tests/CInterop/cshm_peer.c libCShm.a -o cshm_peer
 */
#define _POSIX_C_SOURCE 200809L /* sigaction, read */

#include "cshm.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    VIEW_SIZE = 1024,       /* bytes mapped at offset 0, as in the sample */
    DEFAULT_SIZE = 65536    /* the segment's size when SIZE is not given */
};

/* Reports that `call` failed with `error`: the sample's line on standard
 * output (`operation` is the Windows call it names), the C call, errno name
 * and text on standard error. */
static void report(const char *operation, const char *call, int error) {
    char line[128];
    char text[128];
    const char *name = cshm_error_name(error);

    cshm_format_error(line, sizeof line, operation, error);
    printf("%s\n", line);
    fflush(stdout);
    cshm_error_text(text, sizeof text, error);
    fprintf(stderr, "%s: %s (%s)\n", call, name ? name : "unknown", text);
}

/* Set by SIGINT and SIGTERM; installed without SA_RESTART so that the
 * blocking read in wait_for_enter returns and the clean-up still runs. */
static volatile sig_atomic_t stop_signal = 0;

static void on_stop_signal(int number) { stop_signal = number; }

/* Waits for one byte or the end of standard input, or for SIGINT/SIGTERM. */
static void wait_for_enter(void) {
    struct sigaction action;
    char byte;

    memset(&action, 0, sizeof action);
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);

    while (!stop_signal) {
        ssize_t count = read(STDIN_FILENO, &byte, 1);
        if (count >= 0 || errno != EINTR) break;
    }
}

/* Parses SIZE, a positive decimal byte count; returns 0 when malformed. */
static uint64_t parse_size(const char *text) {
    char *end;
    unsigned long long value;

    if (text[0] < '0' || text[0] > '9') return 0;
    errno = 0;
    value = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0') return 0;
    return (uint64_t)value;
}

/* `write NAME MESSAGE [SIZE]`: the server side. Returns the exit status. */
static int run_write(const char *name, const char *message, uint64_t size) {
    size_t needed = strlen(message) + 1; /* the UTF-8 bytes and the NUL */
    int fd = -1;
    void *view = NULL;
    int status = 1;
    int error;

    error = cshm_open(name, CSHM_READ_WRITE | CSHM_CREATE | CSHM_EXCLUSIVE,
                      0600, &fd, NULL);
    if (error != 0) {
        report("CreateFileMapping", "cshm_open", error);
        return 1; /* nothing was made, so nothing to clean up */
    }
    error = cshm_truncate(fd, size);
    if (error != 0) {
        report("CreateFileMapping", "cshm_truncate", error);
        goto close_and_unlink;
    }
    printf("The file mapping (%s) is created\n", name);

    /* Like MapViewOfFile, refuse a view that reaches past the end (mmap
     * would accept it and fault on access beyond the last page). */
    error = size < VIEW_SIZE ? EINVAL : cshm_map(fd, 0, VIEW_SIZE, 1, &view);
    if (error != 0) {
        report("MapViewOfFile", "cshm_map", error);
        goto close_and_unlink;
    }
    printf("The file view is mapped\n");

    if (needed > VIEW_SIZE) {
        report("memcpy_s", "memcpy", ERANGE);
        fprintf(stderr, "the message and its terminator need %zu bytes; "
                        "the view has %d\n", needed, VIEW_SIZE);
        goto unmap;
    }
    memcpy(view, message, needed);
    printf("This message is written to the view:\n");
    printf("\"%s\"\n", message);
    printf("Press ENTER to clean up resources and quit");
    fflush(stdout);

    wait_for_enter();
    status = 0;

unmap:
    error = cshm_unmap(view, VIEW_SIZE);
    if (error != 0) {
        report("UnmapViewOfFile", "cshm_unmap", error);
        status = 1;
    }
close_and_unlink:
    error = cshm_close(fd);
    if (error != 0) {
        report("CloseHandle", "cshm_close", error);
        status = 1;
    }
    error = cshm_unlink(name);
    if (error != 0) {
        report("DeleteFileMapping", "cshm_unlink", error);
        status = 1;
    }
    return status;
}

/* `read NAME`: the client side. Returns the exit status. */
static int run_read(const char *name) {
    int fd = -1;
    uint64_t size = 0;
    size_t length;
    void *view = NULL;
    const char *text;
    const char *end;
    int status = 1;
    int error;

    error = cshm_open(name, CSHM_READ_ONLY, 0, &fd, NULL);
    if (error != 0) {
        report("OpenFileMapping", "cshm_open", error);
        return 1;
    }
    error = cshm_size(fd, &size);
    if (error != 0) {
        report("GetFileSizeEx", "cshm_size", error);
        goto close;
    }
    /* A segment smaller than the view is mapped whole (an empty one fails
     * in cshm_map with EINVAL). */
    length = size < VIEW_SIZE ? (size_t)size : VIEW_SIZE;
    error = cshm_map(fd, 0, length, 0, &view);
    if (error != 0) {
        report("MapViewOfFile", "cshm_map", error);
        goto close;
    }

    text = view;
    end = memchr(text, '\0', length);
    putchar('"');
    fwrite(text, 1, end ? (size_t)(end - text) : length, stdout);
    printf("\"\n");
    status = 0;

    error = cshm_unmap(view, length);
    if (error != 0) {
        report("UnmapViewOfFile", "cshm_unmap", error);
        status = 1;
    }
close:
    error = cshm_close(fd);
    if (error != 0) {
        report("CloseHandle", "cshm_close", error);
        status = 1;
    }
    return status;
}

static int usage(void) {
    fprintf(stderr, "usage: cshm_peer write NAME MESSAGE [SIZE]\n"
                    "       cshm_peer read NAME\n");
    return 2;
}

int main(int argc, char **argv) {
    if (argc >= 4 && argc <= 5 && strcmp(argv[1], "write") == 0) {
        uint64_t size = DEFAULT_SIZE;
        if (argc == 5 && (size = parse_size(argv[4])) == 0) return usage();
        return run_write(argv[2], argv[3], size);
    }
    if (argc == 3 && strcmp(argv[1], "read") == 0) return run_read(argv[2]);
    return usage();
}
