/* provision_rule.c: the decision rules (exact and the authors'), the oracle,
 * the regret of one decision and its derivative for decision-focused
 * learning (spec section 1). */
#include "tdl/provision.h"

#include <math.h>

/* The rule before the clamp, x = a_min + slope (y_hat - a_min) (exact) or
 * slope y_hat (authors); *slope receives the slope. */
static double rule_line(const tdl_provision_params *p, tdl_provision_rule rule, double y_hat,
                        double *slope) {
    double r = tdl_provision_ratio(p);
    if (rule == TDL_PROVISION_AUTHORS) {
        *slope = r;
        return r * y_hat;
    }
    /* min(r, 1): for r >= 1 the minimiser is x = y (see the header). */
    *slope = r < 1.0 ? r : 1.0;
    return p->a_min + *slope * (y_hat - p->a_min);
}

double tdl_provision_decide(const tdl_provision_params *p, tdl_provision_rule rule, double y_hat) {
    double slope, x = rule_line(p, rule, y_hat, &slope);
    if (x < p->a_min) return p->a_min;
    if (x > p->a_max) return p->a_max;
    return x;
}

double tdl_provision_decide_slope(const tdl_provision_params *p, tdl_provision_rule rule,
                                  double y_hat) {
    /* slope > 0 (tdl_provision_check demands r > 0): increasing y_hat leaves
     * the lower bound and reaches the upper one, so the right derivative is
     * the slope on [a_min, a_max) and 0 from a_max on. */
    double slope, x = rule_line(p, rule, y_hat, &slope);
    return x >= p->a_min && x < p->a_max ? slope : 0.0;
}

double tdl_provision_oracle(const tdl_provision_params *p, tdl_provision_rule rule, double y) {
    return tdl_provision_decide(p, rule, y);
}

double tdl_provision_regret(const tdl_provision_params *p, tdl_provision_rule rule, double y_hat,
                            double y) {
    return tdl_provision_loss(p, tdl_provision_decide(p, rule, y_hat), y) -
           tdl_provision_loss(p, tdl_provision_oracle(p, rule, y), y);
}

double tdl_provision_grad(const tdl_provision_params *p, tdl_provision_rule rule,
                          double y_hat_norm, double y, double scale, double offset) {
    double y_hat = y_hat_norm * scale + offset;
    double dx = tdl_provision_decide_slope(p, rule, y_hat);
    if (dx == 0.0) return 0.0;
    double x = tdl_provision_decide(p, rule, y_hat);
    return tdl_provision_dloss_dx(p, x, y) * dx * scale;
}

void tdl_provision_grad_batch(const tdl_provision_params *p, tdl_provision_rule rule,
                              double *dyhat, const double *y_hat_norm, const double *y, size_t N,
                              double scale, double offset, double coef) {
    for (size_t i = 0; i < N; i++)
        dyhat[i] += coef * tdl_provision_grad(p, rule, y_hat_norm[i], y[i], scale, offset);
}
