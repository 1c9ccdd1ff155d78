/* evaluate.c: MSE and normalised regret of a predictor on test rows
 * (evaluate.h), in inference mode or, as an option, the authors' mode
 * (dropout on, seeded positional masks). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/evaluate.h"

const char *tdl_eval_protocol_name(tdl_eval_protocol p) {
    return p == TDL_PROTOCOL_PHYSICAL ? "physical" : "authors";
}

tdl_status tdl_eval_protocol_parse(const char *name, tdl_eval_protocol *p) {
    if (strcmp(name, "authors") == 0) *p = TDL_PROTOCOL_AUTHORS;
    else if (strcmp(name, "physical") == 0) *p = TDL_PROTOCOL_PHYSICAL;
    else return tdl_error(TDL_ERR_INVALID, "unknown protocol '%s' (authors or physical)", name);
    return TDL_OK;
}

tdl_status tdl_eval_rows(float **rows, size_t *R, const tdl_series *raw, int is_train,
                         tdl_range train_range, tdl_eval_protocol protocol) {
    return tdl_eval_rows_corrupt(rows, R, raw, is_train, train_range, protocol, NULL, 0);
}

tdl_status tdl_eval_rows_corrupt(float **rows, size_t *R, const tdl_series *raw, int is_train,
                                 tdl_range train_range, tdl_eval_protocol protocol,
                                 const tdl_corrupt_spec *c, uint64_t seed) {
    *rows = NULL;
    *R = 0;
    size_t n = is_train ? raw->n : tdl_series_test_count(raw->n);
    size_t all = tdl_rows_count(n), first = 0, count = all;
    if (all == 0)
        return tdl_error(TDL_ERR_INVALID, "%zu values, fewer than one row of %d", raw->n,
                         TDL_ROW_LEN);
    if (is_train) {
        size_t ntrain, ntest;
        tdl_rows_split(all, &ntrain, &ntest);
        first = ntrain;
        count = ntest;
    }
    tdl_series z = {0};
    TDL_TRY(tdl_series_slice(&z, raw, 0, n));
    tdl_range r = train_range;
    tdl_status s = TDL_OK;
    if (is_train || protocol == TDL_PROTOCOL_AUTHORS) {
        s = tdl_series_normalize(&z, &r);
        /* by its own range: a constant series would become all zeros */
        if (s == TDL_OK)
            s = tdl_range_check(r, is_train ? "the training series"
                                            : "the test series (normalised by its own range "
                                              "under the authors' protocol; --protocol "
                                              "physical uses the training range)");
    } else {
        s = tdl_series_range(&z, &r); /* rejects non-finite values */
    }
    if (s == TDL_OK && !is_train && protocol == TDL_PROTOCOL_PHYSICAL)
        tdl_normalize(z.v, z.v, z.n, train_range);
    if (s != TDL_OK) {
        tdl_series_free(&z);
        return tdl_error_context(s, "normalising the test series");
    }
    if (c) { /* the values that make the rows, in normalised units */
        s = tdl_series_corrupt(z.v + first * TDL_ROW_LEN, count * TDL_ROW_LEN, c, seed);
        if (s != TDL_OK) {
            tdl_series_free(&z);
            return tdl_error_context(s, "corrupting the test series");
        }
    }
    float *out = malloc(count * TDL_ROW_LEN * sizeof *out);
    if (!out) {
        tdl_series_free(&z);
        return tdl_error(TDL_ERR_NOMEM, "test rows (%zu)", count);
    }
    tdl_series_rows(out, z.v + first * TDL_ROW_LEN, count * TDL_ROW_LEN);
    tdl_series_free(&z);
    *rows = out;
    *R = count;
    return TDL_OK;
}

tdl_status tdl_evaluate(tdl_predictor *p, const float *rows, size_t R, tdl_range train_range,
                        const tdl_provision_params *pp, tdl_provision_rule rule, int batch,
                        tdl_eval_result *out) {
    return tdl_evaluate_opts(p, rows, R, train_range, pp, rule, batch, NULL, out);
}

tdl_status tdl_evaluate_opts(tdl_predictor *p, const float *rows, size_t R,
                             tdl_range train_range, const tdl_provision_params *pp,
                             tdl_provision_rule rule, int batch, const tdl_eval_options *opt,
                             tdl_eval_result *out) {
    memset(out, 0, sizeof *out);
    if (R == 0) return tdl_error(TDL_ERR_INVALID, "no test rows");
    if (batch < 1) return tdl_error(TDL_ERR_INVALID, "batch %d < 1", batch);
    TDL_TRY(tdl_range_check(train_range, "the training series"));
    TDL_ASSERT(p->cfg.T == TDL_WINDOW_IN, "predictor T=%d, windows have %d inputs", p->cfg.T,
               TDL_WINDOW_IN);
    const int S = TDL_WINDOWS_PER_ROW;
    size_t W = R * (size_t)S;
    /* Forecasts and targets in tokens, laid out (G, N) for the grouped form:
     * group g = (batch b, step t) holds the batch's rows at step t. The
     * pooled form is order-free, so the same arrays serve both. */
    size_t N = R >= (size_t)batch ? (size_t)batch : R;
    size_t nb = R >= (size_t)batch ? R / (size_t)batch : 1;
    const size_t chunk = TDL_EVAL_CHUNK;
    const int drop = opt && opt->dropout;
    /* rng words one chunk row consumes: the first layer's mask (T, H1) and
     * the second's (H2) */
    const uint64_t words_per_row = (uint64_t)p->cfg.T * (uint64_t)p->cfg.H1 + (uint64_t)p->cfg.H2;
    tdl_predictor_cache *cache = NULL;
    double *yh = malloc(W * sizeof *yh), *yt = malloc(W * sizeof *yt);
    float *x = malloc(chunk * TDL_WINDOW_IN * sizeof *x), *y = malloc(chunk * sizeof *y),
          *o = malloc(chunk * sizeof *o);
    tdl_status s = TDL_OK;
    if (!yh || !yt || !x || !y || !o) s = tdl_error(TDL_ERR_NOMEM, "evaluation buffers");
    if (s == TDL_OK) s = tdl_predictor_cache_init(&cache, &p->cfg, (int)chunk);
    if (s != TDL_OK) goto done;
    double scale = train_range.max - train_range.min, offset = train_range.min, se = 0.0;
    /* Instance order: rows r in [b N, (b+1) N) of batch b, step t -> index
     * ((b S + t - 7) N + r - b N); rows past nb * N (the dropped tail) go
     * after all groups, used by the pooled form only. */
    for (int t = TDL_WINDOW_IN; t < TDL_ROW_LEN; t++) {
        for (size_t r0 = 0; r0 < R; r0 += chunk) {
            size_t m = R - r0 < chunk ? R - r0 : chunk;
            tdl_windows_at(x, y, rows + r0 * TDL_ROW_LEN, m, t); // x (m, T), y (m)
            tdl_rng rng = {0, 0, 0};
            if (drop) {
                tdl_rng_init(&rng, opt->seed, (uint64_t)(t - TDL_WINDOW_IN));
                rng.pos = (uint64_t)r0 * words_per_row;
            }
            tdl_predictor_forward(p, cache, x, o, (int)m, drop, drop ? &rng : NULL); // o (m)
            for (size_t i = 0; i < m; i++) {
                /* relu would turn NaN and -inf into 0 and a plausible regret */
                if (!isfinite(o[i])) {
                    s = tdl_error(TDL_ERR_NUMERIC, "the predictor's forecast for test row %zu, "
                                  "step %d is %g, not finite (weights that are not finite, or that "
                                  "overflow on this input)", r0 + i, t, (double)o[i]);
                    goto done;
                }
                size_t r = r0 + i, idx;
                double d = (double)o[i] - (double)y[i];
                se += d * d;
                if (r < nb * N) {
                    size_t b = r / N;
                    idx = (b * (size_t)S + (size_t)(t - TDL_WINDOW_IN)) * N + (r - b * N);
                } else {
                    idx = nb * N * (size_t)S + (r - nb * N) * (size_t)S + (size_t)(t - TDL_WINDOW_IN);
                }
                double f = o[i] > 0.0f ? (double)o[i] : 0.0;
                yh[idx] = f * scale + offset;
                if (opt && opt->forecasts)
                    opt->forecasts[r * (size_t)S + (size_t)(t - TDL_WINDOW_IN)] = yh[idx];
                yt[idx] = (double)y[i] * scale + offset;
            }
        }
    }
    out->rows = R;
    out->instances = W;
    out->mse = se / (double)W;
    s = tdl_provision_regret_pooled(pp, rule, yh, yt, W, &out->regret_pooled);
    if (s == TDL_OK)
        s = tdl_provision_regret_grouped(pp, rule, yh, yt, nb * (size_t)S, N, &out->regret_grouped);
done:
    tdl_predictor_cache_free(cache);
    free(yh);
    free(yt);
    free(x);
    free(y);
    free(o);
    return s;
}
