/*
 * source.h: where a series comes from. Every command that reads a workload
 * takes a SOURCE, which is either
 *   - a CSV file path (one numeric column, `ContextTokens` by default), or
 *   - `synth:PROFILE[:SEED[:SLOTS]]`, the built-in synthetic workload of a
 *     fitted profile (see `tdl synth --list`), seed 1 and 21030 slots (the
 *     length of the 23V series) by default.
 * TDL_SOURCE_DEFAULT is what a command uses when it is given no data.
 */
#ifndef TDL_SOURCE_H
#define TDL_SOURCE_H

#include <stddef.h>

#include "tdl/series.h"
#include "tdl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TDL_SOURCE_DEFAULT "synth:conversation"
#define TDL_SOURCE_SYNTH_PREFIX "synth:"
enum { TDL_SOURCE_DEFAULT_SLOTS = 21030 };

typedef struct tdl_source_info {
    int synthetic;      /* 1 for synth:..., 0 for a file */
    size_t empty_cells; /* CSV cells that were empty and replaced by the mean */
    size_t first_empty_line;
} tdl_source_info;

/* Load `source` into *out. column: the CSV column (NULL: ContextTokens;
 * ignored for synth:). max_values: at most this many values (0: all).
 * Errors name the file and line (CSV) or the bad part of a synth: spec.
 * info may be NULL. On failure *out is empty. */
tdl_status tdl_source_load(const char *source, const char *column, size_t max_values,
                           tdl_series *out, tdl_source_info *info);

#ifdef __cplusplus
}
#endif
#endif /* TDL_SOURCE_H */
