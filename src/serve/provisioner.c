/* provisioner.c: a trained predictor served one slot at a time
 * (provisioner.h): the model file's range, rule and constants (or the
 * options'), a predictor stream (predictor.h) and the decision rule, and
 * the backtest over a recorded series. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/provisioner.h"

struct tdl_provisioner {
    tdl_provisioner_info info;
    tdl_predictor_stream *stream;
    double span;                    /* range.max - range.min */
    tdl_provisioner_decision last;  /* the decision of the last push */
};

void tdl_provisioner_options_default(tdl_provisioner_options *o) {
    TDL_ASSERT(o, "provisioner_options_default: NULL");
    memset(o, 0, sizeof *o);
}

static tdl_status check_range(tdl_range r, const char *what) {
    if (!isfinite(r.min) || !isfinite(r.max) || !(r.max > r.min))
        return tdl_error(TDL_ERR_INVALID, "%s %.17g .. %.17g is not a range (finite, max > min)",
                         what, r.min, r.max);
    return TDL_OK;
}

tdl_status tdl_provisioner_open_predictor(tdl_provisioner **out, const tdl_predictor *p,
                                          const tdl_provisioner_options *opt) {
    TDL_ASSERT(out && p, "provisioner_open_predictor: NULL argument");
    *out = NULL;
    tdl_provisioner_options defaults;
    tdl_provisioner_options_default(&defaults);
    if (!opt) opt = &defaults;
    tdl_provisioner_info info;
    memset(&info, 0, sizeof info);
    info.window = p->cfg.T;
    info.model = p->meta;
    if (opt->range_given) {
        TDL_TRY(check_range(opt->range, "the training range given"));
        info.range = opt->range;
    } else if (p->meta.has_range) {
        info.range = p->meta.range;
    } else {
        return tdl_error(TDL_ERR_INVALID, "the model does not record its training range (a "
                         "model file from before tdl recorded it, or a PyTorch export): give "
                         "the range of the series it was trained on");
    }
    tdl_provision_defaults(&info.pp);
    info.rule = TDL_PROVISION_EXACT;
    if (p->meta.has_rule) {
        info.rule = p->meta.rule;
        info.pp = p->meta.pp;
    }
    if (opt->rule_given) {
        if (!tdl_provision_rule_name(opt->rule))
            return tdl_error(TDL_ERR_INVALID, "unknown decision rule %d", (int)opt->rule);
        info.rule = opt->rule;
    }
    if (opt->pp_given) info.pp = opt->pp;
    TDL_TRY(tdl_provision_check(&info.pp));
    tdl_provisioner *pv = calloc(1, sizeof *pv);
    if (!pv) return tdl_error(TDL_ERR_NOMEM, "out of memory for a provisioner");
    tdl_status s = tdl_predictor_stream_init(&pv->stream, p);
    if (s != TDL_OK) {
        free(pv);
        return s;
    }
    pv->info = info;
    pv->span = info.range.max - info.range.min;
    *out = pv;
    return TDL_OK;
}

tdl_status tdl_provisioner_open(tdl_provisioner **out, const char *model_path,
                                const tdl_provisioner_options *opt) {
    TDL_ASSERT(out && model_path, "provisioner_open: NULL argument");
    *out = NULL;
    tdl_predictor p;
    TDL_TRY(tdl_predictor_load(&p, model_path));
    tdl_status s = tdl_provisioner_open_predictor(out, &p, opt);
    tdl_predictor_free(&p);
    if (s != TDL_OK) return tdl_error_context(s, "%s", model_path);
    return TDL_OK;
}

void tdl_provisioner_close(tdl_provisioner *p) {
    if (!p) return;
    tdl_predictor_stream_free(p->stream);
    free(p);
}

void tdl_provisioner_get_info(const tdl_provisioner *p, tdl_provisioner_info *out) {
    TDL_ASSERT(p && out, "provisioner_get_info: NULL argument");
    *out = p->info;
}

void tdl_provisioner_next(const tdl_provisioner *p, tdl_provisioner_decision *out) {
    TDL_ASSERT(p && out, "provisioner_next: NULL argument");
    *out = p->last;
}

void tdl_provisioner_reset(tdl_provisioner *p) {
    TDL_ASSERT(p, "provisioner_reset: NULL");
    tdl_predictor_stream_reset(p->stream);
    memset(&p->last, 0, sizeof p->last);
}

tdl_status tdl_provisioner_push(tdl_provisioner *p, double tokens, tdl_provisioner_decision *next) {
    TDL_ASSERT(p, "provisioner_push: NULL");
    if (!isfinite(tokens) || tokens < 0.0)
        return tdl_error(TDL_ERR_INVALID, "%g tokens is not a slot's workload (finite, >= 0)",
                         tokens);
    /* normalised as the physical protocol does: in double, then to float */
    const double z = (tokens - p->info.range.min) / p->span;
    if (!(fabs(z) <= FLT_MAX))
        return tdl_error(TDL_ERR_INVALID, "%g tokens is %g in the training range's units, "
                         "beyond a float", tokens, z);
    float o;
    const int ready = tdl_predictor_stream_push(p->stream, (float)z, &o);
    tdl_provisioner_decision d = {0, tdl_predictor_stream_pushed(p->stream), 0.0, 0.0};
    tdl_status s = TDL_OK;
    if (ready && !isfinite(o)) {
        s = tdl_error(TDL_ERR_NUMERIC, "the forecast for slot %lld is %g, not a finite number "
                      "(the model's weights or its range)", (long long)d.slot, (double)o);
    } else if (ready) {
        /* as tdl_evaluate: relu, then tokens with the training range */
        const double f = o > 0.0f ? (double)o : 0.0;
        d.ready = 1;
        d.forecast = f * p->span + p->info.range.min;
        d.capacity = tdl_provision_decide(&p->info.pp, p->info.rule, d.forecast);
    }
    p->last = d;
    if (next) *next = d;
    return s;
}

/* ---- backtest ---- */

const char *tdl_backtest_slots_name(tdl_backtest_slots s) {
    switch (s) {
    case TDL_BACKTEST_ALL: return "all";
    case TDL_BACKTEST_EVAL: return "eval";
    case TDL_BACKTEST_EVAL_TRAIN: return "eval-train";
    }
    return NULL;
}

/* Adds one decision x for workload y to t. */
static void tally(tdl_backtest_totals *t, const tdl_provision_params *pp, double x, double y,
                  double loss) {
    const double u = tdl_provision_norm(pp, x), w = tdl_provision_norm(pp, y);
    t->capacity += x;
    t->served += x < y ? x : y;
    if (x < y) {
        t->unserved += y - x;
        t->under_slots++;
    } else {
        t->idle += x - y;
    }
    t->cost += tdl_provision_cost(pp, u, w);
    t->utility += tdl_provision_utility(pp, u, w);
    t->loss += loss;
}

tdl_status tdl_provisioner_backtest(tdl_provisioner *p, const double *tokens, size_t n,
                                    tdl_backtest_slots which, tdl_backtest_slot *slots,
                                    tdl_backtest_result *result) {
    TDL_ASSERT(p && (tokens || n == 0) && result, "provisioner_backtest: NULL argument");
    memset(result, 0, sizeof *result);
    result->which = which;
    result->values = n;
    const int T = p->info.window;
    const tdl_provision_params *pp = &p->info.pp;
    const tdl_provision_rule rule = p->info.rule;
    /* the scored slots: [first, end) and, for eval, positions T..27 of rows */
    size_t first = (size_t)T, end = n;
    const int rows = which != TDL_BACKTEST_ALL;
    if (rows) {
        if (T >= TDL_ROW_LEN)
            return tdl_error(TDL_ERR_INVALID, "a window of %d slots does not fit a row of %d", T,
                             TDL_ROW_LEN);
        size_t used = which == TDL_BACKTEST_EVAL ? tdl_series_test_count(n) : n;
        size_t R = tdl_rows_count(used), ntrain = 0, ntest = R;
        if (which == TDL_BACKTEST_EVAL_TRAIN) tdl_rows_split(R, &ntrain, &ntest);
        first = ntrain * TDL_ROW_LEN;
        end = R * TDL_ROW_LEN;
    }
    tdl_provisioner_reset(p);
    tdl_status s = TDL_OK;
    for (size_t i = 0; i < end && s == TDL_OK; i++) {
        const double y = tokens[i];
        /* the decision made before slot i (after slot i - 1) */
        const tdl_provisioner_decision d = p->last;
        const int scored = i >= first && (rows ? (int)(i % TDL_ROW_LEN) >= T : d.ready);
        if (scored) {
            if (!isfinite(y) || y < 0.0) {
                s = tdl_error(TDL_ERR_INVALID, "value %zu is %g, not a workload (finite, >= 0)",
                              i, y);
                break;
            }
            TDL_ASSERT(d.ready && d.slot == (int64_t)i, "backtest: no decision for slot %zu", i);
            const double xo = tdl_provision_oracle(pp, rule, y);
            const double l = tdl_provision_loss(pp, d.capacity, y);
            const double lo = tdl_provision_loss(pp, xo, y);
            if (slots)
                slots[result->slots] = (tdl_backtest_slot){(int64_t)i, y, d.forecast, d.capacity,
                                                           l, xo, lo};
            result->slots++;
            result->workload += y;
            tally(&result->model, pp, d.capacity, y, l);
            tally(&result->oracle, pp, xo, y, lo);
            result->regret += l - lo;
        }
        if (i + 1 < end) { /* the last value's decision would be for a slot past the end */
            s = tdl_provisioner_push(p, y, NULL);
            if (s != TDL_OK) tdl_error_context(s, "value %zu", i);
        }
    }
    tdl_provisioner_reset(p);
    if (s != TDL_OK) return s;
    if (result->slots == 0)
        return tdl_error(TDL_ERR_INVALID, "%zu values give no slot to score (%s slots, window "
                         "%d%s)", n, tdl_backtest_slots_name(which), T,
                         rows ? ", rows of 28" : "");
    const double k = (double)result->slots;
    result->model.mean_over = result->model.idle / k;
    result->oracle.mean_over = result->oracle.idle / k;
    if (!(result->oracle.loss < 0.0))
        return tdl_error(TDL_ERR_NUMERIC, "the oracle losses of the %zu slots sum to %g, not "
                         "below 0 (every workload at or below a_min = %g): normalised regret is "
                         "undefined", result->slots, result->oracle.loss, pp->a_min);
    result->regret_normalised = result->regret / -result->oracle.loss;
    return TDL_OK;
}
