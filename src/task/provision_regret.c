/* provision_regret.c: normalised regret over a test set, pooled and in the
 * authors' per-(batch, step) form (spec section 1, Table I). */
#include "tdl/provision.h"

#include <math.h>

/* Sums of regrets and of oracle losses over n instances starting at index
 * first (for messages). */
static tdl_status sums(const tdl_provision_params *p, tdl_provision_rule rule, const double *y_hat,
                       const double *y, size_t n, size_t first, double *regret, double *oracle) {
    double sr = 0.0, so = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(y_hat[i]))
            return tdl_error(TDL_ERR_NUMERIC, "forecast %zu is %g, not a finite number", first + i,
                             y_hat[i]);
        if (!isfinite(y[i]))
            return tdl_error(TDL_ERR_NUMERIC, "workload %zu is %g, not a finite number", first + i,
                             y[i]);
        double xo = tdl_provision_oracle(p, rule, y[i]);
        double lo = tdl_provision_loss(p, xo, y[i]);
        sr += tdl_provision_loss(p, tdl_provision_decide(p, rule, y_hat[i]), y[i]) - lo;
        so += lo;
    }
    *regret = sr;
    *oracle = so;
    return TDL_OK;
}

tdl_status tdl_provision_regret_pooled(const tdl_provision_params *p, tdl_provision_rule rule,
                                       const double *y_hat, const double *y, size_t N,
                                       double *out) {
    if (N == 0) return tdl_error(TDL_ERR_INVALID, "normalised regret of no instances");
    double sr, so;
    TDL_TRY(sums(p, rule, y_hat, y, N, 0, &sr, &so));
    if (!(so < 0.0))
        return tdl_error(TDL_ERR_NUMERIC,
                         "the oracle losses of the %zu workloads sum to %g, not below 0 (every "
                         "workload at or below a_min = %g): normalised regret is undefined",
                         N, so, p->a_min);
    *out = sr / -so;
    return TDL_OK;
}

tdl_status tdl_provision_regret_grouped(const tdl_provision_params *p, tdl_provision_rule rule,
                                        const double *y_hat, const double *y, size_t G, size_t N,
                                        double *out) {
    if (G == 0 || N == 0)
        return tdl_error(TDL_ERR_INVALID, "normalised regret of %zu groups of %zu instances", G, N);
    double sum = 0.0;
    for (size_t g = 0; g < G; g++) {
        double sr, so;
        TDL_TRY(sums(p, rule, y_hat + g * N, y + g * N, N, g * N, &sr, &so));
        if (!(so < 0.0))
            return tdl_error(TDL_ERR_NUMERIC,
                             "the oracle losses of group %zu sum to %g, not below 0 (every "
                             "workload at or below a_min = %g): its normalised regret is "
                             "undefined",
                             g, so, p->a_min);
        sum += sr / -so;
    }
    *out = sum / (double)G;
    return TDL_OK;
}
