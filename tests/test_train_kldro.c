/* test_train_kldro.c: the KL-DRO loss (predictor.h, spec section 6).
 *   - the dual's value equals the worst case over the KL ball found by
 *     brute force: a grid over the simplex (n = 3 and n = 4, uniform P0);
 *     no point of the ball beats the dual (weak duality, up to rounding)
 *     and the best grid point is within the grid's resolution of it;
 *   - the tilted weights are the maximising distribution: KL(w) = eps,
 *     sum w l = F, and the grid's argmax is close to w;
 *   - random distributions in the ball (n = 6) never beat the dual;
 *   - eps -> 0 gives the mean (F ~ mean + sqrt(2 eps var)); eps >= ln n
 *     gives the max; equal losses give their value;
 *   - losses of 1e4 and 1e8 magnitude: finite, F(c l) = c F(l), F(l + c)
 *     = F(l) + c;
 *   - the predictor loss: its value is the dual of the DFL per-instance
 *     losses, dy_i = w_i x the DFL gradient of instance i, and dy matches
 *     central differences of the returned loss (kinks skipped). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/predictor.h"
#include "tdl_test.h"

static double kl_uniform(const double *q, int n) {
    double kl = 0.0;
    for (int i = 0; i < n; i++)
        if (q[i] > 0) kl += q[i] * log(n * q[i]);
    return kl;
}

/* max sum q l over the grid q = (a, b, c, ...)/G on the simplex with
 * KL(q || uniform) <= eps (n = 3 or 4); the argmax in qbest. */
static double grid_worst(const double *l, int n, double eps, int G, double *qbest) {
    double best = -INFINITY, q[4];
    for (int a = 0; a <= G; a++)
        for (int b = 0; a + b <= G; b++) {
            int cmax = n == 4 ? G - a - b : 0;
            for (int c = 0; c <= cmax; c++) {
                q[0] = (double)a / G;
                q[1] = (double)b / G;
                if (n == 3) q[2] = (double)(G - a - b) / G;
                else {
                    q[2] = (double)c / G;
                    q[3] = (double)(G - a - b - c) / G;
                }
                if (kl_uniform(q, n) > eps) continue;
                double v = 0.0;
                for (int i = 0; i < n; i++) v += q[i] * l[i];
                if (v > best) {
                    best = v;
                    memcpy(qbest, q, (size_t)n * sizeof *q);
                }
            }
        }
    return best;
}

static void test_brute_force(void) {
    static const double l3[3] = {1.0, 2.5, 4.0};
    static const double l4[4] = {0.3, 1.7, 1.1, 2.9};
    static const double eps3[] = {0.05, 0.3, 0.8};
    static const double eps4[] = {0.1, 0.6, 1.2};
    for (int n = 3; n <= 4; n++) {
        const double *l = n == 3 ? l3 : l4;
        const double *eps = n == 3 ? eps3 : eps4;
        int G = n == 3 ? 3000 : 300; /* grid step 1/G */
        for (int e = 0; e < 3; e++) {
            double w[4], q[4], alpha;
            double F = tdl_kldro_dual(l, n, eps[e], w, &alpha);
            double brute = grid_worst(l, n, eps[e], G, q);
            double lo = l[0], hi = l[0];
            for (int i = 1; i < n; i++) {
                lo = fmin(lo, l[i]);
                hi = fmax(hi, l[i]);
            }
            /* the best grid point is feasible: never above the dual; and
             * it misses the ball's boundary by O(n/G) in q, so the value by
             * at most about n/G of the spread */
            double tol = (hi - lo) * n / G;
            printf("n %d eps %g: dual %.9f (alpha %.6g), grid %.9f, diff %.2e (tol %.1e)\n", n,
                   eps[e], F, alpha, brute, F - brute, tol);
            TDL_CHECK(brute <= F + 1e-12, "grid point %.12g beats the dual %.12g", brute, F);
            TDL_CHECK(F - brute <= tol, "dual %.9f vs brute force %.9f (tol %.1e)", F, brute, tol);
            double sw = 0.0, wl = 0.0, dq = 0.0;
            for (int i = 0; i < n; i++) {
                sw += w[i];
                wl += w[i] * l[i];
                if (fabs(w[i] - q[i]) > dq) dq = fabs(w[i] - q[i]);
            }
            TDL_CHECK(fabs(sw - 1.0) <= 1e-12, "weights sum to %.15g", sw);
            TDL_CHECK(fabs(kl_uniform(w, n) - eps[e]) <= 1e-9, "KL(w) %.12g != eps %g",
                      kl_uniform(w, n), eps[e]);
            TDL_CHECK(fabs(wl - F) <= 1e-9 * (1 + fabs(F)), "sum w l %.12g != dual %.12g", wl, F);
            /* the maximiser is unique (strictly convex ball, linear objective) */
            TDL_CHECK(dq <= 0.02, "grid argmax differs from the weights by %.3g", dq);
        }
    }
}

static void test_random_in_ball(void) {
    static const double l[6] = {3.0, -1.0, 0.5, 7.25, 2.0, 2.0};
    tdl_rng r;
    tdl_rng_init(&r, 7, 0);
    for (int e = 0; e < 3; e++) {
        double eps = (double[]){0.02, 0.4, 1.5}[e], w[6], alpha;
        double F = tdl_kldro_dual(l, 6, eps, w, &alpha);
        double best = -INFINITY;
        int inside = 0;
        for (int k = 0; k < 200000; k++) {
            double q[6], z = 0.0;
            double temp = 0.05 + 3.0 * tdl_rng_uniform(&r); /* spread the samples */
            for (int i = 0; i < 6; i++) {
                q[i] = exp(-log(1.0 - tdl_rng_uniform(&r)) * temp);
                z += q[i];
            }
            for (int i = 0; i < 6; i++) q[i] /= z;
            if (kl_uniform(q, 6) > eps) continue;
            inside++;
            double v = 0.0;
            for (int i = 0; i < 6; i++) v += q[i] * l[i];
            if (v > best) best = v;
        }
        printf("n 6 eps %g: dual %.9f, best of %d random points in the ball %.9f\n", eps, F,
               inside, best);
        TDL_CHECK(inside > 100 && best <= F + 1e-12, "random point %.12g beats the dual %.12g",
                  best, F);
    }
}

static void test_limits(void) {
    static const double l[5] = {1.0, 4.0, 2.0, 3.0, 5.0};
    double w[5], alpha, mean = 3.0, var = 2.0; /* population variance */
    double F = tdl_kldro_dual(l, 5, 1e-10, w, &alpha);
    double want = mean + sqrt(2.0 * 1e-10 * var);
    TDL_CHECK(fabs(F - mean) <= 1e-4 && fabs(F - want) <= 1e-8,
              "eps 1e-10: F %.12g, mean %g, mean + sqrt(2 eps var) %.12g", F, mean, want);
    F = tdl_kldro_dual(l, 5, 1e-14, w, &alpha);
    TDL_CHECK(fabs(F - mean) <= 1e-6, "eps 1e-14: F %.12g -> mean %g", F, mean);
    for (int i = 0; i < 5; i++) TDL_CHECK(fabs(w[i] - 0.2) <= 1e-5, "eps -> 0: w uniform");
    /* eps >= ln 5: the ball holds the point mass on the max */
    F = tdl_kldro_dual(l, 5, log(5.0) + 1e-9, w, &alpha);
    TDL_CHECK(F == 5.0 && w[4] == 1.0 && alpha == 0.0, "eps >= ln n: F %g (max 5), alpha %g", F,
              alpha);
    /* just below ln 5: close to the max, alpha > 0 */
    F = tdl_kldro_dual(l, 5, log(5.0) - 1e-3, w, &alpha);
    TDL_CHECK(F < 5.0 && F > 4.9 && alpha > 0, "eps just below ln n: F %.9g, alpha %g", F, alpha);
    /* two maxima: the limit is ln(n/2) */
    static const double l2[4] = {1.0, 3.0, 3.0, 0.0};
    F = tdl_kldro_dual(l2, 4, log(2.0), w, &alpha);
    TDL_CHECK(F == 3.0 && w[1] == 0.5 && w[2] == 0.5, "two maxima: F %g", F);
    static const double same[3] = {2.5, 2.5, 2.5};
    F = tdl_kldro_dual(same, 3, 0.3, w, &alpha);
    TDL_CHECK(F == 2.5 && fabs(w[0] - 1.0 / 3) < 1e-15, "equal losses: F %g", F);
    static const double bad[3] = {1.0, NAN, 2.0};
    TDL_CHECK(isnan(tdl_kldro_dual(bad, 3, 0.3, w, &alpha)) && isnan(alpha), "NaN loss -> NaN");
    /* n = 1: the ball is the point */
    F = tdl_kldro_dual(l, 1, 2.0, w, &alpha);
    TDL_CHECK(F == 1.0 && w[0] == 1.0, "n = 1: F %g", F);
}

static void test_magnitude(void) {
    static const double l[6] = {0.7, 0.1, 0.95, 0.3, 0.55, 0.2};
    double w[6], w2[6], a1, a2, big[6], shifted[6];
    double F = tdl_kldro_dual(l, 6, 0.5, w, &a1);
    for (double c = 1e4; c <= 1e8; c *= 1e4) {
        for (int i = 0; i < 6; i++) big[i] = c * l[i];
        double Fb = tdl_kldro_dual(big, 6, 0.5, w2, &a2);
        TDL_CHECK(isfinite(Fb) && fabs(Fb - c * F) <= 1e-9 * c * F,
                  "scale %g: F %.12g, c F %.12g", c, Fb, c * F);
        TDL_CHECK(fabs(a2 - c * a1) <= 1e-8 * c * a1, "alpha scales with the losses");
        double dw = 0.0;
        for (int i = 0; i < 6; i++) dw = fmax(dw, fabs(w2[i] - w[i]));
        TDL_CHECK(dw <= 1e-9, "scale %g: weights unchanged (%.2g)", c, dw);
        for (int i = 0; i < 6; i++) shifted[i] = c + l[i];
        double Fs = tdl_kldro_dual(shifted, 6, 0.5, w2, &a2);
        TDL_CHECK(fabs(Fs - (c + F)) <= 1e-15 * c * 8 + 1e-9, "shift %g: F %.15g, want %.15g", c,
                  Fs, c + F);
    }
    /* a spread of 1e4 in one batch (one loss far above the others) */
    static const double wide[4] = {1.0, 2.0, 3.0, 1e4};
    F = tdl_kldro_dual(wide, 4, 0.2, w, &a1);
    TDL_CHECK(isfinite(F) && F > 2.0 && F < 1e4 && fabs(kl_uniform(w, 4) - 0.2) < 1e-9,
              "losses up to 1e4: F %.9g", F);
}

typedef struct {
    const tdl_provision_params *pp;
    double scale, offset, eps;
    float *y, *t, *dy;
    int B, regret;
} kctx;

static double kloss(kctx *c) {
    double work[64];
    TDL_ASSERT(c->B <= 32, "scratch for %d", c->B);
    return tdl_predictor_kldro_loss(c->pp, TDL_PROVISION_EXACT, c->scale, c->offset, c->eps,
                                    c->regret, c->y, c->t, c->dy, work, c->B, NULL);
}

/* regret = 0: the spec's KL-DRO over the decision losses; 1: over the
 * regrets (losses minus the oracle's). Both: the value is the dual of those
 * per-instance terms, dy the tilted DFL gradients, and central differences. */
static void test_predictor_loss(int regret) {
    enum { B = 12 };
    tdl_provision_params pp;
    tdl_provision_defaults(&pp);
    float y[B], t[B], dy[B], dyd[B], scratch[B];
    tdl_rng r;
    tdl_rng_init(&r, 3, 0);
    for (int i = 0; i < B; i++) {
        y[i] = (float)(0.1 + 0.8 * tdl_rng_uniform(&r));
        t[i] = (float)(0.1 + 0.8 * tdl_rng_uniform(&r));
    }
    y[5] = -0.2f; /* relu clips: zero gradient */
    kctx c = {&pp, 30000.0, 5000.0, 0.4, y, t, scratch, B, regret};
    double alpha;
    double kw[2 * B];
    double F = tdl_predictor_kldro_loss(&pp, TDL_PROVISION_EXACT, c.scale, c.offset, c.eps,
                                        regret, y, t, dy, kw, B, &alpha);
    /* the value: the dual of the DFL per-instance losses */
    double l[B], w[B];
    for (int i = 0; i < B; i++) {
        float dd;
        l[i] = tdl_predictor_dfl_loss(&pp, TDL_PROVISION_EXACT, c.scale, c.offset, &y[i], &t[i],
                                      &dd, 1);
        dyd[i] = dd;
        if (regret) { /* regret = loss - the oracle's loss (tdl_provision_regret) */
            double yt = (double)t[i] * c.scale + c.offset;
            double yh = (y[i] > 0.0f ? (double)y[i] : 0.0) * c.scale + c.offset;
            double rg = tdl_provision_regret(&pp, TDL_PROVISION_EXACT, yh, yt);
            double lo = tdl_provision_loss(&pp, tdl_provision_oracle(&pp, TDL_PROVISION_EXACT, yt),
                                           yt);
            TDL_CHECK(fabs(l[i] - lo - rg) <= 1e-12 * fabs(l[i]) + 1e-18, "regret[%d] %g", i, rg);
            l[i] = rg;
        }
    }
    double a2, F2 = tdl_kldro_dual(l, B, c.eps, w, &a2);
    TDL_CHECK(F == F2 && alpha == a2 && alpha > 0, "value %.12g = dual of DFL %s %.12g", F,
              regret ? "regrets" : "losses", F2);
    double mean = 0.0, mx = -INFINITY;
    for (int i = 0; i < B; i++) {
        mean += l[i] / B;
        mx = fmax(mx, l[i]);
    }
    TDL_CHECK(F > mean && F < mx, "mean %g < F %g < max %g", mean, F, mx);
    for (int i = 0; i < B; i++)
        TDL_CHECK(fabs(dy[i] - (float)(w[i] * dyd[i])) <= 1e-6 * fabs(dy[i]) + 1e-30,
                  "dy[%d] %g = w %g x DFL gradient %g", i, dy[i], w[i], dyd[i]);
    TDL_CHECK(dy[5] == 0.0f, "relu-clipped output: dy 0");
    /* central differences of the returned value (the envelope theorem) */
    int checked = 0;
    double worst = 0.0;
    const float h = 1e-3f;
    for (int i = 0; i < B; i++) {
        float y0 = y[i];
        if (y0 <= h) continue;
        y[i] = y0 + h;
        double fp = kloss(&c);
        y[i] = y0 - h;
        double fm = kloss(&c);
        y[i] = y0;
        double hp = (double)(y0 + h) - y0, hm = y0 - (double)(y0 - h);
        double fwd = (fp - F) / hp, bwd = (F - fm) / hm;
        /* a kink of the decision rule or the loss between y - h and y + h */
        if (fabs(fwd - bwd) > 0.02 * (fabs(fwd) + fabs(bwd)) + 1e-9) continue;
        double num = (fp - fm) / (hp + hm);
        double err = fabs(num - dy[i]);
        double tol = 1e-3 * fabs(num) + 1e-6 * fabs(F);
        if (err > worst) worst = err;
        TDL_CHECK(err <= tol, "dy[%d] %.9g vs central difference %.9g", i, dy[i], num);
        checked++;
    }
    printf("kl-dro (%s) gradient: %d of %d outputs checked by central differences, worst |diff| "
           "%.3g\n", regret ? "regrets" : "losses", checked, B, worst);
    TDL_CHECK(checked >= B / 2, "only %d outputs away from kinks", checked);
}

/* The two variants tilt differently: with the same forecast for every
 * instance, the losses put the most weight on the smallest workload (its
 * utility is the smallest), the regrets on the largest error. */
static void test_regret_weights(void) {
    enum { B = 4 };
    tdl_provision_params pp;
    tdl_provision_defaults(&pp);
    /* forecasts 0.5 for workloads 0.1 (over-provisioned), 0.5 (exact), 0.9 (under) */
    float y[B] = {0.5f, 0.5f, 0.5f, 0.5f}, t[B] = {0.1f, 0.5f, 0.9f, 0.5f}, dy[B];
    double work[2 * B];
    tdl_predictor_kldro_loss(&pp, TDL_PROVISION_EXACT, 100000.0, 0.0, 0.5, 0, y, t, dy, work, B,
                             NULL);
    double wl[B];
    for (int i = 0; i < B; i++) wl[i] = work[B + i];
    tdl_predictor_kldro_loss(&pp, TDL_PROVISION_EXACT, 100000.0, 0.0, 0.5, 1, y, t, dy, work, B,
                             NULL);
    const double *wr = work + B;
    TDL_CHECK(wl[0] > wl[1] && wl[1] > wl[2], "losses: weights fall with the workload "
              "(%g %g %g)", wl[0], wl[1], wl[2]);
    TDL_CHECK(wr[1] < wr[0] && wr[1] < wr[2], "regrets: the exact forecast weighs least "
              "(%g %g %g)", wr[0], wr[1], wr[2]);
    printf("kl-dro weights, forecast 0.5 for workloads 0.1 0.5 0.9: losses %.3f %.3f %.3f, "
           "regrets %.3f %.3f %.3f\n", wl[0], wl[1], wl[2], wr[0], wr[1], wr[2]);
}

int main(void) {
    test_brute_force();
    test_random_in_ball();
    test_limits();
    test_magnitude();
    test_predictor_loss(0);
    test_predictor_loss(1);
    test_regret_weights();
    return tdl_test_done("test_train_kldro");
}
