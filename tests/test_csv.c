/* test_csv.c: the CSV scanner's line numbers, the strict number syntax, the
 * series reader on good and malformed files (tests/data, tests/data/bad with
 * its expected.txt), from memory and from files, across read-block
 * boundaries, and on the seven Azure series (skipped when absent). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tdl/csv.h"
#include "bad_files.h"
#include "tdl_test.h"

#define DATA TDL_SOURCE_DIR "/tests/data"

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    size_t k;
    while (b && (k = fread(b + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) b = realloc(b, cap *= 2);
    }
    fclose(f);
    *len = n;
    return b;
}

/* --- the scanner's record lines ---------------------------------------- */

typedef struct {
    size_t lines[32], nf[32], n;
} rec_log;

static tdl_status log_record(const tdl_csv_record *r, void *ctx, int *stop) {
    (void)stop;
    rec_log *l = ctx;
    if (l->n < 32) {
        l->lines[l->n] = r->line;
        l->nf[l->n] = r->nfields;
    }
    l->n++;
    return TDL_OK;
}

static void check_lines(const char *what, const char *text, size_t len, const size_t *want,
                        size_t nwant) {
    rec_log l = {{0}, {0}, 0};
    tdl_status s = tdl_csv_scan_buffer(text, len, what, log_record, &l);
    int ok = s == TDL_OK && l.n == nwant;
    for (size_t i = 0; ok && i < nwant; i++) ok = l.lines[i] == want[i];
    printf("%s record lines %s:", ok ? "ok  " : "FAIL", what);
    for (size_t i = 0; i < l.n && i < 32; i++) printf(" %zu", l.lines[i]);
    printf(" (want");
    for (size_t i = 0; i < nwant; i++) printf(" %zu", want[i]);
    printf(")%s\n", s == TDL_OK ? "" : tdl_last_error());
    tdl_test_record(ok);
}

static void test_scanner_lines(void) {
    static const char lf[] = "a,b\n1,2\n\n3,4\n";
    static const char crlf[] = "a,b\r\n1,2\r\n\r\n3,4\r\n";
    static const char cr[] = "a,b\r1,2\r\r3,4";
    static const char quoted[] = "a,b\r\n\"x\r\ny\",2\r\n\"p\nq\nr\",3\n  \n4,\"\"\"z\"\"\"";
    static const char bom[] = "\xEF\xBB\xBF\n\na,b\n1,2";
    static const size_t w1[] = {1, 2, 4}, w3[] = {1, 2, 4, 8}, w4[] = {3, 4};
    check_lines("LF", lf, sizeof lf - 1, w1, 3);
    check_lines("CRLF", crlf, sizeof crlf - 1, w1, 3);
    check_lines("bare CR", cr, sizeof cr - 1, w1, 3);
    check_lines("quoted newlines", quoted, sizeof quoted - 1, w3, 4);
    check_lines("BOM and leading blank lines", bom, sizeof bom - 1, w4, 2);
    /* A partial BOM is data, not dropped. */
    rec_log l = {{0}, {0}, 0};
    tdl_csv_scan_buffer("\xEF\xBB,x\n", 5, "partial BOM", log_record, &l);
    TDL_CHECK(l.n == 1 && l.nf[0] == 2, "partial BOM: %zu records", l.n);
}

/* --- numbers ------------------------------------------------------------- */

static void test_numbers(void) {
    static const struct { const char *text; int want; double v; } cases[] = {
        {"12", 0, 12}, {" +3.5\t", 0, 3.5}, {"1e3", 0, 1000}, {"-0", 0, 0}, {".5", 0, 0.5},
        {"5.", 0, 5}, {"2.5E-1", 0, 0.25}, {"007", 0, 7}, {"1e-400", 0, 0},
        {"", 1, 0}, {"  \t ", 1, 0},
        {"1e", -1, 0}, {"e5", -1, 0}, {"--1", -1, 0}, {"1 2", -1, 0}, {"0x1", -1, 0},
        {"nan", -1, 0}, {"+INF", -1, 0}, {"1,5", -1, 0}, {"-3", -1, 0}, {"1e999", -1, 0},
        {".", -1, 0}, {"+", -1, 0}, {"1.2.3", -1, 0}, {"1_000", -1, 0},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        double v = -1;
        const char *why = "";
        int k = tdl_csv_number(cases[i].text, strlen(cases[i].text), &v, &why);
        if (k != cases[i].want || (k == 0 && v != cases[i].v)) {
            printf("FAIL number '%s': got %d (%g, %s), want %d (%g)\n", cases[i].text, k, v, why,
                   cases[i].want, cases[i].v);
            bad++;
        }
    }
    printf("%s numbers: %zu cases, %d wrong\n", bad ? "FAIL" : "ok  ",
           sizeof cases / sizeof *cases, bad);
    tdl_test_record(bad == 0);
}

/* --- good files ------------------------------------------------------------ */

static void test_good_files(void) {
    tdl_series s;
    tdl_csv_info info;
    tdl_status st = tdl_csv_read_series(DATA "/series_plain.csv", NULL, &s, &info);
    TDL_CHECK(st == TDL_OK, "plain: %s", tdl_last_error());
    if (st == TDL_OK) {
        const double want[4] = {374, 3539, 7824, 7567};
        int ok = s.n == 4 && info.rows == 4 && info.empty_cells == 0;
        for (size_t i = 0; ok && i < 4; i++) ok = s.v[i] == want[i];
        TDL_CHECK(ok, "plain: n=%zu", s.n);
        tdl_series_free(&s);
    }
    tdl_csv_options first2 = {NULL, 2, 0};
    st = tdl_csv_read_series(DATA "/series_plain.csv", &first2, &s, &info);
    TDL_CHECK(st == TDL_OK && s.n == 2 && s.v[1] == 3539 && info.truncated == 1,
              "max_values 2: n=%zu truncated=%d", s.n, info.truncated);
    tdl_series_free(&s);

    /* BOM, CRLF, quoted fields over two lines, blank lines, spaces, one empty
     * cell (-> mean of 10, 20, 30, 40 = 25), no final newline. */
    const double want[5] = {10, 20, 25, 30, 40};
    size_t len = 0;
    char *text = slurp(DATA "/series_quirks.csv", &len);
    TDL_CHECK(text != NULL, "cannot read series_quirks.csv");
    for (int from_memory = 0; from_memory < 2 && text; from_memory++) {
        st = from_memory ? tdl_csv_parse_series(text, len, "quirks", NULL, &s, &info)
                         : tdl_csv_read_series(DATA "/series_quirks.csv", NULL, &s, &info);
        int ok = st == TDL_OK && s.n == 5 && info.empty_cells == 1 &&
                 info.first_empty_line == 7 && info.column == 1;
        for (size_t i = 0; ok && i < 5; i++) ok = s.v[i] == want[i];
        printf("%s quirks (%s): n=%zu empty=%zu at line %zu, values", ok ? "ok  " : "FAIL",
               from_memory ? "memory" : "file", s.n, info.empty_cells, info.first_empty_line);
        for (size_t i = 0; i < s.n; i++) printf(" %g", s.v[i]);
        printf(" %s\n", st == TDL_OK ? "" : tdl_last_error());
        tdl_test_record(ok);
        tdl_series_free(&s);
    }
    /* Other columns of the same file: text is refused at the right line. */
    tdl_csv_options note = {"Note", 0, 0};
    st = tdl_csv_parse_series(text, len, "quirks", &note, &s, NULL);
    TDL_CHECK(st == TDL_ERR_FORMAT &&
                  strstr(tdl_last_error(), "quirks:2: 'plain' is not a number in column Note"),
              "Note column: %s", tdl_last_error());
    tdl_csv_options ts = {"TIMESTAMP", 0, 0};
    st = tdl_csv_parse_series(text, len, "quirks", &ts, &s, NULL);
    TDL_CHECK(st == TDL_ERR_FORMAT && strstr(tdl_last_error(), "quirks:2: '2023/11/16 18:15'"),
              "TIMESTAMP column: %s", tdl_last_error());
    free(text);

    /* Negative values: refused for tokens, accepted with allow_negative
     * (generated series in normalised units), with the empty-cell mean. */
    static const char neg[] = "ContextTokens\n-0.25\n\"\"\n0.75\n-1e-3\n";
    st = tdl_csv_parse_series(neg, sizeof neg - 1, "neg", NULL, &s, NULL);
    TDL_CHECK(st == TDL_ERR_FORMAT && strstr(tdl_last_error(), "neg:2: '-0.25' is negative"),
              "negative refused: %s", tdl_last_error());
    tdl_csv_options allow = {NULL, 0, 1};
    st = tdl_csv_parse_series(neg, sizeof neg - 1, "neg", &allow, &s, NULL);
    TDL_CHECK(st == TDL_OK && s.n == 4 && s.v[0] == -0.25 && s.v[2] == 0.75 && s.v[3] == -1e-3 &&
                  fabs(s.v[1] - (-0.25 + 0.75 - 1e-3) / 3) < 1e-15,
              "allow_negative: %s", st == TDL_OK ? "wrong values" : tdl_last_error());
    tdl_series_free(&s);
    st = tdl_csv_parse_series("ContextTokens\n-nan\n", 18, "neg", &allow, &s, NULL);
    TDL_CHECK(st == TDL_ERR_FORMAT, "allow_negative still refuses NaN");

    /* The mean for empty cells when the plain sum would overflow. */
    static const char huge[] = "ContextTokens\n1.5e308\n\"\"\n1.5e308\n";
    st = tdl_csv_parse_series(huge, sizeof huge - 1, "huge", NULL, &s, &info);
    TDL_CHECK(st == TDL_OK && s.n == 3 && s.v[1] == 1.5e308 && info.empty_cells == 1,
              "huge values: %s n=%zu v1=%g", tdl_last_error(), s.n, s.n > 1 ? s.v[1] : 0.0);
    tdl_series_free(&s);

    st = tdl_csv_read_series(DATA "/does_not_exist.csv", NULL, &s, NULL);
    TDL_CHECK(st == TDL_ERR_IO && strstr(tdl_last_error(), "cannot open"), "missing file: %s",
              tdl_last_error());
    st = tdl_csv_read_series(DATA, NULL, &s, NULL);
    TDL_CHECK(st == TDL_ERR_IO, "a directory: %d %s", (int)st, tdl_last_error());
}

/* --- malformed files ----------------------------------------------------- */

static int check_bad_series(const bad_file *b) {
    tdl_series s;
    tdl_status st = tdl_csv_read_series(b->path, NULL, &s, NULL);
    const char *msg = tdl_last_error();
    int ok = st == TDL_ERR_FORMAT && strncmp(msg, b->prefix, strlen(b->prefix)) == 0 &&
             strstr(msg, b->fragment) != NULL && s.v == NULL && s.n == 0;
    /* The same bytes from memory give the same message with the memory name. */
    size_t len = 0;
    char *text = slurp(b->path, &len);
    if (text || len == 0) {
        char mprefix[200];
        snprintf(mprefix, sizeof mprefix, "mem:%zu: ", b->line);
        st = tdl_csv_parse_series(text ? text : "", len, "mem", NULL, &s, NULL);
        ok = ok && st == TDL_ERR_FORMAT &&
             strncmp(tdl_last_error(), mprefix, strlen(mprefix)) == 0;
    }
    free(text);
    printf("%s bad %s: %s\n", ok ? "ok  " : "FAIL", b->name, tdl_last_error());
    return ok;
}

static void test_bad_files(void) {
    bad_files_each(DATA "/bad", "malformed series files", "raw", 20, check_bad_series);
}

/* --- read blocks: CRLF split across the 64 KiB boundary, long files ------- */

static void test_blocks(void) {
    char path[256];
    snprintf(path, sizeof path, "%s/tdl_test_csv_%ld.csv", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (long)getpid());
    int bad = 0;
    for (int pad = 0; pad < 5; pad++) {
        FILE *f = fopen(path, "wb");
        if (!f) break;
        /* header "ContextTokens" + pad spaces + CRLF, then rows "123\r\n":
         * for pad = 2 a CR is the last byte of the first 64 KiB block. */
        fprintf(f, "ContextTokens%*s\r\n", pad, "");
        const size_t rows = 20000;
        for (size_t i = 0; i < rows; i++) fputs("123\r\n", f);
        fputs("12 3\r\n", f);
        fclose(f);
        tdl_series s;
        tdl_csv_info info;
        char want[300];
        snprintf(want, sizeof want, "%s:%zu: '12 3' is not a number", path, rows + 2);
        tdl_status st = tdl_csv_read_series(path, NULL, &s, &info);
        int ok = st == TDL_ERR_FORMAT && strstr(tdl_last_error(), want) != NULL;
        tdl_csv_options opt = {NULL, rows, 0};
        st = tdl_csv_read_series(path, &opt, &s, &info);
        ok = ok && st == TDL_OK && s.n == rows && s.v[rows - 1] == 123;
        tdl_series_free(&s);
        if (!ok) printf("FAIL blocks pad %d: %s\n", pad, tdl_last_error());
        bad += !ok;
    }
    remove(path);
    printf("%s 64 KiB block boundaries (5 alignments of CRLF): %d wrong\n", bad ? "FAIL" : "ok  ",
           bad);
    tdl_test_record(bad == 0);
}

/* A record longer than TDL_CSV_MAX_RECORD is refused at its line, without
 * reading it whole (a 100 MB line took 300 MB); one just under the limit
 * reads (a padded number). */
static void test_long_record(void) {
    char path[256];
    snprintf(path, sizeof path, "%s/tdl_test_csv_long_%ld.csv",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (long)getpid());
    const size_t sizes[2] = {TDL_CSV_MAX_RECORD - 16, (size_t)TDL_CSV_MAX_RECORD * 3};
    for (int k = 0; k < 2; k++) {
        FILE *f = fopen(path, "wb");
        TDL_CHECK(f != NULL, "cannot write %s", path);
        if (!f) return;
        fputs("ContextTokens,Note\n5,a\n7,", f);
        for (size_t i = 0; i < sizes[k]; i++) fputc('x', f);
        fputs("\n9,b\n", f);
        fclose(f);
        tdl_series s;
        tdl_csv_info info;
        tdl_status st = tdl_csv_read_series(path, NULL, &s, &info);
        printf("     a record of %zu bytes: %s %s\n", sizes[k] + 2, tdl_status_name(st),
               st == TDL_OK ? "" : tdl_last_error());
        if (k == 0) {
            TDL_CHECK(st == TDL_OK && s.n == 3 && s.v[1] == 7, "a record under the limit: %s",
                      tdl_last_error());
        } else {
            char want[300];
            snprintf(want, sizeof want, "%s:3: a record longer than", path);
            TDL_CHECK(st == TDL_ERR_FORMAT && strstr(tdl_last_error(), want),
                      "a record of %zu bytes: %s (%s)", sizes[k], tdl_status_name(st),
                      tdl_last_error());
        }
        if (st == TDL_OK) tdl_series_free(&s);
    }
    remove(path);
}

/* --- the Azure series ---------------------------------------------------- */

static void test_azure(void) {
    const char *dir = getenv("TDL_DATA_DIR");
    char base[512];
    snprintf(base, sizeof base, "%s", dir && *dir ? dir : TDL_SOURCE_DIR "/../shared/data/azure");
    static const struct { const char *file; size_t rows; } sets[] = {
        {"23V.csv", 21030},    {"23D.csv", 22368},    {"24V.csv", 60480},   {"24D.csv", 60479},
        {"23D24D.csv", 71663}, {"23D24V.csv", 71664}, {"24D24V.csv", 120959},
    };
    char path[600];
    snprintf(path, sizeof path, "%s/23V.csv", base);
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        tdl_test_skip("Azure series: %s not found (set TDL_DATA_DIR to the azure folder)", path);
        return;
    }
    fclose(probe);
    for (size_t i = 0; i < sizeof sets / sizeof *sets; i++) {
        snprintf(path, sizeof path, "%s/%s", base, sets[i].file);
        tdl_series s;
        tdl_csv_info info;
        tdl_status st = tdl_csv_read_series(path, NULL, &s, &info);
        double lo = 0, hi = 0;
        int ints = 1;
        for (size_t k = 0; k < s.n; k++) {
            if (k == 0 || s.v[k] < lo) lo = s.v[k];
            if (k == 0 || s.v[k] > hi) hi = s.v[k];
            ints = ints && s.v[k] == (double)(int64_t)s.v[k] && s.v[k] > 0;
        }
        int ok = st == TDL_OK && s.n == sets[i].rows && info.empty_cells == 0 && ints;
        printf("%s %-11s rows %zu (want %zu) min %.0f max %.0f, positive integers %s %s\n",
               ok ? "ok  " : "FAIL", sets[i].file, s.n, sets[i].rows, lo, hi, ints ? "yes" : "NO",
               st == TDL_OK ? "" : tdl_last_error());
        tdl_test_record(ok);
        tdl_series_free(&s);
    }
    /* The protocol's first 100,000 values. */
    snprintf(path, sizeof path, "%s/24D24V.csv", base);
    tdl_csv_options opt = {NULL, 100000, 0};
    tdl_series s;
    tdl_csv_info info;
    tdl_status st = tdl_csv_read_series(path, &opt, &s, &info);
    TDL_CHECK(st == TDL_OK && s.n == 100000 && info.truncated, "24D24V first 100000: n=%zu", s.n);
    tdl_series_free(&s);
}

/* `test_csv azure` (CTest test_csv_azure): only the part that needs the data. */
int main(int argc, char **argv) {
    if (tdl_test_part(argc, argv, "azure")) {
        test_azure();
        return tdl_test_done("test_csv azure");
    }
    test_scanner_lines();
    test_numbers();
    test_good_files();
    test_bad_files();
    test_blocks();
    test_long_record();
    return tdl_test_done("test_csv");
}
