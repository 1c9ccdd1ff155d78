/* cmd_eval.c: `tdl eval`: a trained predictor's MSE and normalised regret on
 * test workloads (evaluate.h), per set and their average and maximum. */
#include <getopt.h>
#include <jansson.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tdl/atomic_file.h"
#include "tdl/evaluate.h"
#include "tdl/source.h"

static const char eval_usage[] =
    "usage: tdl eval --model MODEL [--train SOURCE | --range LO:HI]\n"
    "                --test SOURCE [--test SOURCE...]\n"
    "                [--protocol authors|physical] [--rule exact|authors] [--json]\n"
    "                [--dropout-eval [--seed S]] [--corrupt KIND:LEVEL [--corrupt-seed S]]\n"
    "                [--forecasts F.csv]\n"
    "  Per test set: rows, MSE (normalised units), and the normalised regret,\n"
    "  pooled over all instances and in the authors' per-(batch, step) form\n"
    "  (batches of 64 rows, the last incomplete one dropped); then the average\n"
    "  and maximum over the sets. The predictor runs in inference mode unless\n"
    "  --dropout-eval is given.\n"
    "  --model MODEL     predictor weights (tdl train or a PyTorch export)\n"
    "  --train SOURCE    the training series (its range). Default: the range the\n"
    "                    model file records; a file without one (written before\n"
    "                    tdl recorded it, or a PyTorch export) is assumed trained\n"
    "                    on " TDL_SOURCE_DEFAULT ", with a warning\n"
    "  --range LO:HI     the training range in tokens, instead of --train\n"
    "  --test SOURCE     a CSV file or synth:PROFILE; repeat or list several after\n"
    "                    one --test. The training source itself is evaluated on\n"
    "                    its 30% test split.\n"
    "  --protocol P      authors (default): each test series normalised by its own\n"
    "                    range (first 100,000 values), tokens via the training\n"
    "                    range (Table I); physical: test values normalised with the\n"
    "                    training range\n"
    "  --rule R          exact (default) or authors (the authors' decision rule)\n"
    "  --json            one JSON object instead of the table\n"
    "  --dropout-eval    the authors' mode: the predictor runs in training mode\n"
    "                    (dropout on), as the authors' evaluation does, so the\n"
    "                    regrets carry dropout noise. Kept only to explain gaps\n"
    "                    to Table I; not a result of its own\n"
    "  --seed S          dropout masks of --dropout-eval, 0..2^63-1 (default 1);\n"
    "                    the same seed and thread count give the same numbers\n"
    "  --forecasts F.csv every forecast, written atomically: test, slot (the index\n"
    "                    in the test series of the slot forecast), forecast and\n"
    "                    actual tokens; compare with `tdl provision` (physical\n"
    "                    protocol: the same windows, the same range)\n"
    "  --corrupt K:L     corrupt every test series (and the training source's 30%\n"
    "                    split) in normalised units after its normalisation under\n"
    "                    the protocol, before evaluation (Fig. 2): cutout:P (values\n"
    "                    set to 0 with probability P in [0, 1]), perlin:A (8-octave\n"
    "                    Perlin noise, peak A times the values' range), gauss:S\n"
    "                    (Gaussian noise of sigma S, clipped to [0, 1]). Fig. 2's\n"
    "                    levels: cutout:0.005, perlin:0.05, gauss:0.1\n"
    "  --corrupt-seed S  the corruption's draws, 0..2^63-1 (default 1); every test\n"
    "                    set draws from the start of the same stream, as\n"
    "                    `tdl data corrupt --seed S` does\n";

int tdl_cmd_eval(int argc, char **argv) {
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'},    {"train", required_argument, NULL, 'T'},
        {"test", required_argument, NULL, 't'},     {"protocol", required_argument, NULL, 'p'},
        {"rule", required_argument, NULL, 'r'},     {"json", no_argument, NULL, 'j'},
        {"dropout-eval", no_argument, NULL, 'd'},   {"seed", required_argument, NULL, 's'},
        {"corrupt", required_argument, NULL, 'c'},  {"corrupt-seed", required_argument, NULL, 'C'},
        {"range", required_argument, NULL, 'R'},  {"forecasts", required_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    const char *model = NULL, *train = NULL;
    tdl_eval_protocol protocol = TDL_PROTOCOL_AUTHORS;
    tdl_provision_rule rule = TDL_PROVISION_EXACT;
    int json = 0, c, ntest = 0, seed_given = 0;
    long seed = 1, corrupt_seed = 1;
    int corrupt = 0, corrupt_seed_given = 0;
    tdl_corrupt_spec cspec = {TDL_CORRUPT_CUTOUT, 0.0};
    tdl_eval_options eopt = {0, 0, NULL};
    const char *forecasts = NULL;
    tdl_range given;
    int range_given = 0;
    const char **tests = calloc((size_t)argc + 1, sizeof *tests);
    if (!tests) return tdl_cli_fail("out of memory", "argument list");
    optind = 1;
    opterr = 0;
    int rc = TDL_EXIT_USAGE;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'T': train = optarg; break;
        case 't':
            tests[ntest++] = optarg;
            /* more sources may follow one --test */
            while (optind < argc && argv[optind][0] != '-') tests[ntest++] = argv[optind++];
            break;
        case 'p':
            if (tdl_eval_protocol_parse(optarg, &protocol) != TDL_OK) {
                tdl_cli_usage_error(eval_usage, "--protocol: %s", tdl_last_error());
                goto out;
            }
            break;
        case 'r':
            if (tdl_provision_rule_parse(optarg, &rule) != TDL_OK) {
                tdl_cli_usage_error(eval_usage, "--rule: %s", tdl_last_error());
                goto out;
            }
            break;
        case 'j': json = 1; break;
        case 'F': forecasts = optarg; break;
        case 'R':
            if (tdl_cli_parse_range(eval_usage, "--range", optarg, &given)) goto out;
            range_given = 1;
            break;
        case 'd': eopt.dropout = 1; break;
        case 's':
            if (tdl_cli_parse_long(eval_usage, "--seed", optarg, 0, LONG_MAX, &seed)) goto out;
            seed_given = 1;
            break;
        case 'c':
            if (tdl_corrupt_parse(optarg, &cspec) != TDL_OK) {
                tdl_cli_usage_error(eval_usage, "--corrupt: %s", tdl_last_error());
                goto out;
            }
            corrupt = 1;
            break;
        case 'C':
            if (tdl_cli_parse_long(eval_usage, "--corrupt-seed", optarg, 0, LONG_MAX,
                                   &corrupt_seed))
                goto out;
            corrupt_seed_given = 1;
            break;
        case 'h': fputs(eval_usage, stdout); rc = TDL_EXIT_OK; goto out;
        case ':':
            tdl_cli_usage_error(eval_usage, "%s needs a value", argv[optind - 1]);
            goto out;
        default:
            tdl_cli_usage_error(eval_usage, "unknown option '%s'", argv[optind - 1]);
            goto out;
        }
    }
    if (optind < argc) {
        tdl_cli_usage_error(eval_usage, "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    if (!model) { tdl_cli_usage_error(eval_usage, "--model is required"); goto out; }
    if (ntest == 0) { tdl_cli_usage_error(eval_usage, "--test is required"); goto out; }
    if (seed_given && !eopt.dropout) {
        tdl_cli_usage_error(eval_usage, "--seed needs --dropout-eval (inference mode draws nothing)");
        goto out;
    }
    if (corrupt_seed_given && !corrupt) {
        tdl_cli_usage_error(eval_usage, "--corrupt-seed needs --corrupt");
        goto out;
    }
    if (train && range_given) {
        tdl_cli_usage_error(eval_usage, "--train and --range both give the training range");
        goto out;
    }
    eopt.seed = (uint64_t)seed;

    rc = TDL_EXIT_FAIL;
    char what[1400];
    tdl_predictor pred;
    memset(&pred, 0, sizeof pred);
    tdl_provision_params pp;
    tdl_provision_defaults(&pp);
    tdl_series raw = {0};
    tdl_range range;
    const char *range_from = NULL;
    tdl_atomic_file ff;
    memset(&ff, 0, sizeof ff);
    tdl_eval_result *res = calloc((size_t)ntest, sizeof *res);
    if (!res) { rc = tdl_cli_fail("out of memory", "results"); goto out; }
    if (tdl_predictor_load(&pred, model) != TDL_OK) { /* builds from the file's config */
        snprintf(what, sizeof what, "model: %s", tdl_last_error());
        tdl_cli_fail(what, "a predictor file from tdl train or a PyTorch state_dict export");
        goto free_all;
    }
    /* the training range: --range, --train, the model's own, else a guess */
    if (tdl_cli_model_range(&pred, model, range_given ? &given : NULL, train, TDL_SOURCE_DEFAULT,
                            &range, &range_from, &train))
        goto free_all;
    if (!train) train = "";  /* unknown: no test set is taken for the training series */
    if (forecasts) {
        for (int i = 0; i < ntest; i++)
            if (tdl_cli_same_source(forecasts, tests[i]) ||
                tdl_cli_same_source(forecasts, model)) {
                tdl_cli_usage_error(eval_usage, "--forecasts %s is one of the inputs", forecasts);
                rc = TDL_EXIT_USAGE;
                goto free_all;
            }
        if (tdl_atomic_file_open(&ff, forecasts) != TDL_OK) {
            snprintf(what, sizeof what, "--forecasts %s: %s", forecasts, tdl_last_error());
            tdl_cli_fail(what, "check the directory");
            goto free_all;
        }
        fprintf(ff.f, "test,slot,forecast,actual\n");
    }
    for (int i = 0; i < ntest; i++) {
        float *rows = NULL;
        size_t R = 0;
        int is_train = tdl_cli_same_source(tests[i], train);
        tdl_status s = tdl_cli_load_source(tests[i], NULL, &raw);
        if (s == TDL_OK)
            s = tdl_eval_rows_corrupt(&rows, &R, &raw, is_train, range, protocol,
                                      corrupt ? &cspec : NULL, (uint64_t)corrupt_seed);
        free(eopt.forecasts);
        eopt.forecasts = NULL;
        if (s == TDL_OK && forecasts &&
            !(eopt.forecasts = malloc(R * TDL_WINDOWS_PER_ROW * sizeof *eopt.forecasts)))
            s = tdl_error(TDL_ERR_NOMEM, "forecasts of %zu rows", R);
        if (s == TDL_OK) s = tdl_evaluate_opts(&pred, rows, R, range, &pp, rule, 64, &eopt, &res[i]);
        free(rows);
        if (s == TDL_OK && forecasts) { /* slot = index of the value forecast in the series */
            size_t first = 0, ntest_rows;
            if (is_train) tdl_rows_split(tdl_rows_count(raw.n), &first, &ntest_rows);
            for (size_t r = 0; r < R; r++)
                for (int t = TDL_WINDOW_IN; t < TDL_ROW_LEN; t++) {
                    size_t slot = (first + r) * TDL_ROW_LEN + (size_t)t;
                    fprintf(ff.f, "%s,%zu,%.17g,%.17g\n", tests[i], slot,
                            eopt.forecasts[r * TDL_WINDOWS_PER_ROW + (size_t)(t - TDL_WINDOW_IN)],
                            raw.v[slot]);
                }
        }
        tdl_series_free(&raw);
        if (s != TDL_OK) {
            snprintf(what, sizeof what, "test set %s: %s", tests[i], tdl_last_error());
            tdl_cli_fail(what, "a test series needs at least 28 finite values");
            goto free_all;
        }
    }
    if (forecasts && tdl_atomic_file_commit(&ff) != TDL_OK) {
        snprintf(what, sizeof what, "--forecasts %s: %s", forecasts, tdl_last_error());
        tdl_cli_fail(what, "nothing written");
        goto free_all;
    }
    double avg[3] = {0, 0, 0}, mx[3] = {0, 0, 0};
    for (int i = 0; i < ntest; i++) {
        double v[3] = {res[i].mse, res[i].regret_pooled, res[i].regret_grouped};
        for (int k = 0; k < 3; k++) {
            avg[k] += v[k] / ntest;
            if (i == 0 || v[k] > mx[k]) mx[k] = v[k];
        }
    }
    if (json) {
        json_t *o = json_object(), *sets = json_array(), *a = json_object(), *m = json_object();
        tdl_cli_json_set(o, "model", tdl_cli_json_text(model));
        tdl_cli_json_set(o, "train", *train ? tdl_cli_json_text(train) : tdl_cli_json_null());
        tdl_cli_json_set(o, "train_min", tdl_cli_json_number(range.min));
        tdl_cli_json_set(o, "train_max", tdl_cli_json_number(range.max));
        tdl_cli_json_set(o, "train_range_from", tdl_cli_json_text(range_from));
        tdl_cli_json_set(o, "protocol", tdl_cli_json_text(tdl_eval_protocol_name(protocol)));
        tdl_cli_json_set(o, "rule", tdl_cli_json_text(tdl_provision_rule_name(rule)));
        tdl_cli_json_set(o, "mode", tdl_cli_json_text(eopt.dropout ? "dropout" : "inference"));
        if (eopt.dropout) {
            char p[32]; /* the float p as written (0.3, not 0.3000000119) */
            snprintf(p, sizeof p, "%g", (double)pred.cfg.dropout);
            tdl_cli_json_set(o, "dropout", tdl_cli_json_number(strtod(p, NULL)));
            tdl_cli_json_set(o, "seed", tdl_cli_json_integer((long long)eopt.seed));
        }
        if (corrupt) {
            json_t *co = json_object();
            tdl_cli_json_set(co, "kind", tdl_cli_json_text(tdl_corrupt_kind_name(cspec.kind)));
            tdl_cli_json_set(co, "level", tdl_cli_json_number(cspec.level));
            tdl_cli_json_set(co, "seed", tdl_cli_json_integer(corrupt_seed));
            tdl_cli_json_set(o, "corrupt", co);
        } else {
            tdl_cli_json_set(o, "corrupt", tdl_cli_json_null());
        }
        for (int i = 0; i < ntest; i++) {
            json_t *t = json_object();
            tdl_cli_json_set(t, "test", tdl_cli_json_text(tests[i]));
            tdl_cli_json_set(t, "split",
                             tdl_cli_json_text(tdl_cli_same_source(tests[i], train) ? "test30" : "all"));
            tdl_cli_json_set(t, "rows", tdl_cli_json_integer((long long)res[i].rows));
            tdl_cli_json_set(t, "instances", tdl_cli_json_integer((long long)res[i].instances));
            tdl_cli_json_set(t, "mse", tdl_cli_json_number(res[i].mse));
            tdl_cli_json_set(t, "regret_pooled", tdl_cli_json_number(res[i].regret_pooled));
            tdl_cli_json_set(t, "regret_grouped", tdl_cli_json_number(res[i].regret_grouped));
            tdl_cli_json_append(sets, t);
        }
        tdl_cli_json_set(o, "sets", sets);
        static const char *const keys[3] = {"mse", "regret_pooled", "regret_grouped"};
        for (int k = 0; k < 3; k++) {
            tdl_cli_json_set(a, keys[k], tdl_cli_json_number(avg[k]));
            tdl_cli_json_set(m, keys[k], tdl_cli_json_number(mx[k]));
        }
        tdl_cli_json_set(o, "average", a);
        tdl_cli_json_set(o, "maximum", m);
        rc = tdl_cli_json_print(o, 10, 0);
        goto free_all;
    } else {
        printf("model %s, trained on %s (range %.6g .. %.6g, from %s)\n", model,
               *train ? train : "?", range.min, range.max,
               strcmp(range_from, "model") == 0     ? "the model file"
               : strcmp(range_from, "range") == 0   ? "--range"
               : strcmp(range_from, "guessed") == 0 ? "a GUESS: the file records none"
                                                    : "--train");
        printf("protocol %s, rule %s, ", tdl_eval_protocol_name(protocol),
               tdl_provision_rule_name(rule));
        if (eopt.dropout)
            printf("DROPOUT ON (the authors' mode: p %g, seed %" PRIu64 "),\n"
                   "kept only to explain gaps to Table I", (double)pred.cfg.dropout, eopt.seed);
        else
            printf("inference mode");
        printf("; regret normalised (pooled, and the\n"
               "authors' mean over (batch of 64, step) groups)\n");
        if (corrupt)
            printf("test sets CORRUPTED: %s:%g (seed %ld), in normalised units\n",
                   tdl_corrupt_kind_name(cspec.kind), cspec.level, corrupt_seed);
        printf("\n");
        int w = 16;
        for (int i = 0; i < ntest; i++) {
            int n = (int)strlen(tests[i]) + (tdl_cli_same_source(tests[i], train) ? 12 : 0);
            if (n > w) w = n;
        }
        printf("%-*s %7s %10s %10s %10s\n", w, "test set", "rows", "MSE", "regret", "authors");
        for (int i = 0; i < ntest; i++) {
            char label[PATH_MAX + 16];
            snprintf(label, sizeof label, "%s%s", tests[i],
                     tdl_cli_same_source(tests[i], train) ? " (30% split)" : "");
            printf("%-*s %7zu %10.4g %10.4f %10.4f\n", w, label, res[i].rows, res[i].mse,
                   res[i].regret_pooled, res[i].regret_grouped);
        }
        printf("%-*s %7s %10.4g %10.4f %10.4f\n", w, "average", "", avg[0], avg[1], avg[2]);
        printf("%-*s %7s %10.4g %10.4f %10.4f\n", w, "maximum", "", mx[0], mx[1], mx[2]);
    }
    rc = TDL_EXIT_OK;
free_all:
    if (forecasts) tdl_atomic_file_abort(&ff); /* safe after a commit */
    free(eopt.forecasts);
    tdl_predictor_free(&pred);
    tdl_series_free(&raw);
    free(res);
out:
    free(tests);
    return rc;
}
