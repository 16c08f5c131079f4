/* Mapping views of shared-memory objects at any byte offset. */
#define _GNU_SOURCE
#include "cshm.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

size_t cshm_page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }

/* The page-aligned start of the mapping that holds `address`, and the length
 * of that mapping for a view of `length` bytes. */
static void cshm_page_span(void *address, size_t length, void **base_out,
                           size_t *span_out) {
    uintptr_t page = (uintptr_t)cshm_page_size();
    uintptr_t start = (uintptr_t)address & ~(page - 1);
    *base_out = (void *)start;
    *span_out = length + ((uintptr_t)address - start);
}

int cshm_map(int fd, uint64_t offset, size_t length, int writable,
             void **address_out) {
    if (address_out == NULL || length == 0) return EINVAL;
    uint64_t page = (uint64_t)cshm_page_size();
    uint64_t aligned = offset & ~(page - 1);
    size_t lead = (size_t)(offset - aligned);
    if (length > SIZE_MAX - lead || aligned > (uint64_t)INT64_MAX)
        return EOVERFLOW;
    int protection = writable ? (PROT_READ | PROT_WRITE) : PROT_READ;
    void *base =
        mmap(NULL, length + lead, protection, MAP_SHARED, fd, (off_t)aligned);
    if (base == MAP_FAILED) return errno;
    *address_out = (char *)base + lead;
    return 0;
}

int cshm_unmap(void *address, size_t length) {
    if (address == NULL || length == 0) return EINVAL;
    void *base;
    size_t span;
    cshm_page_span(address, length, &base, &span);
    return munmap(base, span) == 0 ? 0 : errno;
}

int cshm_sync(void *address, size_t length) {
    if (address == NULL || length == 0) return EINVAL;
    void *base;
    size_t span;
    cshm_page_span(address, length, &base, &span);
    return msync(base, span, MS_SYNC) == 0 ? 0 : errno;
}
