/* test_slots.c: timestamps (known epoch values, zones, calendar edges, a
 * format/parse round trip), request logs to slots on a hand-checked log in
 * every row order, malformed logs (tests/data/bad/expected.txt), the atomic
 * writer, and the two Azure raw traces against the authors' 23V and 23D
 * series (skipped when absent). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tdl/csv.h"
#include "tdl/rng.h"
#include "tdl/slots.h"
#include "bad_files.h"
#include "tdl_test.h"

#define DATA TDL_SOURCE_DIR "/tests/data"

static void test_time_parse(void) {
    static const struct { const char *text; int64_t sec; int32_t ns; } good[] = {
        {"1970-01-01 00:00:00", 0, 0},
        {"1969-12-31 23:59:59", -1, 0},
        {"2023-11-16 18:15:46.6805900", 1700158546, 680590000},
        {"2024-05-10 00:00:00.123+00:00", 1715299200, 123000000},
        {"2024-05-10T00:00:00Z", 1715299200, 0},
        {"2024-05-10T02:00:00+02:00", 1715299200, 0},
        {"2024-05-09 19:00:00-05:00", 1715299200, 0},
        {"2024-05-10 05:30:00+0530", 1715299200, 0},
        {"2024-05-10 01:00:00 +01", 1715299200, 0},
        {"2023/11/16 18:17", 1700158620, 0},
        {"2023/1/5 8:05", 1672905900, 0},
        {"  2000-02-29 12:00:00.000000000999  ", 951825600, 0},
        {"2000-02-29 12:00:00,5", 951825600, 500000000},
        {"0001-01-01 00:00:00", INT64_C(-62135596800), 0},
        {"9999-12-31 23:59:59.999999999", INT64_C(253402300799), 999999999},
    };
    static const char *bad[] = {
        "", "2023-11-16", "2023-11-16 18:15:46.", "2023-11-16 18:15:4", "2023-11-16 18",
        "2100-02-29 00:00:00", "2023-04-31 00:00:00", "2023-00-10 00:00:00",
        "2023-11-16 18:60:00", "2023-11-16 18:00:60", "2023-11-16 18:00:00+1",
        "2023-11-16 18:00:00+01:0", "2023-11-16 18:00:00 UTC", "2023-11/16 18:00:00",
        "0000-01-01 00:00:00", "23-11-16 18:00:00", "2023-11-16  18:00:00",
        "2023-11-16 18:00:00+01:00x", "1700158546",
    };
    int wrong = 0;
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        int64_t s = 0;
        int32_t ns = 0;
        const char *why = "";
        int k = tdl_time_parse(good[i].text, strlen(good[i].text), &s, &ns, &why);
        if (k != 0 || s != good[i].sec || ns != good[i].ns) {
            printf("FAIL time '%s': %d %lld %d (%s), want %lld %d\n", good[i].text, k,
                   (long long)s, (int)ns, why, (long long)good[i].sec, (int)good[i].ns);
            wrong++;
        }
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t s;
        int32_t ns;
        const char *why = NULL;
        if (tdl_time_parse(bad[i], strlen(bad[i]), &s, &ns, &why) == 0 || !why) {
            printf("FAIL time '%s' accepted as %lld\n", bad[i], (long long)s);
            wrong++;
        }
    }
    printf("%s timestamps: %zu good, %zu refused, %d wrong\n", wrong ? "FAIL" : "ok  ",
           sizeof good / sizeof *good, sizeof bad / sizeof *bad, wrong);
    tdl_test_record(wrong == 0);

    /* Round trip over the whole range: format then parse gives the same second. */
    tdl_rng r;
    tdl_rng_init(&r, 3, 0);
    int rt_wrong = 0;
    char text[32];
    for (int i = 0; i < 200000; i++) {
        double u = tdl_rng_uniform_double(&r);
        int64_t lo = INT64_C(-62135596800), hi = INT64_C(253402300799);
        int64_t t = lo + (int64_t)(u * (double)(hi - lo));
        if (i < 4) t = i < 2 ? lo + i : hi - (i - 2);
        tdl_time_format(t, text);
        int64_t back = 0;
        int32_t ns;
        const char *why;
        if (tdl_time_parse(text, strlen(text), &back, &ns, &why) != 0 || back != t) {
            if (rt_wrong++ < 5) printf("FAIL round trip %lld -> %s -> %lld\n", (long long)t, text,
                                       (long long)back);
        }
    }
    tdl_time_format(1700158545, text);
    TDL_CHECK(strcmp(text, "2023-11-16T18:15:45Z") == 0, "format: %s", text);
    printf("%s format/parse round trip: 200000 instants in 0001-9999, %d wrong\n",
           rt_wrong ? "FAIL" : "ok  ", rt_wrong);
    tdl_test_record(rt_wrong == 0);
}

static int same_series(const tdl_slots *s, int64_t start, const double *want, size_t n) {
    if (s->tokens.n != n || s->start != start) return 0;
    for (size_t i = 0; i < n; i++)
        if (s->tokens.v[i] != want[i]) return 0;
    return 1;
}

static void print_slots(const char *what, int ok, const tdl_slots *s) {
    char t[32];
    tdl_time_format(s->start, t);
    printf("%s %s: %zu slots from %s, total %llu, %zu empty, %zu out of order:", ok ? "ok  " : "FAIL",
           what, s->tokens.n, t, (unsigned long long)s->total, s->empty_slots, s->out_of_order);
    for (size_t i = 0; i < s->tokens.n && i < 12; i++) printf(" %.0f", s->tokens.v[i]);
    printf("\n");
    tdl_test_record(ok);
}

/* tests/data/raw_small.csv, by hand (UTC): 00:00:01.5 100, 00:00:04.999 200,
 * 00:00:05 300, 02:00:12.123+02:00 = 00:00:12 400, 05-09 23:59:59.9999999 50,
 * 05-09 19:00:25-05:00 = 00:00:25 600. */
static void test_small_log(void) {
    const int64_t t0 = 1715299195;  /* 2024-05-09T23:59:55Z */
    tdl_slots s;
    tdl_status st = tdl_slots_read(DATA "/raw_small.csv", NULL, &s);
    const double w5[7] = {50, 300, 300, 400, 0, 0, 600};
    print_slots("raw_small 5 s", st == TDL_OK && same_series(&s, t0, w5, 7) && s.total == 1650 &&
                                     s.empty_slots == 2 && s.out_of_order == 1 && s.requests == 6,
                &s);
    tdl_slots_free(&s);
    tdl_slots_options gen = {0, 1, 0};
    st = tdl_slots_read(DATA "/raw_small.csv", &gen, &s);
    const double wg[7] = {55, 330, 330, 440, 0, 0, 660};
    print_slots("raw_small 5 s with generated",
                st == TDL_OK && same_series(&s, t0, wg, 7) && s.total == 1815, &s);
    tdl_slots_free(&s);
    tdl_slots_options ten = {10, 0, 0};
    st = tdl_slots_read(DATA "/raw_small.csv", &ten, &s);
    const double w10[4] = {50, 600, 400, 600};
    print_slots("raw_small 10 s", st == TDL_OK && same_series(&s, t0 - 5, w10, 4), &s);
    tdl_slots_free(&s);
    tdl_slots_options seven = {7, 0, 0};  /* 1715299195 = 7 * 245042742 + 1 */
    st = tdl_slots_read(DATA "/raw_small.csv", &seven, &s);
    const double w7[5] = {50, 600, 400, 0, 600};
    print_slots("raw_small 7 s (epoch-aligned)", st == TDL_OK && same_series(&s, t0 - 1, w7, 5),
                &s);
    tdl_slots_free(&s);

    /* Every row order gives the same slots (720 permutations of 6 rows). */
    static const char *rows[6] = {
        "2024-05-10 00:00:01.5,100,10\n",       "2024-05-10 00:00:04.999+00:00,200,20\n",
        "2024-05-10T00:00:05Z,300,30\n",        "2024-05-10 02:00:12.123+02:00,400,40\n",
        "2024-05-09 23:59:59.9999999,50,5\n",   "2024-05-09 19:00:25-05:00,600,60\n"};
    int perm[6] = {0, 1, 2, 3, 4, 5}, wrong = 0, count = 0;
    for (;;) {
        char buf[512] = "TIMESTAMP,ContextTokens,GeneratedTokens\n";
        for (int i = 0; i < 6; i++) strcat(buf, rows[perm[i]]);
        st = tdl_slots_parse(buf, strlen(buf), "perm", NULL, &s);
        if (st != TDL_OK || !same_series(&s, t0, w5, 7)) wrong++;
        tdl_slots_free(&s);
        count++;
        int i = 4;  /* next permutation */
        while (i >= 0 && perm[i] > perm[i + 1]) i--;
        if (i < 0) break;
        int j = 5;
        while (perm[j] < perm[i]) j--;
        int tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
        for (int a = i + 1, b = 5; a < b; a++, b--) tmp = perm[a], perm[a] = perm[b], perm[b] = tmp;
    }
    printf("%s row orders: %d permutations, %d differ\n", wrong ? "FAIL" : "ok  ", count, wrong);
    tdl_test_record(wrong == 0 && count == 720);

    st = tdl_slots_parse("x", 1, "m", &(tdl_slots_options){-1, 0, 0}, &s);
    TDL_CHECK(st == TDL_ERR_INVALID, "negative seconds: %d", (int)st);
}

static int check_bad_log(const bad_file *b) {
    tdl_slots s;
    tdl_status st = tdl_slots_read(b->path, NULL, &s);
    const char *msg = tdl_last_error();
    /* Only the "both" files are malformed for the series reader too: those
     * fragments are checked in test_csv. */
    int ok = st == TDL_ERR_FORMAT && strncmp(msg, b->prefix, strlen(b->prefix)) == 0 &&
             (strcmp(b->reader, "raw") != 0 || strstr(msg, b->fragment) != NULL) &&
             s.tokens.v == NULL;
    printf("%s bad %s: %s\n", ok ? "ok  " : "FAIL", b->name, msg);
    return ok;
}

static void test_bad_logs(void) {
    bad_files_each(DATA "/bad", "malformed request logs", "series", 15, check_bad_log);
}

static void test_write(void) {
    char path[256];
    snprintf(path, sizeof path, "%s/tdl_test_slots_%ld.csv",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (long)getpid());
    tdl_slots s, back;
    tdl_status st = tdl_slots_read(DATA "/raw_small.csv", NULL, &s);
    TDL_CHECK(st == TDL_OK, "%s", tdl_last_error());
    if (st != TDL_OK) return;
    st = tdl_slots_write(&s, path);
    TDL_CHECK(st == TDL_OK, "write: %s", tdl_last_error());
    char head[128] = "";
    FILE *f = fopen(path, "rb");
    if (f) {
        size_t n = fread(head, 1, sizeof head - 1, f);
        head[n] = '\0';
        fclose(f);
    }
    TDL_CHECK(strncmp(head, "TIMESTAMP,ContextTokens\n2024-05-09T23:59:55Z,50\n"
                            "2024-05-10T00:00:00Z,300\n", 73) == 0,
              "written file starts: %s", head);
    /* The output is itself a log with one "request" per slot: reading it back
     * gives the same slots, and the series reader the same values. */
    st = tdl_slots_read(path, NULL, &back);
    TDL_CHECK(st == TDL_OK && same_series(&back, s.start, s.tokens.v, s.tokens.n),
              "re-read as a log: %s", tdl_last_error());
    tdl_slots_free(&back);
    tdl_series v;
    st = tdl_csv_read_series(path, NULL, &v, NULL);
    int ok = st == TDL_OK && v.n == s.tokens.n;
    for (size_t i = 0; ok && i < v.n; i++) ok = v.v[i] == s.tokens.v[i];
    TDL_CHECK(ok, "re-read as a series: %s", tdl_last_error());
    tdl_series_free(&v);
    remove(path);
    st = tdl_slots_write(&s, "/nonexistent-dir/x.csv");
    TDL_CHECK(st == TDL_ERR_IO && strstr(tdl_last_error(), "cannot create"), "unwritable: %s",
              tdl_last_error());
    tdl_slots_free(&s);
}

/* The public originals, and the authors' compressed-5s series built from them. */
static void test_azure_raw(void) {
    const char *dir = getenv("TDL_DATA_DIR");
    char base[512], raw[600], ref[600];
    snprintf(base, sizeof base, "%s", dir && *dir ? dir : TDL_SOURCE_DIR "/../shared/data/azure");
    static const struct {
        const char *raw, *ref;
        size_t requests, slots, empty, period;
    } sets[] = {
        {"AzureLLMInferenceTrace_conv.csv", "23V.csv", 19366, 701, 0, 701},
        {"AzureLLMInferenceTrace_code.csv", "23D.csv", 8819, 688, 455, 233},
    };
    for (size_t i = 0; i < 2; i++) {
        snprintf(raw, sizeof raw, "%s/raw/%s", base, sets[i].raw);
        snprintf(ref, sizeof ref, "%s/%s", base, sets[i].ref);
        FILE *probe = fopen(raw, "rb");
        if (!probe) {
            tdl_test_skip("Azure raw trace: %s not found (set TDL_DATA_DIR to the azure folder)",
                          raw);
            return;
        }
        fclose(probe);
        tdl_slots s, sg;
        tdl_series ctx, gen, authors;
        tdl_csv_options gcol = {"GeneratedTokens", 0, 0};
        tdl_slots_options with_gen = {5, 1, 0};
        tdl_status st1 = tdl_slots_read(raw, NULL, &s);
        tdl_status st2 = tdl_slots_read(raw, &with_gen, &sg);
        tdl_status st3 = tdl_csv_read_series(raw, NULL, &ctx, NULL);
        tdl_status st4 = tdl_csv_read_series(raw, &gcol, &gen, NULL);
        tdl_status st5 = tdl_csv_read_series(ref, NULL, &authors, NULL);
        if (st1 || st2 || st3 || st4 || st5) {
            TDL_CHECK(0, "%s: %s", sets[i].raw, tdl_last_error());
            continue;
        }
        double sum_c = 0, sum_g = 0, sum_slots = 0;
        for (size_t k = 0; k < ctx.n; k++) sum_c += ctx.v[k], sum_g += gen.v[k];
        for (size_t k = 0; k < s.tokens.n; k++) sum_slots += s.tokens.v[k];
        int ok = s.requests == sets[i].requests && ctx.n == sets[i].requests &&
                 s.tokens.n == sets[i].slots && s.empty_slots == sets[i].empty &&
                 (double)s.total == sum_c && sum_slots == sum_c &&
                 (double)sg.total == sum_c + sum_g && s.out_of_order == 0;
        char t0[32];
        tdl_time_format(s.start, t0);
        printf("%s %s: %zu requests, %zu slots of 5 s from %s, %zu empty; tokens %llu = column "
               "sum %.0f = slot sum %.0f; with generated %llu = %.0f\n",
               ok ? "ok  " : "FAIL", sets[i].raw, s.requests, s.tokens.n, t0, s.empty_slots,
               (unsigned long long)s.total, sum_c, sum_slots, (unsigned long long)sg.total,
               sum_c + sum_g);
        tdl_test_record(ok);
        /* The authors' series: our non-empty slots in order, repeated. */
        size_t nz = 0, diff = 0, first_diff = 0;
        for (size_t k = 0; k < s.tokens.n; k++) {
            if (s.tokens.v[k] == 0) continue;
            for (size_t rep = nz; rep < authors.n; rep += sets[i].period)
                if (authors.v[rep] != s.tokens.v[k] && diff++ == 0) first_diff = rep;
            nz++;
        }
        ok = nz == sets[i].period && authors.n % sets[i].period == 0 && diff == 0;
        printf("%s %s = our %zu non-empty 5 s slots repeated %zu times: %zu of %zu values differ"
               " (first at row %zu)\n",
               ok ? "ok  " : "FAIL", sets[i].ref, nz, authors.n / sets[i].period, diff, authors.n,
               first_diff);
        tdl_test_record(ok);
        tdl_slots_free(&s);
        tdl_slots_free(&sg);
        tdl_series_free(&ctx);
        tdl_series_free(&gen);
        tdl_series_free(&authors);
    }
}

/* `test_slots azure` (CTest test_slots_azure): only the part that needs the data. */
int main(int argc, char **argv) {
    if (tdl_test_part(argc, argv, "azure")) {
        test_azure_raw();
        return tdl_test_done("test_slots azure");
    }
    test_time_parse();
    test_small_log();
    test_bad_logs();
    test_write();
    return tdl_test_done("test_slots");
}
