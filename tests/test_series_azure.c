/* test_series_azure.c: the table of ../shared/data/azure/README.md
 * reproduced: for every slot series its rows, rows/28 and the normalised W1
 * to 23V to 4 decimals; 23V repeats with period 701 and 23D with 233, the
 * others never; the combined files are the concatenations the README says;
 * 23V's range and its 70/30 split. Skips (exit 0) when the data is absent:
 * TDL_DATA_DIR, else TDL_SOURCE_DIR/../shared/data/azure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/csv.h"
#include "tdl/distance.h"
#include "tdl/series.h"
#include "tdl_test.h"

#ifndef TDL_SOURCE_DIR
#define TDL_SOURCE_DIR "."
#endif

/* The ContextTokens column through the library's CSV reader. */
static int load(tdl_series *s, const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    tdl_csv_info info;
    if (tdl_csv_read_series(path, NULL, s, &info) != TDL_OK) {
        printf("     %s\n", tdl_last_error());
        return 0;
    }
    return info.empty_cells == 0;
}

static const struct {
    const char *file;
    size_t rows, rows28, period;
    double w1; /* to 23V, 4 decimals, from the README */
} table[] = {
    {"23V.csv", 21030, 751, 701, 0.0000},    {"23D.csv", 22368, 798, 233, 0.1457},
    {"24V.csv", 60480, 2160, 0, 0.1163},     {"24D.csv", 60479, 2159, 0, 0.1424},
    {"23D24D.csv", 71663, 2559, 0, 0.1563}, {"23D24V.csv", 71664, 2559, 0, 0.1359},
    {"24D24V.csv", 120959, 4319, 0, 0.0685},
};
enum { NFILES = sizeof table / sizeof *table };

static int same(const tdl_series *a, const tdl_series *b) {
    return a->n == b->n && memcmp(a->v, b->v, a->n * sizeof *a->v) == 0;
}

int main(void) {
    const char *dir = getenv("TDL_DATA_DIR");
    if (!dir || !*dir) dir = TDL_SOURCE_DIR "/../shared/data/azure";
    char probe[4096];
    snprintf(probe, sizeof probe, "%s/23V.csv", dir);
    FILE *f = fopen(probe, "r");
    if (!f) {
        tdl_test_skip("test_series_azure: the Azure data is absent (%s); set TDL_DATA_DIR", dir);
        return tdl_test_done("test_series_azure");
    }
    fclose(f);

    tdl_series s[NFILES];
    for (int i = 0; i < NFILES; i++) {
        int ok = load(&s[i], dir, table[i].file);
        TDL_CHECK(ok, "cannot read %s/%s", dir, table[i].file);
        if (!ok) return tdl_test_done("test_series_azure");
    }
    printf("file        rows    rows/28  period  W1 to 23V (README)\n");
    for (int i = 0; i < NFILES; i++) {
        double w1 = -1;
        size_t period = 99;
        TDL_CHECK(tdl_distance_w1_normalized(s[i].v, s[i].n, s[0].v, s[0].n, &w1) == TDL_OK, "%s",
                  tdl_last_error());
        TDL_CHECK(tdl_series_period(&s[i], &period) == TDL_OK, "%s", tdl_last_error());
        int ok = s[i].n == table[i].rows && tdl_rows_count(s[i].n) == table[i].rows28
                 && period == table[i].period && fabs(round(w1 * 1e4) / 1e4 - table[i].w1) < 1e-9;
        printf("%s %-10s %6zu  %5zu  %6zu  %.5f (%.4f)\n", ok ? "ok  " : "FAIL", table[i].file,
               s[i].n, tdl_rows_count(s[i].n), period, w1, table[i].w1);
        tdl_test_record(ok);
    }
    /* 23D: W1 0.1457 within 0.0005 (the criterion) */
    double w;
    tdl_distance_w1_normalized(s[1].v, s[1].n, s[0].v, s[0].n, &w);
    TDL_CHECK(fabs(w - 0.1457) <= 0.0005, "23D vs 23V W1 %.5f", w);

    /* 23D24D = first half of 23D + 24D; 23D24V = first half + 24V;
     * 24D24V = 24D + 24V */
    tdl_series half, c;
    TDL_CHECK(tdl_series_slice(&half, &s[1], 0, s[1].n / 2) == TDL_OK, "slice");
    tdl_series p1[2] = {half, s[3]}, p2[2] = {half, s[2]}, p3[2] = {s[3], s[2]};
    tdl_series_concat(&c, p1, 2);
    TDL_CHECK(same(&c, &s[4]), "23D24D is not half of 23D + 24D");
    tdl_series_free(&c);
    tdl_series_concat(&c, p2, 2);
    TDL_CHECK(same(&c, &s[5]), "23D24V is not half of 23D + 24V");
    tdl_series_free(&c);
    tdl_series_concat(&c, p3, 2);
    TDL_CHECK(same(&c, &s[6]), "24D24V is not 24D + 24V");
    tdl_series_free(&c);
    tdl_series_free(&half);
    printf("ok   23D24D, 23D24V and 24D24V are the concatenations the README names\n");

    /* 23V: range 374..106957 (spec section 2), 751 rows -> 525 train / 226 test */
    tdl_range r;
    size_t tr, te;
    tdl_series_range(&s[0], &r);
    tdl_rows_split(tdl_rows_count(s[0].n), &tr, &te);
    TDL_CHECK(r.min == 374 && r.max == 106957 && tr == 525 && te == 226,
              "23V range %g..%g split %zu/%zu", r.min, r.max, tr, te);
    printf("ok   23V range %g..%g, split %zu train / %zu test rows\n", r.min, r.max, tr, te);
    TDL_CHECK(tdl_series_test_count(s[6].n) == 100000, "24D24V test values");

    for (int i = 0; i < NFILES; i++) tdl_series_free(&s[i]);
    return tdl_test_done("test_series_azure");
}
