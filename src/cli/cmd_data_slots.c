/* cmd_data_slots.c: `tdl data slots RAW.csv -o OUT.csv`: a request log
 * (TIMESTAMP, ContextTokens[, GeneratedTokens]) to tokens per time slot. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "tdl/slots.h"

static const char slots_usage[] =
    "usage: tdl data slots RAW.csv [--seconds S] [--with-generated] -o OUT.csv\n"
    "  Sum the tokens of a raw request log (one row per request, columns TIMESTAMP\n"
    "  and ContextTokens) into tumbling windows of S seconds and write\n"
    "  `TIMESTAMP,ContextTokens` rows, one per slot (slot start, ISO 8601 UTC).\n"
    "  Slots are aligned to multiples of S seconds since 1970-01-01T00:00:00Z and\n"
    "  run from the earliest request's slot to the latest's; empty slots are 0.\n"
    "  Rows may be in any order. Timestamps without a zone are taken as UTC.\n"
    "  -s, --seconds S       slot length in whole seconds, 1 to 86400 (default 5)\n"
    "  -g, --with-generated  add GeneratedTokens to ContextTokens\n"
    "  -o, --output OUT.csv  where to write (atomically: temporary file, rename)\n";

int tdl_cmd_data_slots(int argc, char **argv) {
    static const struct option opts[] = {{"seconds", required_argument, NULL, 's'},
                                         {"with-generated", no_argument, NULL, 'g'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    tdl_slots_options opt = {TDL_SLOTS_SECONDS_DEFAULT, 0, 0};
    const char *out_path = NULL;
    long seconds = TDL_SLOTS_SECONDS_DEFAULT;
    int c;
    /* 0, not 1: glibc then re-initialises, so options may follow RAW.csv
     * (main's "+" scan stopped at the first non-option). */
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":s:go:h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (tdl_cli_parse_long(slots_usage, "--seconds", optarg, 1, 86400, &seconds))
                return TDL_EXIT_USAGE;
            break;
        case 'g': opt.with_generated = 1; break;
        case 'o': out_path = optarg; break;
        case 'h': fputs(slots_usage, stdout); return TDL_EXIT_OK;
        case ':':
            return tdl_cli_usage_error(slots_usage, "option '%s' needs a value", argv[optind - 1]);
        default:
            return tdl_cli_usage_error(slots_usage, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind != 1)
        return tdl_cli_usage_error(slots_usage, "expected one RAW.csv, got %d", argc - optind);
    if (!out_path) return tdl_cli_usage_error(slots_usage, "no output file: give -o OUT.csv");
    opt.seconds = seconds;
    const char *in_path = argv[optind];
    const tdl_cli_file o[1] = {{"-o", out_path}}, in[1] = {{"RAW.csv", in_path}};
    int rc = tdl_cli_check_files(slots_usage, o, 1, in, 1, 0);
    if (rc) return rc;

    tdl_slots s;
    if (tdl_slots_read(in_path, &opt, &s) != TDL_OK)
        return tdl_cli_fail(tdl_last_error(),
                            "see `tdl data slots --help` for the columns and timestamps it reads");
    if (tdl_slots_write(&s, out_path) != TDL_OK) {
        tdl_slots_free(&s);
        return tdl_cli_fail(tdl_last_error(), "is the output directory writable?");
    }
    char t0[32], t1[32];
    tdl_time_format(s.start, t0);
    tdl_time_format(s.start + (int64_t)s.tokens.n * s.seconds, t1);
    printf("%s: %zu requests -> %zu slots of %lld s from %s to %s (%zu empty), %llu %s tokens\n",
           in_path, s.requests, s.tokens.n, (long long)s.seconds, t0, t1, s.empty_slots,
           (unsigned long long)s.total,
           opt.with_generated ? "context+generated" : "context");
    if (s.out_of_order)
        printf("%s: %zu rows earlier than the row before them (each counted in its own slot)\n",
               in_path, s.out_of_order);
    printf("wrote %s\n", out_path);
    tdl_slots_free(&s);
    return TDL_EXIT_OK;
}
