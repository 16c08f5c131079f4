/* Cross-process waiting and ownership: futexes and byte-range OFD locks. */
#define _GNU_SOURCE
#include "cshm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int cshm_futex_wait(uint32_t *address, uint32_t expected, int64_t timeout_ns) {
    if (address == NULL) return EINVAL;
    struct timespec timeout;
    struct timespec *limit = NULL;
    if (timeout_ns >= 0) {
        timeout.tv_sec = (time_t)(timeout_ns / 1000000000);
        timeout.tv_nsec = (long)(timeout_ns % 1000000000);
        limit = &timeout;
    }
    long result = syscall(SYS_futex, address, FUTEX_WAIT, expected, limit, NULL, 0);
    return result == 0 ? 0 : errno;
}

int cshm_futex_wake(uint32_t *address, int count, int *woken_out) {
    if (address == NULL) return EINVAL;
    long result = syscall(SYS_futex, address, FUTEX_WAKE, count, NULL, NULL, 0);
    if (result < 0) return errno;
    if (woken_out) *woken_out = (int)result;
    return 0;
}

int cshm_futex_waitv(const cshm_futex_wait_entry *entries, uint32_t count, int64_t timeout_ns,
                     int *woken_index_out) {
    if (entries == NULL || count == 0 || count > CSHM_FUTEX_WAITV_MAX) return EINVAL;
#ifdef SYS_futex_waitv
    struct futex_waitv waiters[CSHM_FUTEX_WAITV_MAX];
    memset(waiters, 0, sizeof(struct futex_waitv) * count);
    for (uint32_t index = 0; index < count; index++) {
        if (entries[index].address == NULL) return EINVAL;
        waiters[index].val = entries[index].expected;
        waiters[index].uaddr = (uint64_t)(uintptr_t)entries[index].address;
        waiters[index].flags = FUTEX_32; /* shared: no FUTEX_PRIVATE_FLAG */
    }
    struct timespec deadline;
    struct timespec *limit = NULL;
    if (timeout_ns >= 0) {
        /* futex_waitv takes an absolute time on the given clock. */
        if (clock_gettime(CLOCK_MONOTONIC, &deadline) != 0) return errno;
        int64_t seconds = timeout_ns / 1000000000;
        long nanoseconds = (long)(timeout_ns % 1000000000) + deadline.tv_nsec;
        if (nanoseconds >= 1000000000) {
            nanoseconds -= 1000000000;
            seconds += 1;
        }
        deadline.tv_sec += (time_t)seconds;
        deadline.tv_nsec = nanoseconds;
        limit = &deadline;
    }
    long result = syscall(SYS_futex_waitv, waiters, count, 0, limit, CLOCK_MONOTONIC);
    if (result < 0) return errno;
    if (woken_index_out) *woken_index_out = (int)result;
    return 0;
#else
    (void)timeout_ns;
    (void)woken_index_out;
    return ENOSYS;
#endif
}

static int cshm_range_command(int fd, int command, short type, uint64_t offset,
                              uint64_t length, struct flock *out) {
    if (offset > (uint64_t)INT64_MAX || length > (uint64_t)INT64_MAX) return EINVAL;
    struct flock lock;
    memset(&lock, 0, sizeof lock); /* l_pid must be 0 for OFD locks */
    lock.l_type = type;
    lock.l_whence = SEEK_SET;
    lock.l_start = (off_t)offset;
    lock.l_len = (off_t)length;
    int result;
    do {
        result = fcntl(fd, command, &lock);
    } while (result != 0 && errno == EINTR);
    if (result != 0) return errno == EACCES ? EAGAIN : errno;
    if (out) *out = lock;
    return 0;
}

int cshm_range_lock(int fd, uint64_t offset, uint64_t length, int exclusive) {
    return cshm_range_command(fd, F_OFD_SETLK, exclusive ? F_WRLCK : F_RDLCK,
                              offset, length, NULL);
}

int cshm_range_unlock(int fd, uint64_t offset, uint64_t length) {
    return cshm_range_command(fd, F_OFD_SETLK, F_UNLCK, offset, length, NULL);
}

int cshm_range_test(int fd, uint64_t offset, uint64_t length, int *held_out) {
    if (held_out == NULL) return EINVAL;
    struct flock lock;
    int error = cshm_range_command(fd, F_OFD_GETLK, F_WRLCK, offset, length, &lock);
    if (error) return error;
    *held_out = lock.l_type != F_UNLCK;
    return 0;
}
