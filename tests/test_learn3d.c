/* test_learn3d.c: 3D-Learning (learn3d.h):
 *   - the inner objective mu * J - PPO, its parts and its gradient for every
 *     UNet parameter against a float64 PyTorch reference written from the
 *     spec (tools/fixturegen/learn3d.py), in the correct mode and in the
 *     authors' compat mode (transposed pairing, off-by-one timestep), and
 *     the two references differ (the test tells them apart);
 *   - central differences of the objective on a few parameters;
 *   - theta == theta0: every ratio is exactly 1 and the PPO gradient equals
 *     the plain likelihood-ratio gradient (no clip);
 *   - the transition plans; the dual variable: never below 0, moves with the
 *     sign of J - epsilon (compat: may go below 0);
 *   - a tiny end-to-end run: the inner maximisation raises the predictor's
 *     loss on samples of theta above theta0's, with J within the budget or
 *     mu rising; bad configs are refused. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/learn3d.h"
#include "tdl/source.h"
#include "tdl_test.h"
#include "../src/methods/learn3d_internal.h"

typedef struct fx {
    tdl_safetensors st;
    tdl_ddpm d;
    float *theta0, *theta; /* (P) */
    tdl_3dl_z0 z;
    double *L;             /* (N * 28) */
    float *x0, *eps;
    int t[8];
    int N, K, jB;
    double mu, kappa;
} fx;

static void load_values(const tdl_safetensors *st, const char *prefix, const tdl_params *P,
                        float *dst) {
    char name[256];
    for (int i = 0; i < P->count; i++) {
        snprintf(name, sizeof name, "%s%s", prefix, P->items[i].name);
        if (tdl_safetensors_get(st, name, dst + P->items[i].offset, P->items[i].ndim,
                                P->items[i].shape) != TDL_OK) {
            fprintf(stderr, "FAIL fixture: %s\n", tdl_last_error());
            exit(1);
        }
    }
}

static double meta_num(const tdl_safetensors *st, const char *key) {
    const char *v = tdl_safetensors_meta(st, key);
    if (!v) {
        fprintf(stderr, "FAIL fixture has no metadata %s\n", key);
        exit(1);
    }
    return strtod(v, NULL);
}

static void fx_open(fx *f) {
    memset(f, 0, sizeof *f);
    tdl_test_fixture(&f->st, "learn3d");
    tdl_ddpm_config mc;
    int found;
    if (tdl_ddpm_config_read(&f->st, "learn3d", &mc, &found) != TDL_OK || !found) {
        fprintf(stderr, "FAIL fixture config: %s\n", tdl_last_error());
        exit(1);
    }
    if (tdl_ddpm_init(&f->d, &mc, 0) != TDL_OK) exit(1);
    const tdl_params *P = &f->d.unet.params;
    f->theta0 = tdl_test_floats(P->total);
    f->theta = tdl_test_floats(P->total);
    load_values(&f->st, "theta0.", P, f->theta0);
    load_values(&f->st, "theta.", P, f->theta);
    f->N = (int)meta_num(&f->st, "N");
    f->K = (int)meta_num(&f->st, "K");
    f->jB = (int)meta_num(&f->st, "jB");
    f->mu = meta_num(&f->st, "mu");
    f->kappa = meta_num(&f->st, "kappa");
    size_t n;
    float *Lf = tdl_test_tensor(&f->st, "L", &n);
    f->L = malloc(n * sizeof *f->L);
    for (size_t i = 0; i < n; i++) f->L[i] = Lf[i];
    free(Lf);
    f->x0 = tdl_test_tensor(&f->st, "x0", NULL);
    f->eps = tdl_test_tensor(&f->st, "eps", NULL);
    float *tf = tdl_test_tensor(&f->st, "t", NULL);
    for (int b = 0; b < f->jB; b++) f->t[b] = (int)tf[b];
    free(tf);
}

static void fx_close(fx *f) {
    tdl_ddpm_free(&f->d);
    tdl_safetensors_free(&f->st);
    free(f->theta0);
    free(f->theta);
    free(f->L);
    free(f->x0);
    free(f->eps);
}

/* Z0 of the fixture for a plan: its states, residuals under theta0. */
static void fx_z0(fx *f, tdl_3dl_z0 *z, tdl_3dl_work *w, const tdl_3dl_plan *plan) {
    const size_t D = tdl_ddpm_image_size(&f->d);
    if (tdl_3dl_z0_alloc(z, f->N, f->K, D, plan->n) != TDL_OK) exit(1);
    int64_t sh[3] = {f->N, f->K + 1, (int64_t)D};
    if (tdl_safetensors_get(&f->st, "states", z->states, 3, sh) != TDL_OK) exit(1);
    for (int n = 0; n < f->N; n++)
        memcpy(z->images + (size_t)n * D, z->states + ((size_t)n * (f->K + 1) + f->K) * D,
               D * sizeof(float));
    memcpy(f->d.unet.params.param, f->theta0, f->d.unet.params.total * sizeof(float));
    tdl_3dl_z0_residuals(z, &f->d, w, plan, f->N);
}

static tdl_status objective(fx *f, tdl_3dl_work *w, const tdl_3dl_plan *plan, const tdl_3dl_z0 *z,
                            int compat, double kappa, tdl_3dl_inner_stats *st) {
    return tdl_3dl_inner_grad(&f->d, w, plan, z, f->L, 0, f->N, f->N, compat, kappa, f->mu, f->x0,
                              f->t, f->eps, f->jB, 0, NULL, st);
}

/* The reference's gradients are whole up to 512 values, else every
 * ceil(n / 512)-th value (tools/fixturegen/learn3d.py). */
static void check_grads(fx *f, const char *mode) {
    const tdl_params *P = &f->d.unet.params;
    char name[256];
    double gmax = 0.0;
    for (int i = 0; i < P->count; i++) {
        if (!P->items[i].trainable) continue;
        snprintf(name, sizeof name, "%s.grad.%s", mode, P->items[i].name);
        size_t m;
        float *ref = tdl_test_tensor(&f->st, name, &m);
        for (size_t k = 0; k < m; k++) gmax = fmax(gmax, fabs(ref[k]));
        free(ref);
    }
    int bad = 0, tensors = 0;
    double worst = 0.0;
    for (int i = 0; i < P->count; i++) {
        const tdl_param *it = &P->items[i];
        if (!it->trainable) continue;
        snprintf(name, sizeof name, "%s.grad.%s", mode, it->name);
        size_t m;
        float *ref = tdl_test_tensor(&f->st, name, &m);
        size_t stride = it->numel <= 512 ? 1 : (it->numel + 511) / 512;
        double tmax = 0.0;
        for (size_t k = 0; k < m; k++) tmax = fmax(tmax, fabs(ref[k]));
        for (size_t k = 0; k < m; k++) {
            double got = P->grad[it->offset + k * stride], want = ref[k];
            double tol = 1e-4 * tmax + 1e-6 * gmax + 1e-4 * fabs(want);
            double ex = fabs(got - want) / tol;
            if (ex > worst) worst = ex;
            if (!(fabs(got - want) <= tol)) {
                if (bad < 5)
                    printf("     %s [%zu]: got %.9g want %.9g (tol %.3g)\n", it->name, k * stride,
                           got, want, tol);
                bad++;
            }
        }
        tensors++;
        free(ref);
    }
    printf("%s %s gradients of mu*J - PPO vs PyTorch: %d tensors, worst |a-b|/tol %.3f\n",
           bad ? "FAIL" : "ok  ", mode, tensors, worst);
    tdl_test_record(bad == 0);
}

static void close_rel(const char *what, double got, double want, double rtol) {
    int ok = fabs(got - want) <= rtol * fabs(want);
    printf("%s %s: got %.10g want %.10g (rtol %g)\n", ok ? "ok  " : "FAIL", what, got, want, rtol);
    tdl_test_record(ok);
}

static double fx_scalar(fx *f, const char *name) {
    float *p = tdl_test_tensor(&f->st, name, NULL);
    double v = p[0];
    free(p);
    return v;
}

static void test_against_torch(fx *f, int compat) {
    const char *mode = compat ? "compat" : "correct";
    tdl_3dl_plan plan;
    tdl_3dl_plan_make(&plan, f->K, compat);
    tdl_3dl_work *w;
    TDL_CHECK(tdl_3dl_work_init(&w, &f->d, &plan, f->N, f->jB) == TDL_OK, "%s", tdl_last_error());
    tdl_3dl_z0 z;
    fx_z0(f, &z, w, &plan);
    memcpy(f->d.unet.params.param, f->theta, f->d.unet.params.total * sizeof(float));
    tdl_3dl_inner_stats st;
    TDL_CHECK(objective(f, w, &plan, &z, compat, f->kappa, &st) == TDL_OK, "%s", tdl_last_error());
    char key[64];
    snprintf(key, sizeof key, "%s.J", mode);
    close_rel("J", st.J, fx_scalar(f, key), 1e-5);
    snprintf(key, sizeof key, "%s.ppo", mode);
    close_rel(compat ? "PPO (compat)" : "PPO", st.ppo, fx_scalar(f, key), 1e-5);
    snprintf(key, sizeof key, "%s.objective", mode);
    close_rel("objective", st.objective, fx_scalar(f, key), 1e-5);
    snprintf(key, sizeof key, "%s.clipped", mode);
    TDL_CHECK(st.clipped == (int64_t)fx_scalar(f, key), "%s clipped %lld, reference %g", mode,
              (long long)st.clipped, fx_scalar(f, key));
    snprintf(key, sizeof key, "%s.ratio", mode);
    size_t nr;
    float *ratio = tdl_test_tensor(&f->st, key, &nr);
    double rmin = INFINITY, rmax = -INFINITY, rsum = 0.0;
    for (size_t i = 0; i < nr; i++) {
        rmin = fmin(rmin, ratio[i]);
        rmax = fmax(rmax, ratio[i]);
        rsum += ratio[i];
    }
    free(ratio);
    close_rel("ratio min", st.r_min, rmin, 2e-4);
    close_rel("ratio max", st.r_max, rmax, 2e-4);
    close_rel("ratio mean", st.r_sum / (double)st.rows, rsum / (double)nr, 2e-4);
    check_grads(f, mode);

    if (!compat) {
        /* the two references differ: the test tells the correct mode from the authors' */
        double a = fx_scalar(f, "correct.ppo"), b = fx_scalar(f, "compat.ppo");
        TDL_CHECK(fabs(a - b) > 100 * 1e-5 * fabs(a), "correct PPO %g and compat %g too close", a, b);
        /* central differences of the objective on the largest-gradient value of a few tensors */
        const char *names[] = {"backbone.tail.2.weight", "backbone.head.weight",
                               "backbone.time_embedding.timembedding.1.weight"};
        tdl_params *P = &f->d.unet.params;
        float *g = tdl_test_floats(P->total);
        memcpy(g, P->grad, P->total * sizeof *g);
        for (int k = 0; k < 3; k++) {
            int i = tdl_params_find(P, names[k]);
            TDL_CHECK(i >= 0, "no tensor %s", names[k]);
            if (i < 0) continue;
            size_t best = P->items[i].offset;
            for (size_t q = P->items[i].offset; q < P->items[i].offset + P->items[i].numel; q++)
                if (fabs(g[q]) > fabs(g[best])) best = q;
            float v = P->param[best];
            double h = 2e-3 * fmax(fabs(v), 0.05);
            tdl_3dl_inner_stats sp, sm;
            P->param[best] = (float)(v + h);
            objective(f, w, &plan, &z, 0, f->kappa, &sp);
            P->param[best] = (float)(v - h);
            objective(f, w, &plan, &z, 0, f->kappa, &sm);
            P->param[best] = v;
            double hh = (double)(float)(v + h) - (double)(float)(v - h);
            double fd = (sp.objective - sm.objective) / hh;
            int ok = fabs(fd - g[best]) <= 2e-2 * fabs(g[best]) + 1e-6;
            printf("%s central difference %s[%zu]: %.6g vs gradient %.6g\n", ok ? "ok  " : "FAIL",
                   names[k], best - P->items[i].offset, fd, (double)g[best]);
            tdl_test_record(ok);
        }
        free(g);
    }
    tdl_3dl_z0_free(&z);
    tdl_3dl_work_free(w);
}

/* theta == theta0: ratios exactly 1; with and without the clip the same
 * gradient (the plain likelihood-ratio gradient), and not zero. */
static void test_at_theta0(fx *f) {
    tdl_3dl_plan plan;
    tdl_3dl_plan_make(&plan, f->K, 0);
    tdl_3dl_work *w;
    TDL_CHECK(tdl_3dl_work_init(&w, &f->d, &plan, f->N, f->jB) == TDL_OK, "%s", tdl_last_error());
    tdl_3dl_z0 z;
    fx_z0(f, &z, w, &plan); /* leaves theta0 in the model */
    tdl_params *P = &f->d.unet.params;
    tdl_3dl_inner_stats a, b;
    objective(f, w, &plan, &z, 0, f->kappa, &a);
    float *ga = tdl_test_floats(P->total);
    memcpy(ga, P->grad, P->total * sizeof *ga);
    objective(f, w, &plan, &z, 0, 1e9, &b);
    TDL_CHECK(a.r_min == 1.0 && a.r_max == 1.0, "ratios at theta0 in [%.17g, %.17g], not 1",
              a.r_min, a.r_max);
    TDL_CHECK(a.clipped == 0, "%lld rows clipped at theta0", (long long)a.clipped);
    TDL_CHECK(memcmp(ga, P->grad, P->total * sizeof *ga) == 0,
              "PPO gradient at theta0 differs from the plain likelihood-ratio gradient");
    /* the PPO part is not zero: mu = 0 leaves it alone */
    double mu = f->mu;
    f->mu = 0.0;
    objective(f, w, &plan, &z, 0, f->kappa, &a);
    f->mu = mu;
    double nrm = 0.0;
    for (size_t i = 0; i < P->total; i++) nrm += (double)P->grad[i] * P->grad[i];
    TDL_CHECK(nrm > 0.0, "the PPO gradient at theta0 is zero");
    printf("ok   theta == theta0: every ratio 1, clip-free gradient equal, |grad PPO| %.3g\n",
           sqrt(nrm));
    free(ga);
    tdl_3dl_z0_free(&z);
    tdl_3dl_work_free(w);
}

static void test_plans(void) {
    tdl_3dl_plan p, q;
    tdl_3dl_plan_make(&p, 10, 0);
    tdl_3dl_plan_make(&q, 10, 1);
    TDL_CHECK(p.n == 9 && q.n == 9, "plans of %d and %d transitions", p.n, q.n);
    /* correct: state k is the input of sampler step 9 - k; steps 9 .. 1 (sigma > 0) */
    TDL_CHECK(p.in[0] == 0 && p.label[0] == 9 && p.in[8] == 8 && p.label[8] == 1, "correct plan");
    /* compat: states 1 .. 9 at 9 .. 1, i.e. sampler steps 8 .. 0 one timestep late */
    TDL_CHECK(q.in[0] == 1 && q.label[0] == 9 && q.in[8] == 9 && q.label[8] == 1, "compat plan");
}

/* A tiny whole run on the fixture's network (dropout 0, T 20). */
typedef struct run {
    tdl_series raw;
    tdl_train_data td;
    tdl_diffusion_data dd;
    tdl_predictor p;
} run;

static void run_open(run *r) {
    memset(r, 0, sizeof *r);
    if (tdl_source_load("synth:conversation:3:4000", NULL, 0, &r->raw, NULL) != TDL_OK ||
        tdl_train_data_prepare(&r->td, &r->raw) != TDL_OK ||
        tdl_diffusion_data_prepare(&r->dd, &r->raw) != TDL_OK) {
        fprintf(stderr, "FAIL data: %s\n", tdl_last_error());
        exit(1);
    }
    tdl_predictor_config pc;
    tdl_predictor_config_default(&pc);
    if (tdl_predictor_init(&r->p, &pc, 5) != TDL_OK) exit(1);
}

static void run_close(run *r) {
    tdl_predictor_free(&r->p);
    tdl_train_data_free(&r->td);
    tdl_diffusion_data_free(&r->dd);
    tdl_series_free(&r->raw);
}

static void tiny_config(tdl_3dl_config *c) {
    tdl_3dl_config_default(c);
    c->outer = 1;
    c->inner = 3;
    c->z0_batches = 2;
    c->z0_images = 3;
    c->tprime = 4;
    c->j_batch = 4;
    c->s_images = 3;
    c->pred_batch = 16;
    c->seed = 7;
}

static void test_dual(fx *f) {
    run r;
    run_open(&r);
    for (int compat = 0; compat <= 1; compat++) {
        for (int high = 0; high <= 1; high++) {
            tdl_3dl_config c;
            tiny_config(&c);
            c.compat = compat;
            c.budget = high ? 1e6 : 1e-6; /* J far below / above the budget */
            c.eta_mu = high ? 1e-6 : 1e-3;
            c.mu0 = 0.5;
            memcpy(f->d.unet.params.param, f->theta0, f->d.unet.params.total * sizeof(float));
            tdl_3dl s;
            if (tdl_3dl_init(&s, &c, &r.p, r.td.range, &f->d, &r.dd, NULL, NULL) != TDL_OK) {
                TDL_CHECK(0, "init: %s", tdl_last_error());
                continue;
            }
            const size_t D = tdl_ddpm_image_size(&f->d);
            TDL_CHECK(tdl_3dl_row_losses(&r.p, s.z0.images, s.z0.N, D, r.td.range, c.objective,
                                         c.rule, &c.pp, s.L) == TDL_OK, "row losses");
            tdl_3dl_inner_stats st;
            int64_t skipped = 0, done = 0;
            double prev = s.mu, lowest = s.mu;
            int moved_right = 1;
            for (int e = 0; e < 3; e++) {
                tdl_3dl_inner_epoch(&s, &st, &skipped, NULL, NULL, &done, 6);
                double want = prev + c.eta_mu * (st.J - c.budget);
                if (!compat && want < 0) want = 0;
                moved_right &= fabs(s.mu - want) <= 1e-12 * fmax(1.0, fabs(want));
                moved_right &= high ? s.mu <= prev : s.mu > prev; /* the sign of J - epsilon */
                prev = s.mu;
                lowest = fmin(lowest, s.mu);
            }
            TDL_CHECK(moved_right, "mu does not follow mu + eta (J - eps) (compat %d, budget %g)",
                      compat, c.budget);
            if (high && !compat) TDL_CHECK(lowest == 0.0, "mu %g: should stop at 0", lowest);
            if (high && compat) TDL_CHECK(lowest < 0.0, "compat mu %g: should go below 0", lowest);
            printf("ok   dual step, compat %d, J %s budget: mu 0.5 -> %.6g\n", compat,
                   high ? "below" : "above", s.mu);
            tdl_3dl_free(&s);
        }
    }
    run_close(&r);
}

/* mean over the Z0 rows of r L at the current theta (no clip, mu 0): the
 * importance-weighted estimate of the predictor's mean loss on samples of
 * theta that the inner maximisation raises; mean(L) at theta0 (r = 1). */
static double weighted_loss(tdl_3dl *s, const float *x0, const int *t, const float *eps) {
    const tdl_3dl_config *c = &s->cfg;
    double sum = 0.0;
    int64_t rows = 0;
    for (int i = 0; i < c->z0_batches; i++) {
        tdl_3dl_inner_stats st;
        tdl_status r = tdl_3dl_inner_grad(s->theta, s->work, &s->plan, &s->z0, s->L,
                                          i * c->z0_images, c->z0_images, c->z0_images, 0, 1e9,
                                          0.0, x0, t, eps, c->j_batch, 0, NULL, &st);
        TDL_CHECK(r == TDL_OK, "%s", tdl_last_error());
        sum += st.ppo * (double)st.rows;
        rows += st.rows;
    }
    return sum / (double)rows;
}

/* The inner maximisation raises the predictor's loss on samples of theta
 * (importance-weighted over Z0, what it maximises) above theta0's, with J
 * within the budget or mu rising. Fresh samples of theta with the sampler
 * seed of theta0's are printed too (their mean over 16 images moves with
 * every step of theta, not only the last T' ones, so it is not checked). */
static void test_adversary(fx *f) {
    run r;
    run_open(&r);
    tdl_3dl_config c;
    tiny_config(&c);
    c.z0_images = 8;
    c.inner = 6;
    c.diff_lr = 3e-4;
    c.diff_lr_step = 100;
    c.kappa = 0.9;
    /* the PPO ascent alone: a budget J stays within, so mu stays at 0 (with
     * mu near 1 the step follows J's gradient, 40x the PPO term's here) */
    c.mu0 = 0.0;
    c.budget = 10.0;
    memcpy(f->d.unet.params.param, f->theta0, f->d.unet.params.total * sizeof(float));
    tdl_3dl s;
    if (tdl_3dl_init(&s, &c, &r.p, r.td.range, &f->d, &r.dd, NULL, NULL) != TDL_OK) {
        TDL_CHECK(0, "init: %s", tdl_last_error());
        run_close(&r);
        return;
    }
    const size_t D = tdl_ddpm_image_size(&f->d);
    const int M = 16;
    float *img = tdl_test_floats((size_t)M * D);
    float *x0 = tdl_test_floats((size_t)c.j_batch * D), *eps = tdl_test_floats((size_t)c.j_batch * D);
    int t[4] = {0, 1, 2, 3};
    tdl_diffusion_batch(x0, &r.dd, 0, c.j_batch);
    memset(eps, 0, (size_t)c.j_batch * D * sizeof *eps);
    double *L = malloc((size_t)M * 28 * sizeof *L);
    double fresh0 = 0.0, fresh1 = 0.0;
    TDL_CHECK(tdl_ddpm_sample(&f->d, &s.sample_work, 99, M, img, 0, NULL, NULL, NULL, NULL) == TDL_OK, "sample");
    tdl_3dl_row_losses(&r.p, img, M, D, r.td.range, c.objective, c.rule, &c.pp, L);
    for (int i = 0; i < M * 28; i++) fresh0 += L[i] / (M * 28);
    TDL_CHECK(tdl_3dl_row_losses(&r.p, s.z0.images, s.z0.N, D, r.td.range, c.objective, c.rule,
                                 &c.pp, s.L) == TDL_OK, "row losses");
    double before = weighted_loss(&s, x0, t, eps);
    double meanL = 0.0;
    for (int i = 0; i < s.z0.N * 28; i++) meanL += s.L[i] / (s.z0.N * 28);
    TDL_CHECK(fabs(before - meanL) <= 1e-12 * meanL, "at theta0 the weighted loss %.17g is not "
              "mean L %.17g", before, meanL);
    tdl_3dl_inner_stats st;
    int64_t skipped = 0, done = 0;
    for (int e = 0; e < c.inner; e++)
        tdl_3dl_inner_epoch(&s, &st, &skipped, NULL, NULL, &done, c.inner * c.z0_batches);
    double after = weighted_loss(&s, x0, t, eps);
    TDL_CHECK(tdl_ddpm_sample(&f->d, &s.sample_work, 99, M, img, 0, NULL, NULL, NULL, NULL) == TDL_OK, "sample");
    tdl_3dl_row_losses(&r.p, img, M, D, r.td.range, c.objective, c.rule, &c.pp, L);
    for (int i = 0; i < M * 28; i++) fresh1 += L[i] / (M * 28);
    printf("%s adversary: loss on samples of theta (weighted over Z0) %.6g -> %.6g (+%.1f%%), "
           "theta moved %.3g, J %.4g, mu %.4g; fresh samples %.6g -> %.6g (not checked)\n",
           after > before * 1.01 ? "ok  " : "FAIL", before, after, 100.0 * (after / before - 1.0),
           tdl_3dl_distance(&s), st.J, s.mu, fresh0, fresh1);
    tdl_test_record(after > before * 1.01);
    TDL_CHECK(st.J <= c.budget && s.mu == 0.0, "J %g, budget %g, mu %g", st.J, c.budget, s.mu);
    TDL_CHECK(skipped == 0, "%lld inner steps skipped", (long long)skipped);
    free(img);
    free(x0);
    free(eps);
    free(L);
    tdl_3dl_free(&s);
    run_close(&r);
}

static void test_bad_config(fx *f) {
    tdl_3dl_config c;
    tdl_3dl_config_default(&c);
    c.budget = 0;
    TDL_CHECK(tdl_3dl_config_check(&c, &f->d.cfg) == TDL_ERR_INVALID, "budget 0 accepted");
    tdl_3dl_config_default(&c);
    c.tprime = f->d.cfg.unet.T + 1;
    TDL_CHECK(tdl_3dl_config_check(&c, &f->d.cfg) == TDL_ERR_INVALID, "T' > T accepted");
    TDL_CHECK(strstr(tdl_last_error(), "T' = 21") != NULL, "message: %s", tdl_last_error());
    tdl_3dl_config_default(&c);
    c.kappa = 1.5;
    TDL_CHECK(tdl_3dl_config_check(&c, &f->d.cfg) == TDL_ERR_INVALID, "kappa 1.5 accepted");
    /* an image size other than 28 */
    tdl_ddpm_config mc = f->d.cfg;
    mc.unet.image = 16;
    tdl_ddpm d16;
    run r;
    run_open(&r);
    tiny_config(&c);
    if (tdl_ddpm_init(&d16, &mc, 1) == TDL_OK) {
        tdl_3dl s;
        tdl_status st = tdl_3dl_init(&s, &c, &r.p, r.td.range, &d16, &r.dd, NULL, NULL);
        TDL_CHECK(st == TDL_ERR_SHAPE, "16x16 images accepted (%s)", tdl_status_name(st));
        tdl_ddpm_free(&d16);
    }
    run_close(&r);
}

int main(void) {
    fx f;
    fx_open(&f);
    test_plans();
    test_against_torch(&f, 0);
    test_against_torch(&f, 1);
    test_at_theta0(&f);
    test_dual(&f);
    test_adversary(&f);
    test_bad_config(&f);
    fx_close(&f);
    return tdl_test_done("test_learn3d");
}
