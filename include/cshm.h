/*
 * cshm.h - a thin C shim over POSIX shared memory.
 *
 * Every function returns 0 on success or an errno value on failure; none of
 * them prints or allocates, and only the SIGBUS guard (cshm_guard_register,
 * below) keeps process-wide state. Calls that the kernel may
 * interrupt are retried on EINTR. The header needs nothing but the C standard
 * headers, compiles as C99, C11 and C++, and can be used without Swift:
 *
 *     cc -Iinclude my_program.c libCShm.a -o my_program
 *
 * (README.md shows how to build libCShm.a with cc alone.)
 *
 * Names follow POSIX: a leading '/', then 1 to 255 bytes without '/'.
 */
#ifndef CSHM_H
#define CSHM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Flags for cshm_open. Combine with '|'. */
enum {
    CSHM_READ_ONLY = 0,  /* open for reading only */
    CSHM_READ_WRITE = 1, /* open for reading and writing */
    CSHM_CREATE = 2,     /* create the object if it does not exist */
    CSHM_EXCLUSIVE = 4   /* with CSHM_CREATE: fail with EEXIST if it exists */
};

/*
 * Opens, or with CSHM_CREATE creates, the shared-memory object `name`.
 *
 * `mode` gives the permission bits of a new object (it is subject to the
 * process umask, as with shm_open). On success `*fd_out` holds a
 * close-on-exec descriptor, and `*created_out` (which may be NULL) is 1 when
 * this call created the object and 0 when it opened an existing one, which
 * tells the two cases apart as Windows' ERROR_ALREADY_EXISTS does.
 *
 * The name is never followed through a symbolic link (ELOOP), and the open
 * never blocks: anything but a regular file (a FIFO, a directory, a socket,
 * a device that someone planted in /dev/shm) is refused with ENODEV, and
 * cshm_stat_name tells which it is. The descriptor is left with O_NONBLOCK
 * set, which changes nothing for a regular file.
 */
int cshm_open(const char *name, int flags, uint32_t mode, int *fd_out,
              int *created_out);

/* Closes a descriptor returned by cshm_open. Never retried: on Linux the
 * descriptor is released even when close reports EINTR. */
int cshm_close(int fd);

/* Duplicates a descriptor (close-on-exec), for a view that must outlive
 * the descriptor it was mapped from yet still check the object's size. */
int cshm_duplicate(int fd, int *fd_out);

/* Removes the name. Mappings and open descriptors stay valid. */
int cshm_unlink(const char *name);

/* Sets the size of the object, in bytes (ftruncate). */
int cshm_truncate(int fd, uint64_t size);

/* Reserves memory for the first `size` bytes of the object (posix_fallocate),
 * growing it if needed, so that a full file system fails here with ENOSPC
 * instead of with SIGBUS at the first write. */
int cshm_reserve(int fd, uint64_t size);

/* Reads the size of the object, in bytes (fstat). */
int cshm_size(int fd, uint64_t *size_out);

/* What cshm_stat and cshm_stat_name report about an object. */
typedef struct cshm_status {
    uint64_t size;       /* bytes */
    uint32_t uid;        /* owner */
    uint32_t gid;        /* group */
    uint32_t mode;       /* permission bits (mode & 07777) */
    uint32_t link_count; /* 0 once the name has been removed */
    uint64_t device;     /* with inode: identifies the object */
    uint64_t inode;
    uint32_t file_type;  /* st_mode & S_IFMT: 0100000 for a regular file */
} cshm_status;

/* Reads the status of an open object (fstat). */
int cshm_stat(int fd, cshm_status *status_out);

/* Reads the status of the object `name` without opening it (lstat of the
 * file that holds it, /dev/shm/NAME on Linux: a symbolic link is described,
 * not followed). */
int cshm_stat_name(const char *name, cshm_status *status_out);

/* Free bytes on the file system that holds the object (fstatvfs), as an
 * unprivileged process may use them. */
int cshm_free_space(int fd, uint64_t *bytes_out);

/* Lock operations for cshm_lock. */
enum {
    CSHM_LOCK_SHARED = 1,    /* flock LOCK_SH */
    CSHM_LOCK_EXCLUSIVE = 2, /* flock LOCK_EX */
    CSHM_LOCK_RELEASE = 3,   /* flock LOCK_UN */
    CSHM_LOCK_NONBLOCKING = 8 /* with the above: fail with EWOULDBLOCK */
};

/* Takes or releases an advisory lock on the whole object (flock). The
 * kernel releases it when the last descriptor of this open closes, also
 * when the process dies. */
int cshm_lock(int fd, int operation);

/*
 * Byte-range locks that belong to an open file description (F_OFD_SETLK):
 * released when the description's last descriptor closes, also when the
 * process dies, and independent of cshm_lock. `exclusive` non-zero takes a
 * write lock, zero a read lock; a lock held by another open fails with
 * EAGAIN. cshm_range_unlock releases; cshm_range_test sets `*held_out` to 1
 * when another open file description holds a lock that would conflict with
 * an exclusive one.
 */
int cshm_range_lock(int fd, uint64_t offset, uint64_t length, int exclusive);
int cshm_range_unlock(int fd, uint64_t offset, uint64_t length);
int cshm_range_test(int fd, uint64_t offset, uint64_t length, int *held_out);

/*
 * Futexes in shared memory (not process-private). cshm_futex_wait sleeps
 * while `*address == expected`, at most `timeout_ns` nanoseconds (negative:
 * no limit). It returns 0 when woken, EAGAIN when the value differed at
 * once, ETIMEDOUT, or EINTR (not retried: the caller re-checks its
 * condition). cshm_futex_wake wakes up to `count` sleepers and stores how
 * many it woke in `*woken_out` (may be NULL).
 */
int cshm_futex_wait(uint32_t *address, uint32_t expected, int64_t timeout_ns);
int cshm_futex_wake(uint32_t *address, int count, int *woken_out);

/*
 * Waits on several futex words at once (futex_waitv, Linux 5.16 and later).
 * It sleeps while every `entries[i].address` holds `entries[i].expected`, at
 * most `timeout_ns` nanoseconds (negative: no limit); `count` is 1 to
 * CSHM_FUTEX_WAITV_MAX. It returns 0 when woken (with the woken entry's
 * index in `*woken_index_out`, which may be NULL), EAGAIN when a word
 * differed at once, ETIMEDOUT, EINTR, or ENOSYS when the kernel lacks the
 * call (the caller then waits on one word at a time).
 */
#define CSHM_FUTEX_WAITV_MAX 128
typedef struct cshm_futex_wait_entry {
    uint32_t *address;
    uint32_t expected;
} cshm_futex_wait_entry;
int cshm_futex_waitv(const cshm_futex_wait_entry *entries, uint32_t count, int64_t timeout_ns,
                     int *woken_index_out);

/* A CPU hint for spin-wait loops (PAUSE on x86, YIELD on Arm). */
static inline void cshm_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield");
#endif
}

/* Sets the permission bits of the object, independent of the umask. */
int cshm_chmod(int fd, uint32_t mode);

/* The system page size in bytes. */
size_t cshm_page_size(void);

/*
 * Maps `length` bytes of the object starting at byte `offset`, which need
 * not be page-aligned: the shim maps from the page boundary below `offset`
 * and stores in `*address_out` the address of byte `offset` itself.
 * `writable` non-zero maps for reading and writing, zero for reading only.
 * `length` must be greater than zero.
 */
int cshm_map(int fd, uint64_t offset, size_t length, int writable,
             void **address_out);

/* Unmaps a view made by cshm_map, given the address and length it returned
 * and was asked for; the page-aligned start is recomputed from the address. */
int cshm_unmap(void *address, size_t length);

/* Writes a view's changes back (msync with MS_SYNC), same arguments as
 * cshm_unmap. */
int cshm_sync(void *address, size_t length);

/*
 * The SIGBUS guard: surviving a peer that truncates a mapped segment.
 *
 * Any process that can open a segment for writing can shrink it (ftruncate);
 * locks are advisory and /dev/shm files cannot be sealed. The next access to
 * a mapped page past the new end then raises SIGBUS, which kills the process.
 * A registered mapping is protected: when an access inside it faults, the
 * shim's SIGBUS handler maps anonymous zero pages over the whole registered
 * range (MAP_FIXED), sets the mapping's flag and returns, so the faulting
 * instruction runs again on zeros. From then on the range reads as zeros and
 * writes go nowhere near the segment; the caller checks the flag
 * (cshm_guard_tripped) after its accesses and reports the truncation.
 *
 * This is the shim's one piece of process-wide state, because a signal
 * disposition is process-wide: one handler, installed on the first
 * registration, and one fixed registry of CSHM_GUARD_CAPACITY ranges that the
 * handler reads with atomic loads only (no locks, no allocation, so it is
 * async-signal-safe); registering and unregistering take a mutex. The
 * handler that was installed before is kept: it is called (SA_SIGINFO or
 * plain) for every SIGBUS outside the registered ranges, and when there was
 * none (SIG_DFL or SIG_IGN) the default action is restored, so such a fault
 * still kills the process with SIGBUS. A handler installed after the first
 * registration replaces the guard; the shim cannot notice that.
 *
 * Unregister a range before unmapping it: a fault in a range that another
 * thread is unregistering at that moment may or may not be absorbed.
 */
enum {
    CSHM_GUARD_CAPACITY = 4096 /* ranges registered at once, process-wide */
};

/* Registers [address, address + length) (the range is widened to whole
 * pages) with the SIGBUS guard, installing the process-wide SIGBUS handler on
 * first use (thread-safe, idempotent; the previous handler is kept and called
 * for faults outside registered ranges). `writable` says how to map the
 * replacement pages. On success *guard_out is a small non-negative id.
 * EINVAL for a NULL address, a zero length or a range that wraps around;
 * ENOSPC when the registry is full. */
int cshm_guard_register(void *address, size_t length, int writable,
                        int *guard_out);

/* Unregisters; call before unmapping the range. EINVAL for an id that is not
 * registered. */
int cshm_guard_unregister(int guard);

/* The word that becomes non-zero once a fault in the guard's range was
 * absorbed (the range then reads as zeros and writes go nowhere). Valid
 * until unregistered; NULL for an id that is not registered. */
const volatile uint32_t *cshm_guard_flag(int guard);

/* Reads a guard's word after the accesses before it (a compiler-only signal
 * fence, no CPU fence): 1 when tripped. The handler runs on the faulting
 * thread, so the fence is all that thread needs; another thread sees the
 * word set before it can see the zero pages. */
static inline int cshm_guard_tripped(const volatile uint32_t *flag) {
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    return *flag != 0;
}

/*
 * Writes "<operation> failed w/err 0x%08lx" into `buffer`, the report format
 * of the Windows file-mapping sample, for example
 * "OpenFileMapping failed w/err 0x00000002" for ENOENT. Returns the length
 * the full text needs, not counting the terminator, like snprintf; the text
 * is truncated (and always terminated) when `capacity` is too small.
 */
int cshm_format_error(char *buffer, size_t capacity, const char *operation,
                      int error);

/* The symbolic name of an errno value ("ENOENT"), or NULL when unknown. */
const char *cshm_error_name(int error);

/* Writes the system's text for an errno value ("No such file or directory")
 * into `buffer`; returns the length like cshm_format_error. */
int cshm_error_text(char *buffer, size_t capacity, int error);

#ifdef __cplusplus
}
#endif

#endif /* CSHM_H */
