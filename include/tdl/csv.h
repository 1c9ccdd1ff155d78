/*
 * csv.h: reading CSV files (RFC 4180 with the usual liberties) on top of
 * Debian's libcsv, with physical line numbers for every record, and the
 * series reader of spec section 2 (one numeric column chosen by name).
 *
 * Accepted: a header line, quoted fields (with "" for a quote and embedded
 * newlines), LF, CRLF or bare CR line ends, a UTF-8 byte-order mark, blank
 * lines (also lines of only spaces or tabs), spaces and tabs around unquoted
 * fields. Refused with "NAME:LINE: ..." messages (TDL_ERR_FORMAT): a quote
 * inside an unquoted field, text after a closing quote, a quoted field that
 * is never closed.
 *
 * Line numbers: 1-based physical lines, counting LF, CRLF and a bare CR each
 * as one line end; a record's line is the line where it starts (so a record
 * whose quoted field spans lines 3-4 is "line 3" and the next one "line 5").
 *
 * A record (its bytes from its first to its last, quoted newlines included)
 * longer than TDL_CSV_MAX_RECORD is refused at its line (TDL_ERR_FORMAT)
 * before more of it is read, so memory stays bounded on hostile input.
 */
#ifndef TDL_CSV_H
#define TDL_CSV_H

#include <stddef.h>
#include <stdio.h>

#include "tdl/series.h"
#include "tdl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The longest record the scanner reads, in bytes (1 MiB: a workload row is
 * tens of bytes, a request-log row a few hundred). */
#define TDL_CSV_MAX_RECORD (1 << 20)

/* One record as handed to a tdl_csv_record_fn. Field i is field[i], len[i]
 * bytes, followed by a NUL (a field may itself contain NUL bytes). Quotes are
 * removed and spaces/tabs around unquoted fields trimmed (libcsv). Valid only
 * during the callback. */
typedef struct tdl_csv_record {
    const char *name;          /* the file's display name, for messages */
    size_t line;               /* 1-based line where the record starts */
    size_t index;              /* 0 for the first record (the header) */
    size_t nfields;
    const char *const *field;  /* (nfields) */
    const size_t *len;         /* (nfields) */
} tdl_csv_record;

/* Called once per record, in file order. Return TDL_OK to go on (setting
 * *stop = 1 ends the scan early with TDL_OK), or a failure status with its
 * tdl_error message, which ends the scan and is returned by it. */
typedef tdl_status (*tdl_csv_record_fn)(const tdl_csv_record *rec, void *ctx, int *stop);

/* Scan len bytes of CSV text; name is used in messages ("<memory>" if NULL). */
tdl_status tdl_csv_scan_buffer(const void *data, size_t len, const char *name,
                               tdl_csv_record_fn fn, void *ctx);

/* Scan a file in blocks (any size; memory is bounded by TDL_CSV_MAX_RECORD). */
tdl_status tdl_csv_scan_file(const char *path, tdl_csv_record_fn fn, void *ctx);

/* Strict number syntax for CSV cells: optional spaces/tabs, an optional '+'
 * (or '-' for zero), digits with an optional '.' fraction and an optional
 * exponent; no hex, no NaN or infinity, no thousands separators. Returns 0
 * and *out >= 0 (finite) on success, 1 if the text is empty or blank, -1 on
 * failure with *why set to a short reason ("is not a number", "is negative",
 * "is NaN", "is infinite", "is out of range"). The text need not be
 * NUL-terminated. Converted with strtod, so the C locale's '.' is assumed
 * (tdl never calls setlocale). */
int tdl_csv_number(const char *text, size_t len, double *out, const char **why);

/* Options of the series reader; zero-initialise for the defaults. */
typedef struct tdl_csv_options {
    const char *column;  /* column name, exact and case-sensitive; NULL -> "ContextTokens" */
    size_t max_values;   /* read at most this many data rows (0: all); later rows are not read */
    int allow_negative;  /* 1: accept negative values (generated series in normalised units,
                          * which a sampler does not clip); 0: refuse them (token counts) */
} tdl_csv_options;

/* What the series reader saw besides the values (for warnings). */
typedef struct tdl_csv_info {
    size_t rows;             /* data rows read = values returned */
    size_t column;           /* 0-based index of the column in the header */
    size_t empty_cells;      /* empty cells, replaced by the mean of the others */
    size_t first_empty_line; /* line of the first empty cell (0 if none) */
    int truncated;           /* 1 if max_values stopped the reading early */
} tdl_csv_info;

/* Read one numeric column into *out (tokens per slot, or any non-negative
 * numbers; negative ones too with opt->allow_negative). A header is required. Empty cells become the mean of the column's
 * other values (spec section 2) and are counted in info->empty_cells; the
 * library does not print. Errors (TDL_ERR_FORMAT unless said otherwise), each
 * "NAME:LINE: ...": a value that is not a number, negative, NaN or infinite;
 * the column missing from the header (or named twice); a row with a different
 * number of fields than the header; no header; no data rows; all cells
 * empty. TDL_ERR_IO if the file cannot be read. On failure *out is empty.
 * opt and info may be NULL. */
tdl_status tdl_csv_read_series(const char *path, const tdl_csv_options *opt, tdl_series *out,
                               tdl_csv_info *info);

/* The same from memory; name is the display name for messages. */
tdl_status tdl_csv_parse_series(const void *data, size_t len, const char *name,
                                const tdl_csv_options *opt, tdl_series *out, tdl_csv_info *info);

/* Print a series as CSV: a header line `column` (NULL: ContextTokens) and
 * one value a line, integers without a decimal point, other values with 17
 * significant digits (exact round trip). Returns 0, or -1 on a write error. */
int tdl_csv_print_series(FILE *f, const char *column, const tdl_series *s);

/* Write it to path atomically (temporary file, fsync, rename). */
tdl_status tdl_csv_write_series(const char *path, const char *column, const tdl_series *s);

#ifdef __cplusplus
}
#endif
#endif /* TDL_CSV_H */
