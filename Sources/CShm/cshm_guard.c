/* The SIGBUS guard: absorbs faults in registered mappings whose object was
 * truncated by another process (see cshm.h). */
#define _GNU_SOURCE
#include "cshm.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* One registered range. `start` is the publication word: 0 means free. The
 * handler reads every field with atomic loads; only registration and
 * unregistration (under `registry_lock`) write them, except `flag`, which
 * the handler sets. */
typedef struct cshm_guard_entry {
    uintptr_t start;   /* page-aligned; 0 when free */
    uintptr_t end;     /* page-aligned, exclusive */
    uint32_t writable; /* map the replacement pages read-write */
    uint32_t flag;     /* non-zero once a fault was absorbed */
} cshm_guard_entry;

static cshm_guard_entry registry[CSHM_GUARD_CAPACITY];
/* One past the highest slot ever used, so the handler scans no further. */
static int registry_used;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
/* Written once, under the lock, before the handler is installed. */
static int handler_installed;
static struct sigaction previous_action;

static uintptr_t load(const uintptr_t *word) {
    return __atomic_load_n(word, __ATOMIC_ACQUIRE);
}

/* The entry's range when it is live and consistent, else 0. A slot that is
 * unregistered and registered again while the handler reads it is caught by
 * reading `start` twice. */
static int live_range(int index, uintptr_t *start_out, uintptr_t *end_out) {
    cshm_guard_entry *entry = &registry[index];
    uintptr_t start = load(&entry->start);
    if (start == 0) return 0;
    uintptr_t end = load(&entry->end);
    if (load(&entry->start) != start || end <= start) return 0;
    *start_out = start;
    *end_out = end;
    return 1;
}

/* The fault was not in a registered range: the handler that was there
 * before decides. Without one, the default action is restored, so the
 * faulting access runs again and kills the process with SIGBUS, or a SIGBUS
 * sent by another process is raised again. */
static void pass_on(int number, siginfo_t *info, void *context) {
    if (previous_action.sa_flags & SA_SIGINFO) {
        previous_action.sa_sigaction(number, info, context);
        return;
    }
    if (previous_action.sa_handler != SIG_DFL &&
        previous_action.sa_handler != SIG_IGN) {
        previous_action.sa_handler(number);
        return;
    }
    int from_fault = info != NULL && info->si_code > 0;
    if (previous_action.sa_handler == SIG_IGN && !from_fault) return;
    struct sigaction fallback;
    memset(&fallback, 0, sizeof fallback);
    fallback.sa_handler = SIG_DFL;
    sigemptyset(&fallback.sa_mask);
    sigaction(SIGBUS, &fallback, NULL);
    if (!from_fault) raise(SIGBUS);
}

/* Absorbs a fault at `address` when a registered range holds it: every
 * registered range that overlaps the replaced span is marked first, then the
 * span is replaced by anonymous pages. The span grows to cover every range
 * that overlaps it (the same pages registered twice, or in part). Returns 0
 * when no registered range holds the address, or when the pages could not
 * be replaced. */
static int absorb(uintptr_t address) {
    int used = __atomic_load_n(&registry_used, __ATOMIC_ACQUIRE);
    uintptr_t low = 0, high = 0, start, end;
    int index;
    for (index = 0; index < used; index++) {
        if (live_range(index, &start, &end) && address >= start && address < end) {
            low = start;
            high = end;
            break;
        }
    }
    if (high == 0) return 0;
    int writable = 0, grown = 1;
    while (grown) {
        grown = 0;
        for (index = 0; index < used; index++) {
            if (!live_range(index, &start, &end) || end <= low || start >= high) continue;
            if (start < low) { low = start; grown = 1; }
            if (end > high) { high = end; grown = 1; }
            if (__atomic_load_n(&registry[index].writable, __ATOMIC_RELAXED)) writable = 1;
            /* Set before the pages change: a thread that reads the zero
             * pages finds the flag already set. */
            __atomic_store_n(&registry[index].flag, 1, __ATOMIC_RELEASE);
        }
    }
    int protection = writable ? (PROT_READ | PROT_WRITE) : PROT_READ;
    void *replaced = mmap((void *)low, high - low, protection,
                          MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return replaced != MAP_FAILED;
}

static void on_sigbus(int number, siginfo_t *info, void *context) {
    int saved_errno = errno;
    /* Only a fault (si_code > 0) carries the faulting address. */
    int absorbed = info != NULL && info->si_code > 0 &&
                   absorb((uintptr_t)info->si_addr);
    if (!absorbed) pass_on(number, info, context);
    errno = saved_errno;
}

/* Installs the handler once; the caller holds the lock. */
static int install_handler(void) {
    if (handler_installed) return 0;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_sigbus;
    sigemptyset(&action.sa_mask);
    /* SA_NODEFER: a fault inside a chained handler reaches it again instead
     * of killing the process outright; SA_ONSTACK: a thread with an
     * alternate signal stack (a stack overflow handler) keeps using it. */
    action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESTART;
    if (sigaction(SIGBUS, NULL, &previous_action) != 0) return errno;
    if (sigaction(SIGBUS, &action, NULL) != 0) return errno;
    handler_installed = 1;
    return 0;
}

int cshm_guard_register(void *address, size_t length, int writable,
                        int *guard_out) {
    if (address == NULL || length == 0 || guard_out == NULL) return EINVAL;
    uintptr_t page = (uintptr_t)cshm_page_size();
    uintptr_t first = (uintptr_t)address;
    if (length > UINTPTR_MAX - first || first + length > UINTPTR_MAX - (page - 1))
        return EINVAL;
    uintptr_t start = first & ~(page - 1);
    uintptr_t end = (first + length + page - 1) & ~(page - 1);
    if (start == 0) return EINVAL;

    int error = pthread_mutex_lock(&registry_lock);
    if (error) return error;
    error = install_handler();
    int index = 0;
    if (!error) {
        while (index < CSHM_GUARD_CAPACITY && registry[index].start != 0) index++;
        if (index == CSHM_GUARD_CAPACITY) error = ENOSPC;
    }
    if (!error) {
        cshm_guard_entry *entry = &registry[index];
        __atomic_store_n(&entry->end, end, __ATOMIC_RELAXED);
        __atomic_store_n(&entry->writable, writable ? 1u : 0u, __ATOMIC_RELAXED);
        __atomic_store_n(&entry->flag, 0u, __ATOMIC_RELAXED);
        __atomic_store_n(&entry->start, start, __ATOMIC_RELEASE);
        if (index >= registry_used)
            __atomic_store_n(&registry_used, index + 1, __ATOMIC_RELEASE);
        *guard_out = index;
    }
    pthread_mutex_unlock(&registry_lock);
    return error;
}

int cshm_guard_unregister(int guard) {
    if (guard < 0 || guard >= CSHM_GUARD_CAPACITY) return EINVAL;
    int error = pthread_mutex_lock(&registry_lock);
    if (error) return error;
    cshm_guard_entry *entry = &registry[guard];
    if (entry->start == 0) {
        error = EINVAL;
    } else {
        __atomic_store_n(&entry->start, 0, __ATOMIC_RELEASE);
        __atomic_store_n(&entry->end, 0, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&registry_lock);
    return error;
}

const volatile uint32_t *cshm_guard_flag(int guard) {
    if (guard < 0 || guard >= CSHM_GUARD_CAPACITY) return NULL;
    if (__atomic_load_n(&registry[guard].start, __ATOMIC_ACQUIRE) == 0) return NULL;
    return &registry[guard].flag;
}
