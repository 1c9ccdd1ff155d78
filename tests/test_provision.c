/* test_provision.c: the provisioning objective of spec section 1: the spec's
 * numbers, the exact rule against a brute-force grid minimum, the exact rule
 * against the authors', the DFL derivative against finite differences (and
 * its documented one-sided value at kinks), regret, normalised regret and
 * parameter validation. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/provision.h"
#include "tdl/rng.h"
#include "tdl_test.h"

/* The training range of 23V (spec section 2): forecasts in normalised units
 * map to tokens as v * SCALE + OFFSET. */
#define OFFSET 374.0
#define SCALE (106957.0 - 374.0)

/* Workloads below a_min + 1e-8 (a_max - a_min) are where the authors' utility
 * floor lets the true minimiser differ from the closed form (header). */
static int in_floor_zone(const tdl_provision_params *p, double y) {
    return y < p->a_min + 1e-8 * (p->a_max - p->a_min);
}

static void test_spec_numbers(const tdl_provision_params *p) {
    double r = tdl_provision_ratio(p);
    printf("r = %.17g\n", r);
    TDL_CHECK(r >= 0.31495 && r < 0.31496, "r = %.17g, spec 0.31495...", r);
    /* r from the first-order condition: dL/dx = 0 at the exact decision. */
    double xe = tdl_provision_decide(p, TDL_PROVISION_EXACT, 10000.0);
    double xa = tdl_provision_decide(p, TDL_PROVISION_AUTHORS, 10000.0);
    double le = tdl_provision_loss(p, xe, 10000.0), la = tdl_provision_loss(p, xa, 10000.0);
    printf("y = 10000: exact x %.10f L %.10g; authors x %.10f L %.10g\n", xe, le, xa, la);
    /* The spec quotes capacities truncated to 0.1 token and losses to 7 decimals. */
    TDL_CHECK(xe >= 3286.5 && xe < 3286.6, "exact capacity %.10f, spec 3286.5", xe);
    TDL_CHECK(xa >= 3149.5 && xa < 3149.6, "authors' capacity %.10f, spec 3149.5", xa);
    TDL_CHECK(fabs(le - -0.0042260) <= 5e-8, "exact loss %.10g, spec -0.0042260", le);
    TDL_CHECK(fabs(la - -0.0042232) <= 5e-8, "authors' loss %.10g, spec -0.0042232", la);
    TDL_CHECK(xe == 200.0 + r * 9800.0, "exact rule is a_min + r (y_hat - a_min)");
    TDL_CHECK(xa == r * 10000.0, "authors' rule is r y_hat");
    /* dL/dx vanishes at the exact minimiser (it is on the smooth branch x < y). */
    double g = tdl_provision_dloss_dx(p, xe, 10000.0);
    TDL_CHECK(fabs(g) < 1e-18, "dL/dx at the exact decision is %.3g", g);

    /* The pieces, by hand. */
    TDL_CHECK(tdl_provision_norm(p, 200.0) == 0.0, "n(a_min) = 0");
    TDL_CHECK(tdl_provision_norm(p, 100.0) == 0.0, "n clips at 0 below a_min");
    TDL_CHECK(tdl_provision_norm(p, 400000.0) == 1.0, "n(a_max) = 1");
    TDL_CHECK(tdl_provision_norm(p, 800000.0) > 1.0, "n does not clip above a_max");
    TDL_CHECK(tdl_provision_quality(p, 0.0) == 0.0, "s(0) = 0");
    double s1 = tdl_provision_quality(p, 1.0);
    TDL_CHECK(fabs(s1 - 1.0 / 1.5) < 1e-15, "s(1) = 1/B, got %.17g", s1);
    double c = tdl_provision_cost(p, 0.5, 0.2);
    TDL_CHECK(fabs(c - (1.4 * 0.2 + 0.5 * 0.3)) < 1e-15, "cost(0.5, 0.2) = 0.43, got %.17g", c);
    c = tdl_provision_cost(p, 0.1, 0.2);
    TDL_CHECK(fabs(c - 0.14) < 1e-15, "cost(0.1, 0.2) = 0.14, got %.17g", c);
    double u = tdl_provision_utility(p, 0.1, 0.2);
    double want = log(11.0) / (1.5 * log(21.0)) * 0.2;
    TDL_CHECK(fabs(u - want) < 1e-15, "utility(0.1, 0.2) = %.17g, want %.17g", u, want);
    u = tdl_provision_utility(p, 0.3, 0.2);
    TDL_CHECK(fabs(u - 0.2 / 1.5) < 1e-15, "utility(0.3, 0.2) = s(1) 0.2, got %.17g", u);
    u = tdl_provision_utility(p, 0.5e-8, 0.0);
    want = log(20 * 0.5 + 1.0) / (1.5 * log(21.0)) * 1e-8;
    TDL_CHECK(fabs(u - want) < 1e-22, "utility floors y at 1e-8: %.17g, want %.17g", u, want);
    double l = tdl_provision_loss(p, 40180.0, 80160.0); /* u = 0.1, w = 0.2 */
    want = 0.3 * 0.14 - 0.7 * log(11.0) / (1.5 * log(21.0)) * 0.2;
    TDL_CHECK(fabs(l - want) < 1e-15, "L(40180, 80160) = %.17g, want %.17g", l, want);
    TDL_CHECK(tdl_provision_decide(p, TDL_PROVISION_EXACT, 150.0) == 200.0, "clamp below");
    TDL_CHECK(tdl_provision_decide(p, TDL_PROVISION_EXACT, 5e6) == 400000.0, "clamp above");
    TDL_CHECK(tdl_provision_decide(p, TDL_PROVISION_AUTHORS, 600.0) == 200.0,
              "authors' rule clamps r y_hat < a_min");
    TDL_CHECK(tdl_provision_oracle(p, TDL_PROVISION_EXACT, 10000.0) == xe, "oracle = rule(y)");
}

/* Brute force: argmin of L(., y) over [a_min, a_max] on a 1-token grid, then
 * refined with a 0.001-token grid on +-2 tokens around the coarse argmin. */
#define COARSE 1.0
#define FINE 1e-3
static void grid_argmin(const tdl_provision_params *p, double y, double *xbest, double *lbest) {
    size_t n = (size_t)((p->a_max - p->a_min) / COARSE);
    double bx = p->a_min, bl = tdl_provision_loss(p, bx, y);
    for (size_t i = 1; i <= n; i++) {
        double x = i == n ? p->a_max : p->a_min + (double)i * COARSE;
        double l = tdl_provision_loss(p, x, y);
        if (l < bl) { bl = l; bx = x; }
    }
    double lo = bx - 2 * COARSE, hi = bx + 2 * COARSE;
    if (lo < p->a_min) lo = p->a_min;
    if (hi > p->a_max) hi = p->a_max;
    size_t m = (size_t)((hi - lo) / FINE + 0.5);
    for (size_t i = 0; i <= m; i++) {
        double x = i == m ? hi : lo + (double)i * FINE;
        double l = tdl_provision_loss(p, x, y);
        if (l < bl) { bl = l; bx = x; }
    }
    *xbest = bx;
    *lbest = bl;
}

static void test_grid(const tdl_provision_params *p) {
    const double fixed[] = {0.0, 100.0, 199.9, 200.0, 200.001, 200.01, 201.0, 250.0, 500.0,
                            1000.0, 2345.6, 10000.0, 106957.0, 200000.0, 399999.0, 400000.0,
                            1e6, 1269000.0, 1270000.0, 2e6, 1e7};
    const size_t nfixed = sizeof fixed / sizeof *fixed, nlog = 60;
    double worst_dx = 0.0, worst_dl = -INFINITY, worst_dx_y = 0.0, worst_dl_y = 0.0;
    double worst_zone_dl = -INFINITY;
    int bad = 0;
    for (size_t k = 0; k < nfixed + nlog; k++) {
        /* and 60 forecasts log-spaced over [1, 1e7] */
        double y = k < nfixed ? fixed[k] : pow(10.0, 7.0 * (double)(k - nfixed) / (nlog - 1));
        double x = tdl_provision_decide(p, TDL_PROVISION_EXACT, y);
        double l = tdl_provision_loss(p, x, y);
        double gx, gl;
        grid_argmin(p, y, &gx, &gl);
        double dx = fabs(x - gx), dl = l - gl; /* dl > 0: the grid found a better capacity */
        int zone = in_floor_zone(p, y);
        /* To grid resolution: within 2 fine steps, or the loss difference is
         * below rounding (the minimum is flat: L'' (dx)^2 / 2 ~ ulp(L)). */
        double ltol = zone ? p->eta * 1e-8 : 1e-15 + 64 * DBL_EPSILON * fabs(gl);
        double xtol = zone ? 1e-8 * (p->a_max - p->a_min) + 2 * FINE : 2 * FINE;
        int ok_l = dl <= ltol;
        int ok_x = dx <= xtol || fabs(tdl_provision_loss(p, gx, y) - l) <= ltol;
        if (!ok_l || !ok_x) {
            bad++;
            printf("FAIL grid y %.10g: rule x %.10f L %.17g, grid x %.10f L %.17g\n", y, x, l, gx,
                   gl);
        }
        if (zone) {
            if (dl > worst_zone_dl) worst_zone_dl = dl;
            continue;
        }
        if (dx > worst_dx) { worst_dx = dx; worst_dx_y = y; }
        if (dl > worst_dl) { worst_dl = dl; worst_dl_y = y; }
    }
    printf("%s grid argmin over [a_min, a_max] (step %g, refined %g) for %zu forecasts: worst "
           "|x_rule - x_grid| %.3g tokens (y = %.6g), worst L_rule - L_grid %.3g (y = %.6g); "
           "in the 1e-8 floor zone worst L_rule - L_grid %.3g\n",
           bad ? "FAIL" : "ok  ", COARSE, FINE, nfixed + nlog, worst_dx, worst_dx_y, worst_dl,
           worst_dl_y, worst_zone_dl);
    tdl_test_record(bad == 0);
}

static void test_exact_beats_authors(const tdl_provision_params *p) {
    double worst = -INFINITY, best_gain = 0.0, best_y = 0.0;
    int bad = 0;
    for (int k = 0; k <= 2000; k++) {
        double y = k == 0 ? 0.0 : pow(10.0, 7.0 * k / 2000.0);
        double le = tdl_provision_loss(p, tdl_provision_decide(p, TDL_PROVISION_EXACT, y), y);
        double la = tdl_provision_loss(p, tdl_provision_decide(p, TDL_PROVISION_AUTHORS, y), y);
        double d = le - la;
        if (d > worst) worst = d;
        if (!(d <= 1e-18 + 8 * DBL_EPSILON * fabs(la))) bad++;
        /* relative gap, where the oracle loss is not ~0 */
        if (la < -1e-12 && (la - le) / -le > best_gain) { best_gain = (la - le) / -le; best_y = y; }
    }
    printf("%s exact loss <= authors' loss for 2001 workloads in [0, 1e7]: worst L_exact - "
           "L_authors %.3g; largest relative gain %.3g at y = %.6g\n",
           bad ? "FAIL" : "ok  ", worst, best_gain, best_y);
    tdl_test_record(bad == 0);
}

/* L(decide(y_hat_norm * SCALE + OFFSET), y) */
static double loss_of_forecast(const tdl_provision_params *p, tdl_provision_rule rule, double yn,
                               double y, double scale, double offset) {
    return tdl_provision_loss(p, tdl_provision_decide(p, rule, yn * scale + offset), y);
}

/* 1 when a kink of L(decide(.), y) lies between forecasts a < b (tokens). */
static int kink_between(const tdl_provision_params *p, tdl_provision_rule rule, double a, double b,
                        double y) {
    double xa = tdl_provision_decide(p, rule, a), xb = tdl_provision_decide(p, rule, b);
    if ((xa == p->a_min) != (xb == p->a_min)) return 1;
    if ((xa == p->a_max) != (xb == p->a_max)) return 1;
    if ((xa < y) != (xb < y)) return 1;
    double w = tdl_provision_norm(p, y), v = w > 1e-8 ? w : 1e-8;
    if ((tdl_provision_norm(p, xa) < v) != (tdl_provision_norm(p, xb) < v)) return 1;
    return 0;
}

static void test_derivative_fd(const tdl_provision_params *p, tdl_provision_rule rule) {
    tdl_rng rng;
    tdl_rng_init(&rng, 77, (unsigned)rule);
    size_t checked = 0, skipped = 0, bad = 0, zero = 0;
    double worst = -INFINITY, wnum = 0, wana = 0, wyn = 0, wy = 0, hmin = INFINITY, hmax = 0;
    for (int k = 0; k < 20000; k++) {
        /* forecasts from below the clamp to above it: tokens in about [-10k, 1.6M] */
        double yn = -0.1 + 15.0 * tdl_rng_uniform(&rng);
        if (k % 4 == 0) yn = 0.05 * tdl_rng_uniform(&rng); /* small workloads, near a_min */
        double x = tdl_provision_decide(p, rule, yn * SCALE + OFFSET);
        /* actual workloads on both sides of the decision */
        double y = x * (0.2 + 4.0 * tdl_rng_uniform(&rng));
        if (k % 7 == 0) y = 500.0 * tdl_rng_uniform(&rng); /* around and below a_min */
        /* The step follows the local length scale of L (its curvature grows
         * as the workload nears a_min): 1e-5 of it, in normalised units. */
        double len = (x - p->a_min) + (y > p->a_min ? y - p->a_min : 0.0) + 1.0;
        double h = 1e-5 * len / SCALE;
        if (h < hmin) hmin = h;
        if (h > hmax) hmax = h;
        double a = (yn - 2 * h) * SCALE + OFFSET, b = (yn + 2 * h) * SCALE + OFFSET;
        if (kink_between(p, rule, a, b, y)) { skipped++; continue; }
        double num = (loss_of_forecast(p, rule, yn + h, y, SCALE, OFFSET) -
                      loss_of_forecast(p, rule, yn - h, y, SCALE, OFFSET)) / (2 * h);
        double ana = tdl_provision_grad(p, rule, yn, y, SCALE, OFFSET);
        double d = fabs(num - ana), tol = 1e-10 + 1e-6 * fabs(num);
        if (!(d <= tol)) bad++;
        if (ana == 0.0) zero++;
        if (d - tol > worst) { worst = d - tol; wnum = num; wana = ana; wyn = yn; wy = y; }
        checked++;
    }
    printf("%s d L(x*(y_hat), y) / d y_hat_norm (%s rule) vs central differences (h %.2g..%.2g): "
           "%zu checked (%zu of them clamped, gradient 0), %zu skipped near kinks; worst at "
           "y_hat_norm %.6g y %.6g: numeric %.9g analytic %.9g\n",
           bad ? "FAIL" : "ok  ", tdl_provision_rule_name(rule), hmin, hmax, checked, zero, skipped,
           wyn, wy, wnum, wana);
    tdl_test_record(bad == 0 && checked > 10000 && zero > 100 && zero < checked / 2);

    /* the batch form adds coef * grad */
    double yn[5] = {0.01, 0.05, 0.3, 2.0, 14.0}, y[5] = {3000, 400, 60000, 1e5, 2e6};
    double d[5] = {1, 2, 3, 4, 5};
    tdl_provision_grad_batch(p, rule, d, yn, y, 5, SCALE, OFFSET, -0.25);
    int ok = 1;
    for (int i = 0; i < 5; i++)
        ok &= d[i] == (double)(i + 1) + -0.25 * tdl_provision_grad(p, rule, yn[i], y[i], SCALE,
                                                                  OFFSET);
    TDL_CHECK(ok, "grad_batch adds coef * grad (%s)", tdl_provision_rule_name(rule));
}

/* One-sided second-order differences of f at t: right (h > 0) or left (h < 0):
 * (-3 f(t) + 4 f(t + h) - f(t + 2h)) / 2h, error O(h^2) on a smooth side. */
typedef double (*scalar_fn)(const tdl_provision_params *p, double t, double y);
static double one_sided(scalar_fn f, const tdl_provision_params *p, double t, double y, double h) {
    return (-3 * f(p, t, y) + 4 * f(p, t + h, y) - f(p, t + 2 * h, y)) / (2 * h);
}
/* L(exact decision for y_hat in tokens, y) */
static double loss_exact(const tdl_provision_params *p, double yh, double y) {
    return tdl_provision_loss(p, tdl_provision_decide(p, TDL_PROVISION_EXACT, yh), y);
}

/* At a kink the gradient is the right derivative: compare with one-sided
 * differences on both sides (scale 1, offset 0: the forecast is in tokens). */
static void test_kinks(const tdl_provision_params *p) {
    const tdl_provision_rule rule = TDL_PROVISION_EXACT;
    const double h = 1e-2; /* tokens */
    /* 1. the decision equals the workload: y := x*(y_hat) exactly */
    double yh = 50000.0, y = tdl_provision_decide(p, rule, yh);
    double g = tdl_provision_grad(p, rule, yh, y, 1.0, 0.0);
    double right = one_sided(loss_exact, p, yh, y, h), left = -one_sided(loss_exact, p, yh, y, -h);
    printf("kink x* = y: grad %.9g, right difference %.9g, left difference %.9g\n", g, right, left);
    TDL_CHECK(fabs(g - right) <= 1e-6 * fabs(right), "at x* = y the right derivative: %.9g vs %.9g",
              g, right);
    TDL_CHECK(fabs(left - right) > 0.5 * fabs(right), "x* = y is a kink: %.9g vs %.9g", left, right);
    double want = (1 - p->eta) * p->P_idle / p->a_min * tdl_provision_ratio(p) / (p->a_max - p->a_min);
    TDL_CHECK(fabs(g - want) <= 1e-15 * fabs(want), "x* = y: idle rate r / D: %.17g vs %.17g", g, want);

    /* 2. the lower clamp: y_hat = a_min, the decision leaves a_min to the right */
    yh = p->a_min;
    y = 10000.0;
    g = tdl_provision_grad(p, rule, yh, y, 1.0, 0.0);
    right = one_sided(loss_exact, p, yh, y, h);
    left = -one_sided(loss_exact, p, yh, y, -h);
    printf("kink y_hat = a_min: grad %.9g, right difference %.9g, left difference %.9g\n", g, right,
           left);
    TDL_CHECK(fabs(g - right) <= 1e-6 * fabs(right), "at the lower clamp the right derivative: "
              "%.9g vs %.9g", g, right);
    TDL_CHECK(left == 0.0 && g < 0.0, "lower clamp is a kink (left %.3g)", left);

    /* 3. the upper clamp: the first forecast whose decision is exactly a_max */
    /* bisection between a forecast below the clamp and one above it */
    double lo = p->a_min, hi = 1e9;
    for (int it = 0; it < 2000 && nextafter(lo, INFINITY) < hi; it++) {
        double mid = lo + (hi - lo) / 2;
        if (tdl_provision_decide(p, rule, mid) < p->a_max) lo = mid;
        else hi = mid;
    }
    yh = hi;
    y = 300000.0;
    g = tdl_provision_grad(p, rule, yh, y, 1.0, 0.0);
    double gprev = tdl_provision_grad(p, rule, nextafter(yh, -INFINITY), y, 1.0, 0.0);
    printf("kink decision = a_max at y_hat %.17g: grad %.9g, one ulp below %.9g\n", yh, g, gprev);
    TDL_CHECK(g == 0.0 && gprev > 0.0, "at the upper clamp the right derivative 0 (below: %.3g)",
              gprev);

    /* 4. dL/dx at x = a_min (n's clamp) and x = y */
    y = 10000.0;
    double dx = tdl_provision_dloss_dx(p, p->a_min, y);
    right = one_sided(tdl_provision_loss, p, p->a_min, y, h);
    left = -one_sided(tdl_provision_loss, p, p->a_min, y, -h);
    TDL_CHECK(fabs(dx - right) <= 1e-6 * fabs(right) && left == 0.0,
              "dL/dx at a_min: %.9g, right %.9g, left %.9g", dx, right, left);
    TDL_CHECK(tdl_provision_dloss_dx(p, p->a_min - 1.0, y) == 0.0, "dL/dx below a_min is 0");
    dx = tdl_provision_dloss_dx(p, y, y);
    right = one_sided(tdl_provision_loss, p, y, y, h);
    left = -one_sided(tdl_provision_loss, p, y, y, -h);
    TDL_CHECK(fabs(dx - right) <= 1e-6 * fabs(right) && fabs(dx - left) > 0.5 * fabs(right),
              "dL/dx at x = y: %.9g, right %.9g, left %.9g", dx, right, left);
}

static void test_regret(const tdl_provision_params *p) {
    tdl_rng rng;
    tdl_rng_init(&rng, 5, 0);
    double worst = INFINITY, worst_zone = INFINITY, min_authors = INFINITY;
    int bad = 0;
    for (int k = 0; k < 100000; k++) {
        double y = pow(10.0, 7.0 * tdl_rng_uniform(&rng));
        double yh = y * pow(10.0, 2.0 * tdl_rng_uniform(&rng) - 1.0);
        if (k % 10 == 0) y = 201.0 * tdl_rng_uniform(&rng);
        double reg = tdl_provision_regret(p, TDL_PROVISION_EXACT, yh, y);
        double lo = tdl_provision_loss(p, tdl_provision_oracle(p, TDL_PROVISION_EXACT, y), y);
        if (in_floor_zone(p, y)) {
            if (reg < worst_zone) worst_zone = reg;
            if (!(reg >= -p->eta * 1e-8)) bad++;
        } else {
            if (reg < worst) worst = reg;
            if (!(reg >= -(1e-18 + 8 * DBL_EPSILON * fabs(lo)))) bad++;
        }
        double ra = tdl_provision_regret(p, TDL_PROVISION_AUTHORS, yh, y);
        if (ra < min_authors) min_authors = ra;
    }
    printf("%s regret of the exact rule >= 0 over 100000 pairs: smallest %.3g (%.3g in the 1e-8 "
           "floor zone); the authors' rule is no minimiser: smallest regret %.3g\n",
           bad ? "FAIL" : "ok  ", worst, worst_zone, min_authors);
    tdl_test_record(bad == 0);
    TDL_CHECK(min_authors < 0.0, "the authors' rule has negative regrets (%.3g)", min_authors);
    TDL_CHECK(tdl_provision_regret(p, TDL_PROVISION_EXACT, 12345.0, 12345.0) == 0.0,
              "regret of a perfect forecast is 0");
}

/* Workloads far above a_max: the served fraction t = u / w is tiny, and
 * log(A t + 1) rounds A t + 1 to 1 (s = 0) once A t < 2^-53, so the oracle's
 * utility vanished and its loss turned positive (`tdl decide --forecast 0
 * --actual 1e50` gave regret -0.42). s uses log1p: utility -> A u / (B ln(A+1))
 * as w grows, and the regret stays >= 0 up to the largest doubles. */
static void test_huge_workloads(const tdl_provision_params *p) {
    const double ys[] = {1e7, 1e12, 1e17, 1e20, 1e50, 1e100, 1e200, 1e300, 1.7e308};
    const double fs[] = {0.0, 200.0, 1e4, 4e5, 1e9};
    double worst = INFINITY;
    int bad = 0;
    for (size_t i = 0; i < sizeof ys / sizeof *ys; i++) {
        double xo = tdl_provision_oracle(p, TDL_PROVISION_EXACT, ys[i]);
        double lo = tdl_provision_loss(p, xo, ys[i]);
        if (!(isfinite(lo) && lo < 0.0)) {
            bad++;
            printf("FAIL oracle loss at y = %g is %.17g, want finite < 0\n", ys[i], lo);
        }
        for (size_t j = 0; j < sizeof fs / sizeof *fs; j++) {
            double reg = tdl_provision_regret(p, TDL_PROVISION_EXACT, fs[j], ys[i]);
            if (reg < worst) worst = reg;
            if (!(isfinite(reg) && reg >= 0.0)) {
                bad++;
                printf("FAIL regret(forecast %g, actual %g) = %.17g\n", fs[j], ys[i], reg);
            }
        }
    }
    /* the limit: a_max served of an unbounded workload, utility A u / (B ln(A + 1)) */
    double want = -p->eta * p->A * 1.0 / (p->B * log1p(p->A)) +
                  (1.0 - p->eta) * p->P_act / p->a_min * 1.0;
    double got = tdl_provision_loss(p, p->a_max, 1e300);
    printf("%s regret >= 0 for workloads up to 1.7e308: smallest %.3g; L(a_max, 1e300) = %.17g "
           "(limit %.17g)\n", bad ? "FAIL" : "ok  ", worst, got, want);
    tdl_test_record(bad == 0);
    TDL_CHECK(fabs(got - want) <= 1e-12 * fabs(want), "L(a_max, 1e300) = %.17g, want %.17g", got,
              want);
    TDL_CHECK(tdl_provision_regret(p, TDL_PROVISION_EXACT, 0.0, 1e50) > 0.4,
              "regret(0, 1e50) = %.17g", tdl_provision_regret(p, TDL_PROVISION_EXACT, 0.0, 1e50));
}

/* Hand example, G = 2 groups of N = 2; the expected values come from an
 * independent double-precision implementation (Python, math module). */
static void test_normalised(const tdl_provision_params *p) {
    const double yh[4] = {12000, 20000, 4000, 60000}, y[4] = {10000, 20000, 5000, 50000};
    const struct { tdl_provision_rule rule; double pooled, grouped; } want[2] = {
        {TDL_PROVISION_EXACT, 0.009458850915943255, 0.008230040635787386},
        {TDL_PROVISION_AUTHORS, 0.009208072238050032, 0.0076359641117373315},
    };
    for (int i = 0; i < 2; i++) {
        double pooled = NAN, grouped = NAN, one = NAN;
        TDL_CHECK(tdl_provision_regret_pooled(p, want[i].rule, yh, y, 4, &pooled) == TDL_OK, "pooled");
        TDL_CHECK(tdl_provision_regret_grouped(p, want[i].rule, yh, y, 2, 2, &grouped) == TDL_OK,
                  "grouped");
        TDL_CHECK(tdl_provision_regret_grouped(p, want[i].rule, yh, y, 1, 4, &one) == TDL_OK, "G=1");
        printf("normalised regret (%s): pooled %.17g (want %.17g), per-group %.17g (want %.17g)\n",
               tdl_provision_rule_name(want[i].rule), pooled, want[i].pooled, grouped,
               want[i].grouped);
        TDL_CHECK(fabs(pooled - want[i].pooled) <= 1e-13 * want[i].pooled, "pooled %.17g", pooled);
        TDL_CHECK(fabs(grouped - want[i].grouped) <= 1e-13 * want[i].grouped, "grouped %.17g",
                  grouped);
        TDL_CHECK(fabs(one - pooled) <= 1e-15 * pooled, "one group is the pooled form");
    }
    double out = 0.0;
    TDL_CHECK(tdl_provision_regret_pooled(p, TDL_PROVISION_EXACT, yh, y, 0, &out) == TDL_ERR_INVALID,
              "no instances");
    const double low[2] = {100, 200};
    TDL_CHECK(tdl_provision_regret_pooled(p, TDL_PROVISION_EXACT, low, low, 2, &out) ==
                  TDL_ERR_NUMERIC && strstr(tdl_last_error(), "not below 0"),
              "all workloads at or below a_min: %s", tdl_last_error());
    const double ylow[4] = {10000, 20000, 150, 100};
    TDL_CHECK(tdl_provision_regret_grouped(p, TDL_PROVISION_EXACT, yh, ylow, 2, 2, &out) ==
                  TDL_ERR_NUMERIC && strstr(tdl_last_error(), "group 1"),
              "group with workloads below a_min named: %s", tdl_last_error());
    const double ynan[4] = {10000, 20000, NAN, 100};
    TDL_CHECK(tdl_provision_regret_grouped(p, TDL_PROVISION_EXACT, yh, ynan, 2, 2, &out) ==
                  TDL_ERR_NUMERIC && strstr(tdl_last_error(), "workload 2"),
              "NaN workload named: %s", tdl_last_error());
}

static void test_validation(void) {
    tdl_provision_params d;
    tdl_provision_defaults(&d);
    TDL_CHECK(d.eta == 0.7 && d.A == 20 && d.B == 1.5 && d.a_min == 200 && d.a_max == 400000 &&
                  d.P_idle == 100 && d.P_act == 280,
              "the authors' constants");
    TDL_CHECK(tdl_provision_check(&d) == TDL_OK, "defaults are valid: %s", tdl_last_error());
    struct { const char *what; double *field; double v; const char *msg; } bad[] = {
        {"eta 1", &d.eta, 1.0, "eta"},       {"eta 0", &d.eta, 0.0, "eta"},
        {"eta NaN", &d.eta, NAN, "eta"},     {"A 0", &d.A, 0.0, "A ="},
        {"B -1", &d.B, -1.0, "B ="},         {"B inf", &d.B, INFINITY, "constant B"},
        {"a_min 0", &d.a_min, 0.0, "a_min"}, {"a_min = a_max", &d.a_min, 400000.0, "a_max"},
        {"a_max < a_min", &d.a_max, 100.0, "a_max"},
        {"P_idle < 0", &d.P_idle, -1.0, "P_idle"}, {"P_act 0", &d.P_act, 0.0, "P_act"},
        {"r <= 0", &d.eta, 0.05, "r ="},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        tdl_provision_defaults(&d);
        *bad[i].field = bad[i].v;
        tdl_status s = tdl_provision_check(&d);
        TDL_CHECK(s == TDL_ERR_INVALID && strstr(tdl_last_error(), bad[i].msg),
                  "%s: status %s, message '%s'", bad[i].what, tdl_status_name(s), tdl_last_error());
    }
    tdl_provision_rule rule = TDL_PROVISION_AUTHORS;
    TDL_CHECK(tdl_provision_rule_parse("exact", &rule) == TDL_OK && rule == TDL_PROVISION_EXACT, "exact");
    TDL_CHECK(tdl_provision_rule_parse("authors", &rule) == TDL_OK && rule == TDL_PROVISION_AUTHORS,
              "authors");
    TDL_CHECK(tdl_provision_rule_parse("best", &rule) == TDL_ERR_INVALID, "unknown rule");

    /* r >= 1: the exact rule provisions the forecast itself, still the minimiser */
    tdl_provision_defaults(&d);
    d.eta = 0.95;
    TDL_CHECK(tdl_provision_check(&d) == TDL_OK && tdl_provision_ratio(&d) > 1.0, "eta 0.95: r %g",
              tdl_provision_ratio(&d));
    double x = tdl_provision_decide(&d, TDL_PROVISION_EXACT, 10000.0), gx, gl;
    grid_argmin(&d, 10000.0, &gx, &gl);
    TDL_CHECK(x == 10000.0 && fabs(gx - x) <= FINE, "r >= 1: x %.6f, grid %.6f", x, gx);
}

int main(void) {
    tdl_provision_params p;
    tdl_provision_defaults(&p);
    test_spec_numbers(&p);
    test_grid(&p);
    test_exact_beats_authors(&p);
    test_derivative_fd(&p, TDL_PROVISION_EXACT);
    test_derivative_fd(&p, TDL_PROVISION_AUTHORS);
    test_kinks(&p);
    test_regret(&p);
    test_huge_workloads(&p);
    test_normalised(&p);
    test_validation();
    return tdl_test_done("test_provision");
}
