/*
 * header_check.c - checks that include/cshm.h stands alone.
 *
 * This translation unit includes nothing but cshm.h and defines no feature
 * macros. scripts/test-c.sh compiles it (without linking) as C99, C11 and
 * C++17, each with -Wall -Wextra -Werror -pedantic, so the header must be
 * self-contained and valid in all three. The code is valid C and C++ alike.
 */
#include "cshm.h"

/* Declared here so that the definition below has a prototype in C. */
int cshm_header_check(void);

int cshm_header_check(void) {
    /* The function types as declared; a mismatch fails to compile. */
    int (*open_function)(const char *, int, uint32_t, int *, int *) = cshm_open;
    int (*map_function)(int, uint64_t, size_t, int, void **) = cshm_map;
    int (*format_function)(char *, size_t, const char *, int) =
        cshm_format_error;
    const char *(*name_function)(int) = cshm_error_name;
    int (*guard_function)(void *, size_t, int, int *) = cshm_guard_register;
    const volatile uint32_t *(*flag_function)(int) = cshm_guard_flag;
    /* The inline reader compiles here too. */
    static const volatile uint32_t word = 0;
    int tripped = cshm_guard_tripped(&word);

    /* The flags are constant expressions that combine with '|'. */
    int flags = CSHM_READ_WRITE | CSHM_CREATE | CSHM_EXCLUSIVE;

    return (open_function != 0) + (map_function != 0) +
           (format_function != 0) + (name_function != 0) +
           (guard_function != 0) + (flag_function != 0) + tripped + flags +
           CSHM_READ_ONLY + CSHM_GUARD_CAPACITY;
}
