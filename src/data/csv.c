/* csv.c: CSV records with line numbers (libcsv underneath) and the series
 * reader of spec section 2.
 *
 * libcsv reports fields and records through callbacks but not where they are
 * in the input. We feed it one physical line at a time (each piece ends just
 * after a CR or LF, the only bytes that can end a record), so every record
 * callback happens at the end of a piece whose line we know, and a record
 * starts at the first byte after the previous record that libcsv does not
 * skip (it skips spaces, tabs, CR and LF between records). */
#include "tdl/csv.h"

#include <csv.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CSV_BLOCK = 1 << 16 };

typedef struct scanner {
    struct csv_parser p;
    const char *name;
    tdl_csv_record_fn fn;
    void *ctx;
    size_t line;      /* line of the next byte to feed */
    int prev_cr;      /* the last byte fed was a CR (so an LF now is part of CRLF) */
    int await_start;  /* between records: the next significant byte starts one */
    size_t rec_line;  /* line where the current record started */
    size_t rec_bytes; /* bytes fed since the current record started */
    size_t index;     /* records handed out so far */
    char *buf;        /* the current record's fields, each NUL-terminated */
    size_t buf_len, buf_cap;
    size_t *off, *flen;  /* (nf) */
    const char **ptr;    /* (nf) */
    size_t nf, nf_cap;
    tdl_status status;
    int failed, stop;
    unsigned char bom[3];  /* first bytes held back until we know whether they are a BOM */
    int nbom, bom_done;
} scanner;

static void scan_fail(scanner *sc, tdl_status s) {
    sc->status = s;
    sc->failed = 1;
}

static void on_field(void *s, size_t len, void *data) {
    scanner *sc = data;
    if (sc->failed || sc->stop) return;
    if (sc->nf == sc->nf_cap) {
        size_t cap = sc->nf_cap ? 2 * sc->nf_cap : 16;
        size_t *off = realloc(sc->off, cap * sizeof *off);
        if (off) sc->off = off;
        size_t *flen = realloc(sc->flen, cap * sizeof *flen);
        if (flen) sc->flen = flen;
        const char **ptr = realloc((void *)sc->ptr, cap * sizeof *ptr);
        if (ptr) sc->ptr = ptr;
        if (!off || !flen || !ptr) {
            scan_fail(sc, tdl_error(TDL_ERR_NOMEM, "%s:%zu: out of memory for a record", sc->name,
                                    sc->rec_line));
            return;
        }
        sc->nf_cap = cap;
    }
    if (len + 1 > sc->buf_cap - sc->buf_len) {
        size_t cap = sc->buf_cap ? sc->buf_cap : 256;
        while (len + 1 > cap - sc->buf_len) cap *= 2;
        char *b = realloc(sc->buf, cap);
        if (!b) {
            scan_fail(sc, tdl_error(TDL_ERR_NOMEM, "%s:%zu: out of memory for a record", sc->name,
                                    sc->rec_line));
            return;
        }
        sc->buf = b;
        sc->buf_cap = cap;
    }
    if (len) memcpy(sc->buf + sc->buf_len, s, len);
    sc->buf[sc->buf_len + len] = '\0';
    sc->off[sc->nf] = sc->buf_len;
    sc->flen[sc->nf] = len;
    sc->nf++;
    sc->buf_len += len + 1;
}

static void on_record(int c, void *data) {
    (void)c;
    scanner *sc = data;
    if (sc->failed || sc->stop) return;
    for (size_t i = 0; i < sc->nf; i++) sc->ptr[i] = sc->buf + sc->off[i];
    tdl_csv_record rec = {sc->name, sc->rec_line, sc->index, sc->nf, sc->ptr, sc->flen};
    int stop = 0;
    tdl_status s = sc->fn(&rec, sc->ctx, &stop);
    if (s != TDL_OK) scan_fail(sc, s);
    if (stop) sc->stop = 1;
    sc->index++;
    sc->nf = 0;
    sc->buf_len = 0;
    sc->await_start = 1;
    sc->rec_bytes = 0;
}

static int is_blank_byte(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Feed bytes that are past the BOM check. */
static void feed_lines(scanner *sc, const unsigned char *d, size_t len) {
    size_t i = 0;
    while (i < len && !sc->failed && !sc->stop) {
        size_t j = i;
        while (j < len && d[j] != '\r' && d[j] != '\n') j++;
        size_t end = j < len ? j + 1 : len;
        if (sc->await_start) {
            for (size_t k = i; k < end; k++)
                if (!is_blank_byte(d[k])) {
                    sc->rec_line = sc->line;
                    sc->await_start = 0;
                    break;
                }
        }
        /* bound a record's length before libcsv buffers more of it */
        if (!sc->await_start) {
            sc->rec_bytes += end - i;
            if (sc->rec_bytes > TDL_CSV_MAX_RECORD) {
                scan_fail(sc, tdl_error(TDL_ERR_FORMAT, "%s:%zu: a record longer than %d bytes "
                                        "(is this a CSV file of workload values?)",
                                        sc->name, sc->rec_line, TDL_CSV_MAX_RECORD));
                return;
            }
        }
        size_t n = csv_parse(&sc->p, d + i, end - i, on_field, on_record, sc);
        if (sc->failed || sc->stop) return;
        if (n != end - i) {
            if (csv_error(&sc->p) == CSV_EPARSE)
                scan_fail(sc, tdl_error(TDL_ERR_FORMAT,
                                        "%s:%zu: malformed CSV: a quote inside an unquoted field or "
                                        "text after a closing quote (quote the whole field and "
                                        "double quotes inside it)",
                                        sc->name, sc->line));
            else
                scan_fail(sc, tdl_error(TDL_ERR_NOMEM, "%s:%zu: %s", sc->name, sc->line,
                                        csv_strerror(csv_error(&sc->p))));
            return;
        }
        if (j < len) {
            if (d[j] == '\r') {
                sc->line++;
                sc->prev_cr = 1;
            } else {
                if (!(sc->prev_cr && j == i)) sc->line++;
                sc->prev_cr = 0;
            }
        } else if (end > i) {
            sc->prev_cr = 0;
        }
        i = end;
    }
}

static void feed(scanner *sc, const unsigned char *d, size_t len) {
    static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};
    while (!sc->bom_done && len > 0) {
        if (*d != bom[sc->nbom]) {
            sc->bom_done = 1;
            feed_lines(sc, sc->bom, (size_t)sc->nbom);
            break;
        }
        sc->bom[sc->nbom++] = *d++;
        len--;
        if (sc->nbom == 3) sc->bom_done = 1;  /* a whole BOM: dropped */
    }
    if (len) feed_lines(sc, d, len);
}

static tdl_status scan_begin(scanner *sc, const char *name, tdl_csv_record_fn fn, void *ctx) {
    memset(sc, 0, sizeof *sc);
    sc->name = name ? name : "<memory>";
    sc->fn = fn;
    sc->ctx = ctx;
    sc->line = 1;
    sc->rec_line = 1;
    sc->await_start = 1;
    if (csv_init(&sc->p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0)
        return tdl_error(TDL_ERR_NOMEM, "%s: out of memory for the CSV parser", sc->name);
    return TDL_OK;
}

static tdl_status scan_end(scanner *sc) {
    if (!sc->failed && !sc->stop) {
        if (!sc->bom_done) feed_lines(sc, sc->bom, (size_t)sc->nbom);
        if (!sc->failed && !sc->stop && csv_fini(&sc->p, on_field, on_record, sc) != 0 &&
            !sc->failed)
            scan_fail(sc, tdl_error(TDL_ERR_FORMAT,
                                    "%s:%zu: a quoted field in the record starting on this line "
                                    "is never closed",
                                    sc->name, sc->rec_line));
    }
    csv_free(&sc->p);
    free(sc->buf);
    free(sc->off);
    free(sc->flen);
    free((void *)sc->ptr);
    return sc->failed ? sc->status : TDL_OK;
}

tdl_status tdl_csv_scan_buffer(const void *data, size_t len, const char *name,
                               tdl_csv_record_fn fn, void *ctx) {
    scanner sc;
    TDL_TRY(scan_begin(&sc, name, fn, ctx));
    feed(&sc, data, len);
    return scan_end(&sc);
}

tdl_status tdl_csv_scan_file(const char *path, tdl_csv_record_fn fn, void *ctx) {
    FILE *f = fopen(path, "rb");
    if (!f) return tdl_error(TDL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char *block = malloc(CSV_BLOCK);
    if (!block) {
        fclose(f);
        return tdl_error(TDL_ERR_NOMEM, "%s: out of memory", path);
    }
    scanner sc;
    tdl_status s = scan_begin(&sc, path, fn, ctx);
    if (s == TDL_OK) {
        size_t n;
        while (!sc.failed && !sc.stop && (n = fread(block, 1, CSV_BLOCK, f)) > 0) feed(&sc, block, n);
        if (!sc.failed && ferror(f))
            scan_fail(&sc, tdl_error(TDL_ERR_IO, "%s: read failed: %s", path, strerror(errno)));
        s = scan_end(&sc);
    }
    free(block);
    fclose(f);
    return s;
}

/* --- numbers ------------------------------------------------------------ */

static int is_sp(char c) { return c == ' ' || c == '\t'; }

static int word_ieq(const char *s, size_t n, const char *w) {
    size_t m = strlen(w);
    if (n != m) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != w[i]) return 0;
    }
    return 1;
}

/* tdl_csv_number, with negative values accepted when allow_negative != 0. */
static int csv_number(const char *text, size_t len, double *out, const char **why,
                      int allow_negative) {
    size_t a = 0, b = len;
    while (a < b && is_sp(text[a])) a++;
    while (b > a && is_sp(text[b - 1])) b--;
    if (a == b) return 1;
    const char *s = text + a;
    size_t n = b - a, i = 0;
    int neg = 0;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        i = 1;
    }
    if (word_ieq(s + i, n - i, "nan")) {
        *why = "is NaN";
        return -1;
    }
    if (word_ieq(s + i, n - i, "inf") || word_ieq(s + i, n - i, "infinity")) {
        *why = "is infinite";
        return -1;
    }
    size_t digits = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++, digits++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++, digits++;
    }
    if (digits == 0) {
        *why = "is not a number";
        return -1;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        size_t ed = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++, ed++;
        if (ed == 0) {
            *why = "is not a number";
            return -1;
        }
    }
    if (i != n) {
        *why = "is not a number";
        return -1;
    }
    /* The syntax is a subset of strtod's: convert a NUL-terminated copy (the
     * caller's text need not be terminated), which strtod reads whole. */
    char small[128], *copy = n < sizeof small ? small : malloc(n + 1);
    if (!copy) {
        *why = "is too long to convert (out of memory)";
        return -1;
    }
    memcpy(copy, s, n);
    copy[n] = '\0';
    char *end;
    errno = 0;
    double v = strtod(copy, &end);
    int whole = end == copy + n;
    if (copy != small) free(copy);
    if (!whole) {
        *why = "is not a number";
        return -1;
    }
    if (errno == ERANGE && isinf(v)) {
        *why = "is out of range";
        return -1;
    }
    if (neg && v != 0.0 && !allow_negative) {
        *why = "is negative";
        return -1;
    }
    *out = v == 0.0 ? 0.0 : v; /* strtod read the sign; -0 becomes 0 */
    return 0;
}

int tdl_csv_number(const char *text, size_t len, double *out, const char **why) {
    return csv_number(text, len, out, why, 0);
}

/* --- the series reader -------------------------------------------------- */

/* Copy at most cap-1 bytes of s for a message, '?' for unprintable bytes and
 * "..." when cut. */
static const char *shown(char *dst, size_t cap, const char *s, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < cap; i++) {
        if (k + 4 >= cap && i + 1 < n) {
            memcpy(dst + k, "...", 3);
            k += 3;
            break;
        }
        unsigned char c = (unsigned char)s[i];
        dst[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    dst[k] = '\0';
    return dst;
}

typedef struct series_ctx {
    const char *column;
    size_t max_values;
    int allow_negative;
    size_t col, ncols, header_line, last_line;
    double *v;  /* (n), NaN marks an empty cell until the end */
    size_t n, cap;
    double sum;
    size_t empty, first_empty_line;
    int truncated;
} series_ctx;

static tdl_status series_header(series_ctx *c, const tdl_csv_record *r) {
    size_t found = r->nfields, col_len = strlen(c->column);
    char a[64];
    for (size_t i = 0; i < r->nfields; i++) {
        if (r->len[i] != col_len || memcmp(r->field[i], c->column, col_len) != 0) continue;
        if (found != r->nfields)
            return tdl_error(TDL_ERR_FORMAT, "%s:%zu: column '%s' appears twice in the header",
                             r->name, r->line, shown(a, sizeof a, c->column, col_len));
        found = i;
    }
    if (found == r->nfields) {
        char list[256];
        size_t k = 0;
        list[0] = '\0';
        for (size_t i = 0; i < r->nfields && k < sizeof list - 8; i++) {
            int m = snprintf(list + k, sizeof list - k, "%s'%s'", i ? ", " : "",
                             shown(a, 40, r->field[i], r->len[i]));
            if (m < 0) break;
            k += (size_t)m;
        }
        if (k >= sizeof list) k = sizeof list - 1;
        return tdl_error(TDL_ERR_FORMAT,
                         "%s:%zu: no column '%s' in the header (it has %zu: %s); is the first "
                         "line a header?",
                         r->name, r->line, shown(a, sizeof a, c->column, col_len), r->nfields,
                         list);
    }
    c->col = found;
    c->ncols = r->nfields;
    c->header_line = r->line;
    return TDL_OK;
}

static tdl_status series_record(const tdl_csv_record *r, void *ctx, int *stop) {
    series_ctx *c = ctx;
    c->last_line = r->line;
    if (r->index == 0) return series_header(c, r);
    if (r->nfields != c->ncols)
        return tdl_error(TDL_ERR_FORMAT, "%s:%zu: %zu field%s, but the header (line %zu) has %zu",
                         r->name, r->line, r->nfields, r->nfields == 1 ? "" : "s", c->header_line,
                         c->ncols);
    double x;
    const char *why = "";
    int k = csv_number(r->field[c->col], r->len[c->col], &x, &why, c->allow_negative);
    if (k < 0) {
        char a[64];
        return tdl_error(TDL_ERR_FORMAT, "%s:%zu: '%s' %s in column %s", r->name, r->line,
                         shown(a, sizeof a, r->field[c->col], r->len[c->col]), why, c->column);
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 1024;
        double *v = realloc(c->v, cap * sizeof *v);
        if (!v) return tdl_error(TDL_ERR_NOMEM, "%s:%zu: out of memory", r->name, r->line);
        c->v = v;
        c->cap = cap;
    }
    if (k == 1) {
        c->v[c->n++] = NAN;
        if (c->empty++ == 0) c->first_empty_line = r->line;
    } else {
        c->v[c->n++] = x;
        c->sum += x;
    }
    if (c->max_values && c->n == c->max_values) {
        c->truncated = 1;
        *stop = 1;
    }
    return TDL_OK;
}

static tdl_status series_finish(series_ctx *c, tdl_status s, const char *name, tdl_series *out,
                                tdl_csv_info *info) {
    if (s == TDL_OK && c->ncols == 0)
        s = tdl_error(TDL_ERR_FORMAT,
                      "%s:1: empty file: expected a header line naming the column '%s'", name,
                      c->column);
    else if (s == TDL_OK && c->n == 0)
        s = tdl_error(TDL_ERR_FORMAT, "%s:%zu: the header is not followed by any data rows", name,
                      c->header_line);
    else if (s == TDL_OK && c->empty == c->n)
        s = tdl_error(TDL_ERR_FORMAT, "%s:%zu: column %s has no values, only %zu empty cell%s",
                      name, c->first_empty_line, c->column, c->empty, c->empty == 1 ? "" : "s");
    if (s != TDL_OK) {
        free(c->v);
        return s;
    }
    if (c->empty) {
        size_t k = c->n - c->empty;
        double mean = c->sum / (double)k;
        if (!isfinite(mean)) {
            /* The sum overflowed (values near DBL_MAX): a running mean of
             * non-negative values cannot. */
            mean = 0;
            k = 0;
            for (size_t i = 0; i < c->n; i++)
                if (!isnan(c->v[i])) mean += (c->v[i] - mean) / (double)++k;
        }
        for (size_t i = 0; i < c->n; i++)
            if (isnan(c->v[i])) c->v[i] = mean;
    }
    out->v = c->v;
    out->n = c->n;
    if (info) {
        info->rows = c->n;
        info->column = c->col;
        info->empty_cells = c->empty;
        info->first_empty_line = c->first_empty_line;
        info->truncated = c->truncated;
    }
    return TDL_OK;
}

static void series_begin(series_ctx *c, const tdl_csv_options *opt, tdl_series *out,
                         tdl_csv_info *info) {
    memset(c, 0, sizeof *c);
    c->column = opt && opt->column ? opt->column : "ContextTokens";
    c->max_values = opt ? opt->max_values : 0;
    c->allow_negative = opt ? opt->allow_negative : 0;
    out->v = NULL;
    out->n = 0;
    if (info) memset(info, 0, sizeof *info);
}

tdl_status tdl_csv_read_series(const char *path, const tdl_csv_options *opt, tdl_series *out,
                               tdl_csv_info *info) {
    series_ctx c;
    series_begin(&c, opt, out, info);
    tdl_status s = tdl_csv_scan_file(path, series_record, &c);
    return series_finish(&c, s, path, out, info);
}

tdl_status tdl_csv_parse_series(const void *data, size_t len, const char *name,
                                const tdl_csv_options *opt, tdl_series *out, tdl_csv_info *info) {
    series_ctx c;
    series_begin(&c, opt, out, info);
    if (!name) name = "<memory>";
    tdl_status s = tdl_csv_scan_buffer(data, len, name, series_record, &c);
    return series_finish(&c, s, name, out, info);
}
