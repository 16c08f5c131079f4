/* Error reports in the format of the Windows file-mapping sample. */
#define _GNU_SOURCE
#include "cshm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int cshm_format_error(char *buffer, size_t capacity, const char *operation,
                      int error) {
    return snprintf(buffer, capacity, "%s failed w/err 0x%08lx",
                    operation ? operation : "(null)",
                    (unsigned long)(unsigned int)error);
}

const char *cshm_error_name(int error) {
    if (error <= 0) return NULL;
    return strerrorname_np(error);
}

int cshm_error_text(char *buffer, size_t capacity, int error) {
    const char *text = strerrordesc_np(error);
    if (text == NULL) return snprintf(buffer, capacity, "Unknown error %d", error);
    return snprintf(buffer, capacity, "%s", text);
}
