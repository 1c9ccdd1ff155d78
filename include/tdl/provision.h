/*
 * provision.h: the decision problem of spec section 1, LLM capacity
 * provisioning, and what decision-focused learning needs from it.
 *
 * Units. Workloads y, forecasts y_hat and capacities x are in TOKENS per slot
 * unless a name says otherwise. n(z) maps tokens to the normalised capacity
 * scale [0, 1] (n() does not clip at 1, only at 0):
 *
 *     n(z)          = max(0, (z - a_min) / (a_max - a_min))
 *     s(t)          = ln(A t + 1) / (B ln(A + 1))                 quality, t in [0, 1]
 *     utility(u, w) = s(min(u / v, 1)) * v,   v = max(w, 1e-8)    (u, w normalised)
 *     cost(u, w)    = c_act min(u, w) + c_idle max(u - w, 0),     c = P / a_min
 *     L(x, y)       = (1 - eta) cost(n(x), n(y)) - eta utility(n(x), n(y))
 *
 * (computed as log1p(A t) / (B log1p(A)): for y far above a_max, t = u / v
 * is tiny and A t + 1 would round to 1, losing the utility's limit
 * A u / (B ln(A + 1)); with log1p the regret of the EXACT rule is >= 0 for
 * every finite workload, up to the 1e-8 caveat below.)
 *
 * L is a loss (negative net utility). Setting dL/du = 0 on the branch u < w
 * gives u = r w with
 *
 *     r = eta / ((1 - eta) c_act B ln(A + 1)) - 1 / A        (0.3149541541700567 by default)
 *
 * so the exact minimiser of L(., y_hat) over [a_min, a_max] is
 *
 *     x*(y_hat) = clamp(a_min + min(r, 1) (y_hat - a_min), a_min, a_max)     (EXACT)
 *
 * (L is convex in u on [0, w] and increasing beyond w, hence the clamp is the
 * constrained minimum; min(r, 1) covers constants with r >= 1, where the
 * minimiser is u = w.) The authors' code drops the a_min offset and uses r as
 * it is:  x = clamp(r y_hat, a_min, a_max)  (AUTHORS), for forecasts and the
 * oracle alike. One caveat of the authors' utility clamp v = max(w, 1e-8):
 * for workloads y < a_min + 1e-8 (a_max - a_min) (about 200.004 tokens with
 * the defaults) the true minimiser lies within 1e-8 (a_max - a_min) tokens of
 * a_min and beats the EXACT rule by less than eta * 1e-8 in loss; the rule
 * keeps the spec's closed form there.
 *
 * Not reproduced: the authors' oracle also evaluates x = clamp(y) and, when
 * that gives a lower loss averaged over the batch, reports ITS loss while
 * keeping the rule's capacity. With realistic batches the rule wins and the
 * two agree; here the oracle is always the rule applied to y.
 *
 * The parameters must have passed tdl_provision_check before any other
 * function is called with them; the scalar functions do not check again.
 * Everything is double.
 */
#ifndef TDL_PROVISION_H
#define TDL_PROVISION_H

#include <stddef.h>

#include "tdl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The constants of the decision problem. Defaults (the authors' code, the
 * constants that produced the paper's Table I): eta 0.7, A 20, B 1.5,
 * a_min 200, a_max 400000, P_idle 100, P_act 280. */
typedef struct tdl_provision_params {
    double eta;    /* weight of utility against cost, in (0, 1) */
    double A;      /* curvature of the quality curve s(), > 0 */
    double B;      /* s(1) = 1 / B, > 0 */
    double a_min;  /* smallest capacity, tokens per slot, > 0 */
    double a_max;  /* largest capacity, tokens per slot, > a_min */
    double P_idle; /* idle power; cost per idle normalised unit = P_idle / a_min, >= 0 */
    double P_act;  /* active power; cost per served normalised unit = P_act / a_min, > 0 */
} tdl_provision_params;

/* Which decision rule maps a forecast to a capacity. */
typedef enum tdl_provision_rule {
    TDL_PROVISION_EXACT = 0, /* clamp(a_min + min(r,1) (y_hat - a_min)): the minimiser */
    TDL_PROVISION_AUTHORS    /* clamp(r y_hat): the authors' code, for Table I */
} tdl_provision_rule;

/* Fill *p with the authors' constants (see above). */
void tdl_provision_defaults(tdl_provision_params *p);

/* TDL_OK, or TDL_ERR_INVALID with a message naming the offending constant:
 * every value finite, 0 < eta < 1, A > 0, B > 0, 0 < a_min < a_max,
 * P_idle >= 0, P_act > 0, and r > 0 (otherwise no capacity above a_min ever
 * pays for itself and the problem is degenerate). */
tdl_status tdl_provision_check(const tdl_provision_params *p);

/* "exact" / "authors"; NULL for an unknown value. */
const char *tdl_provision_rule_name(tdl_provision_rule rule);
/* Parse "exact" or "authors"; TDL_ERR_INVALID otherwise. */
tdl_status tdl_provision_rule_parse(const char *name, tdl_provision_rule *rule);

/* r of the closed form (not clipped to [0, 1]). */
double tdl_provision_ratio(const tdl_provision_params *p);

/* n(z): tokens -> normalised capacity, max(0, (z - a_min) / (a_max - a_min)). */
double tdl_provision_norm(const tdl_provision_params *p, double z);
/* s(t): service quality of serving the fraction t in [0, 1] of the workload. */
double tdl_provision_quality(const tdl_provision_params *p, double t);
/* utility(u, w) and cost(u, w) on NORMALISED capacity u and workload w. */
double tdl_provision_utility(const tdl_provision_params *p, double u, double w);
double tdl_provision_cost(const tdl_provision_params *p, double u, double w);
/* L(x, y), x and y in tokens. */
double tdl_provision_loss(const tdl_provision_params *p, double x, double y);

/* dL(x, y)/dx in 1/token. L is piecewise smooth in x with kinks at
 *   x = a_min                                 (the clamp in n),
 *   n(x) = n(y), i.e. x = y when y >= a_min   (min/max in cost),
 *   n(x) = max(n(y), 1e-8)                    (min(., 1) in utility; the same
 *                                              point as x = y unless y is
 *                                              within 0.004 tokens of a_min).
 * At a kink the RIGHT derivative (x increasing) is returned: at x = a_min the
 * slope 1/(a_max - a_min) of n, at x = y the idle rate and zero utility slope. */
double tdl_provision_dloss_dx(const tdl_provision_params *p, double x, double y);

/* The capacity the rule provisions for forecast y_hat (tokens, any finite
 * value; below a_min gives a_min). */
double tdl_provision_decide(const tdl_provision_params *p, tdl_provision_rule rule, double y_hat);
/* d decide / d y_hat: the rule's slope inside the clamp range, 0 outside. At
 * the clamp bounds the RIGHT derivative: the slope where the unclamped value
 * equals a_min, 0 where it equals a_max. */
double tdl_provision_decide_slope(const tdl_provision_params *p, tdl_provision_rule rule,
                                  double y_hat);
/* The oracle: the rule applied to the true workload, decide(p, rule, y). */
double tdl_provision_oracle(const tdl_provision_params *p, tdl_provision_rule rule, double y);

/* Regret of one decision: L(decide(y_hat), y) - L(oracle(y), y). >= 0 for
 * the EXACT rule (up to the 1e-8 caveat above). */
double tdl_provision_regret(const tdl_provision_params *p, tdl_provision_rule rule,
                            double y_hat, double y);

/* The derivative DFL needs: d L(decide(y_hat), y) / d y_hat_norm, where the
 * forecast is in NORMALISED units and maps to tokens as
 *     y_hat = y_hat_norm * scale + offset     (scale = max - min, offset = min
 *                                              of the training range),
 * and y is the actual workload in tokens. Equals the derivative of the regret
 * (the oracle term does not depend on y_hat):
 *     dL/dx(decide(y_hat), y) * decide_slope(y_hat) * scale.
 * Kinks in y_hat: where the decision reaches a_min or a_max (the clamp), and
 * where it equals y (and n(x) = 1e-8 for y near a_min). At a kink the RIGHT
 * derivative (y_hat increasing) is returned, since scale > 0 and the decision
 * is non-decreasing in y_hat: it is the product of the two right derivatives
 * above (0 wherever the decision is clamped). scale must be > 0. */
double tdl_provision_grad(const tdl_provision_params *p, tdl_provision_rule rule,
                          double y_hat_norm, double y, double scale, double offset);

/* Batch form for training: for i < N, dyhat[i] += coef * tdl_provision_grad(
 * p, rule, y_hat_norm[i], y[i], scale, offset). ADDS (the caller zeroes);
 * coef is the weight of each instance in the caller's loss (1/N for a mean).
 * dyhat, y_hat_norm (N) normalised; y (N) tokens. */
void tdl_provision_grad_batch(const tdl_provision_params *p, tdl_provision_rule rule,
                              double *dyhat, const double *y_hat_norm, const double *y, size_t N,
                              double scale, double offset, double coef);

/* Normalised regret, pooled (the form to report): over N instances,
 *     sum_i regret(y_hat[i], y[i]) / -sum_i L(oracle(y[i]), y[i]).
 * y_hat, y (N) in tokens. TDL_ERR_INVALID for N = 0, TDL_ERR_NUMERIC for a
 * non-finite input (naming its index) or when the oracle losses do not sum
 * to a negative number (every workload at or below a_min). */
tdl_status tdl_provision_regret_pooled(const tdl_provision_params *p, tdl_provision_rule rule,
                                       const double *y_hat, const double *y, size_t N,
                                       double *out);

/* Normalised regret in the authors' per-step form: y_hat, y laid out (G, N),
 * G groups of N instances each (the authors: one group per (batch, step),
 * the N rows of a batch at one prediction step); each group's pooled ratio
 * as above, averaged over the G groups with equal weight. Errors as above,
 * naming the group whose oracle losses do not sum below zero. With G = 1 it
 * equals the pooled form. */
tdl_status tdl_provision_regret_grouped(const tdl_provision_params *p, tdl_provision_rule rule,
                                        const double *y_hat, const double *y, size_t G, size_t N,
                                        double *out);

#ifdef __cplusplus
}
#endif
#endif /* TDL_PROVISION_H */
