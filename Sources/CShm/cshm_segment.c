/* Opening, sizing and removing named shared-memory objects. */
#define _GNU_SOURCE
#include "cshm.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* 0 when `fd` is a regular file; ENODEV for anything else. */
static int cshm_check_regular(int fd) {
    struct stat info;
    if (fstat(fd, &info) != 0) return errno;
    return S_ISREG(info.st_mode) ? 0 : ENODEV;
}

int cshm_open(const char *name, int flags, uint32_t mode, int *fd_out,
              int *created_out) {
    if (name == NULL || fd_out == NULL) return EINVAL;
    int access = (flags & CSHM_READ_WRITE) ? O_RDWR : O_RDONLY;
    /* O_NONBLOCK: a FIFO planted under the name must not block the open. */
    int base = access | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
    for (;;) {
        int fd;
        if (flags & CSHM_CREATE) {
            /* Try to create first, so that we know whether we did. */
            do {
                fd = shm_open(name, base | O_CREAT | O_EXCL, (mode_t)mode);
            } while (fd < 0 && errno == EINTR);
            if (fd >= 0) {
                *fd_out = fd;
                if (created_out) *created_out = 1;
                return 0;
            }
            if (errno != EEXIST || (flags & CSHM_EXCLUSIVE)) return errno;
        }
        do {
            fd = shm_open(name, base, 0);
        } while (fd < 0 && errno == EINTR);
        if (fd >= 0) {
            int error = cshm_check_regular(fd);
            if (error != 0) {
                close(fd);
                return error;
            }
            *fd_out = fd;
            if (created_out) *created_out = 0;
            return 0;
        }
        /* The object vanished between the two calls: try to create again. */
        if (errno == ENOENT && (flags & CSHM_CREATE)) continue;
        return errno;
    }
}

int cshm_close(int fd) { return close(fd) == 0 ? 0 : errno; }

int cshm_duplicate(int fd, int *fd_out) {
    if (fd_out == NULL) return EINVAL;
    int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (copy < 0) return errno;
    *fd_out = copy;
    return 0;
}

int cshm_unlink(const char *name) {
    if (name == NULL) return EINVAL;
    return shm_unlink(name) == 0 ? 0 : errno;
}

int cshm_truncate(int fd, uint64_t size) {
    if (size > (uint64_t)INT64_MAX) return EINVAL;
    int result;
    do {
        result = ftruncate(fd, (off_t)size);
    } while (result != 0 && errno == EINTR);
    return result == 0 ? 0 : errno;
}

int cshm_reserve(int fd, uint64_t size) {
    if (size == 0) return 0;
    if (size > (uint64_t)INT64_MAX) return EFBIG;
    int result;
    do {
        result = posix_fallocate(fd, 0, (off_t)size);
    } while (result == EINTR);
    return result;
}

int cshm_size(int fd, uint64_t *size_out) {
    if (size_out == NULL) return EINVAL;
    struct stat info;
    if (fstat(fd, &info) != 0) return errno;
    *size_out = (uint64_t)info.st_size;
    return 0;
}

static void cshm_fill_status(const struct stat *info, cshm_status *out) {
    out->size = (uint64_t)info->st_size;
    out->uid = (uint32_t)info->st_uid;
    out->gid = (uint32_t)info->st_gid;
    out->mode = (uint32_t)(info->st_mode & 07777);
    out->link_count = (uint32_t)info->st_nlink;
    out->device = (uint64_t)info->st_dev;
    out->inode = (uint64_t)info->st_ino;
    out->file_type = (uint32_t)(info->st_mode & S_IFMT);
}

int cshm_stat(int fd, cshm_status *status_out) {
    if (status_out == NULL) return EINVAL;
    struct stat info;
    if (fstat(fd, &info) != 0) return errno;
    cshm_fill_status(&info, status_out);
    return 0;
}

int cshm_stat_name(const char *name, cshm_status *status_out) {
    if (name == NULL || status_out == NULL) return EINVAL;
    char path[sizeof "/dev/shm" + 256];
    while (*name == '/') name++;
    int length = snprintf(path, sizeof path, "/dev/shm/%s", name);
    if (length < 0 || (size_t)length >= sizeof path) return ENAMETOOLONG;
    struct stat info;
    if (lstat(path, &info) != 0) return errno;
    cshm_fill_status(&info, status_out);
    return 0;
}

int cshm_free_space(int fd, uint64_t *bytes_out) {
    if (bytes_out == NULL) return EINVAL;
    struct statvfs info;
    int result;
    do {
        result = fstatvfs(fd, &info);
    } while (result != 0 && errno == EINTR);
    if (result != 0) return errno;
    *bytes_out = (uint64_t)info.f_bavail * (uint64_t)info.f_frsize;
    return 0;
}

int cshm_lock(int fd, int operation) {
    int how;
    switch (operation & ~CSHM_LOCK_NONBLOCKING) {
    case CSHM_LOCK_SHARED: how = LOCK_SH; break;
    case CSHM_LOCK_EXCLUSIVE: how = LOCK_EX; break;
    case CSHM_LOCK_RELEASE: how = LOCK_UN; break;
    default: return EINVAL;
    }
    if (operation & CSHM_LOCK_NONBLOCKING) how |= LOCK_NB;
    int result;
    do {
        result = flock(fd, how);
    } while (result != 0 && errno == EINTR);
    return result == 0 ? 0 : errno;
}

int cshm_chmod(int fd, uint32_t mode) {
    int result;
    do {
        result = fchmod(fd, (mode_t)mode);
    } while (result != 0 && errno == EINTR);
    return result == 0 ? 0 : errno;
}
