/* cmd_synth.c: `tdl synth`: write a synthetic token workload series as CSV. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "tdl/csv.h"
#include "tdl/synth.h"

static const char synth_usage[] =
    "usage: tdl synth --profile NAME [--slots N] [--seed S] -o OUT.csv\n"
    "       tdl synth --list\n"
    "  Write a synthetic token workload: one positive integer per 5-second slot,\n"
    "  CSV with the header ContextTokens, from a profile fitted to the Azure LLM\n"
    "  traces (docs/synthesis.md). The same profile, slots and seed give the same\n"
    "  file; a longer series starts with the shorter one.\n"
    "  --profile NAME  workload profile (default conversation; --list names them)\n"
    "  --slots N       number of slots, 1..10000000 (default 21030, like 23V.csv)\n"
    "  --seed S        random seed, 0..2^63-1 (default 1)\n"
    "  -o, --output F  the CSV file, written atomically ('-' for stdout)\n"
    "  --list          print the profiles with a one-line description\n";

static int synth_list(void) {
    for (size_t i = 0; i < tdl_synth_profile_count(); i++) {
        const tdl_synth_profile *p = tdl_synth_profile_at(i);
        printf("%-22s %s\n", p->name, p->description);
    }
    return TDL_EXIT_OK;
}

static int synth_write(const char *path, const tdl_series *s) {
    if (tdl_csv_write_series(path, "ContextTokens", s) != TDL_OK)
        return tdl_cli_fail(tdl_last_error(), "check the path, free space and permissions");
    return TDL_EXIT_OK;
}

int tdl_cmd_synth(int argc, char **argv) {
    static const struct option opts[] = {
        {"profile", required_argument, NULL, 'p'}, {"slots", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'},    {"output", required_argument, NULL, 'o'},
        {"list", no_argument, NULL, 'l'},          {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *profile = "conversation", *out = NULL;
    long slots = 21030, seed = 1;
    int list = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
        switch (c) {
        case 'p': profile = optarg; break;
        case 'n':
            if (tdl_cli_parse_long(synth_usage, "--slots", optarg, 1, (long)TDL_SYNTH_MAX_SLOTS,
                                   &slots))
                return TDL_EXIT_USAGE;
            break;
        case 's':
            if (tdl_cli_parse_long(synth_usage, "--seed", optarg, 0, LONG_MAX, &seed))
                return TDL_EXIT_USAGE;
            break;
        case 'o': out = optarg; break;
        case 'l': list = 1; break;
        case 'h': fputs(synth_usage, stdout); return TDL_EXIT_OK;
        case ':':
            return tdl_cli_usage_error(synth_usage, "%s needs a value", argv[optind - 1]);
        default:
            return tdl_cli_usage_error(synth_usage, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return tdl_cli_usage_error(synth_usage, "unexpected argument '%s'", argv[optind]);
    if (list) return synth_list();
    if (!out) return tdl_cli_usage_error(synth_usage, "no output file: give -o OUT.csv");
    if (!tdl_synth_profile_find(profile)) {
        tdl_series none = {NULL, 0};
        tdl_synth_generate(&none, profile, 1, 1); /* for the message listing the names */
        return tdl_cli_usage_error(synth_usage, "%s", tdl_last_error());
    }

    if (strcmp(out, "-") != 0) {
        const tdl_cli_file o[1] = {{"-o", out}};
        int rc = tdl_cli_check_files(synth_usage, o, 1, NULL, 0, 0);
        if (rc) return rc;
    }
    tdl_series s = {NULL, 0};
    if (tdl_synth_generate(&s, profile, (size_t)slots, (uint64_t)seed) != TDL_OK)
        return tdl_cli_fail(tdl_last_error(), "");
    int rc;
    if (strcmp(out, "-") == 0) {
        rc = tdl_csv_print_series(stdout, "ContextTokens", &s) == 0 && fflush(stdout) == 0
                 ? TDL_EXIT_OK
                 : tdl_cli_fail("cannot write to stdout", strerror(errno));
    } else {
        rc = synth_write(out, &s);
    }
    tdl_series_free(&s);
    return rc;
}
