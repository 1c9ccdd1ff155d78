/*
 * atomic_file.h: files that appear whole or not at all. Every file tdl
 * writes (models, checkpoints, series) goes through this: the data goes to a
 * temporary file beside the target (PATH.tmp.XXXXXX), which is flushed,
 * fsynced and renamed over the target, and then the directory is fsynced. A
 * crash or a failed write leaves the old file (or none), never half of one.
 *
 * The target is what the path names:
 *   - a symbolic link is written THROUGH: the file it points to (followed
 *     to the end, also when it does not exist yet) is replaced, the link
 *     stays;
 *   - a special file (a device such as /dev/null or /dev/full, a FIFO, a
 *     terminal) is written IN PLACE: opened for writing, never replaced by
 *     a regular file (a rename over /dev/null made it one). Such a write is
 *     not atomic; its errors (ENOSPC from /dev/full) fail the commit;
 *   - a directory is refused.
 *
 * Temporary files still open are removed by tdl_atomic_file_cleanup, which
 * is async-signal-safe: a program calls it from its SIGINT/SIGTERM handler
 * (the tdl CLI does) so that an interrupted write leaves no PATH.tmp.XXXXXX.
 * The library installs no signal handler itself.
 */
#ifndef TDL_ATOMIC_FILE_H
#define TDL_ATOMIC_FILE_H

#include <stdio.h>

#include "tdl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tdl_atomic_file {
    FILE *f;      /* write here */
    char *path;   /* the target (symbolic links followed) */
    char *tmp;    /* the temporary file (NULL when written in place) */
    int in_place; /* 1: path is a special file, written directly */
    int slot;     /* the cleanup registry's entry for tmp, or -1 */
} tdl_atomic_file;

/* Create the temporary file for path (mode 0644, or the mode of the
 * regular file it replaces), or open a special file in place. */
tdl_status tdl_atomic_file_open(tdl_atomic_file *a, const char *path);

/* Flush, fsync, close and rename into place; fails (and removes the
 * temporary file) if any write to a->f failed. Always releases a. */
tdl_status tdl_atomic_file_commit(tdl_atomic_file *a);

/* Close and remove the temporary file; the target is untouched. NULL-safe,
 * and safe after a commit. */
void tdl_atomic_file_abort(tdl_atomic_file *a);

/* What a write to path would replace: the path with every symbolic link
 * followed (realpath of its directory when it does not exist yet), malloc'd;
 * NULL with a message when it cannot be resolved (a loop, a missing
 * directory). */
char *tdl_atomic_file_target(const char *path);

/* Check before long work that a write to path can succeed: its directory
 * exists and a file can be created in it (a temporary file is created and
 * removed: this catches read-only and immutable directories, also for
 * root), and path is not a directory. regular_only != 0 also refuses a path
 * that is a special file (a command that keeps files beside its output, a
 * checkpoint, cannot put them beside /dev/null). TDL_ERR_IO with the reason. */
tdl_status tdl_atomic_file_check(const char *path, int regular_only);

/* Remove every temporary file (and lock file) this process has open.
 * Async-signal-safe (unlink only); for a signal handler. */
void tdl_atomic_file_cleanup(void);

/* An exclusive lock held by one writer of a set of files (a model and its
 * checkpoint) at a time, across processes and within one: flock(2) on a
 * lock file that exists while held. */
typedef struct tdl_file_lock {
    int fd;     /* -1 when not held */
    char *path; /* the lock file */
    int slot;   /* the cleanup registry's entry, or -1 */
} tdl_file_lock;

/* Take the lock at path (created if missing, this process id written into
 * it), without waiting: TDL_ERR_IO "... is being written by another run
 * (process N)" when another holder has it. */
tdl_status tdl_file_lock_acquire(tdl_file_lock *l, const char *path);

/* Remove the lock file and release the lock. NULL-safe, and safe on a
 * zeroed struct, a failed acquire or a second release. */
void tdl_file_lock_release(tdl_file_lock *l);

#ifdef __cplusplus
}
#endif
#endif /* TDL_ATOMIC_FILE_H */
