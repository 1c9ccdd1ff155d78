/* test_evaluate.c: tdl_evaluate_opts in the authors' mode (dropout on,
 * evaluate.h) against inference mode and against itself.
 *
 * On 264 rows (two predictor chunks, the second a short one) of a freshly
 * initialised predictor (p = 0.3):
 *   - tdl_evaluate, options NULL and options with dropout 0 give the same
 *     numbers (inference stays the default);
 *   - dropout on differs from inference, the same seed twice is identical,
 *     another seed differs;
 *   - p = 0 with dropout on equals inference exactly;
 *   - the MSE in dropout mode equals a direct replay of the documented mask
 *     positions (stream t - 7 of the seed, chunk at row r0 from position
 *     r0 (T H1 + H2)), summed in the same order: bit-identical. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/evaluate.h"
#include "tdl/predictor.h"
#include "tdl/rng.h"
#include "tdl/series.h"
#include "tdl_test.h"

enum { NROWS = 264 }; /* chunks of 256 and 8 rows */

static int same_result(const tdl_eval_result *a, const tdl_eval_result *b) {
    return a->rows == b->rows && a->instances == b->instances && a->mse == b->mse &&
           a->regret_pooled == b->regret_pooled && a->regret_grouped == b->regret_grouped;
}

static int all_differ(const tdl_eval_result *a, const tdl_eval_result *b) {
    return a->mse != b->mse && a->regret_pooled != b->regret_pooled &&
           a->regret_grouped != b->regret_grouped;
}

static void print_result(const char *what, const tdl_eval_result *r) {
    printf("     %-22s mse %.9g regret %.9g authors %.9g\n", what, r->mse, r->regret_pooled,
           r->regret_grouped);
}

/* The MSE of dropout-mode evaluation replayed from the documented rng
 * positions. */
static double replay_mse(tdl_predictor *p, const float *rows, size_t R, uint64_t seed) {
    const size_t chunk = TDL_EVAL_CHUNK;
    const uint64_t words = (uint64_t)p->cfg.T * (uint64_t)p->cfg.H1 + (uint64_t)p->cfg.H2;
    tdl_predictor_cache *cache = NULL;
    TDL_CHECK(tdl_predictor_cache_init(&cache, &p->cfg, (int)chunk) == TDL_OK, "cache: %s",
              tdl_last_error());
    float *x = malloc(chunk * TDL_WINDOW_IN * sizeof *x); // (chunk, 7)
    float *y = malloc(chunk * sizeof *y), *o = malloc(chunk * sizeof *o); // (chunk)
    if (!cache || !x || !y || !o) { fprintf(stderr, "out of memory\n"); exit(2); }
    double se = 0.0;
    for (int t = TDL_WINDOW_IN; t < TDL_ROW_LEN; t++) {
        for (size_t r0 = 0; r0 < R; r0 += chunk) {
            size_t m = R - r0 < chunk ? R - r0 : chunk;
            tdl_windows_at(x, y, rows + r0 * TDL_ROW_LEN, m, t);
            tdl_rng rng;
            tdl_rng_init(&rng, seed, (uint64_t)(t - TDL_WINDOW_IN));
            rng.pos = (uint64_t)r0 * words;
            tdl_predictor_forward(p, cache, x, o, (int)m, 1, &rng);
            for (size_t i = 0; i < m; i++) {
                double d = (double)o[i] - (double)y[i];
                se += d * d;
            }
        }
    }
    tdl_predictor_cache_free(cache);
    free(x);
    free(y);
    free(o);
    return se / (double)(R * TDL_WINDOWS_PER_ROW);
}

int main(void) {
    tdl_predictor pred;
    memset(&pred, 0, sizeof pred);
    tdl_predictor_config cfg;
    tdl_predictor_config_default(&cfg);
    TDL_CHECK(tdl_predictor_init(&pred, &cfg, 3) == TDL_OK, "init: %s", tdl_last_error());
    TDL_CHECK(pred.cfg.dropout > 0.29f, "default p = %g", (double)pred.cfg.dropout);

    /* rows (NROWS, 28): a daily-like wave plus noise in [0, 1] */
    float *rows = malloc((size_t)NROWS * TDL_ROW_LEN * sizeof *rows);
    if (!rows) { fprintf(stderr, "out of memory\n"); return 2; }
    tdl_rng g;
    tdl_rng_init(&g, 11, 0);
    for (size_t i = 0; i < (size_t)NROWS * TDL_ROW_LEN; i++) {
        double v = 0.5 + 0.3 * sin((double)i * 0.26) + 0.2 * (tdl_rng_uniform(&g) - 0.5);
        rows[i] = (float)v;
    }
    tdl_range range = {100.0, 5000.0};
    tdl_provision_params pp;
    tdl_provision_defaults(&pp);
    const tdl_provision_rule rule = TDL_PROVISION_EXACT;

    tdl_eval_result inf, inf_null, inf_opt, d1, d1b, d2, d0;
    tdl_eval_options off = {0, 7, NULL}, on1 = {1, 1, NULL}, on2 = {1, 2, NULL};
    TDL_CHECK(tdl_evaluate(&pred, rows, NROWS, range, &pp, rule, 64, &inf) == TDL_OK, "%s",
              tdl_last_error());
    TDL_CHECK(tdl_evaluate_opts(&pred, rows, NROWS, range, &pp, rule, 64, NULL, &inf_null) ==
                  TDL_OK, "%s", tdl_last_error());
    TDL_CHECK(tdl_evaluate_opts(&pred, rows, NROWS, range, &pp, rule, 64, &off, &inf_opt) ==
                  TDL_OK, "%s", tdl_last_error());
    TDL_CHECK(same_result(&inf, &inf_null), "options NULL is inference");
    TDL_CHECK(same_result(&inf, &inf_opt), "dropout 0 is inference whatever the seed");
    print_result("inference", &inf);

    TDL_CHECK(tdl_evaluate_opts(&pred, rows, NROWS, range, &pp, rule, 64, &on1, &d1) == TDL_OK,
              "%s", tdl_last_error());
    TDL_CHECK(tdl_evaluate_opts(&pred, rows, NROWS, range, &pp, rule, 64, &on1, &d1b) == TDL_OK,
              "%s", tdl_last_error());
    TDL_CHECK(tdl_evaluate_opts(&pred, rows, NROWS, range, &pp, rule, 64, &on2, &d2) == TDL_OK,
              "%s", tdl_last_error());
    print_result("dropout seed 1", &d1);
    print_result("dropout seed 1 again", &d1b);
    print_result("dropout seed 2", &d2);
    TDL_CHECK(d1.rows == NROWS && d1.instances == (size_t)NROWS * TDL_WINDOWS_PER_ROW,
              "rows %zu instances %zu", d1.rows, d1.instances);
    TDL_CHECK(all_differ(&d1, &inf), "dropout on differs from inference");
    TDL_CHECK(same_result(&d1, &d1b), "same seed twice: identical");
    TDL_CHECK(all_differ(&d1, &d2), "seeds 1 and 2 differ");
    TDL_CHECK(isfinite(d1.mse) && isfinite(d1.regret_pooled) && isfinite(d1.regret_grouped),
              "finite");

    double want = replay_mse(&pred, rows, NROWS, 1);
    printf("     replayed mse %.17g, evaluate %.17g\n", want, d1.mse);
    TDL_CHECK(d1.mse == want, "mse %.17g equals the replay of the documented masks %.17g",
              d1.mse, want);

    pred.cfg.dropout = 0.0f;
    TDL_CHECK(tdl_evaluate_opts(&pred, rows, NROWS, range, &pp, rule, 64, &on1, &d0) == TDL_OK,
              "%s", tdl_last_error());
    print_result("dropout p = 0", &d0);
    TDL_CHECK(same_result(&d0, &inf), "p = 0 equals inference");

    /* A forecast that is not finite is an error, not a 0 through relu with a
     * plausible regret: NaN from a NaN bias, -inf from a huge negative one
     * (relu(-inf) would have been 0 as well). */
    pred.cfg.dropout = 0.3f;
    float *fc2b = tdl_params_data(&pred.params, "fc2.bias");
    const float keep = fc2b[0], bad[2] = {NAN, -INFINITY};
    for (int k = 0; k < 2; k++) {
        tdl_eval_result r;
        fc2b[0] = bad[k];
        tdl_status st = tdl_evaluate(&pred, rows, NROWS, range, &pp, rule, 64, &r);
        printf("     forecast %g: %s: %s\n", (double)bad[k], tdl_status_name(st), tdl_last_error());
        TDL_CHECK(st == TDL_ERR_NUMERIC && strstr(tdl_last_error(), "forecast") &&
                      strstr(tdl_last_error(), "not finite"),
                  "a %g forecast gave %s (regret %g)", (double)bad[k], tdl_status_name(st),
                  r.regret_pooled);
    }
    fc2b[0] = keep;

    /* A training range of zero width (a constant training series) cannot map
     * forecasts to tokens: refused, not a regret of 0. */
    tdl_eval_result rz;
    tdl_range flat = {5000.0, 5000.0};
    tdl_status sz = tdl_evaluate(&pred, rows, NROWS, flat, &pp, rule, 64, &rz);
    printf("     flat training range: %s: %s\n", tdl_status_name(sz), tdl_last_error());
    TDL_CHECK(sz == TDL_ERR_INVALID && strstr(tdl_last_error(), "range"),
              "a zero-width training range gave %s (regret %g)", tdl_status_name(sz),
              rz.regret_pooled);

    free(rows);
    tdl_predictor_free(&pred);
    return tdl_test_done("test_evaluate");
}
