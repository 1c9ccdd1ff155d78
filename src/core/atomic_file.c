/* atomic_file.c: temporary file, fsync, rename, fsync of the directory;
 * symbolic links written through, special files in place; the registry of
 * temporary and lock files a signal handler removes; lock files. */
#define _DEFAULT_SOURCE /* flock (BSD, in glibc's default set) */
#include "tdl/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the registry of files to remove on a signal ---- */

/* A slot is 0 free, 1 being filled, 2 armed (its path is complete). The
 * paths live in static memory, so the handler reads no freed memory. */
enum { REG_SLOTS = 32, REG_PATH = 4096 };
static atomic_int reg_state[REG_SLOTS];
static char reg_path[REG_SLOTS][REG_PATH];

static int reg_add(const char *path) {
    size_t n = strlen(path);
    if (n >= REG_PATH) return -1; /* not removed on a signal; still removed normally */
    for (int i = 0; i < REG_SLOTS; i++) {
        int expected = 0;
        if (atomic_compare_exchange_strong(&reg_state[i], &expected, 1)) {
            memcpy(reg_path[i], path, n + 1);
            atomic_store(&reg_state[i], 2);
            return i;
        }
    }
    return -1;
}

static void reg_remove(int slot) {
    if (slot >= 0) atomic_store(&reg_state[slot], 0);
}

void tdl_atomic_file_cleanup(void) {
    for (int i = 0; i < REG_SLOTS; i++)
        if (atomic_load(&reg_state[i]) == 2) (void)unlink(reg_path[i]);
}

/* ---- what a path names ---- */

enum { KIND_MISSING, KIND_REGULAR, KIND_SPECIAL, KIND_DIRECTORY };

static char *dup_n(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* "dir/base" of path: *dir (malloc'd, "." or "/" when path has no other)
 * and the offset of base in path. */
static char *dir_of(const char *path, size_t *base) {
    const char *slash = strrchr(path, '/');
    *base = slash ? (size_t)(slash - path) + 1 : 0;
    if (!slash) return dup_n(".", 1);
    if (slash == path) return dup_n("/", 1);
    return dup_n(path, (size_t)(slash - path));
}

/* realpath of path's directory + "/" + its last component. */
static char *canonical_missing(const char *path, int *err) {
    size_t base;
    char *dir = dir_of(path, &base);
    if (!dir) {
        *err = ENOMEM;
        return NULL;
    }
    char *rdir = realpath(dir, NULL);
    free(dir);
    if (!rdir) {
        *err = errno;
        return NULL;
    }
    size_t a = strlen(rdir), b = strlen(path + base);
    char *out = malloc(a + b + 2);
    if (out) {
        memcpy(out, rdir, a);
        out[a] = '/';
        memcpy(out + a + 1, path + base, b + 1);
    } else {
        *err = ENOMEM;
    }
    free(rdir);
    return out;
}

/* The file a write to path reaches (*target, malloc'd) and its kind; *mode
 * receives a regular file's permission bits. Symbolic links are followed by
 * the kernel where they resolve (also /proc's links to pipes), by hand for a
 * dangling one (its target is created). */
static tdl_status resolve(const char *path, char **target, int *kind, mode_t *mode) {
    *target = NULL;
    *mode = 0644;
    struct stat sb;
    int err = 0;
    if (stat(path, &sb) == 0) {
        if (S_ISDIR(sb.st_mode)) {
            *kind = KIND_DIRECTORY;
            *target = dup_n(path, strlen(path));
        } else if (S_ISREG(sb.st_mode)) {
            *kind = KIND_REGULAR;
            *mode = sb.st_mode & 07777;
            *target = realpath(path, NULL);
            if (!*target) err = errno;
        } else {
            *kind = KIND_SPECIAL;
            *target = dup_n(path, strlen(path));
        }
        if (!*target && !err) err = ENOMEM;
    } else if (errno == ENOENT) {
        /* missing, or a dangling symbolic link: follow it to the name to create */
        char *cur = dup_n(path, strlen(path));
        int hops = 0;
        while (cur && lstat(cur, &sb) == 0 && S_ISLNK(sb.st_mode)) {
            char link[PATH_MAX];
            ssize_t n = readlink(cur, link, sizeof link - 1);
            if (n < 0 || ++hops > 40) {
                err = n < 0 ? errno : ELOOP;
                break;
            }
            link[n] = '\0';
            char *next;
            if (link[0] == '/') {
                next = dup_n(link, (size_t)n);
            } else {
                size_t base;
                char *dir = dir_of(cur, &base);
                next = dir ? malloc(base + (size_t)n + 1) : NULL;
                if (next) {
                    memcpy(next, cur, base);
                    memcpy(next + base, link, (size_t)n + 1);
                }
                free(dir);
            }
            free(cur);
            cur = next;
        }
        if (!cur && !err) err = ENOMEM;
        if (!err) {
            *kind = KIND_MISSING;
            *target = canonical_missing(cur, &err);
        }
        free(cur);
    } else {
        err = errno;
    }
    if (err) {
        free(*target);
        *target = NULL;
        return tdl_error(TDL_ERR_IO, "%s: cannot create a file there: %s", path, strerror(err));
    }
    return TDL_OK;
}

char *tdl_atomic_file_target(const char *path) {
    char *target;
    int kind;
    mode_t mode;
    if (resolve(path, &target, &kind, &mode) != TDL_OK) return NULL;
    return target;
}

/* ---- writing ---- */

static void release(tdl_atomic_file *a) {
    reg_remove(a->slot);
    free(a->path);
    free(a->tmp);
    memset(a, 0, sizeof *a);
    a->slot = -1;
}

/* Create a temporary file beside target (mode mode); *tmp malloc'd. */
static int make_temp(const char *target, mode_t mode, char **tmp) {
    size_t len = strlen(target);
    *tmp = malloc(len + 12);
    if (!*tmp) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(*tmp, target, len);
    memcpy(*tmp + len, ".tmp.XXXXXX", 12);
    int fd = mkstemp(*tmp);
    if (fd < 0) {
        int e = errno;
        free(*tmp);
        *tmp = NULL;
        errno = e;
        return -1;
    }
    (void)fchmod(fd, mode); /* mkstemp makes 0600; a model or series is not secret */
    return fd;
}

tdl_status tdl_atomic_file_open(tdl_atomic_file *a, const char *path) {
    memset(a, 0, sizeof *a);
    a->slot = -1;
    if (!*path) return tdl_error(TDL_ERR_INVALID, "empty output path");
    int kind;
    mode_t mode;
    TDL_TRY(resolve(path, &a->path, &kind, &mode));
    if (kind == KIND_DIRECTORY) {
        tdl_status s = tdl_error(TDL_ERR_IO, "%s is a directory (give a file name)", path);
        release(a);
        return s;
    }
    int fd;
    if (kind == KIND_SPECIAL) {
        a->in_place = 1;
        fd = open(a->path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
        if (fd < 0) {
            tdl_status s = tdl_error(TDL_ERR_IO, "%s: cannot open for writing: %s", path,
                                     strerror(errno));
            release(a);
            return s;
        }
    } else {
        fd = make_temp(a->path, mode, &a->tmp);
        if (fd < 0) {
            tdl_status s = tdl_error(TDL_ERR_IO, "%s: cannot create a file there: %s", path,
                                     strerror(errno));
            release(a);
            return s;
        }
        a->slot = reg_add(a->tmp);
    }
    a->f = fdopen(fd, "wb");
    if (!a->f) {
        tdl_status s = tdl_error(TDL_ERR_IO, "%s: %s", a->tmp ? a->tmp : path, strerror(errno));
        close(fd);
        if (a->tmp) unlink(a->tmp);
        release(a);
        return s;
    }
    return TDL_OK;
}

/* fsync the directory holding path, so the rename itself is durable. */
static void sync_parent_dir(const char *path) {
    size_t base;
    char *dir = dir_of(path, &base);
    if (!dir) return;
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

tdl_status tdl_atomic_file_commit(tdl_atomic_file *a) {
    TDL_ASSERT(a->f, "tdl_atomic_file_commit without an open file");
    tdl_status s = TDL_OK;
    /* after a failed write errno still holds its cause (ENOSPC from
     * /dev/full), unless a retried flush of what is left gives it again */
    int e = errno;
    if (ferror(a->f)) {
        clearerr(a->f);
        if (fflush(a->f) != 0) e = errno;
        s = tdl_error(TDL_ERR_IO, "%s: write failed: %s", a->path, e ? strerror(e) : "I/O error");
    } else if (fflush(a->f) != 0) {
        s = tdl_error(TDL_ERR_IO, "%s: write failed: %s", a->path, strerror(errno));
    }
    /* a device or a pipe may not sync (EINVAL): only a regular file must */
    if (s == TDL_OK && !a->in_place && fsync(fileno(a->f)) != 0)
        s = tdl_error(TDL_ERR_IO, "%s: write failed: %s", a->path, strerror(errno));
    if (fclose(a->f) != 0 && s == TDL_OK)
        s = tdl_error(TDL_ERR_IO, "%s: close failed: %s", a->path, strerror(errno));
    a->f = NULL;
    if (!a->in_place) {
        if (s == TDL_OK && rename(a->tmp, a->path) != 0)
            s = tdl_error(TDL_ERR_IO, "%s: cannot rename into place: %s", a->path,
                          strerror(errno));
        if (s != TDL_OK) unlink(a->tmp);
        else sync_parent_dir(a->path);
    }
    release(a);
    return s;
}

void tdl_atomic_file_abort(tdl_atomic_file *a) {
    if (!a || !a->path) return;
    if (a->f) fclose(a->f);
    if (a->tmp) unlink(a->tmp);
    release(a);
}

tdl_status tdl_atomic_file_check(const char *path, int regular_only) {
    if (!*path) return tdl_error(TDL_ERR_INVALID, "empty output path");
    char *target;
    int kind;
    mode_t mode;
    TDL_TRY(resolve(path, &target, &kind, &mode));
    tdl_status s = TDL_OK;
    if (kind == KIND_DIRECTORY) {
        s = tdl_error(TDL_ERR_IO, "%s is a directory (give a file name)", path);
    } else if (kind == KIND_SPECIAL) {
        if (regular_only)
            s = tdl_error(TDL_ERR_IO, "%s is not a regular file (a device, a FIFO...), and "
                          "files are kept beside this output", path);
    } else {
        char *tmp;
        int fd = make_temp(target, 0600, &tmp);
        if (fd < 0) {
            s = tdl_error(TDL_ERR_IO, "%s: cannot create a file there: %s", path,
                          strerror(errno));
        } else {
            close(fd);
            unlink(tmp);
            free(tmp);
        }
    }
    free(target);
    return s;
}

/* ---- locks ---- */

tdl_status tdl_file_lock_acquire(tdl_file_lock *l, const char *path) {
    l->fd = -1;
    l->slot = -1;
    l->path = dup_n(path, strlen(path));
    if (!l->path) return tdl_error(TDL_ERR_NOMEM, "out of memory");
    /* The holder removes the file before it lets go: a lock taken on a file
     * that is no longer the one at path is retried on the new one. */
    for (int attempt = 0; attempt < 100; attempt++) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            tdl_status s = tdl_error(TDL_ERR_IO, "%s: cannot create the lock file: %s", path,
                                     strerror(errno));
            tdl_file_lock_release(l);
            return s;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            char pid[32] = "";
            ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
            pid[n > 0 ? n : 0] = '\0';
            pid[strcspn(pid, "\n")] = '\0';
            close(fd);
            tdl_status s =
                e == EWOULDBLOCK
                    ? tdl_error(TDL_ERR_IO, "another run is writing these files (process %s "
                                "holds %s)", *pid ? pid : "?", path)
                    : tdl_error(TDL_ERR_IO, "%s: cannot lock: %s", path, strerror(e));
            tdl_file_lock_release(l);
            return s;
        }
        struct stat held, now;
        if (fstat(fd, &held) == 0 && stat(path, &now) == 0 && held.st_dev == now.st_dev &&
            held.st_ino == now.st_ino) {
            char pid[32];
            int m = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
            if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)m, 0) != m) {
                /* the lock holds without the process id; messages say "?" */
            }
            l->fd = fd;
            l->slot = reg_add(path);
            return TDL_OK;
        }
        close(fd); /* the file was removed and replaced meanwhile: again */
    }
    tdl_file_lock_release(l);
    return tdl_error(TDL_ERR_IO, "%s: the lock file keeps changing", path);
}

void tdl_file_lock_release(tdl_file_lock *l) {
    if (!l || !l->path) return; /* NULL, never taken, or released */
    if (l->fd >= 0) {
        reg_remove(l->slot);
        (void)unlink(l->path); /* while still held, see tdl_file_lock_acquire */
        close(l->fd);
    }
    free(l->path);
    l->path = NULL;
    l->fd = -1;
    l->slot = -1;
}
