/* fuzz_csv.c: libFuzzer target for the CSV scanner and the series reader.
 * Build and run (clang, from the repository root):  make fuzz
 * The first byte picks the column and the row limit; the rest is the file.
 * Any input must be either read into a series of finite non-negative values
 * or refused with a "NAME:LINE: " message; record lines must strictly
 * increase and stay within the input's line count. Never a crash, leak or
 * undefined behaviour. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/csv.h"

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    size_t last, max_line, records;
} lines_seen;

static tdl_status check_record(const tdl_csv_record *r, void *ctx, int *stop) {
    (void)stop;
    lines_seen *l = ctx;
    if (r->line <= l->last || r->line > l->max_line || r->index != l->records) abort();
    for (size_t i = 0; i < r->nfields; i++)
        if (r->field[i][r->len[i]] != '\0') abort();
    l->last = r->line;
    l->records++;
    return TDL_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *columns[4] = {"ContextTokens", "TIMESTAMP", "a", "GeneratedTokens"};
    static const size_t limits[4] = {0, 1, 3, 0};
    unsigned pick = size ? data[0] : 0;
    const uint8_t *text = size ? data + 1 : data;
    size_t len = size ? size - 1 : 0;

    /* Physical lines: LF, CRLF and bare CR each end one. */
    size_t max_line = 1;
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\n' || (text[i] == '\r' && !(i + 1 < len && text[i + 1] == '\n'))) max_line++;
    lines_seen l = {0, max_line, 0};
    tdl_status s = tdl_csv_scan_buffer(text, len, "fuzz", check_record, &l);
    if (s != TDL_OK) fuzz_check_message(s);

    tdl_csv_options opt = {columns[pick & 3], limits[(pick >> 2) & 3]};
    tdl_series out;
    tdl_csv_info info;
    s = tdl_csv_parse_series(text, len, "fuzz", &opt, &out, &info);
    if (s == TDL_OK) {
        if (out.n == 0 || info.rows != out.n || info.empty_cells >= out.n) abort();
        if (opt.max_values && out.n > opt.max_values) abort();
        for (size_t i = 0; i < out.n; i++)
            if (!isfinite(out.v[i]) || out.v[i] < 0) abort();
        tdl_series_free(&out);
    } else {
        if (out.v || out.n) abort();
        fuzz_check_message(s);
    }
    return 0;
}
