/* cmd_diffusion_quality.c: `tdl diffusion quality`: how closely generated
 * workload values (e.g. `tdl diffusion sample` output) resemble a real
 * series: W1, mean and spread, autocorrelation at lags 1..28, a 20-bin
 * histogram and its total variation distance (quality.h). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tdl/csv.h"
#include "tdl/quality.h"
#include "tdl/series.h"
#include "tdl/source.h"

static const char quality_usage[] =
    "usage: tdl diffusion quality --real SOURCE --generated SOURCE\n"
    "                             [--scale normalised|own-range] [--split all|train|test]\n"
    "                             [--column NAME] [--generated-column NAME] [--json]\n"
    "  Compares generated workload values with a real series: the 1-Wasserstein\n"
    "  distance of the value distributions, mean and std (population) of each,\n"
    "  the autocorrelation of each at lags 1..28 and their difference (max |diff|,\n"
    "  RMS), and a histogram of 20 bins on [0, 1] (plus the fractions below 0\n"
    "  and above 1) of each with the total variation distance between them.\n"
    "  Each series needs at least 29 values.\n"
    "  --real SOURCE        the real series: a CSV file or synth:PROFILE[:SEED[:SLOTS]]\n"
    "  --generated SOURCE   the generated values, e.g. the CSV written by\n"
    "                       `tdl diffusion sample` (rows of 28 in normalised units)\n"
    "  --scale S            normalised (default): the real series is min-max\n"
    "                       normalised by its own range (as the DDPM is trained) and\n"
    "                       the generated values are taken as they are, in those\n"
    "                       units; own-range: each series is min-max scaled to\n"
    "                       [0, 1] by its own range (shape only, blind to level and\n"
    "                       spread)\n"
    "  --split P            the real values used: all (default), or the train (first\n"
    "                       70%) or test (last 30%) rows of 28, after normalising the\n"
    "                       whole series\n"
    "  --column NAME        the real CSV's numeric column (default ContextTokens)\n"
    "  --generated-column NAME  the generated CSV's column (default ContextTokens)\n"
    "  --json               one JSON object instead of the table\n";

typedef enum { SPLIT_ALL = 0, SPLIT_TRAIN, SPLIT_TEST } quality_split;
static const char *const split_names[] = {"all", "train", "test"};

/* A generated CSV holds normalised values that the sampler does not clip, so
 * negative ones are accepted there (negative token counts are refused). */
static tdl_status load_generated(const char *source, const char *column, tdl_series *s) {
    if (strncmp(source, TDL_SOURCE_SYNTH_PREFIX, strlen(TDL_SOURCE_SYNTH_PREFIX)) == 0)
        return tdl_cli_load_source(source, column, s);
    tdl_csv_options opt = {column, 0, 1};
    tdl_csv_info info;
    TDL_TRY(tdl_csv_read_series(source, &opt, s, &info));
    if (info.empty_cells)
        fprintf(stderr,
                "tdl: warning: %s: %zu empty cell%s replaced by the series mean (first at line "
                "%zu)\n",
                source, info.empty_cells, info.empty_cells == 1 ? "" : "s",
                info.first_empty_line);
    return TDL_OK;
}

static int load(const char *source, const char *column, tdl_series *s, const char *what,
                int generated) {
    tdl_status st = generated ? load_generated(source, column, s)
                              : tdl_cli_load_source(source, column, s);
    if (st == TDL_OK) return 0;
    char msg[1400], hint[256];
    snprintf(msg, sizeof msg, "%s %s: %s", what, source, tdl_last_error());
    if (strncmp(source, TDL_SOURCE_SYNTH_PREFIX, strlen(TDL_SOURCE_SYNTH_PREFIX)) == 0)
        snprintf(hint, sizeof hint, "synth:PROFILE[:SEED[:SLOTS]]; `tdl synth --list` shows the "
                 "profiles");
    else
        snprintf(hint, sizeof hint, "a CSV with a header and a numeric column '%s'",
                 column ? column : "ContextTokens");
    return tdl_cli_fail(msg, hint);
}

/* The real series in the units compared: normalised by its own range under
 * --scale normalised (own-range scaling is done by the library), then the
 * split's rows. *range receives the token range. */
static int prepare_real(tdl_series *s, tdl_quality_scale scale, quality_split split,
                        tdl_range *range, const char *source) {
    tdl_status st = tdl_series_range(s, range);
    if (st == TDL_OK && scale == TDL_QUALITY_AS_GIVEN) tdl_normalize(s->v, s->v, s->n, *range);
    if (st == TDL_OK && split != SPLIT_ALL) {
        size_t R = tdl_rows_count(s->n), ntrain, ntest;
        tdl_rows_split(R, &ntrain, &ntest);
        tdl_series part = {NULL, 0};
        if (split == SPLIT_TRAIN) st = tdl_series_slice(&part, s, 0, ntrain * TDL_ROW_LEN);
        else st = tdl_series_slice(&part, s, ntrain * TDL_ROW_LEN, R * TDL_ROW_LEN);
        if (st == TDL_OK) {
            tdl_series_free(s);
            *s = part;
        }
    }
    if (st != TDL_OK) {
        char msg[1400];
        snprintf(msg, sizeof msg, "real series %s: %s", source, tdl_last_error());
        return tdl_cli_fail(msg, "the real series needs finite values");
    }
    return 0;
}

static json_t *side_json(const char *source, const tdl_quality_side *d) {
    json_t *o = json_object(), *acf = json_array(), *hist = json_array();
    tdl_cli_json_set(o, "source", tdl_cli_json_text(source));
    tdl_cli_json_set(o, "values", tdl_cli_json_integer((long long)d->n));
    tdl_cli_json_set(o, "mean", tdl_cli_json_number(d->mean));
    tdl_cli_json_set(o, "std", tdl_cli_json_number(d->std));
    tdl_cli_json_set(o, "min", tdl_cli_json_number(d->min));
    tdl_cli_json_set(o, "max", tdl_cli_json_number(d->max));
    for (int k = 0; k < TDL_QUALITY_LAGS; k++)
        tdl_cli_json_append(acf, tdl_cli_json_number(d->acf[k]));
    for (int b = 0; b < TDL_QUALITY_BINS; b++)
        tdl_cli_json_append(hist, tdl_cli_json_number(d->hist[b]));
    tdl_cli_json_set(o, "acf", acf);
    tdl_cli_json_set(o, "histogram", hist);
    tdl_cli_json_set(o, "below_0", tdl_cli_json_number(d->below));
    tdl_cli_json_set(o, "above_1", tdl_cli_json_number(d->above));
    return o;
}

static int print_json(const tdl_quality *q, const char *real, const char *gen,
                      quality_split split, tdl_range range) {
    json_t *root = json_object();
    tdl_cli_json_set(root, "scale", tdl_cli_json_text(q->scale == TDL_QUALITY_AS_GIVEN
                                                       ? "normalised" : "own-range"));
    tdl_cli_json_set(root, "split", tdl_cli_json_text(split_names[split]));
    tdl_cli_json_set(root, "real_min_tokens", tdl_cli_json_number(range.min));
    tdl_cli_json_set(root, "real_max_tokens", tdl_cli_json_number(range.max));
    tdl_cli_json_set(root, "lags", tdl_cli_json_integer(TDL_QUALITY_LAGS));
    tdl_cli_json_set(root, "bins", tdl_cli_json_integer(TDL_QUALITY_BINS));
    tdl_cli_json_set(root, "real", side_json(real, &q->real));
    tdl_cli_json_set(root, "generated", side_json(gen, &q->gen));
    tdl_cli_json_set(root, "w1", tdl_cli_json_number(q->w1));
    tdl_cli_json_set(root, "mean_diff", tdl_cli_json_number(q->mean_diff));
    tdl_cli_json_set(root, "std_diff", tdl_cli_json_number(q->std_diff));
    tdl_cli_json_set(root, "acf_max_abs_diff", tdl_cli_json_number(q->acf_max_abs));
    tdl_cli_json_set(root, "acf_rms_diff", tdl_cli_json_number(q->acf_rms));
    tdl_cli_json_set(root, "histogram_tv", tdl_cli_json_number(q->hist_tv));
    return tdl_cli_json_print(root, 10, 2);
}

static void print_table(const tdl_quality *q, const char *real, const char *gen,
                        quality_split split, tdl_range range) {
    const tdl_quality_side *r = &q->real, *g = &q->gen;
    if (q->scale == TDL_QUALITY_AS_GIVEN) {
        printf("real       %s (%s values), min-max normalised by its own range %.10g .. %.10g\n",
               real, split_names[split], range.min, range.max);
        printf("generated  %s, taken as given (normalised units)\n", gen);
    } else {
        printf("real       %s (%s values), scaled to [0, 1] by its own range\n", real,
               split_names[split]);
        printf("generated  %s, scaled to [0, 1] by its own range\n", gen);
    }
    printf("\n%-22s %12s %12s %12s\n", "", "real", "generated", "diff");
    printf("%-22s %12zu %12zu\n", "values", r->n, g->n);
    printf("%-22s %12.4f %12.4f %+12.4f\n", "mean", r->mean, g->mean, q->mean_diff);
    printf("%-22s %12.4f %12.4f %+12.4f\n", "std", r->std, g->std, q->std_diff);
    printf("%-22s %12.4f %12.4f\n", "min", r->min, g->min);
    printf("%-22s %12.4f %12.4f\n", "max", r->max, g->max);
    printf("%-22s %12.4f %12.4f\n", "fraction below 0", r->below, g->below);
    printf("%-22s %12.4f %12.4f\n", "fraction above 1", r->above, g->above);
    printf("\nW1 of the values                  %.4f\n", q->w1);
    printf("autocorrelation 1..28  max |diff| %.4f   RMS diff %.4f\n", q->acf_max_abs, q->acf_rms);
    printf("histogram (20 bins)    total variation distance %.4f\n", q->hist_tv);
    printf("\n%-4s %9s %9s %9s      %-13s %9s %9s\n", "lag", "real", "generated", "diff", "bin",
           "real", "generated");
    /* lags on the left, histogram cells (<0, 20 bins, >1) on the right */
    for (int i = 0; i < TDL_QUALITY_LAGS; i++) {
        printf("%-4d %9.4f %9.4f %+9.4f", i + 1, r->acf[i], g->acf[i], g->acf[i] - r->acf[i]);
        if (i < TDL_QUALITY_BINS + 2) {
            char bin[32];
            double rv, gv;
            if (i == 0) {
                snprintf(bin, sizeof bin, "< 0");
                rv = r->below;
                gv = g->below;
            } else if (i == TDL_QUALITY_BINS + 1) {
                snprintf(bin, sizeof bin, "> 1");
                rv = r->above;
                gv = g->above;
            } else {
                double lo = (double)(i - 1) / TDL_QUALITY_BINS, hi = (double)i / TDL_QUALITY_BINS;
                snprintf(bin, sizeof bin, "[%.2f, %.2f%c", lo, hi,
                         i == TDL_QUALITY_BINS ? ']' : ')');
                rv = r->hist[i - 1];
                gv = g->hist[i - 1];
            }
            printf("      %-13s %9.4f %9.4f", bin, rv, gv);
        }
        putchar('\n');
    }
}

int tdl_cmd_diffusion_quality(int argc, char **argv) {
    enum { O_GENCOL = 256 };
    static const struct option opts[] = {
        {"real", required_argument, NULL, 'r'},
        {"generated", required_argument, NULL, 'g'},
        {"scale", required_argument, NULL, 's'},
        {"split", required_argument, NULL, 'p'},
        {"column", required_argument, NULL, 'c'},
        {"generated-column", required_argument, NULL, O_GENCOL},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *real = NULL, *gen = NULL, *column = NULL, *gen_column = NULL;
    tdl_quality_scale scale = TDL_QUALITY_AS_GIVEN;
    quality_split split = SPLIT_ALL;
    int json = 0, c;
    optind = 0; /* re-initialise GNU getopt (main parsed with '+') */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'r': real = optarg; break;
        case 'g': gen = optarg; break;
        case 's':
            if (tdl_quality_scale_parse(optarg, &scale) != TDL_OK)
                return tdl_cli_usage_error(quality_usage, "--scale: %s", tdl_last_error());
            break;
        case 'p': {
            int found = 0;
            for (int i = 0; i < 3; i++)
                if (strcmp(optarg, split_names[i]) == 0) {
                    split = (quality_split)i;
                    found = 1;
                }
            if (!found)
                return tdl_cli_usage_error(quality_usage,
                                           "--split: unknown split '%s' (all, train or test)",
                                           optarg);
            break;
        }
        case 'c':
        case O_GENCOL:
            if (!*optarg)
                return tdl_cli_usage_error(quality_usage, "%s needs a name", argv[optind - 1]);
            if (c == 'c') column = optarg;
            else gen_column = optarg;
            break;
        case 'j': json = 1; break;
        case 'h': fputs(quality_usage, stdout); return TDL_EXIT_OK;
        case ':':
            return tdl_cli_usage_error(quality_usage, "%s needs a value", argv[optind - 1]);
        default:
            return tdl_cli_usage_error(quality_usage, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return tdl_cli_usage_error(quality_usage, "unexpected argument '%s'", argv[optind]);
    if (!real) return tdl_cli_usage_error(quality_usage, "--real SOURCE is required");
    if (!gen) return tdl_cli_usage_error(quality_usage, "--generated SOURCE is required");

    tdl_series rs = {NULL, 0}, gs = {NULL, 0};
    tdl_range range = {0.0, 0.0};
    int rc = load(real, column, &rs, "real series", 0);
    if (rc == 0) rc = prepare_real(&rs, scale, split, &range, real);
    if (rc == 0) rc = load(gen, gen_column, &gs, "generated series", 1);
    tdl_quality q;
    if (rc == 0 && tdl_quality_compare(&rs, &gs, scale, &q) != TDL_OK)
        rc = tdl_cli_fail(tdl_last_error(), "both series need at least 29 finite values");
    tdl_series_free(&rs);
    tdl_series_free(&gs);
    if (rc != 0) return rc;
    if (scale == TDL_QUALITY_AS_GIVEN && (q.gen.max > 100.0 || q.gen.min < -100.0))
        fprintf(stderr,
                "tdl: warning: the generated values reach %.6g .. %.6g, far outside the "
                "normalised [0, 1]: if they are tokens, use --scale own-range\n",
                q.gen.min, q.gen.max);
    if (json) return print_json(&q, real, gen, split, range);
    print_table(&q, real, gen, split, range);
    return TDL_EXIT_OK;
}
