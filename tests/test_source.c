/* test_source.c: series sources: CSV files and synth:PROFILE[:SEED[:SLOTS]]. */
#include <stdio.h>
#include <string.h>

#include "tdl/csv.h"
#include "tdl/source.h"
#include "tdl/synth.h"
#include "tdl_test.h"

int main(void) {
    tdl_series a = {NULL, 0}, b = {NULL, 0};
    tdl_source_info info;

    /* The default is the conversation profile, seed 1, 21030 slots. */
    TDL_CHECK(tdl_source_load(TDL_SOURCE_DEFAULT, NULL, 0, &a, &info) == TDL_OK, "default: %s",
              tdl_last_error());
    TDL_CHECK(a.n == TDL_SOURCE_DEFAULT_SLOTS && info.synthetic == 1, "default: %zu values", a.n);
    TDL_CHECK(tdl_synth_generate(&b, "conversation", TDL_SOURCE_DEFAULT_SLOTS, 1) == TDL_OK, "gen");
    TDL_CHECK(a.n == b.n && memcmp(a.v, b.v, a.n * sizeof *a.v) == 0,
              "synth:conversation differs from tdl_synth_generate(conversation, 21030, 1)");
    tdl_series_free(&a);
    tdl_series_free(&b);

    /* Seed and slots; max_values truncates. */
    TDL_CHECK(tdl_source_load("synth:code:7:500", NULL, 0, &a, NULL) == TDL_OK && a.n == 500,
              "synth:code:7:500: %s", tdl_last_error());
    TDL_CHECK(tdl_source_load("synth:code:7", NULL, 120, &b, NULL) == TDL_OK && b.n == 120,
              "synth:code:7 with max 120");
    TDL_CHECK(memcmp(a.v, b.v, 120 * sizeof *a.v) == 0, "prefix of the same seed differs");
    tdl_series_free(&a);
    tdl_series_free(&b);

    const char *bad[] = {"synth:", "synth:nope", "synth:code:x", "synth:code:1:0",
                         "synth:code:1:2:3", "synth:code:-1", "synth:code:1:99999999999", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        tdl_status s = tdl_source_load(bad[i], NULL, 0, &a, NULL);
        TDL_CHECK(s == TDL_ERR_INVALID && a.v == NULL, "'%s' accepted (%s)", bad[i],
                  tdl_last_error());
        printf("ok   '%s' refused: %s\n", bad[i], tdl_last_error());
    }

    /* A CSV file: values, and errors that name the file. */
    const char *path = "test_source.csv";
    FILE *f = fopen(path, "w");
    fputs("TIMESTAMP,ContextTokens\n1,10\n2,\n3,30\n", f);
    fclose(f);
    TDL_CHECK(tdl_source_load(path, NULL, 0, &a, &info) == TDL_OK && a.n == 3 && a.v[1] == 20.0 &&
                  info.empty_cells == 1 && info.first_empty_line == 3 && !info.synthetic,
              "csv: %s", tdl_last_error());
    tdl_series_free(&a);
    TDL_CHECK(tdl_source_load(path, "Nope", 0, &a, NULL) != TDL_OK &&
                  strstr(tdl_last_error(), path),
              "missing column: %s", tdl_last_error());
    remove(path);
    TDL_CHECK(tdl_source_load("no/such.csv", NULL, 0, &a, NULL) == TDL_ERR_IO, "missing file");

    /* tdl_csv_write_series round-trips exactly through the reader. */
    double vals[5] = {0.0, 12345.0, 0.1, 1.0 / 3.0, 9e15};
    tdl_series w = {vals, 5};
    TDL_CHECK(tdl_csv_write_series(path, "Load", &w) == TDL_OK, "write: %s", tdl_last_error());
    TDL_CHECK(tdl_source_load(path, "Load", 0, &a, NULL) == TDL_OK && a.n == 5 &&
                  memcmp(a.v, vals, sizeof vals) == 0,
              "round trip differs: %s", tdl_last_error());
    tdl_series_free(&a);
    remove(path);
    return tdl_test_done("test_source");
}
