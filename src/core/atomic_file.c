/* atomic_file.c: temporary file, fsync, rename, fsync of the directory. */
#include "tdl/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void release(tdl_atomic_file *a) {
    free(a->path);
    free(a->tmp);
    memset(a, 0, sizeof *a);
}

tdl_status tdl_atomic_file_open(tdl_atomic_file *a, const char *path) {
    memset(a, 0, sizeof *a);
    size_t len = strlen(path);
    if (len == 0) return tdl_error(TDL_ERR_INVALID, "empty output path");
    a->path = malloc(len + 1);
    a->tmp = malloc(len + 12);
    if (!a->path || !a->tmp) {
        release(a);
        return tdl_error(TDL_ERR_NOMEM, "out of memory");
    }
    memcpy(a->path, path, len + 1);
    memcpy(a->tmp, path, len);
    memcpy(a->tmp + len, ".tmp.XXXXXX", 12);
    int fd = mkstemp(a->tmp);
    if (fd < 0) {
        tdl_status s = tdl_error(TDL_ERR_IO, "%s: cannot create a file there: %s", path,
                                 strerror(errno));
        release(a);
        return s;
    }
    (void)fchmod(fd, 0644); /* mkstemp makes 0600; a model or series is not secret */
    a->f = fdopen(fd, "wb");
    if (!a->f) {
        tdl_status s = tdl_error(TDL_ERR_IO, "%s: %s", a->tmp, strerror(errno));
        close(fd);
        unlink(a->tmp);
        release(a);
        return s;
    }
    return TDL_OK;
}

/* fsync the directory holding path, so the rename itself is durable. */
static void sync_parent_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    char *dir;
    if (!slash) dir = strdup(".");
    else if (slash == path) dir = strdup("/");
    else dir = strndup(path, (size_t)(slash - path));
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
    if (ferror(a->f) || fflush(a->f) != 0 || fsync(fileno(a->f)) != 0)
        s = tdl_error(TDL_ERR_IO, "%s: write failed: %s", a->path,
                      errno ? strerror(errno) : "I/O error");
    if (fclose(a->f) != 0 && s == TDL_OK)
        s = tdl_error(TDL_ERR_IO, "%s: close failed: %s", a->path, strerror(errno));
    a->f = NULL;
    if (s == TDL_OK && rename(a->tmp, a->path) != 0)
        s = tdl_error(TDL_ERR_IO, "%s: cannot rename into place: %s", a->path, strerror(errno));
    if (s != TDL_OK) unlink(a->tmp);
    else sync_parent_dir(a->path);
    release(a);
    return s;
}

void tdl_atomic_file_abort(tdl_atomic_file *a) {
    if (!a || !a->tmp) return;
    if (a->f) fclose(a->f);
    unlink(a->tmp);
    release(a);
}
