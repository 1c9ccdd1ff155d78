/* slots.c: timestamps, and request logs summed into tumbling windows. */
#include "tdl/slots.h"

#include "tdl/atomic_file.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/csv.h"

/* --- calendar (proleptic Gregorian, days since 1970-01-01) --------------- */

static int64_t floor_div(int64_t a, int64_t b) {  /* b > 0 */
    int64_t q = a / b;
    if (a % b != 0 && a < 0) q--;
    return q;
}

static int is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* Leap years in [1, y - 1] (negative counts below year 1 keep it linear). */
static int64_t leaps_before(int64_t y) {
    return floor_div(y - 1, 4) - floor_div(y - 1, 100) + floor_div(y - 1, 400);
}

static int64_t days_before_year(int64_t y) {
    return 365 * (y - 1970) + leaps_before(y) - leaps_before(1970);
}

static const int month_start[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};

static int month_days(int64_t y, int m) {
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return days[m - 1] + (m == 2 && is_leap(y));
}

static int64_t days_from_civil(int64_t y, int m, int d) {
    return days_before_year(y) + month_start[m - 1] + (m > 2 && is_leap(y)) + d - 1;
}

void tdl_time_format(int64_t sec, char out[32]) {
    /* 0000-01-01T00:00:00Z to 9999-12-31T23:59:59Z */
    if (sec < INT64_C(-62167219200) || sec > INT64_C(253402300799)) {
        snprintf(out, 32, "(year out of range)");
        return;
    }
    int64_t days = floor_div(sec, 86400), rem = sec - days * 86400;
    int64_t y = 1970 + floor_div(days * 400, 146097);
    while (days_before_year(y) > days) y--;
    while (days_before_year(y + 1) <= days) y++;
    int64_t doy = days - days_before_year(y);
    int m = 1;
    while (m < 12 && doy >= month_start[m] + (m >= 2 && is_leap(y))) m++;
    int64_t d = doy - month_start[m - 1] - (m > 2 && is_leap(y)) + 1;
    int r = (int)rem;  /* [0, 86400) */
    snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y % 10000, m, (int)d % 100,
             r / 3600 % 24, r / 60 % 60, r % 60);
}

/* Read between lo and hi digits at s[*i]; -1 if fewer than lo. */
static int64_t digits(const char *s, size_t n, size_t *i, int lo, int hi) {
    int64_t v = 0;
    int k = 0;
    while (*i < n && k < hi && s[*i] >= '0' && s[*i] <= '9') v = 10 * v + (s[(*i)++] - '0'), k++;
    return k < lo ? -1 : v;
}

int tdl_time_parse(const char *text, size_t len, int64_t *sec, int32_t *nsec, const char **why) {
    size_t a = 0, n = len;
    while (a < n && (text[a] == ' ' || text[a] == '\t')) a++;
    while (n > a && (text[n - 1] == ' ' || text[n - 1] == '\t')) n--;
    const char *s = text + a;
    n -= a;
    size_t i = 0;
    *why = "is not a timestamp like 2023-11-16 18:15:46.68 (date, time, optional zone)";
    int64_t y = digits(s, n, &i, 4, 4);
    if (y < 0 || i >= n || (s[i] != '-' && s[i] != '/')) return -1;
    char sep = s[i++];
    int64_t mo = digits(s, n, &i, 1, 2);
    if (mo < 0 || i >= n || s[i] != sep) return -1;
    i++;
    int64_t d = digits(s, n, &i, 1, 2);
    if (d < 0 || i >= n || (s[i] != ' ' && s[i] != 'T')) return -1;
    i++;
    int64_t h = digits(s, n, &i, 1, 2);
    if (h < 0 || i >= n || s[i] != ':') return -1;
    i++;
    int64_t mi = digits(s, n, &i, 2, 2), se = 0, ns = 0;
    if (mi < 0) return -1;
    if (i < n && s[i] == ':') {
        i++;
        se = digits(s, n, &i, 2, 2);
        if (se < 0) return -1;
        if (i < n && (s[i] == '.' || s[i] == ',')) {
            i++;
            size_t f0 = i;
            int64_t scale = 100000000;
            while (i < n && s[i] >= '0' && s[i] <= '9') {
                ns += (s[i] - '0') * scale;
                scale /= 10;
                i++;
            }
            if (i == f0) return -1;
        }
    }
    int64_t off = 0;
    while (i < n && s[i] == ' ') i++;
    if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < n && (s[i] == '+' || s[i] == '-')) {
        int sign = s[i++] == '-' ? -1 : 1;
        int64_t oh = digits(s, n, &i, 2, 2), om = 0;
        if (oh < 0) return -1;
        if (i < n && s[i] == ':') i++;
        if (i < n) {
            om = digits(s, n, &i, 2, 2);
            if (om < 0) return -1;
        }
        if (oh > 23 || om > 59) {
            *why = "has a zone offset out of range (at most +-23:59)";
            return -1;
        }
        off = sign * (oh * 3600 + om * 60);
    }
    if (i != n) return -1;
    if (y < 1) {
        *why = "has year 0000 (years 0001-9999)";
        return -1;
    }
    if (mo < 1 || mo > 12) {
        *why = "has a month out of range (1-12)";
        return -1;
    }
    if (d < 1 || d > month_days(y, (int)mo)) {
        *why = "has a day that is not in its month";
        return -1;
    }
    if (h > 23 || mi > 59 || se > 59) {
        *why = "has a time of day out of range (00:00:00-23:59:59)";
        return -1;
    }
    *sec = days_from_civil(y, (int)mo, (int)d) * 86400 + h * 3600 + mi * 60 + se - off;
    *nsec = (int32_t)ns;
    return 0;
}

/* --- request logs ------------------------------------------------------- */

static const double TWO_POW_53 = 9007199254740992.0;

typedef struct slots_ctx {
    int with_generated;
    size_t tcol, ccol, gcol, ncols, header_line;
    int64_t *sec;   /* (n) request times, whole seconds */
    uint64_t *tok;  /* (n) tokens of each request */
    size_t *line;   /* (n) line of each request, for messages */
    size_t n, cap;
    size_t out_of_order;
    uint64_t total;
} slots_ctx;

static tdl_status find_column(const tdl_csv_record *r, const char *col, size_t *at) {
    size_t len = strlen(col), found = r->nfields;
    for (size_t i = 0; i < r->nfields; i++) {
        if (r->len[i] != len || memcmp(r->field[i], col, len) != 0) continue;
        if (found != r->nfields)
            return tdl_error(TDL_ERR_FORMAT, "%s:%zu: column %s appears twice in the header",
                             r->name, r->line, col);
        found = i;
    }
    if (found == r->nfields)
        return tdl_error(TDL_ERR_FORMAT,
                         "%s:%zu: no column %s in the header (a request log needs TIMESTAMP and "
                         "ContextTokens%s)",
                         r->name, r->line, col, strcmp(col, "GeneratedTokens") ? "" : " and, "
                         "with generated tokens, GeneratedTokens");
    *at = found;
    return TDL_OK;
}

static void shown(char *dst, size_t cap, const char *s, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n && k + 4 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (k + 4 >= cap && k < n) memcpy(dst + k, "...", 3), k += 3;
    dst[k] = '\0';
}

static tdl_status token_cell(const tdl_csv_record *r, size_t col, const char *name,
                             uint64_t *out) {
    double v;
    const char *why = "";
    int k = tdl_csv_number(r->field[col], r->len[col], &v, &why);
    char a[64];
    shown(a, sizeof a, r->field[col], r->len[col]);
    if (k == 1)
        return tdl_error(TDL_ERR_FORMAT, "%s:%zu: empty %s cell in a request log", r->name,
                         r->line, name);
    if (k < 0) return tdl_error(TDL_ERR_FORMAT, "%s:%zu: '%s' %s in column %s", r->name, r->line,
                                a, why, name);
    if (v != floor(v) || v > TWO_POW_53)
        return tdl_error(TDL_ERR_FORMAT, "%s:%zu: '%s' is not a whole number of tokens (0 to 2^53) "
                         "in column %s", r->name, r->line, a, name);
    *out = (uint64_t)v;
    return TDL_OK;
}

static tdl_status slots_record(const tdl_csv_record *r, void *vctx, int *stop) {
    (void)stop;
    slots_ctx *c = vctx;
    if (r->index == 0) {
        TDL_TRY(find_column(r, "TIMESTAMP", &c->tcol));
        TDL_TRY(find_column(r, "ContextTokens", &c->ccol));
        if (c->with_generated) TDL_TRY(find_column(r, "GeneratedTokens", &c->gcol));
        c->ncols = r->nfields;
        c->header_line = r->line;
        return TDL_OK;
    }
    if (r->nfields != c->ncols)
        return tdl_error(TDL_ERR_FORMAT, "%s:%zu: %zu field%s, but the header (line %zu) has %zu",
                         r->name, r->line, r->nfields, r->nfields == 1 ? "" : "s", c->header_line,
                         c->ncols);
    int64_t t;
    int32_t ns;
    const char *why;
    if (tdl_time_parse(r->field[c->tcol], r->len[c->tcol], &t, &ns, &why) != 0) {
        char a[64];
        shown(a, sizeof a, r->field[c->tcol], r->len[c->tcol]);
        return tdl_error(TDL_ERR_FORMAT, "%s:%zu: '%s' %s in column TIMESTAMP", r->name, r->line, a,
                         why);
    }
    uint64_t tok, gen = 0;
    TDL_TRY(token_cell(r, c->ccol, "ContextTokens", &tok));
    if (c->with_generated) TDL_TRY(token_cell(r, c->gcol, "GeneratedTokens", &gen));
    tok += gen;  /* both <= 2^53: no overflow */
    if (tok > (uint64_t)TWO_POW_53 - c->total)
        return tdl_error(TDL_ERR_FORMAT,
                         "%s:%zu: the token total passes 2^53 here (sums would stop being exact)",
                         r->name, r->line);
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 4096;
        int64_t *sec = realloc(c->sec, cap * sizeof *sec);
        if (sec) c->sec = sec;
        uint64_t *tk = realloc(c->tok, cap * sizeof *tk);
        if (tk) c->tok = tk;
        size_t *ln = realloc(c->line, cap * sizeof *ln);
        if (ln) c->line = ln;
        if (!sec || !tk || !ln) return tdl_error(TDL_ERR_NOMEM, "%s:%zu: out of memory", r->name,
                                                 r->line);
        c->cap = cap;
    }
    if (c->n > 0 && t < c->sec[c->n - 1]) c->out_of_order++;
    c->sec[c->n] = t;
    c->tok[c->n] = tok;
    c->line[c->n] = r->line;
    c->n++;
    c->total += tok;
    return TDL_OK;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Median request time (the first request's on out-of-memory: only for a message). */
static int64_t median_time(const slots_ctx *c) {
    int64_t *t = malloc(c->n * sizeof *t);
    if (!t) return c->sec[0];
    memcpy(t, c->sec, c->n * sizeof *t);
    qsort(t, c->n, sizeof *t, cmp_i64);
    int64_t m = t[c->n / 2];
    free(t);
    return m;
}

static tdl_status slots_sum(slots_ctx *c, tdl_status s, const char *name, int64_t S,
                            size_t max_slots, tdl_slots *out) {
    if (s != TDL_OK) return s;
    if (c->ncols == 0)
        return tdl_error(TDL_ERR_FORMAT,
                         "%s:1: empty file: expected a header with TIMESTAMP and ContextTokens",
                         name);
    if (c->n == 0)
        return tdl_error(TDL_ERR_FORMAT, "%s:%zu: the header is not followed by any requests",
                         name, c->header_line);
    size_t lo = 0, hi = 0;
    for (size_t i = 1; i < c->n; i++) {
        if (c->sec[i] < c->sec[lo]) lo = i;
        if (c->sec[i] > c->sec[hi]) hi = i;
    }
    int64_t k0 = floor_div(c->sec[lo], S), k1 = floor_div(c->sec[hi], S);
    uint64_t nslots = (uint64_t)(k1 - k0) + 1;  /* k1 - k0 < 2^63 since |sec| < 2^38 */
    if (nslots > max_slots) {
        char t0[32], t1[32];
        tdl_time_format(c->sec[lo], t0);
        tdl_time_format(c->sec[hi], t1);
        /* Blame the end farther from the median time: the likely stray row. */
        int64_t med = median_time(c);
        size_t bad = (uint64_t)(med - c->sec[lo]) > (uint64_t)(c->sec[hi] - med) ? lo : hi;
        return tdl_error(TDL_ERR_FORMAT,
                         "%s:%zu: the requests run from %s (line %zu) to %s (line %zu), %llu "
                         "slots of %lld s, more than the limit of %zu (a stray timestamp? or use "
                         "longer slots)",
                         name, c->line[bad], t0, c->line[lo], t1, c->line[hi],
                         (unsigned long long)nslots, (long long)S, max_slots);
    }
    TDL_TRY(tdl_series_alloc(&out->tokens, (size_t)nslots));
    for (size_t i = 0; i < c->n; i++)
        out->tokens.v[floor_div(c->sec[i], S) - k0] += (double)c->tok[i];  /* exact: sums < 2^53 */
    for (size_t k = 0; k < out->tokens.n; k++) out->empty_slots += out->tokens.v[k] == 0.0;
    out->start = k0 * S;
    out->seconds = S;
    out->requests = c->n;
    out->out_of_order = c->out_of_order;
    out->total = c->total;
    return TDL_OK;
}

static tdl_status slots_run(const char *path, const void *data, size_t len, const char *name,
                            const tdl_slots_options *opt, tdl_slots *out) {
    memset(out, 0, sizeof *out);
    int64_t S = opt && opt->seconds ? opt->seconds : TDL_SLOTS_SECONDS_DEFAULT;
    size_t max_slots = opt && opt->max_slots ? opt->max_slots : TDL_SLOTS_MAX_DEFAULT;
    if (S < 1) return tdl_error(TDL_ERR_INVALID, "slot length %lld s is not positive", (long long)S);
    slots_ctx c;
    memset(&c, 0, sizeof c);
    c.with_generated = opt ? opt->with_generated : 0;
    tdl_status s = path ? tdl_csv_scan_file(path, slots_record, &c)
                        : tdl_csv_scan_buffer(data, len, name, slots_record, &c);
    s = slots_sum(&c, s, path ? path : name, S, max_slots, out);
    free(c.sec);
    free(c.tok);
    free(c.line);
    if (s != TDL_OK) tdl_slots_free(out);
    return s;
}

tdl_status tdl_slots_read(const char *path, const tdl_slots_options *opt, tdl_slots *out) {
    return slots_run(path, NULL, 0, path, opt, out);
}

tdl_status tdl_slots_parse(const void *data, size_t len, const char *name,
                           const tdl_slots_options *opt, tdl_slots *out) {
    return slots_run(NULL, data, len, name ? name : "<memory>", opt, out);
}

void tdl_slots_free(tdl_slots *s) {
    if (!s) return;
    tdl_series_free(&s->tokens);
    memset(s, 0, sizeof *s);
}

/* --- output ------------------------------------------------------------- */

static void write_rows(FILE *f, const tdl_slots *s) {
    fputs("TIMESTAMP,ContextTokens\n", f);
    char t[32];
    for (size_t k = 0; k < s->tokens.n; k++) {
        tdl_time_format(s->start + (int64_t)k * s->seconds, t);
        fprintf(f, "%s,%.0f\n", t, s->tokens.v[k]);
    }
}

tdl_status tdl_slots_write(const tdl_slots *s, const char *path) {
    tdl_atomic_file af;
    TDL_TRY(tdl_atomic_file_open(&af, path));
    write_rows(af.f, s); /* a failed write shows in the commit (ferror) */
    return tdl_atomic_file_commit(&af);
}
