/* cmd_data_info.c: `tdl data info`: what a workload series holds: values,
 * rows of 28, range, mean, spread, repetition, and its distance to a
 * training series. */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tdl/distance.h"
#include "tdl/series.h"
#include "tdl/source.h"

static const char data_info_usage[] =
    "usage: tdl data info [SOURCE...] [--against TRAIN] [--column NAME] [--json]\n"
    "  SOURCE is a CSV file or synth:PROFILE[:SEED[:SLOTS]] (the built-in synthetic\n"
    "  workload, see `tdl synth --list`); with no SOURCE, " TDL_SOURCE_DEFAULT ".\n"
    "  For each series: values, rows of 28 (tail dropped), min, max, mean,\n"
    "  std (population), the period if the series repeats exactly (at least two\n"
    "  full repeats), and with --against the normalised 1-Wasserstein distance to\n"
    "  TRAIN (each whole series min-max scaled to [0, 1] by its own range).\n"
    "  --against TRAIN   the training series to compare with (e.g. 23V.csv)\n"
    "  --column NAME     the numeric column (default ContextTokens)\n"
    "  --json            one JSON object instead of a table\n"
    "  Empty cells become the series mean (a warning counts them).\n";

typedef struct {
    const char *path;
    size_t n, period;
    tdl_series_stats st;
    double w1; /* to TRAIN, or -1 */
} info_row;

static int load(const char *path, const char *column, tdl_series *s) {
    if (tdl_cli_load_source(path, column, s) != TDL_OK) {
        char hint[256];
        if (strncmp(path, TDL_SOURCE_SYNTH_PREFIX, strlen(TDL_SOURCE_SYNTH_PREFIX)) == 0)
            snprintf(hint, sizeof hint, "synth:PROFILE[:SEED[:SLOTS]]; `tdl synth --list` "
                     "shows the profiles");
        else
            snprintf(hint, sizeof hint, "FILE must be a CSV with a header and a numeric column "
                     "'%s'", column ? column : "ContextTokens");
        return tdl_cli_fail(tdl_last_error(), hint);
    }
    return 0;
}

static int describe(info_row *row, const char *path, const char *column, const tdl_series *train) {
    tdl_series s = {NULL, 0};
    if (load(path, column, &s)) return TDL_EXIT_FAIL;
    row->path = path;
    row->n = s.n;
    row->w1 = -1.0;
    tdl_status st = tdl_series_stats_compute(&s, &row->st);
    if (st == TDL_OK) st = tdl_series_period(&s, &row->period);
    if (st == TDL_OK && train)
        st = tdl_distance_w1_normalized(s.v, s.n, train->v, train->n, &row->w1);
    tdl_series_free(&s);
    if (st != TDL_OK) return tdl_cli_fail(tdl_last_error(), path);
    return 0;
}

static int print_json(const info_row *rows, size_t k, const char *against, const char *column) {
    json_t *root = json_object(), *files = json_array();
    tdl_cli_json_set(root, "column", tdl_cli_json_text(column ? column : "ContextTokens"));
    tdl_cli_json_set(root, "against", against ? tdl_cli_json_text(against) : tdl_cli_json_null());
    for (size_t i = 0; i < k; i++) {
        const info_row *r = &rows[i];
        json_t *o = json_object();
        tdl_cli_json_set(o, "file", tdl_cli_json_text(r->path));
        tdl_cli_json_set(o, "values", tdl_cli_json_integer((long long)r->n));
        tdl_cli_json_set(o, "rows28", tdl_cli_json_integer((long long)tdl_rows_count(r->n)));
        tdl_cli_json_set(o, "min", tdl_cli_json_number(r->st.min));
        tdl_cli_json_set(o, "max", tdl_cli_json_number(r->st.max));
        tdl_cli_json_set(o, "mean", tdl_cli_json_number(r->st.mean));
        tdl_cli_json_set(o, "std", tdl_cli_json_number(r->st.std));
        tdl_cli_json_set(o, "period", r->period ? tdl_cli_json_integer((long long)r->period)
                                                : tdl_cli_json_null());
        if (against) tdl_cli_json_set(o, "w1", tdl_cli_json_number(r->w1));
        tdl_cli_json_append(files, o);
    }
    tdl_cli_json_set(root, "files", files);
    return tdl_cli_json_print(root, 10, 2);
}

static void print_table(const info_row *rows, size_t k, const char *against) {
    int w = 4;
    for (size_t i = 0; i < k; i++) {
        int len = (int)strlen(rows[i].path);
        if (len > w) w = len;
    }
    printf("%-*s %8s %7s %12s %12s %12s %12s %7s%s\n", w, "file", "values", "rows28", "min", "max",
           "mean", "std", "period", against ? "  W1" : "");
    for (size_t i = 0; i < k; i++) {
        const info_row *r = &rows[i];
        char period[32] = "-", w1[32] = "", mean[32], std[32];
        if (r->period) snprintf(period, sizeof period, "%zu", r->period);
        if (against) snprintf(w1, sizeof w1, "  %.4f", r->w1);
        /* 2 decimals, or 10 digits for values %.2f would print in full */
        snprintf(mean, sizeof mean, fabs(r->st.mean) < 1e15 ? "%.2f" : "%.10g", r->st.mean);
        snprintf(std, sizeof std, r->st.std < 1e15 ? "%.2f" : "%.10g", r->st.std);
        printf("%-*s %8zu %7zu %12.10g %12.10g %12s %12s %7s%s\n", w, r->path, r->n,
               tdl_rows_count(r->n), r->st.min, r->st.max, mean, std, period, w1);
    }
    if (against)
        printf("W1: normalised 1-Wasserstein distance to %s (each series scaled to [0, 1] by its "
               "own range)\n", against);
}

int tdl_cmd_data_info(int argc, char **argv) {
    static const struct option opts[] = {
        {"against", required_argument, NULL, 'a'},
        {"column", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *against = NULL, *column = NULL;
    int json = 0, c;
    /* 0, not 1: GNU getopt re-initialises (main parsed with '+', which
     * would stop at the first FILE) and permutes FILEs after the options */
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'a': against = optarg; break;
        case 'c':
            if (!*optarg) return tdl_cli_usage_error(data_info_usage, "--column needs a name");
            column = optarg;
            break;
        case 'j': json = 1; break;
        case 'h': fputs(data_info_usage, stdout); return TDL_EXIT_OK;
        case ':':
            return tdl_cli_usage_error(data_info_usage, "%s needs a value", argv[optind - 1]);
        default:
            return tdl_cli_usage_error(data_info_usage, "unknown option '%s'", argv[optind - 1]);
        }
    }
    /* No data given: describe the built-in default workload. */
    static char default_source[] = TDL_SOURCE_DEFAULT;
    char *default_argv[] = {default_source};
    char **files = argv + optind;
    int nfiles = argc - optind;
    if (nfiles == 0) {
        files = default_argv;
        nfiles = 1;
    }

    tdl_series train = {NULL, 0};
    if (against && load(against, column, &train)) return TDL_EXIT_FAIL;
    size_t k = (size_t)nfiles;
    info_row *rows = calloc(k, sizeof *rows);
    if (!rows) {
        tdl_series_free(&train);
        return tdl_cli_fail("out of memory", NULL);
    }
    int rc = TDL_EXIT_OK;
    for (size_t i = 0; i < k && rc == TDL_EXIT_OK; i++)
        rc = describe(&rows[i], files[i], column, against ? &train : NULL);
    tdl_series_free(&train);
    if (rc == TDL_EXIT_OK) {
        if (json) rc = print_json(rows, k, against, column);
        else print_table(rows, k, against);
    }
    free(rows);
    return rc;
}
