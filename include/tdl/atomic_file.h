/*
 * atomic_file.h: files that appear whole or not at all. Every file tdl
 * writes (models, checkpoints, series) goes through this: the data goes to a
 * temporary file beside the target (PATH.tmp.XXXXXX), which is flushed,
 * fsynced and renamed over the target, and then the directory is fsynced. A
 * crash or a failed write leaves the old file (or none), never half of one.
 */
#ifndef TDL_ATOMIC_FILE_H
#define TDL_ATOMIC_FILE_H

#include <stdio.h>

#include "tdl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tdl_atomic_file {
    FILE *f;    /* write here */
    char *path; /* the target */
    char *tmp;  /* the temporary file */
} tdl_atomic_file;

/* Create the temporary file for path (mode 0644). */
tdl_status tdl_atomic_file_open(tdl_atomic_file *a, const char *path);

/* Flush, fsync, close and rename into place; fails (and removes the
 * temporary file) if any write to a->f failed. Always releases a. */
tdl_status tdl_atomic_file_commit(tdl_atomic_file *a);

/* Close and remove the temporary file; the target is untouched. NULL-safe,
 * and safe after a commit. */
void tdl_atomic_file_abort(tdl_atomic_file *a);

#ifdef __cplusplus
}
#endif
#endif /* TDL_ATOMIC_FILE_H */
