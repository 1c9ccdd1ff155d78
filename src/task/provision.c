/* provision.c: the provisioning objective of spec section 1: its constants,
 * n(), s(), utility, cost, the loss L and dL/dx. */
#include "tdl/provision.h"

#include <math.h>
#include <string.h>

/* The authors' utility floor on the normalised workload. */
#define TDL_PROVISION_Y_FLOOR 1e-8

void tdl_provision_defaults(tdl_provision_params *p) {
    p->eta = 0.7;
    p->A = 20.0;
    p->B = 1.5;
    p->a_min = 200.0;
    p->a_max = 400000.0;
    p->P_idle = 100.0;
    p->P_act = 280.0;
}

tdl_status tdl_provision_check(const tdl_provision_params *p) {
    const struct { const char *name; double v; } all[] = {
        {"eta", p->eta},     {"A", p->A},           {"B", p->B},         {"a_min", p->a_min},
        {"a_max", p->a_max}, {"P_idle", p->P_idle}, {"P_act", p->P_act},
    };
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        if (!isfinite(all[i].v))
            return tdl_error(TDL_ERR_INVALID, "provisioning constant %s is %g, not a finite number",
                             all[i].name, all[i].v);
    if (!(p->eta > 0.0 && p->eta < 1.0))
        return tdl_error(TDL_ERR_INVALID, "eta = %g is not in (0, 1)", p->eta);
    if (!(p->A > 0.0)) return tdl_error(TDL_ERR_INVALID, "A = %g is not > 0", p->A);
    if (!(p->B > 0.0)) return tdl_error(TDL_ERR_INVALID, "B = %g is not > 0", p->B);
    if (!(p->a_min > 0.0))
        return tdl_error(TDL_ERR_INVALID, "a_min = %g is not > 0 (the power rates divide by it)",
                         p->a_min);
    if (!(p->a_min < p->a_max))
        return tdl_error(TDL_ERR_INVALID, "a_min = %g is not below a_max = %g", p->a_min,
                         p->a_max);
    if (!(p->P_idle >= 0.0))
        return tdl_error(TDL_ERR_INVALID, "P_idle = %g is negative", p->P_idle);
    if (!(p->P_act > 0.0)) return tdl_error(TDL_ERR_INVALID, "P_act = %g is not > 0", p->P_act);
    double r = tdl_provision_ratio(p);
    if (!(r > 0.0) || !isfinite(r))
        return tdl_error(TDL_ERR_INVALID,
                         "r = %g is not > 0: with these constants no capacity above a_min pays "
                         "for itself (raise eta, or lower P_act, B or A)",
                         r);
    return TDL_OK;
}

const char *tdl_provision_rule_name(tdl_provision_rule rule) {
    switch (rule) {
    case TDL_PROVISION_EXACT: return "exact";
    case TDL_PROVISION_AUTHORS: return "authors";
    }
    return NULL;
}

tdl_status tdl_provision_rule_parse(const char *name, tdl_provision_rule *rule) {
    if (strcmp(name, "exact") == 0) *rule = TDL_PROVISION_EXACT;
    else if (strcmp(name, "authors") == 0) *rule = TDL_PROVISION_AUTHORS;
    else return tdl_error(TDL_ERR_INVALID, "unknown decision rule '%s' (exact or authors)", name);
    return TDL_OK;
}

/* Cost per normalised unit served and per normalised unit idle. */
static double rate_act(const tdl_provision_params *p) { return p->P_act / p->a_min; }
static double rate_idle(const tdl_provision_params *p) { return p->P_idle / p->a_min; }

double tdl_provision_ratio(const tdl_provision_params *p) {
    return p->eta / ((1.0 - p->eta) * rate_act(p) * p->B * log1p(p->A)) - 1.0 / p->A;
}

double tdl_provision_norm(const tdl_provision_params *p, double z) {
    double u = (z - p->a_min) / (p->a_max - p->a_min);
    return u > 0.0 ? u : 0.0;
}

/* log1p, not log(A t + 1): for a workload far above a_max the served
 * fraction t is tiny and A t + 1 rounds to 1, which zeroed the utility
 * v s(t) (its limit is A u / (B ln(A + 1))) and made regrets negative. */
double tdl_provision_quality(const tdl_provision_params *p, double t) {
    return log1p(p->A * t) / (p->B * log1p(p->A));
}

/* s'(t) = A / ((A t + 1) B ln(A + 1)). */
static double quality_slope(const tdl_provision_params *p, double t) {
    return p->A / ((p->A * t + 1.0) * p->B * log1p(p->A));
}

double tdl_provision_utility(const tdl_provision_params *p, double u, double w) {
    double v = w > TDL_PROVISION_Y_FLOOR ? w : TDL_PROVISION_Y_FLOOR;
    double t = u >= v ? 1.0 : u / v;
    return tdl_provision_quality(p, t) * v;
}

double tdl_provision_cost(const tdl_provision_params *p, double u, double w) {
    double served = u < w ? u : w;
    double idle = u > w ? u - w : 0.0;
    return rate_act(p) * served + rate_idle(p) * idle;
}

double tdl_provision_loss(const tdl_provision_params *p, double x, double y) {
    double u = tdl_provision_norm(p, x), w = tdl_provision_norm(p, y);
    return (1.0 - p->eta) * tdl_provision_cost(p, u, w) - p->eta * tdl_provision_utility(p, u, w);
}

/* Right derivative in x (see the header for the kinks):
 *   dn/dx    = 1/(a_max - a_min) for x >= a_min, else 0;
 *   dcost/du = c_act for u < w, c_idle for u >= w;
 *   dutil/du = s'(u / v) for u < v, 0 for u >= v   (d/du [v s(u/v)]). */
double tdl_provision_dloss_dx(const tdl_provision_params *p, double x, double y) {
    if (x < p->a_min) return 0.0;
    double D = p->a_max - p->a_min;
    double u = (x - p->a_min) / D, w = tdl_provision_norm(p, y);
    double v = w > TDL_PROVISION_Y_FLOOR ? w : TDL_PROVISION_Y_FLOOR;
    double dcost = u >= w ? rate_idle(p) : rate_act(p);
    double dutil = u >= v ? 0.0 : quality_slope(p, u / v);
    return ((1.0 - p->eta) * dcost - p->eta * dutil) / D;
}
