/* cmd_data_corrupt.c: `tdl data corrupt SOURCE --kind K --level L -o OUT.csv`:
 * a workload series corrupted in normalised units (noise.h, Fig. 2), written
 * back in tokens (or normalised). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tdl/csv.h"
#include "tdl/noise.h"
#include "tdl/series.h"

static const char corrupt_usage[] =
    "usage: tdl data corrupt SOURCE --kind K --level L [--seed S] [--normalised] -o OUT.csv\n"
    "  Corrupt a workload series as Fig. 2's test sets: SOURCE (a CSV file or\n"
    "  synth:PROFILE) is normalised by its own range (all its values), corrupted\n"
    "  in normalised units, mapped back to tokens with the same range and\n"
    "  written as one column ContextTokens: changed values not rounded (so\n"
    "  re-normalising by the original range gives them back), the others as\n"
    "  they were.\n"
    "  -k, --kind K          cutout (values set to 0, i.e. the series minimum in\n"
    "                        tokens), perlin (8-octave Perlin noise, not clipped)\n"
    "                        or gauss (Gaussian noise, clipped to [0, 1], i.e. to\n"
    "                        the original range)\n"
    "  -l, --level L         cutout: probability in [0, 1]; perlin: peak amplitude\n"
    "                        as a fraction of the range, >= 0; gauss: sigma in\n"
    "                        normalised units, >= 0. Fig. 2: cutout 0.005,\n"
    "                        perlin 0.05, gauss 0.1\n"
    "  -s, --seed S          the draws, 0..2^63-1 (default 1): the stream of\n"
    "                        `tdl eval --corrupt-seed S`, so on a series of whole\n"
    "                        rows of 28 and at most 100,000 values the two corrupt\n"
    "                        the normalised values identically (authors protocol)\n"
    "  -n, --normalised      write the corrupted normalised values instead of tokens\n"
    "  -o, --output OUT.csv  where to write (atomically: temporary file, rename)\n";

int tdl_cmd_data_corrupt(int argc, char **argv) {
    static const struct option opts[] = {{"kind", required_argument, NULL, 'k'},
                                         {"level", required_argument, NULL, 'l'},
                                         {"seed", required_argument, NULL, 's'},
                                         {"normalised", no_argument, NULL, 'n'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    tdl_corrupt_spec spec = {TDL_CORRUPT_CUTOUT, 0.0};
    const char *out_path = NULL, *level_text = NULL;
    int kind_given = 0, normalised = 0, c;
    long seed = 1;
    optind = 0; /* as cmd_data_slots.c: options may follow SOURCE */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":k:l:s:no:h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            if (tdl_corrupt_kind_parse(optarg, &spec.kind) != TDL_OK)
                return tdl_cli_usage_error(corrupt_usage, "--kind: %s", tdl_last_error());
            kind_given = 1;
            break;
        case 'l': level_text = optarg; break;
        case 's':
            if (tdl_cli_parse_long(corrupt_usage, "--seed", optarg, 0, LONG_MAX, &seed))
                return TDL_EXIT_USAGE;
            break;
        case 'n': normalised = 1; break;
        case 'o': out_path = optarg; break;
        case 'h': fputs(corrupt_usage, stdout); return TDL_EXIT_OK;
        case ':':
            return tdl_cli_usage_error(corrupt_usage, "option '%s' needs a value",
                                       argv[optind - 1]);
        default:
            return tdl_cli_usage_error(corrupt_usage, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind != 1)
        return tdl_cli_usage_error(corrupt_usage, "expected one SOURCE, got %d", argc - optind);
    if (!kind_given) return tdl_cli_usage_error(corrupt_usage, "--kind is required");
    if (!level_text) return tdl_cli_usage_error(corrupt_usage, "--level is required");
    if (!out_path) return tdl_cli_usage_error(corrupt_usage, "no output file: give -o OUT.csv");
    char *end;
    errno = 0;
    spec.level = strtod(level_text, &end);
    if (errno != 0 || end == level_text || *end != '\0')
        return tdl_cli_usage_error(corrupt_usage, "--level '%s' is not a number", level_text);
    if (tdl_corrupt_check(&spec) != TDL_OK)
        return tdl_cli_usage_error(corrupt_usage, "--level: %s", tdl_last_error());
    const char *source = argv[optind];
    const tdl_cli_file o[1] = {{"-o", out_path}}, in[1] = {{"SOURCE", source}};
    int frc = tdl_cli_check_files(corrupt_usage, o, 1, in, 1, 0);
    if (frc) return frc;

    tdl_series s = {NULL, 0};
    tdl_range r;
    if (tdl_cli_load_source(source, NULL, &s) != TDL_OK) {
        char what[1200];
        snprintf(what, sizeof what, "%s", tdl_last_error());
        return tdl_cli_fail(what, "SOURCE is a CSV with a numeric column ContextTokens, or "
                                  "synth:PROFILE[:SEED[:SLOTS]]");
    }
    int rc = TDL_EXIT_FAIL;
    size_t changed = 0;
    tdl_series orig = {NULL, 0}, clean = {NULL, 0};
    tdl_status st = tdl_series_slice(&orig, &s, 0, s.n);
    if (st == TDL_OK) st = tdl_series_normalize(&s, &r);
    if (st == TDL_OK) st = tdl_series_slice(&clean, &s, 0, s.n);
    if (st == TDL_OK) st = tdl_series_corrupt(s.v, s.n, &spec, (uint64_t)seed);
    if (st != TDL_OK) {
        tdl_cli_fail(tdl_last_error(), "the series needs finite values");
        goto done;
    }
    for (size_t i = 0; i < s.n; i++) {
        int same = s.v[i] == clean.v[i];
        changed += !same;
        /* in tokens, values the corruption left alone are written as they
         * were, not through the rounding of normalise and back */
        if (normalised) continue;
        if (same) s.v[i] = orig.v[i];
        else tdl_denormalize(&s.v[i], &s.v[i], 1, r);
    }
    if (tdl_csv_write_series(out_path, "ContextTokens", &s) != TDL_OK) {
        tdl_cli_fail(tdl_last_error(), "check the path, free space and permissions");
        goto done;
    }
    printf("%s: %zu values (range %.6g .. %.6g) corrupted by %s:%g (seed %ld), %zu changed -> "
           "%s%s\n", source, s.n, r.min, r.max, tdl_corrupt_kind_name(spec.kind), spec.level,
           seed, changed, out_path, normalised ? " (normalised units)" : "");
    rc = TDL_EXIT_OK;
done:
    tdl_series_free(&s);
    tdl_series_free(&orig);
    tdl_series_free(&clean);
    return rc;
}
