/*
 * slots.h: raw request logs (one row per request) to a token series (tokens
 * per time slot), and the timestamps they carry.
 *
 * Input: a CSV file with a header and the columns TIMESTAMP and
 * ContextTokens (and GeneratedTokens when asked for), e.g. the Azure LLM
 * inference traces: `2023-11-16 18:15:46.6805900,374,44`. Other columns are
 * ignored.
 *
 * Slots: tumbling windows of S whole seconds aligned to the Unix epoch:
 * slot k covers [k S, (k+1) S) seconds since 1970-01-01T00:00:00Z, so slot
 * starts are whole seconds (18:15:45, 18:15:50, ... for S = 5) and two logs
 * of the same service fall on the same slot grid. The series runs from the
 * slot of the earliest request to the slot of the latest; slots with no
 * request hold 0. Rows need not be sorted: each request is added to its own
 * slot wherever it appears (out-of-order rows are counted, not refused).
 */
#ifndef TDL_SLOTS_H
#define TDL_SLOTS_H

#include <stddef.h>
#include <stdint.h>

#include "tdl/series.h"
#include "tdl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parse a timestamp into whole seconds since the Unix epoch (UTC, floor) and
 * nanoseconds [0, 1e9). Accepted: `YYYY-MM-DD HH:MM[:SS[.F...]]` with '-' or
 * '/' between the date parts, ' ' or 'T' before the time, 1 or 2 digits for
 * month, day and hour, any number of fraction digits (kept to 9, the rest
 * truncated), then an optional zone `Z`, `+HH`, `+HH:MM` or `+HHMM` (or '-'),
 * converted to UTC; no zone means UTC. Spaces/tabs around the text are
 * ignored. Years 0001-9999, real calendar dates (leap years), seconds 0-59.
 * Returns 0, or -1 with *why set to a short reason. */
int tdl_time_parse(const char *text, size_t len, int64_t *sec, int32_t *nsec, const char **why);

/* Format whole seconds since the epoch as ISO 8601 UTC, `2023-11-16T18:15:45Z`
 * (20 characters and a NUL; years outside 0000-9999 are not supported). */
void tdl_time_format(int64_t sec, char out[32]);

/* Default window and the default cap on the number of slots. */
enum { TDL_SLOTS_SECONDS_DEFAULT = 5 };
#define TDL_SLOTS_MAX_DEFAULT ((size_t)100000000)

/* Options; zero-initialise for the defaults. */
typedef struct tdl_slots_options {
    int64_t seconds;      /* S, the window width in seconds (>= 1); 0 -> 5 */
    int with_generated;   /* also add GeneratedTokens (then the column is required) */
    size_t max_slots;     /* refuse logs spanning more slots (0 -> TDL_SLOTS_MAX_DEFAULT) */
} tdl_slots_options;

/* A slot series and what went into it. */
typedef struct tdl_slots {
    tdl_series tokens;    /* (n) tokens per slot, whole numbers */
    int64_t start;        /* start of slot 0, seconds since the epoch (multiple of S) */
    int64_t seconds;      /* S */
    size_t requests;      /* rows read */
    size_t out_of_order;  /* rows earlier than the row before them */
    size_t empty_slots;   /* slots with no request */
    uint64_t total;       /* sum over requests = sum over slots */
} tdl_slots;

/* Read a request log and sum its tokens per slot. Errors (TDL_ERR_FORMAT
 * unless said otherwise) name file and line: a malformed CSV, a missing
 * column, a row with a different number of fields than the header, a bad or
 * empty timestamp, a token count that is empty, negative or not a whole
 * number, no requests; the log spanning more than max_slots slots; a total
 * above 2^53 (doubles would stop being exact). TDL_ERR_IO if unreadable,
 * TDL_ERR_INVALID for seconds < 0. On failure *out is empty. */
tdl_status tdl_slots_read(const char *path, const tdl_slots_options *opt, tdl_slots *out);

/* The same from memory; name is the display name for messages. */
tdl_status tdl_slots_parse(const void *data, size_t len, const char *name,
                           const tdl_slots_options *opt, tdl_slots *out);

/* Write `TIMESTAMP,ContextTokens` rows (slot start in ISO 8601, tokens) to
 * path atomically: a temporary file beside it, flushed and fsynced, then
 * renamed over path. */
tdl_status tdl_slots_write(const tdl_slots *s, const char *path);

/* NULL-safe; leaves *s empty. */
void tdl_slots_free(tdl_slots *s);

#ifdef __cplusplus
}
#endif
#endif /* TDL_SLOTS_H */
