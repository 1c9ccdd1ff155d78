/* test_wdro.c: the Frank-Wolfe attack of the W-DRO baseline (include/tdl/wdro.h).
 *
 *   - the direction equals the closed form for p = q = 2 (eps g / ||g||, each
 *     sample's share eps ||g_i|| / ||g||) and beats 2000 random points of the
 *     ball on the linearised loss; g = 0 gives d = 0;
 *   - one iteration is x0 + d_0 (c = 1) with d_0 from the predictor's input
 *     gradient at x0, clipped to [0, 1];
 *   - every iterate x_1 .. x_15 (the attack run with K = 1 .. 15: each run
 *     repeats the previous one's iterates exactly in inference mode) stays in
 *     the ball ||x - x0||_2 <= eps (+ 1e-5 for float32 rounding of 56 values
 *     ~0.5) and in [0, 1], for two budgets and both losses;
 *   - the attacked loss is not below the clean loss (DFL and MSE, gradient
 *     non-zero on every row);
 *   - the authors' variant (drift, squared error) and drift alone differ from
 *     the paper's attack; a predictor whose outputs relu clips has a zero DFL
 *     gradient and the attack returns x0;
 *   - the parameter gradients are not touched; training mode draws fresh
 *     masks at each pass and stays in the ball;
 *   - bad input: eps <= 0 or NaN, K < 1, B above the buffers, unknown loss:
 *     TDL_ERR_INVALID. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/predictor.h"
#include "tdl/wdro.h"
#include "tdl_test.h"

enum { B = 8 };
static const double SCALE = 106957.0 - 374.0, OFFSET = 374.0; /* 23V's range */

static double norm2(const float *a, const float *b, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (b ? (double)b[i] : 0.0);
        s += d * d;
    }
    return sqrt(s);
}

static void direction_closed_form(void) {
    enum { NB = 3, T = 7 };
    const size_t n = (size_t)NB * T;
    float *g = tdl_test_uniform(n, -1.0f, 1.0f, 1), *d = tdl_test_floats(n);
    for (int j = 0; j < T; j++) g[2 * T + j] *= 0.01f; /* a sample with a small gradient */
    const double eps = 2.0;
    double gn = tdl_wdro_direction(d, g, n, eps);
    double sq = 0.0;
    for (size_t i = 0; i < n; i++) sq += (double)g[i] * g[i];
    float *want = tdl_test_floats(n);
    for (size_t i = 0; i < n; i++) want[i] = (float)(eps * g[i] / sqrt(sq));
    TDL_CHECK(fabs(gn - sqrt(sq)) <= 1e-12 * sqrt(sq), "returns ||g|| = %.12g (want %.12g)", gn,
              sqrt(sq));
    tdl_test_allclose("direction = eps g / ||g||_2", d, want, n, 0.0, 1e-7);
    TDL_CHECK(fabs(norm2(d, NULL, n) - eps) <= 1e-6, "||d|| = %.9g = eps", norm2(d, NULL, n));
    for (int b = 0; b < NB; b++) {
        double di = norm2(d + b * T, NULL, T), gi = norm2(g + b * T, NULL, T);
        double share = eps * gi / sqrt(sq);
        int ok = fabs(di - share) <= 1e-6 * share + 1e-12;
        printf("%s sample %d: ||d_i|| %.9g, eps ||g_i|| / ||g|| %.9g\n", ok ? "ok  " : "FAIL", b,
               di, share);
        tdl_test_record(ok);
    }
    /* the linear maximiser: <g, d> = eps ||g|| >= <g, u> for u in the ball */
    double best = 0.0, lin = 0.0;
    for (size_t i = 0; i < n; i++) lin += (double)g[i] * d[i];
    float *u = tdl_test_floats(n);
    tdl_rng r;
    tdl_rng_init(&r, 5, 0);
    for (int trial = 0; trial < 2000; trial++) {
        tdl_rng_fill_uniform(&r, u, n, -1.0f, 1.0f);
        double un = norm2(u, NULL, n), rad = eps * (0.5 + 0.5 * (trial % 2));
        double v = 0.0;
        for (size_t i = 0; i < n; i++) v += (double)g[i] * u[i] * rad / un;
        if (v > best) best = v;
    }
    TDL_CHECK(lin >= best && fabs(lin - eps * sqrt(sq)) <= 1e-6 * lin,
              "<g, d> = %.9g = eps ||g||, above 2000 random points of the ball (best %.9g)", lin,
              best);
    printf("ok   <g, d> %.9g >= best random %.9g\n", lin, best);
    /* zero gradient: d = 0; aliasing d = g */
    memset(u, 0, n * sizeof(float));
    TDL_CHECK(tdl_wdro_direction(d, u, n, eps) == 0.0 && norm2(d, NULL, n) == 0.0,
              "g = 0 gives d = 0");
    memcpy(u, g, n * sizeof(float));
    tdl_wdro_direction(u, u, n, eps);
    tdl_test_allclose("direction in place (d aliases g)", u, want, n, 0.0, 1e-7);
    free(g); free(d); free(want); free(u);
}

typedef struct {
    tdl_predictor p;
    tdl_predictor_cache *c;
    tdl_wdro_work *w;
    float *x0, *t, *x, *g, *d;
    size_t n;
} fixture;

/* Seed 11's predictor with fc2.bias raised by 0.3 (every output positive:
 * the DFL gradient is non-zero on every row), a batch of 8 windows in [0, 1]. */
static void setup(fixture *f, float bias) {
    tdl_predictor_config cfg;
    tdl_predictor_config_default(&cfg);
    TDL_CHECK(tdl_predictor_init(&f->p, &cfg, 11) == TDL_OK, "init");
    tdl_params_data(&f->p.params, "fc2.bias")[0] += bias;
    TDL_CHECK(tdl_predictor_cache_init(&f->c, &cfg, B) == TDL_OK, "cache");
    TDL_CHECK(tdl_wdro_work_init(&f->w, &cfg, B) == TDL_OK, "work");
    f->n = (size_t)B * cfg.T;
    f->x0 = tdl_test_uniform(f->n, 0.0f, 1.0f, 2);
    f->t = tdl_test_uniform(B, 0.0f, 1.0f, 3);
    f->x = tdl_test_floats(f->n);
    f->g = tdl_test_floats(f->n);
    f->d = tdl_test_floats(f->n);
}

static void teardown(fixture *f) {
    free(f->x0); free(f->t); free(f->x); free(f->g); free(f->d);
    tdl_wdro_work_free(f->w);
    tdl_predictor_cache_free(f->c);
    tdl_predictor_free(&f->p);
}

static double loss_at(fixture *f, const tdl_wdro_config *cfg, const float *x) {
    float y[B], dy[B];
    tdl_predictor_forward(&f->p, f->c, x, y, B, 0, NULL);
    if (cfg->loss == TDL_WDRO_LOSS_MSE) return tdl_predictor_mse_loss(y, f->t, dy, B);
    return tdl_predictor_dfl_loss(&cfg->pp, cfg->rule, cfg->scale, cfg->offset, y, f->t, dy, B);
}

static void first_step(void) {
    fixture f;
    setup(&f, 0.3f);
    tdl_wdro_config cfg;
    tdl_wdro_config_default(&cfg, SCALE, OFFSET);
    cfg.iters = 1;
    float y[B], dy[B];
    tdl_predictor_forward(&f.p, f.c, f.x0, y, B, 0, NULL);
    tdl_predictor_dfl_loss(&cfg.pp, cfg.rule, SCALE, OFFSET, y, f.t, dy, B);
    int nz = 0;
    for (int i = 0; i < B; i++) nz += dy[i] != 0.0f;
    TDL_CHECK(nz == B, "dy non-zero on %d of %d rows", nz, B);
    tdl_predictor_backward_input(&f.p, f.c, dy, f.g, B, 0);
    tdl_wdro_direction(f.d, f.g, f.n, cfg.eps);
    float *want = tdl_test_floats(f.n);
    for (size_t i = 0; i < f.n; i++) {
        double v = (double)f.x0[i] + f.d[i];
        want[i] = (float)(v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v);
    }
    tdl_params_zero_grad(&f.p.params);
    TDL_CHECK(tdl_wdro_attack(&f.p, f.c, f.w, &cfg, f.x0, f.t, f.x, B, 0, NULL, NULL) == TDL_OK,
              "attack: %s", tdl_last_error());
    tdl_test_allclose("K = 1: x_1 = clip(x0 + eps g / ||g||) with g the predictor's dLoss/dx", f.x,
                      want, f.n, 0.0, 0.0);
    int untouched = 1;
    for (size_t i = 0; i < f.p.params.total; i++) untouched &= f.p.params.grad[i] == 0.0f;
    TDL_CHECK(untouched, "the attack leaves the parameter gradients alone");
    free(want);
    teardown(&f);
}

static void iterates_in_ball(tdl_wdro_loss loss, double eps) {
    fixture f;
    setup(&f, 0.3f);
    tdl_wdro_config cfg;
    tdl_wdro_config_default(&cfg, SCALE, OFFSET);
    cfg.loss = loss;
    cfg.eps = eps;
    const char *ln = loss == TDL_WDRO_LOSS_DFL ? "DFL" : "MSE";
    double worst = 0.0, lo = 1.0, hi = 0.0;
    int ok = 1;
    tdl_wdro_stats st;
    for (int K = 1; K <= 15; K++) {
        cfg.iters = K;
        TDL_CHECK(tdl_wdro_attack(&f.p, f.c, f.w, &cfg, f.x0, f.t, f.x, B, 0, NULL, &st) == TDL_OK,
                  "attack: %s", tdl_last_error());
        double dist = norm2(f.x, f.x0, f.n);
        worst = fmax(worst, dist);
        ok &= dist <= eps + 1e-5 && fabs(dist - st.dist) <= 1e-9;
        for (size_t i = 0; i < f.n; i++) {
            lo = fmin(lo, f.x[i]);
            hi = fmax(hi, f.x[i]);
        }
    }
    ok &= lo >= 0.0 && hi <= 1.0;
    printf("%s %s eps %g: x_1 .. x_15 within the ball (largest ||x - x0|| %.9g) and in [0, 1] "
           "(%g .. %g)\n", ok ? "ok  " : "FAIL", ln, eps, worst, lo, hi);
    tdl_test_record(ok);
    /* the attacked loss against the clean loss */
    double clean = loss_at(&f, &cfg, f.x0), att = loss_at(&f, &cfg, f.x);
    ok = att >= clean && fabs(st.loss_clean - clean) <= 1e-12 * fabs(clean);
    printf("%s %s eps %g: attacked loss %.9g >= clean loss %.9g (stats: clean %.9g, x_14 %.9g)\n",
           ok ? "ok  " : "FAIL", ln, eps, att, clean, st.loss_clean, st.loss_last);
    tdl_test_record(ok);
    teardown(&f);
}

static void variants(void) {
    fixture f;
    setup(&f, 0.3f);
    tdl_wdro_config paper, authors, drift;
    tdl_wdro_config_default(&paper, SCALE, OFFSET);
    tdl_wdro_config_authors(&authors, SCALE, OFFSET);
    TDL_CHECK(paper.eps == 2.0 && paper.iters == 15 && !paper.drift &&
              paper.loss == TDL_WDRO_LOSS_DFL && paper.rule == TDL_PROVISION_EXACT,
              "defaults: eps 2, K 15, ball around x0, decision loss");
    TDL_CHECK(authors.drift && authors.loss == TDL_WDRO_LOSS_MSE && authors.eps == 2.0 &&
              authors.iters == 15, "authors: drift and squared error");
    drift = paper;
    drift.drift = 1;
    float *xa = tdl_test_floats(f.n), *xd = tdl_test_floats(f.n);
    TDL_CHECK(tdl_wdro_attack(&f.p, f.c, f.w, &paper, f.x0, f.t, f.x, B, 0, NULL, NULL) == TDL_OK, "paper");
    TDL_CHECK(tdl_wdro_attack(&f.p, f.c, f.w, &authors, f.x0, f.t, xa, B, 0, NULL, NULL) == TDL_OK, "authors");
    TDL_CHECK(tdl_wdro_attack(&f.p, f.c, f.w, &drift, f.x0, f.t, xd, B, 0, NULL, NULL) == TDL_OK, "drift");
    double dpa = norm2(f.x, xa, f.n), dpd = norm2(f.x, xd, f.n);
    TDL_CHECK(dpa > 1e-3 && dpd > 1e-3,
              "the authors' variant and drift alone differ from the paper's attack "
              "(||x_paper - x_authors|| %g, ||x_paper - x_drift|| %g)", dpa, dpd);
    printf("ok   variants: ||x_paper - x_authors|| %.6g, ||x_paper - x_drift|| %.6g; "
           "||x - x0||: paper %.6g, authors %.6g, drift %.6g\n", dpa, dpd,
           norm2(f.x, f.x0, f.n), norm2(xa, f.x0, f.n), norm2(xd, f.x0, f.n));

    /* training mode: fresh masks every pass, still in the ball and the box */
    tdl_rng r;
    tdl_rng_init(&r, 7, 1);
    tdl_wdro_stats st;
    TDL_CHECK(tdl_wdro_attack(&f.p, f.c, f.w, &paper, f.x0, f.t, xd, B, 1, &r, &st) == TDL_OK, "train");
    const size_t per = (size_t)B * f.p.cfg.T * f.p.cfg.H1 + (size_t)B * f.p.cfg.H2;
    int box = 1;
    for (size_t i = 0; i < f.n; i++) box &= xd[i] >= 0.0f && xd[i] <= 1.0f;
    TDL_CHECK(r.pos == 15 * per && box && st.dist <= 2.0 + 1e-5 && norm2(xd, f.x, f.n) > 0.0,
              "training mode: rng advanced by %llu words (15 passes of %zu), in the box, "
              "||x - x0|| %g, differs from eval", (unsigned long long)r.pos, per, st.dist);

    /* bad input */
    tdl_wdro_config bad = paper;
    const double bad_eps[3] = {0.0, -1.0, NAN};
    for (int i = 0; i < 3; i++) {
        bad.eps = bad_eps[i];
        tdl_status s = tdl_wdro_attack(&f.p, f.c, f.w, &bad, f.x0, f.t, f.x, B, 0, NULL, NULL);
        TDL_CHECK(s == TDL_ERR_INVALID, "eps = %g refused (%s: %s)", bad_eps[i],
                  tdl_status_name(s), tdl_last_error());
    }
    printf("ok   eps <= 0: \"%s\"\n", tdl_last_error());
    bad = paper;
    bad.iters = 0;
    TDL_CHECK(tdl_wdro_attack(&f.p, f.c, f.w, &bad, f.x0, f.t, f.x, B, 0, NULL, NULL) == TDL_ERR_INVALID,
              "K = 0 refused");
    TDL_CHECK(tdl_wdro_attack(&f.p, f.c, f.w, &paper, f.x0, f.t, f.x, B + 1, 0, NULL, NULL) == TDL_ERR_INVALID,
              "B above the buffers refused");
    bad = paper;
    bad.loss = (tdl_wdro_loss)7;
    TDL_CHECK(tdl_wdro_attack(&f.p, f.c, f.w, &bad, f.x0, f.t, f.x, B, 0, NULL, NULL) == TDL_ERR_INVALID,
              "unknown loss refused");
    tdl_wdro_work *w2 = NULL;
    TDL_CHECK(tdl_wdro_work_init(&w2, &f.p.cfg, 0) == TDL_ERR_INVALID && w2 == NULL, "0 rows refused");
    tdl_wdro_work_free(NULL);
    free(xa); free(xd);
    teardown(&f);

    /* every output clipped by relu: the DFL gradient is zero, x = x0 */
    setup(&f, -10.0f);
    TDL_CHECK(tdl_wdro_attack(&f.p, f.c, f.w, &paper, f.x0, f.t, f.x, B, 0, NULL, &st) == TDL_OK, "attack");
    TDL_CHECK(memcmp(f.x, f.x0, f.n * sizeof(float)) == 0 && st.dist == 0.0,
              "zero gradient: the attack returns x0");
    teardown(&f);
}

int main(void) {
    direction_closed_form();
    first_step();
    iterates_in_ball(TDL_WDRO_LOSS_DFL, 2.0);
    iterates_in_ball(TDL_WDRO_LOSS_DFL, 0.3);
    iterates_in_ball(TDL_WDRO_LOSS_MSE, 2.0);
    iterates_in_ball(TDL_WDRO_LOSS_MSE, 0.3);
    variants();
    return tdl_test_done("test_wdro");
}
