/* cmd_provision.c: `tdl provision`: serve a trained predictor
 * (provisioner.h). Streaming: one slot's tokens per line on stdin, the
 * capacity for the next slot per line on stdout, flushed at once. Replay
 * (--replay SOURCE): the backtest over a recorded series, one or several
 * models side by side against the oracle. */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "tdl/atomic_file.h"
#include "tdl/provisioner.h"
#include "tdl/source.h"

/* the help in two literals (C99 guarantees 4095 characters per literal) */
static const char usage_a[] =
    "usage: tdl provision --model MODEL [--rule exact|authors] [CONSTANTS]\n"
    "                     [--train SOURCE | --range LO:HI] [--json] [--strict]\n"
    "       tdl provision --model MODEL [--model MODEL...] --replay SOURCE\n"
    "                     [--slots all|eval] [--rule R] [CONSTANTS]\n"
    "                     [--train SOURCE | --range LO:HI] [--json] [-o SLOTS.csv]\n"
    "  Serve a trained predictor: after each time slot, the capacity (tokens) to\n"
    "  provision for the next one. Streaming (no --replay): read one slot's\n"
    "  tokens per line on stdin; from the 7th line on (the window of the model)\n"
    "  write the capacity for the next slot, one line per input line, flushed at\n"
    "  once (usable in a pipe). A malformed, negative or non-finite line is\n"
    "  reported on stderr with its line number and skipped: the window does not\n"
    "  move (--strict: exit 1 instead). Tokens are normalised with the training\n"
    "  range (the physical protocol: a stream's own range is not known in\n"
    "  advance); forecast = relu(output) mapped to tokens; capacity = the rule.\n"
    "  --model MODEL     a predictor file (tdl train -o); it records its training\n"
    "                    range, rule and constants. Repeat with --replay to\n"
    "                    compare models side by side\n"
    "  --rule R          exact or authors (default: the model's, else exact)\n"
    "  --train SOURCE    the training series, for a model file that does not\n"
    "                    record its range (from before tdl recorded it, or a\n"
    "                    PyTorch export); its range replaces the model's\n"
    "  --range LO:HI     the training range in tokens, instead of --train\n"
    "  --json            one JSON object per line (streaming: slot, line,\n"
    "                    forecast, capacity) or for the replay\n"
    "  --strict          exit 1 at the first bad line\n";
static const char usage_b[] =
    "  --replay SOURCE   backtest over a recorded series (CSV or synth:PROFILE):\n"
    "                    decide each slot from the slots before it, then report\n"
    "                    in tokens (workload, capacity, under-provisioned slots\n"
    "                    and tokens, mean over-provisioning) and in the cost\n"
    "                    units of spec section 1 (cost, utility, loss L), the\n"
    "                    regret L - L(oracle) and the normalised regret, for each\n"
    "                    model and the oracle (the rule on the actual workload)\n"
    "  --slots S         all (default): every slot once the window is full;\n"
    "                    eval: the slots `tdl eval` scores (the first 100,000\n"
    "                    values in rows of 28, positions 7..27; the 30% test\n"
    "                    split when SOURCE is the model's training series): the\n"
    "                    normalised regret then equals `tdl eval --protocol\n"
    "                    physical`'s pooled regret, to float rounding\n"
    "  -o SLOTS.csv      per scored slot (written atomically): slot, actual,\n"
    "                    oracle_capacity, oracle_loss, then forecast, capacity,\n"
    "                    loss, regret (suffixed _1, _2, ... with several models)\n"
    "  Several models are compared under one rule and set of constants: the\n"
    "  first model's (or the options'), so that they share the oracle.\n"
    "  Constants (default: the model's, else the authors'): --eta E --A A --B B\n"
    "  --a-min X --a-max X --p-idle P --p-act P, as in `tdl decide`.\n";

enum { MAX_MODELS = 16, LINE_CHARS = 4096 };

typedef struct popts {
    const char *models[MAX_MODELS];
    int nmodels;
    const char *train, *replay, *out;
    tdl_range range;
    int range_given, rule_given, json, strict;
    tdl_provision_rule rule;
    double *constants[7]; /* given constants: pointer to the value, else NULL */
    double values[7];
    tdl_backtest_slots slots;
} popts;

static const char *const CONST_NAMES[7] = {"--eta", "--A", "--B", "--a-min", "--a-max",
                                           "--p-idle", "--p-act"};

static double *pp_field(tdl_provision_params *pp, int k) {
    double *f[7] = {&pp->eta, &pp->A, &pp->B, &pp->a_min, &pp->a_max, &pp->P_idle, &pp->P_act};
    return f[k];
}

/* The provisioning options for model p (loaded from path): its range, rule
 * and constants unless given; base (not NULL) forces the rule and constants
 * (the side-by-side replay). Prints its own errors; 0 or an exit code. */
static int options_for(const popts *o, const tdl_predictor *p, const char *path,
                       const tdl_provisioner_options *base, tdl_provisioner_options *out,
                       const char **source) {
    tdl_provisioner_options_default(out);
    const char *from;
    if (tdl_cli_model_range(p, path, o->range_given ? &o->range : NULL, o->train, NULL,
                            &out->range, &from, source))
        return TDL_EXIT_FAIL;
    out->range_given = 1;
    if (base) {
        out->rule_given = out->pp_given = 1;
        out->rule = base->rule;
        out->pp = base->pp;
        if (p->meta.has_rule && (p->meta.rule != base->rule ||
                                 memcmp(&p->meta.pp, &base->pp, sizeof base->pp) != 0))
            fprintf(stderr, "tdl: warning: %s records another rule or constants than the first "
                    "model; all models are replayed with the first's (one oracle)\n", path);
        return 0;
    }
    out->rule_given = 1;
    out->rule = o->rule_given ? o->rule : p->meta.has_rule ? p->meta.rule : TDL_PROVISION_EXACT;
    out->pp_given = 1;
    if (p->meta.has_rule) out->pp = p->meta.pp;
    else tdl_provision_defaults(&out->pp);
    for (int k = 0; k < 7; k++)
        if (o->constants[k]) *pp_field(&out->pp, k) = *o->constants[k];
    if (tdl_provision_check(&out->pp) != TDL_OK) {
        char what[600];
        snprintf(what, sizeof what, "bad constants: %s", tdl_last_error());
        return tdl_cli_fail(what, "check --eta, --A, --B, --a-min, --a-max, --p-idle, --p-act");
    }
    return 0;
}

/* Open one model: load, options, provisioner. */
static int open_model(const popts *o, const char *path, const tdl_provisioner_options *base,
                      tdl_provisioner **pv, tdl_provisioner_options *opt) {
    tdl_predictor p;
    char what[1400];
    if (tdl_predictor_load(&p, path) != TDL_OK) {
        snprintf(what, sizeof what, "model: %s", tdl_last_error());
        return tdl_cli_fail(what, "--model takes a predictor file from tdl train");
    }
    const char *source;
    int rc = options_for(o, &p, path, base, opt, &source);
    if (rc == 0 && tdl_provisioner_open_predictor(pv, &p, opt) != TDL_OK) {
        snprintf(what, sizeof what, "model %s: %s", path, tdl_last_error());
        rc = tdl_cli_fail(what, "check the options");
    }
    tdl_predictor_free(&p);
    return rc;
}

/* ---- streaming ---- */

/* A line's text for a message: at most 40 characters, controls as '?'. */
static const char *shown(char *buf, size_t n, const char *s) {
    size_t k = 0;
    for (; s[k] && k + 1 < n && k < 40; k++)
        buf[k] = (unsigned char)s[k] < 0x20 || s[k] == 0x7f ? '?' : s[k];
    buf[k] = '\0';
    if (s[k] && k == 40 && n > 44) strcpy(buf + k, "...");
    return buf;
}

/* A bad line: a warning (skipped) or, with --strict, the end. */
static int bad_line(const popts *o, long line, const char *why) {
    if (o->strict) {
        fprintf(stderr, "tdl: error: stdin line %ld: %s (--strict: stopped)\n", line, why);
        return 1;
    }
    fprintf(stderr, "tdl: warning: stdin line %ld: %s (skipped; the window did not move)\n",
            line, why);
    return 0;
}

static int emit(const popts *o, long line, const tdl_provisioner_decision *d) {
    if (o->json) {
        json_t *j = json_pack("{s:I, s:I, s:f, s:f}", "slot", (json_int_t)d->slot, "line",
                              (json_int_t)line, "forecast", d->forecast, "capacity", d->capacity);
        char *txt = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(j);
        if (!txt) return tdl_cli_fail("cannot build the JSON output", "out of memory");
        printf("%s\n", txt);
        free(txt);
    } else {
        printf("%.3f\n", d->capacity);
    }
    if (fflush(stdout) != 0 || ferror(stdout))
        return tdl_cli_fail("cannot write the output", "stdout was closed or is full");
    return 0;
}

static int stream(const popts *o) {
    tdl_provisioner *pv = NULL;
    tdl_provisioner_options opt;
    int rc = open_model(o, o->models[0], NULL, &pv, &opt);
    if (rc) return rc;
    tdl_provisioner_info info;
    tdl_provisioner_get_info(pv, &info);
    if (isatty(0))
        fprintf(stderr, "provision: %s (%s), range %.6g .. %.6g, rule %s: one slot's tokens per "
                "line; a capacity per line from line %d on\n", o->models[0],
                info.model.method[0] ? info.model.method : "method unknown", info.range.min,
                info.range.max, tdl_provision_rule_name(info.rule), info.window);
    char buf[LINE_CHARS], why[160], text[48];
    long line = 0;
    rc = TDL_EXIT_OK;
    while (fgets(buf, sizeof buf, stdin)) {
        line++;
        size_t len = strlen(buf);
        if (len == sizeof buf - 1 && buf[len - 1] != '\n') { /* overlong: drop the rest */
            int ch;
            while ((ch = getchar()) != EOF && ch != '\n') {}
            snprintf(why, sizeof why, "longer than %d characters", LINE_CHARS - 2);
            if (bad_line(o, line, why)) { rc = TDL_EXIT_FAIL; break; }
            continue;
        }
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
                           buf[len - 1] == '\t'))
            buf[--len] = '\0';
        char *s = buf;
        while (*s == ' ' || *s == '\t') s++;
        if (!*s) {
            if (bad_line(o, line, "empty line")) { rc = TDL_EXIT_FAIL; break; }
            continue;
        }
        char *end;
        double v = strtod(s, &end);
        if (end == s || *end) {
            snprintf(why, sizeof why, "'%s' is not a number of tokens",
                     shown(text, sizeof text, s));
            if (bad_line(o, line, why)) { rc = TDL_EXIT_FAIL; break; }
            continue;
        }
        tdl_provisioner_decision d;
        tdl_status st = tdl_provisioner_push(pv, v, &d);
        if (st == TDL_ERR_INVALID) {
            snprintf(why, sizeof why, "'%s': %s", shown(text, sizeof text, s), tdl_last_error());
            if (bad_line(o, line, why)) { rc = TDL_EXIT_FAIL; break; }
            continue;
        }
        if (st != TDL_OK) {
            snprintf(why, sizeof why, "stdin line %ld: %s", line, tdl_last_error());
            rc = tdl_cli_fail(why, "the model's weights are not finite");
            break;
        }
        if (d.ready && (rc = emit(o, line, &d)) != 0) break;
    }
    if (rc == TDL_EXIT_OK && ferror(stdin))
        rc = tdl_cli_fail("cannot read stdin", "a read error");
    tdl_provisioner_close(pv);
    return rc;
}

/* ---- replay ---- */

typedef struct model_run {
    const char *path;
    tdl_provisioner *pv;
    tdl_provisioner_options opt;
    tdl_provisioner_info info;
    const char *source;      /* its training source when known */
    tdl_backtest_slot *slots; /* (n) */
    tdl_backtest_result res;
} model_run;

static json_t *totals_json(const tdl_backtest_totals *t, size_t slots) {
    return json_pack("{s:f, s:f, s:f, s:f, s:I, s:f, s:f, s:f, s:f, s:f}", "capacity",
                     t->capacity, "served", t->served, "unserved", t->unserved, "idle", t->idle,
                     "under_slots", (json_int_t)t->under_slots, "under_fraction",
                     slots ? (double)t->under_slots / (double)slots : 0.0, "mean_over",
                     t->mean_over, "cost", t->cost, "utility", t->utility, "loss", t->loss);
}

static json_t *pp_json(tdl_provision_rule rule, const tdl_provision_params *pp) {
    return json_pack("{s:s, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "rule",
                     tdl_provision_rule_name(rule), "r", tdl_provision_ratio(pp), "eta", pp->eta,
                     "A", pp->A, "B", pp->B, "a_min", pp->a_min, "a_max", pp->a_max, "P_idle",
                     pp->P_idle, "P_act", pp->P_act);
}

static int print_json(const popts *o, const model_run *m, int nm, size_t values) {
    const tdl_backtest_result *r0 = &m[0].res;
    json_t *models = json_array();
    for (int i = 0; i < nm; i++) {
        const tdl_provisioner_info *in = &m[i].info;
        json_t *mj = json_pack("{s:s, s:s?, s:s?, s:[f, f], s:o, s:f, s:f}", "model", m[i].path,
                               "method", in->model.method[0] ? in->model.method : NULL, "train",
                               m[i].source, "range", in->range.min, in->range.max, "totals",
                               totals_json(&m[i].res.model, m[i].res.slots), "regret",
                               m[i].res.regret, "regret_normalised", m[i].res.regret_normalised);
        json_array_append_new(models, mj);
    }
    json_t *j = json_pack("{s:s, s:I, s:s, s:I, s:f, s:o, s:o, s:o, s:s?}", "replay", o->replay,
                          "values", (json_int_t)values, "slots",
                          tdl_backtest_slots_name(r0->which), "scored", (json_int_t)r0->slots,
                          "workload", r0->workload, "decision",
                          pp_json(m[0].info.rule, &m[0].info.pp), "oracle",
                          totals_json(&r0->oracle, r0->slots), "models", models, "slots_csv",
                          o->out);
    char *txt = j ? json_dumps(j, JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (!txt) return tdl_cli_fail("cannot build the JSON output", "out of memory");
    printf("%s\n", txt);
    free(txt);
    return 0;
}

static void print_table(const popts *o, const model_run *m, int nm, size_t values) {
    const tdl_backtest_result *r0 = &m[0].res;
    const tdl_provisioner_info *i0 = &m[0].info;
    printf("replay of %s: %zu slots, %zu decided and scored (%s)\n", o->replay, values,
           r0->slots,
           r0->which == TDL_BACKTEST_ALL ? "every slot once the window is full"
           : r0->which == TDL_BACKTEST_EVAL ? "tdl eval's: positions 7..27 of rows of 28"
                                            : "tdl eval's: the 30% split's rows, positions 7..27");
    printf("rule %s (r = %.6g), eta %g, A %g, B %g, a_min %g, a_max %g, P_idle %g, P_act %g\n",
           tdl_provision_rule_name(i0->rule), tdl_provision_ratio(&i0->pp), i0->pp.eta, i0->pp.A,
           i0->pp.B, i0->pp.a_min, i0->pp.a_max, i0->pp.P_idle, i0->pp.P_act);
    for (int i = 0; i < nm; i++)
        printf("model %d: %s (%s, trained on %s, range %.6g .. %.6g)\n", i + 1, m[i].path,
               m[i].info.model.method[0] ? m[i].info.model.method : "method unknown",
               m[i].source ? m[i].source : "?", m[i].info.range.min, m[i].info.range.max);
    printf("\n%-38s", "");
    for (int i = 0; i < nm; i++) printf(" %14s %d", "model", i + 1);
    printf(" %16s\n", "oracle");
    const double k = (double)r0->slots;
#define ROW(label, fmt, expr)                                                          \
    do {                                                                               \
        printf("%-38s", label);                                                        \
        for (int i_ = 0; i_ <= nm; i_++) {                                             \
            const tdl_backtest_totals *t = i_ < nm ? &m[i_].res.model : &r0->oracle;   \
            (void)t;                                                                   \
            printf(" " fmt, expr);                                                     \
        }                                                                              \
        printf("\n");                                                                  \
    } while (0)
    printf("%-38s %16.0f\n", "workload (tokens)", r0->workload);
    ROW("capacity provisioned (tokens)", "%16.0f", t->capacity);
    ROW("served (tokens)", "%16.0f", t->served);
    ROW("under-provisioned slots", "%16lld", (long long)t->under_slots);
    ROW("  share of the slots", "%15.1f%%", 100.0 * (double)t->under_slots / k);
    ROW("under-provisioned (unserved) tokens", "%16.0f", t->unserved);
    ROW("over-provisioned (idle) tokens", "%16.0f", t->idle);
    ROW("mean over-provisioning (tokens/slot)", "%16.1f", t->mean_over);
    ROW("cost (cost units)", "%16.6g", t->cost);
    ROW("utility (cost units)", "%16.6g", t->utility);
    ROW("loss L (cost units)", "%16.6g", t->loss);
#undef ROW
    printf("%-38s", "regret L - L(oracle) (cost units)");
    for (int i = 0; i < nm; i++) printf(" %16.6g", m[i].res.regret);
    printf(" %16d\n", 0);
    printf("%-38s", "normalised regret");
    for (int i = 0; i < nm; i++) printf(" %16.4f", m[i].res.regret_normalised);
    printf(" %16d\n", 0);
}

static int write_slots(const popts *o, const model_run *m, int nm) {
    tdl_atomic_file af;
    char what[1200];
    if (tdl_atomic_file_open(&af, o->out) != TDL_OK) {
        snprintf(what, sizeof what, "-o %s: %s", o->out, tdl_last_error());
        return tdl_cli_fail(what, "check the directory");
    }
    fprintf(af.f, "slot,actual,oracle_capacity,oracle_loss");
    for (int i = 0; i < nm; i++) {
        if (nm == 1) fprintf(af.f, ",forecast,capacity,loss,regret");
        else
            fprintf(af.f, ",forecast_%d,capacity_%d,loss_%d,regret_%d", i + 1, i + 1, i + 1,
                    i + 1);
    }
    fputc('\n', af.f);
    for (size_t s = 0; s < m[0].res.slots; s++) {
        const tdl_backtest_slot *a = &m[0].slots[s];
        fprintf(af.f, "%lld,%.17g,%.17g,%.17g", (long long)a->slot, a->actual, a->oracle_capacity,
                a->oracle_loss);
        for (int i = 0; i < nm; i++) {
            const tdl_backtest_slot *b = &m[i].slots[s];
            fprintf(af.f, ",%.17g,%.17g,%.17g,%.17g", b->forecast, b->capacity, b->loss,
                    b->loss - b->oracle_loss);
        }
        fputc('\n', af.f);
    }
    if (tdl_atomic_file_commit(&af) != TDL_OK) {
        snprintf(what, sizeof what, "-o %s: %s", o->out, tdl_last_error());
        return tdl_cli_fail(what, "nothing written");
    }
    return 0;
}

static int replay(const popts *o) {
    model_run m[MAX_MODELS];
    memset(m, 0, sizeof m);
    tdl_series raw = {0};
    char what[1400];
    int rc = TDL_EXIT_FAIL;
    const int nm = o->nmodels;
    if (tdl_cli_load_source(o->replay, NULL, &raw) != TDL_OK) {
        snprintf(what, sizeof what, "--replay %s: %s", o->replay, tdl_last_error());
        rc = tdl_cli_fail(what, "a CSV with a ContextTokens column or synth:PROFILE");
        goto done;
    }
    for (int i = 0; i < nm; i++) {
        m[i].path = o->models[i];
        if ((rc = open_model(o, m[i].path, i ? &m[0].opt : NULL, &m[i].pv, &m[i].opt)) != 0)
            goto done;
        rc = TDL_EXIT_FAIL;
        tdl_provisioner_get_info(m[i].pv, &m[i].info);
        m[i].source = o->train ? o->train : m[i].info.model.train_source[0]
                                                ? m[i].info.model.train_source : NULL;
        if (!(m[i].slots = malloc((raw.n ? raw.n : 1) * sizeof *m[i].slots))) {
            rc = tdl_cli_fail("out of memory", "per-slot records");
            goto done;
        }
    }
    /* eval's slots: the 30% split when the series is the (first) model's training series */
    tdl_backtest_slots which = o->slots;
    if (which == TDL_BACKTEST_EVAL && m[0].source && tdl_cli_same_source(o->replay, m[0].source))
        which = TDL_BACKTEST_EVAL_TRAIN;
    for (int i = 0; i < nm; i++) {
        if (tdl_provisioner_backtest(m[i].pv, raw.v, raw.n, which, m[i].slots, &m[i].res) !=
            TDL_OK) {
            snprintf(what, sizeof what, "replay of %s with %s: %s", o->replay, m[i].path,
                     tdl_last_error());
            rc = tdl_cli_fail(what, "the series needs more values than the window (a row of 28 "
                              "with --slots eval) and non-negative finite tokens");
            goto done;
        }
    }
    if (o->out && (rc = write_slots(o, m, nm)) != 0) goto done;
    if (o->json) {
        if ((rc = print_json(o, m, nm, raw.n)) != 0) goto done;
    } else {
        print_table(o, m, nm, raw.n);
    }
    rc = TDL_EXIT_OK;
done:
    for (int i = 0; i < nm; i++) {
        tdl_provisioner_close(m[i].pv);
        free(m[i].slots);
    }
    tdl_series_free(&raw);
    return rc;
}

int tdl_cmd_provision(int argc, char **argv) {
    static char usage[sizeof usage_a + sizeof usage_b];
    if (!usage[0]) {
        memcpy(usage, usage_a, sizeof usage_a);
        strcat(usage, usage_b);
    }
    enum { O_ETA = 256, O_A, O_B, O_AMIN, O_AMAX, O_PIDLE, O_PACT, O_STRICT, O_SLOTS };
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'},    {"rule", required_argument, NULL, 'r'},
        {"train", required_argument, NULL, 'T'},    {"range", required_argument, NULL, 'R'},
        {"json", no_argument, NULL, 'j'},           {"strict", no_argument, NULL, O_STRICT},
        {"replay", required_argument, NULL, 'p'},   {"slots", required_argument, NULL, O_SLOTS},
        {"output", required_argument, NULL, 'o'},   {"eta", required_argument, NULL, O_ETA},
        {"A", required_argument, NULL, O_A},        {"B", required_argument, NULL, O_B},
        {"a-min", required_argument, NULL, O_AMIN}, {"a-max", required_argument, NULL, O_AMAX},
        {"p-idle", required_argument, NULL, O_PIDLE},
        {"p-act", required_argument, NULL, O_PACT}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    popts o;
    memset(&o, 0, sizeof o);
    int c, slots_given = 0;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            if (o.nmodels == MAX_MODELS)
                return tdl_cli_usage_error(usage, "at most %d --model", (int)MAX_MODELS);
            o.models[o.nmodels++] = optarg;
            break;
        case 'r':
            if (tdl_provision_rule_parse(optarg, &o.rule) != TDL_OK)
                return tdl_cli_usage_error(usage, "--rule: %s", tdl_last_error());
            o.rule_given = 1;
            break;
        case 'T': o.train = optarg; break;
        case 'R':
            if (tdl_cli_parse_range(usage, "--range", optarg, &o.range)) return TDL_EXIT_USAGE;
            o.range_given = 1;
            break;
        case 'j': o.json = 1; break;
        case O_STRICT: o.strict = 1; break;
        case 'p': o.replay = optarg; break;
        case O_SLOTS:
            if (strcmp(optarg, "all") == 0) o.slots = TDL_BACKTEST_ALL;
            else if (strcmp(optarg, "eval") == 0) o.slots = TDL_BACKTEST_EVAL;
            else return tdl_cli_usage_error(usage, "--slots '%s': all or eval", optarg);
            slots_given = 1;
            break;
        case 'o': o.out = optarg; break;
        case O_ETA: case O_A: case O_B: case O_AMIN: case O_AMAX: case O_PIDLE: case O_PACT: {
            int k = c - O_ETA;
            if (tdl_cli_parse_double(usage, CONST_NAMES[k], optarg, -1e300, 1e300, &o.values[k]))
                return TDL_EXIT_USAGE;
            o.constants[k] = &o.values[k];
            break;
        }
        case 'h': fputs(usage, stdout); return TDL_EXIT_OK;
        case ':': return tdl_cli_usage_error(usage, "%s needs a value", argv[optind - 1]);
        default: return tdl_cli_usage_error(usage, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return tdl_cli_usage_error(usage, "unexpected argument '%s'", argv[optind]);
    if (o.nmodels == 0) return tdl_cli_usage_error(usage, "--model is required");
    if (o.train && o.range_given)
        return tdl_cli_usage_error(usage, "--train and --range both give the training range");
    if (!o.replay) {
        if (o.nmodels > 1)
            return tdl_cli_usage_error(usage, "several --model are compared with --replay only");
        if (o.out) return tdl_cli_usage_error(usage, "-o writes the replay's slots (--replay)");
        if (slots_given) return tdl_cli_usage_error(usage, "--slots is for --replay");
        return stream(&o);
    }
    if (o.strict) return tdl_cli_usage_error(usage, "--strict is for streaming (no --replay)");
    if (o.out) {
        int clash = tdl_cli_same_source(o.out, o.replay);
        for (int i = 0; i < o.nmodels; i++) clash |= tdl_cli_same_source(o.out, o.models[i]);
        if (o.train) clash |= tdl_cli_same_source(o.out, o.train);
        if (clash) return tdl_cli_usage_error(usage, "-o %s is one of the inputs", o.out);
    }
    return replay(&o);
}
