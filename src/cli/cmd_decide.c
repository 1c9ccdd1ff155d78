/* cmd_decide.c: `tdl decide`: the capacity to provision for a forecast and,
 * given the actual workload, the loss and the regret (spec section 1). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "tdl/provision.h"

static const char decide_usage[] =
    "usage: tdl decide --forecast Y [--actual Y] [--rule exact|authors] [--json]\n"
    "                  [--eta E] [--A A] [--B B] [--a-min X] [--a-max X]\n"
    "                  [--p-idle P] [--p-act P]\n"
    "  The capacity (tokens per slot) to provision for a forecast workload Y\n"
    "  (tokens, finite, >= 0), the minimiser of the loss L of spec section 1.\n"
    "  With --actual, also the loss of that capacity, the oracle's capacity and\n"
    "  loss (the rule applied to the actual workload) and the regret.\n"
    "  --rule R      exact (default): clamp(a_min + r (Y - a_min), a_min, a_max);\n"
    "                authors: clamp(r Y, a_min, a_max), the authors' code (Table I)\n"
    "  --json        one JSON object: rule, r, forecast, capacity and, with\n"
    "                --actual, actual, loss, oracle_capacity, oracle_loss, regret\n"
    "  The constants default to the authors' (the code that produced Table I):\n"
    "  --eta 0.7  --A 20  --B 1.5  --a-min 200  --a-max 400000  --p-idle 100\n"
    "  --p-act 280 (cost rates per normalised unit P / a_min: 0.5 and 1.4).\n";

/* A finite number (>= 0 when nonneg): 0, else a usage error (exit 2). */
static int parse_number(const char *option, const char *text, int nonneg, double *out) {
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !isfinite(v) || (nonneg && v < 0.0))
        return tdl_cli_usage_error(decide_usage, "%s '%s' is not a finite number%s", option, text,
                                   nonneg ? " >= 0" : "");
    *out = v;
    return 0;
}

int tdl_cmd_decide(int argc, char **argv) {
    enum { O_ETA = 256, O_A, O_B, O_AMIN, O_AMAX, O_PIDLE, O_PACT };
    static const struct option opts[] = {
        {"forecast", required_argument, NULL, 'f'}, {"actual", required_argument, NULL, 'a'},
        {"rule", required_argument, NULL, 'r'},     {"json", no_argument, NULL, 'j'},
        {"eta", required_argument, NULL, O_ETA},    {"A", required_argument, NULL, O_A},
        {"B", required_argument, NULL, O_B},        {"a-min", required_argument, NULL, O_AMIN},
        {"a-max", required_argument, NULL, O_AMAX}, {"p-idle", required_argument, NULL, O_PIDLE},
        {"p-act", required_argument, NULL, O_PACT}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    tdl_provision_params p;
    tdl_provision_defaults(&p);
    tdl_provision_rule rule = TDL_PROVISION_EXACT;
    double forecast = 0.0, actual = 0.0;
    int have_forecast = 0, have_actual = 0, json = 0, c;
    double *field;
    const char *name;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        field = NULL;
        name = NULL;
        switch (c) {
        case 'f':
            if (parse_number("--forecast", optarg, 1, &forecast))
                return TDL_EXIT_USAGE;
            have_forecast = 1;
            break;
        case 'a':
            if (parse_number("--actual", optarg, 1, &actual))
                return TDL_EXIT_USAGE;
            have_actual = 1;
            break;
        case 'r':
            if (tdl_provision_rule_parse(optarg, &rule) != TDL_OK)
                return tdl_cli_usage_error(decide_usage, "--rule: %s", tdl_last_error());
            break;
        case 'j': json = 1; break;
        case O_ETA: field = &p.eta; name = "--eta"; break;
        case O_A: field = &p.A; name = "--A"; break;
        case O_B: field = &p.B; name = "--B"; break;
        case O_AMIN: field = &p.a_min; name = "--a-min"; break;
        case O_AMAX: field = &p.a_max; name = "--a-max"; break;
        case O_PIDLE: field = &p.P_idle; name = "--p-idle"; break;
        case O_PACT: field = &p.P_act; name = "--p-act"; break;
        case 'h': fputs(decide_usage, stdout); return TDL_EXIT_OK;
        case ':':
            return tdl_cli_usage_error(decide_usage, "%s needs a value", argv[optind - 1]);
        default:
            return tdl_cli_usage_error(decide_usage, "unknown option '%s'", argv[optind - 1]);
        }
        /* A constant: any finite number here; the library judges the set. */
        if (field && parse_number(name, optarg, 0, field))
            return TDL_EXIT_USAGE;
    }
    if (optind < argc)
        return tdl_cli_usage_error(decide_usage, "unexpected argument '%s'", argv[optind]);
    if (!have_forecast) return tdl_cli_usage_error(decide_usage, "--forecast is required");
    if (tdl_provision_check(&p) != TDL_OK)
        return tdl_cli_usage_error(decide_usage, "bad constants: %s", tdl_last_error());

    double r = tdl_provision_ratio(&p);
    double x = tdl_provision_decide(&p, rule, forecast);
    const char *rname = tdl_provision_rule_name(rule);
    double loss = 0, xo = 0, lo = 0;
    if (have_actual) {
        loss = tdl_provision_loss(&p, x, actual);
        xo = tdl_provision_oracle(&p, rule, actual);
        lo = tdl_provision_loss(&p, xo, actual);
    }
    if (json) {
        json_t *o = json_object();
        tdl_cli_json_set(o, "rule", tdl_cli_json_text(rname));
        tdl_cli_json_set(o, "r", tdl_cli_json_number(r));
        tdl_cli_json_set(o, "forecast", tdl_cli_json_number(forecast));
        tdl_cli_json_set(o, "capacity", tdl_cli_json_number(x));
        if (have_actual) {
            tdl_cli_json_set(o, "actual", tdl_cli_json_number(actual));
            tdl_cli_json_set(o, "loss", tdl_cli_json_number(loss));
            tdl_cli_json_set(o, "oracle_capacity", tdl_cli_json_number(xo));
            tdl_cli_json_set(o, "oracle_loss", tdl_cli_json_number(lo));
            tdl_cli_json_set(o, "regret", tdl_cli_json_number(loss - lo));
        }
        return tdl_cli_json_print(o, 17, 0); /* the objective's numbers, exactly */
    } else {
        printf("rule: %s (r = %.10g)\n", rname, r);
        printf("capacity: %.3f tokens\n", x);
        if (have_actual) {
            printf("loss: %.10g\n", loss);
            printf("oracle capacity: %.3f tokens\n", xo);
            printf("oracle loss: %.10g\n", lo);
            printf("regret: %.10g\n", loss - lo);
        }
    }
    return TDL_EXIT_OK;
}
