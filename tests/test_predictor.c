/* test_predictor.c: the predictor module (include/tdl/predictor.h) against
 * PyTorch and against itself.
 *
 * PyTorch: tools/fixturegen/predictor_torch.py builds the authors' DeepLSTM
 * with torch's own initialisation and exports its state_dict
 * (predictor_torch_model, no tdl metadata); loading it with
 * tdl_predictor_load is the PyTorch -> tdl import. On its batch of B = 8
 * (eval mode) we compare outputs, the DFL loss (both rules) and its gradient
 * for every parameter, the MSE loss and gradient, and 5 Adam steps (lr 1e-3,
 * DFL, exact rule). The input gradient dLoss/dx against PyTorch's x.grad
 * (tools/fixturegen/predictor_input.py) and against central differences of
 * every input (eval and training mode). Then: finite differences of the
 * whole predictor in eval and in training mode (fixed masks), dropout
 * determinism, initialisation statistics, save -> load round trip, and load
 * errors.
 *
 * Tolerances. Outputs: rtol 1e-5 plus atol 1e-7. The outputs of a freshly
 * initialised predictor are small (here |y| <= 0.031) sums of 32 fc2 terms
 * of ~0.05, so float32 rounding in another summation order is a few 1e-8
 * absolute whatever the output (observed up to 6e-8 with 1 thread): 1e-5
 * relative to the terms, but up to 1e-4 relative to a near-zero output. Losses:
 * rtol 1e-5 (they follow the outputs). Gradients: atol 1e-6 + rtol 1e-4,
 * as in test_predictor_kernels (two LSTMs and LayerNorms of float32 sums in
 * another order). Adam: after 5 steps of lr 1e-3 a parameter has moved up
 * to 5e-3; we ask for 2e-6 absolute (0.04% of the largest move): Adam divides
 * by sqrt(v), so tiny gradients' relative errors become absolute ones. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tdl/adam.h"
#include "tdl/predictor.h"
#include "tdl/safetensors.h"
#include "tdl/train.h"
#include "tdl_test.h"

#define OUT_ATOL 1e-7
#define OUT_RTOL 1e-5
#define LOSS_RTOL 1e-5
#define GRAD_ATOL 1e-6
#define GRAD_RTOL 1e-4
#define ADAM_ATOL 2e-6

enum { BF = 8 };

static double meta_double(const tdl_safetensors *st, const char *key) {
    const char *v = tdl_safetensors_meta(st, key);
    if (!v) {
        fprintf(stderr, "FAIL fixture has no metadata '%s'\n", key);
        exit(1);
    }
    return strtod(v, NULL);
}

static void check_close(const char *what, double got, double want, double rtol) {
    int ok = fabs(got - want) <= rtol * fabs(want) + 1e-12;
    printf("%s %s: got %.12g want %.12g (rtol %g)\n", ok ? "ok  " : "FAIL", what, got, want, rtol);
    tdl_test_record(ok);
}

/* The sample of a tensor the fixture stores for MSE gradients and Adam. */
static void sample(const float *x, size_t n, size_t small, size_t stride, float *out, size_t *m) {
    size_t s = n <= small ? 1 : stride, k = 0;
    for (size_t i = 0; i < n; i += s) out[k++] = x[i];
    *m = k;
}

static void torch_comparison(void) {
    tdl_predictor p;
    tdl_status s = tdl_predictor_load(&p, TDL_FIXTURE_DIR "/predictor_torch_model.safetensors");
    TDL_CHECK(s == TDL_OK, "load the PyTorch export: %s", tdl_last_error());
    if (s != TDL_OK) return;
    tdl_predictor_config def;
    tdl_predictor_config_default(&def);
    TDL_CHECK(p.cfg.T == def.T && p.cfg.H1 == def.H1 && p.cfg.H2 == def.H2 && p.cfg.F == def.F,
              "a file without metadata gets the paper's sizes");
    TDL_CHECK(tdl_params_trainable(&p.params) == 119233, "%zu parameters",
              tdl_params_trainable(&p.params));

    tdl_safetensors st;
    tdl_test_fixture(&st, "predictor_torch");
    const double scale = meta_double(&st, "scale"), offset = meta_double(&st, "offset");
    const size_t small = (size_t)meta_double(&st, "small"), stride = (size_t)meta_double(&st, "stride");
    float *x = tdl_test_tensor(&st, "x", NULL), *t = tdl_test_tensor(&st, "t", NULL);
    float *want_out = tdl_test_tensor(&st, "out", NULL);
    tdl_predictor_cache *c;
    TDL_CHECK(tdl_predictor_cache_init(&c, &p.cfg, 16) == TDL_OK, "cache");
    float y[BF], dy[BF];
    tdl_predictor_forward(&p, c, x, y, BF, 0, NULL);
    tdl_test_allclose("outputs vs torch (eval)", y, want_out, BF, OUT_ATOL, OUT_RTOL);
    int clipped = 0;
    for (int i = 0; i < BF; i++) clipped += y[i] <= 0.0f;
    TDL_CHECK(clipped == (int)meta_double(&st, "relu_clipped") && clipped > 0 && clipped < BF,
              "%d outputs clipped by relu: the batch must exercise both sides", clipped);

    tdl_provision_params pp;
    tdl_provision_defaults(&pp);
    double l_auth = tdl_predictor_dfl_loss(&pp, TDL_PROVISION_AUTHORS, scale, offset, y, t, dy, BF);
    check_close("DFL loss, authors' rule", l_auth, meta_double(&st, "dfl_authors"), LOSS_RTOL);
    double l = tdl_predictor_dfl_loss(&pp, TDL_PROVISION_EXACT, scale, offset, y, t, dy, BF);
    check_close("DFL loss, exact rule", l, meta_double(&st, "dfl_exact"), LOSS_RTOL);
    for (int i = 0; i < BF; i++)
        TDL_CHECK((y[i] <= 0.0f) == (dy[i] == 0.0f), "dy[%d] = %g for y = %g", i, (double)dy[i],
                  (double)y[i]);
    tdl_params_zero_grad(&p.params);
    tdl_predictor_backward(&p, c, dy, BF);
    float *buf = tdl_test_floats(p.params.total), *smp = tdl_test_floats(p.params.total);
    for (int k = 0; k < p.params.count; k++) {
        const tdl_param *q = &p.params.items[k];
        char key[160], what[200];
        snprintf(key, sizeof key, "grad.%s", q->name);
        size_t n;
        float *want = tdl_test_tensor(&st, key, &n);
        TDL_CHECK(n == q->numel, "%s: %zu elements", key, n);
        snprintf(what, sizeof what, "DFL d%s vs torch", q->name);
        tdl_test_allclose(what, p.params.grad + q->offset, want, q->numel, GRAD_ATOL, GRAD_RTOL);
        free(want);
    }
    /* backward adds: a second call doubles the gradients */
    memcpy(buf, p.params.grad, p.params.total * sizeof(float));
    tdl_predictor_backward(&p, c, dy, BF);
    for (size_t i = 0; i < p.params.total; i++) smp[i] = 2.0f * buf[i];
    tdl_test_allclose("backward adds into grad", p.params.grad, smp, p.params.total, 1e-9, 1e-6);

    /* MSE */
    tdl_predictor_forward(&p, c, x, y, BF, 0, NULL);
    double mse = tdl_predictor_mse_loss(y, t, dy, BF);
    check_close("MSE loss", mse, meta_double(&st, "mse"), LOSS_RTOL);
    tdl_params_zero_grad(&p.params);
    tdl_predictor_backward(&p, c, dy, BF);
    for (int k = 0; k < p.params.count; k++) {
        const tdl_param *q = &p.params.items[k];
        char key[160], what[200];
        snprintf(key, sizeof key, "mse_grad.%s", q->name);
        size_t n, m;
        float *want = tdl_test_tensor(&st, key, &n);
        sample(p.params.grad + q->offset, q->numel, small, stride, smp, &m);
        TDL_CHECK(n == m, "%s: %zu elements, sampled %zu", key, n, m);
        snprintf(what, sizeof what, "MSE d%s vs torch (%zu of %zu)", q->name, m, q->numel);
        tdl_test_allclose(what, smp, want, m, GRAD_ATOL, GRAD_RTOL);
        free(want);
    }

    /* 5 Adam steps on the DFL loss, eval mode, same batch */
    const char *lv = tdl_safetensors_meta(&st, "adam_losses");
    TDL_CHECK(lv != NULL, "fixture has adam_losses");
    tdl_adam opt;
    tdl_adam_init(&opt, 1e-3);
    char *end = (char *)lv;
    for (int step = 0; step < 5; step++) {
        tdl_params_zero_grad(&p.params);
        tdl_predictor_forward(&p, c, x, y, BF, 0, NULL);
        double ls = tdl_predictor_dfl_loss(&pp, TDL_PROVISION_EXACT, scale, offset, y, t, dy, BF);
        tdl_predictor_backward(&p, c, dy, BF);
        tdl_adam_step(&opt, &p.params);
        double want = lv ? strtod(end, &end) : 0.0;
        char what[64];
        snprintf(what, sizeof what, "DFL loss before Adam step %d", step + 1);
        check_close(what, ls, want, 1e-4);
    }
    for (int k = 0; k < p.params.count; k++) {
        const tdl_param *q = &p.params.items[k];
        char key[160], what[200];
        snprintf(key, sizeof key, "adam5.%s", q->name);
        size_t n, m;
        float *want = tdl_test_tensor(&st, key, &n);
        sample(p.params.param + q->offset, q->numel, small, stride, smp, &m);
        TDL_CHECK(n == m, "%s: %zu elements, sampled %zu", key, n, m);
        snprintf(what, sizeof what, "%s after 5 Adam steps vs torch", q->name);
        tdl_test_allclose(what, smp, want, m, ADAM_ATOL, 0.0);
        free(want);
    }
    free(buf); free(smp); free(x); free(t); free(want_out);
    tdl_predictor_cache_free(c);
    tdl_safetensors_free(&st);
    tdl_predictor_free(&p);
}

/* ------------------------------------------------ finite differences */
enum { BG = 5 };
typedef struct {
    tdl_predictor *p;
    tdl_predictor_cache *c;
    const float *x, *r;
    int train;
    tdl_rng rng0; /* every pass starts here: the same dropout masks */
} fd_ctx;

static double fd_loss(void *vctx) {
    fd_ctx *f = vctx;
    float y[BG];
    tdl_rng r = f->rng0;
    tdl_predictor_forward(f->p, f->c, f->x, y, BG, f->train, &r);
    return tdl_test_dot(y, f->r, BG);
}

static void finite_differences(int train) {
    tdl_predictor p;
    tdl_predictor_config cfg;
    tdl_predictor_config_default(&cfg);
    TDL_CHECK(tdl_predictor_init(&p, &cfg, 11) == TDL_OK, "init");
    tdl_predictor_cache *c;
    TDL_CHECK(tdl_predictor_cache_init(&c, &cfg, BG) == TDL_OK, "cache");
    float *x = tdl_test_uniform((size_t)BG * cfg.T, 0.0f, 1.0f, 1);
    float *r = tdl_test_uniform(BG, 0.5f, 1.5f, 2); /* one sign: no cancellation between rows */
    fd_ctx f = {&p, c, x, r, train, {0, 0, 0}};
    tdl_rng_init(&f.rng0, 99, 3);
    fd_loss(&f);
    tdl_params_zero_grad(&p.params);
    tdl_predictor_backward(&p, c, r, BG);
    /* A single weight moves the loss too little for float32 differences
     * (the gates' rounding is ~1e-7 of the loss), so each tensor is checked
     * along a direction d of the whole tensor: (L(w + h d) - L(w - h d))
     * / 2h against grad . d, plus 3 single elements of the head. */
    float *save = tdl_test_floats(p.params.total);
    memcpy(save, p.params.param, p.params.total * sizeof(float));
    for (int k = 0; k < p.params.count; k++) {
        const tdl_param *q = &p.params.items[k];
        float *w = p.params.param + q->offset;
        const float *g = p.params.grad + q->offset;
        /* d_i = u_i sign(g_i), u_i in [0.5, 1]: the terms of grad . d do not
         * cancel, so the difference stays well above float32 noise, and an
         * element with a wrong gradient still changes num against ana. */
        float *d = tdl_test_uniform(q->numel, 0.5f, 1.0f, 10 + (unsigned)k);
        for (size_t i = 0; i < q->numel; i++) d[i] = g[i] < 0.0f ? -d[i] : d[i];
        const double h = q->numel > 4096 ? 1e-4 : 1e-3; /* curvature: a big step on a big matrix */
        double ana = 0.0;
        for (size_t i = 0; i < q->numel; i++) ana += (double)g[i] * d[i];
        for (size_t i = 0; i < q->numel; i++) w[i] = (float)(save[q->offset + i] + h * d[i]);
        double lp = fd_loss(&f);
        for (size_t i = 0; i < q->numel; i++) w[i] = (float)(save[q->offset + i] - h * d[i]);
        double lm = fd_loss(&f);
        memcpy(w, save + q->offset, q->numel * sizeof(float));
        double num = (lp - lm) / (2.0 * h);
        int ok = fabs(num - ana) <= 1e-6 + 2e-3 * fabs(num);
        printf("%s %s d%s along a direction: numeric %.9g analytic %.9g "
               "(atol 1e-6 rtol 2e-3, h %g)\n", ok ? "ok  " : "FAIL", train ? "train" : "eval",
               q->name, num, ana, h);
        tdl_test_record(ok);
        free(d);
    }
    free(save);
    tdl_test_gradcheck(train ? "train fc1.weight" : "eval fc1.weight", fd_loss, &f,
                       tdl_params_data(&p.params, "fc1.weight"),
                       tdl_params_gradient(&p.params, "fc1.weight"), 2048, 1e-2, 1e-6, 1e-2, NULL, 3);
    free(x); free(r);
    tdl_predictor_cache_free(c);
    tdl_predictor_free(&p);
}

/* ------------------------------------------------ input gradient */
/* dLoss/dx of the whole predictor (tdl_predictor_backward_input) against
 * central differences of every input element, for sum(y * R) and for the DFL
 * loss (exact rule), in eval and in training mode (every pass starts from the
 * same rng state: the same dropout masks). The predictor is seed 11's with
 * fc2.bias raised by 0.3 so that every output is positive (relu passes, the
 * DFL gradient is non-zero on every row), and the targets (0.9 .. 1) lie far
 * above the decisions, away from the loss's kinks. h = 1e-2 (1e-3 and 3e-3
 * fail on float32 noise: y ~ 0.3 carries ~1.5e-8 of rounding, i.e. ~1e-6 on a
 * difference quotient, against gradients down to 1e-4); tolerance rtol 2e-3
 * plus atol 1% of the largest |dx| element of the case (the noise floor for
 * the smallest elements, ~1e-4 relative to the largest ones; measured worst
 * printed). */
typedef struct {
    tdl_predictor *p;
    tdl_predictor_cache *c;
    float *x;
    const float *r, *t;
    int train, dfl;
    tdl_rng rng0;
    tdl_provision_params pp;
} in_ctx;

static double in_loss(void *vctx) {
    in_ctx *f = vctx;
    float y[BG], dy[BG];
    tdl_rng r = f->rng0;
    tdl_predictor_forward(f->p, f->c, f->x, y, BG, f->train, &r);
    if (f->dfl)
        return tdl_predictor_dfl_loss(&f->pp, TDL_PROVISION_EXACT, 1e5, 374.0, y, f->t, dy, BG);
    return tdl_test_dot(y, f->r, BG);
}

static void input_gradient_fd(int train) {
    tdl_predictor p;
    tdl_predictor_config cfg;
    tdl_predictor_config_default(&cfg);
    TDL_CHECK(tdl_predictor_init(&p, &cfg, 11) == TDL_OK, "init");
    tdl_params_data(&p.params, "fc2.bias")[0] += 0.3f;
    tdl_predictor_cache *c;
    TDL_CHECK(tdl_predictor_cache_init(&c, &cfg, BG) == TDL_OK, "cache");
    const size_t n = (size_t)BG * cfg.T;
    float *x = tdl_test_uniform(n, 0.0f, 1.0f, 21);
    float *r = tdl_test_uniform(BG, 0.5f, 1.5f, 22);
    float *t = tdl_test_uniform(BG, 0.9f, 1.0f, 23);
    float *dx = tdl_test_floats(n), *dx2 = tdl_test_floats(n);
    in_ctx f;
    memset(&f, 0, sizeof f);
    f.p = &p; f.c = c; f.x = x; f.r = r; f.t = t; f.train = train;
    tdl_provision_defaults(&f.pp);
    tdl_rng_init(&f.rng0, 99, 4);
    for (int dfl = 0; dfl < 2; dfl++) {
        f.dfl = dfl;
        float y[BG], dy[BG];
        tdl_rng rr = f.rng0;
        tdl_predictor_forward(&p, c, x, y, BG, train, &rr);
        int pos = 0;
        for (int i = 0; i < BG; i++) pos += y[i] > 0.0f;
        TDL_CHECK(pos == BG, "%d of %d outputs positive", pos, BG);
        if (dfl) tdl_predictor_dfl_loss(&f.pp, TDL_PROVISION_EXACT, 1e5, 374.0, y, t, dy, BG);
        else memcpy(dy, r, sizeof dy);
        int nz = 0;
        for (int i = 0; i < BG; i++) nz += dy[i] != 0.0f;
        TDL_CHECK(nz == BG, "dy non-zero on %d of %d rows", nz, BG);
        tdl_params_zero_grad(&p.params);
        for (size_t i = 0; i < n; i++) dx[i] = 12345.0f; /* written, not added */
        tdl_predictor_backward_input(&p, c, dy, dx, BG, 0);
        int untouched = 1;
        for (size_t i = 0; i < p.params.total; i++) untouched &= p.params.grad[i] == 0.0f;
        TDL_CHECK(untouched, "backward_input(params = 0) leaves the parameter gradients alone");
        char what[96];
        snprintf(what, sizeof what, "%s dx of %s (every input)", train ? "train" : "eval",
                 dfl ? "the DFL loss" : "sum(y * R)");
        double gmax = 0.0;
        for (size_t i = 0; i < n; i++) gmax = fmax(gmax, fabs((double)dx[i]));
        tdl_test_gradcheck(what, in_loss, &f, x, dx, n, 1e-2, 1e-2 * gmax, 2e-3, NULL, 0);
        /* params = 1: the same dx, and the parameter gradients of tdl_predictor_backward */
        rr = f.rng0;
        tdl_predictor_forward(&p, c, x, y, BG, train, &rr);
        tdl_predictor_backward_input(&p, c, dy, dx2, BG, 1);
        snprintf(what, sizeof what, "%s dx with params = 1 equals params = 0",
                 train ? "train" : "eval");
        tdl_test_allclose(what, dx2, dx, n, 0.0, 0.0);
        float *pg = tdl_test_floats(p.params.total);
        memcpy(pg, p.params.grad, p.params.total * sizeof(float));
        tdl_params_zero_grad(&p.params);
        tdl_predictor_backward(&p, c, dy, BG);
        snprintf(what, sizeof what, "%s parameter gradients of backward_input vs backward",
                 train ? "train" : "eval");
        /* lstm1 sums its rows batch-major when dinp is asked for, time-major
         * otherwise: float32 summation order only */
        tdl_test_allclose(what, pg, p.params.grad, p.params.total, 1e-8, 1e-5);
        free(pg);
    }
    free(x); free(r); free(t); free(dx); free(dx2);
    tdl_predictor_cache_free(c);
    tdl_predictor_free(&p);
}

/* PyTorch: x.grad of the predictor_torch model (tools/fixturegen/predictor_input.py)
 * for sum(out * R), the DFL loss (exact rule) and MSE, eval mode. Tolerance
 * atol 1e-10 + rtol 1e-4, the parameter gradients' relative tolerance with a
 * tiny absolute part, as dx is 1e-6 .. 1e-3 here (measured: worst 6e-5
 * relative, dx_sum), and rows that relu clips give exactly 0 in DFL. */
static void input_gradient_torch(void) {
    tdl_predictor p;
    tdl_status s = tdl_predictor_load(&p, TDL_FIXTURE_DIR "/predictor_torch_model.safetensors");
    TDL_CHECK(s == TDL_OK, "load the PyTorch export: %s", tdl_last_error());
    if (s != TDL_OK) return;
    tdl_safetensors st;
    tdl_test_fixture(&st, "predictor_input");
    const double scale = meta_double(&st, "scale"), offset = meta_double(&st, "offset");
    size_t n;
    float *x = tdl_test_tensor(&st, "x", &n), *t = tdl_test_tensor(&st, "t", NULL);
    float *r = tdl_test_tensor(&st, "r", NULL), *want_out = tdl_test_tensor(&st, "out", NULL);
    TDL_CHECK(n == (size_t)BF * p.cfg.T, "x has %zu elements", n);
    tdl_predictor_cache *c;
    TDL_CHECK(tdl_predictor_cache_init(&c, &p.cfg, BF) == TDL_OK, "cache");
    float y[BF], dy[BF], *dx = tdl_test_floats(n);
    tdl_predictor_forward(&p, c, x, y, BF, 0, NULL);
    tdl_test_allclose("input-gradient batch: outputs vs torch (same model)", y, want_out, BF,
                      OUT_ATOL, OUT_RTOL);
    int clipped = 0;
    for (int i = 0; i < BF; i++) clipped += y[i] <= 0.0f;
    TDL_CHECK(clipped == (int)meta_double(&st, "relu_clipped") && clipped > 0 && clipped < BF,
              "%d outputs clipped by relu", clipped);
    tdl_provision_params pp;
    tdl_provision_defaults(&pp);
    const char *keys[3] = {"dx_sum", "dx_dfl", "dx_mse"};
    for (int k = 0; k < 3; k++) {
        if (k == 0) memcpy(dy, r, sizeof dy);
        if (k == 1) tdl_predictor_dfl_loss(&pp, TDL_PROVISION_EXACT, scale, offset, y, t, dy, BF);
        if (k == 2) tdl_predictor_mse_loss(y, t, dy, BF);
        tdl_predictor_backward_input(&p, c, dy, dx, BF, 0);
        float *want = tdl_test_tensor(&st, keys[k], NULL);
        char what[64];
        snprintf(what, sizeof what, "%s vs torch x.grad", keys[k]);
        tdl_test_allclose(what, dx, want, n, 1e-10, 1e-4);
        if (k == 1) {
            int zero = 1;
            for (int i = 0; i < BF; i++)
                for (int j = 0; j < p.cfg.T; j++)
                    if (y[i] <= 0.0f)
                        zero &= dx[i * p.cfg.T + j] == 0.0f && want[i * p.cfg.T + j] == 0.0f;
            TDL_CHECK(zero, "DFL dx is exactly 0 on the rows relu clips");
            double mx = 0.0;
            for (size_t i = 0; i < n; i++) mx = fmax(mx, fabs((double)dx[i]));
            TDL_CHECK(mx > 1e-7, "DFL dx is not all zero (max |dx| %g)", mx);
        }
        free(want);
    }
    free(x); free(t); free(r); free(want_out); free(dx);
    tdl_predictor_cache_free(c);
    tdl_safetensors_free(&st);
    tdl_predictor_free(&p);
}

/* ------------------------------------------------ dropout determinism */
static void dropout_determinism(void) {
    enum { B = 6 };
    tdl_predictor p;
    tdl_predictor_config cfg;
    tdl_predictor_config_default(&cfg);
    TDL_CHECK(tdl_predictor_init(&p, &cfg, 5) == TDL_OK, "init");
    tdl_predictor_cache *c;
    TDL_CHECK(tdl_predictor_cache_init(&c, &cfg, B) == TDL_OK, "cache");
    float *x = tdl_test_uniform((size_t)B * cfg.T, 0.0f, 1.0f, 4);
    float y1[B], y2[B], y3[B], e1[B], e2[B];
    tdl_rng r1, r2;
    tdl_rng_init(&r1, 42, 0);
    tdl_rng_init(&r2, 42, 0);
    tdl_predictor_forward(&p, c, x, y1, B, 1, &r1);
    tdl_predictor_forward(&p, c, x, y2, B, 1, &r2);
    TDL_CHECK(memcmp(y1, y2, sizeof y1) == 0, "same rng state, same training output");
    size_t per = (size_t)B * cfg.T * cfg.H1 + (size_t)B * cfg.H2; /* drop1 every step, drop2 the last */
    TDL_CHECK(r1.pos == per, "rng advanced by %llu words, expected %zu (one per dropped unit)",
              (unsigned long long)r1.pos, per);
    tdl_predictor_forward(&p, c, x, y3, B, 1, &r1); /* the advanced rng: new masks */
    int differ = 0;
    for (int i = 0; i < B; i++) differ += y3[i] != y1[i];
    TDL_CHECK(differ == B, "the next masks change every output (%d of %d differ)", differ, B);
    tdl_predictor_forward(&p, c, x, e1, B, 0, NULL);
    tdl_predictor_forward(&p, c, x, e2, B, 0, &r2);
    TDL_CHECK(memcmp(e1, e2, sizeof e1) == 0 && r2.pos == per, "eval ignores the rng");
    differ = 0;
    for (int i = 0; i < B; i++) differ += e1[i] != y1[i];
    TDL_CHECK(differ == B, "train and eval differ (%d of %d)", differ, B);
    /* a smaller batch through the same cache gives the same rows */
    float s3[3];
    tdl_predictor_forward(&p, c, x, s3, 3, 0, NULL);
    tdl_test_allclose("rows do not depend on the batch size (up to sgemm rounding)", s3, e1, 3,
                      1e-7, 1e-6);
    free(x);
    tdl_predictor_cache_free(c);
    tdl_predictor_free(&p);
}

/* ------------------------------------------------ initialisation */
static void init_statistics(void) {
    tdl_predictor a, b, a2;
    tdl_predictor_config cfg;
    tdl_predictor_config_default(&cfg);
    TDL_CHECK(tdl_predictor_init(&a, &cfg, 1) == TDL_OK, "init");
    TDL_CHECK(tdl_predictor_init(&a2, &cfg, 1) == TDL_OK, "init");
    TDL_CHECK(tdl_predictor_init(&b, &cfg, 2) == TDL_OK, "init");
    TDL_CHECK(a.params.count == 16, "%d tensors", a.params.count);
    TDL_CHECK(memcmp(a.params.param, a2.params.param, a.params.total * sizeof(float)) == 0,
              "same seed, same weights");
    for (int k = 0; k < a.params.count; k++) {
        const tdl_param *q = &a.params.items[k];
        const float *v = a.params.param + q->offset, *w = b.params.param + q->offset;
        int is_norm = strncmp(q->name, "norm", 4) == 0;
        if (is_norm) {
            float want = strstr(q->name, "weight") ? 1.0f : 0.0f;
            int ok = 1;
            for (size_t i = 0; i < q->numel; i++) ok &= v[i] == want && w[i] == want;
            TDL_CHECK(ok, "%s is all %g", q->name, (double)want);
            continue;
        }
        int fan = strncmp(q->name, "lstm1", 5) == 0   ? cfg.H1
                  : strncmp(q->name, "lstm2", 5) == 0 ? cfg.H2
                  : strncmp(q->name, "fc1", 3) == 0   ? cfg.H2
                                                      : cfg.F;
        double k0 = 1.0 / sqrt((double)fan), mx = 0.0, sum = 0.0, sq = 0.0;
        size_t same = 0;
        for (size_t i = 0; i < q->numel; i++) {
            mx = fmax(mx, fabs(v[i]));
            sum += v[i];
            sq += (double)v[i] * v[i];
            same += v[i] == w[i];
        }
        double n = (double)q->numel, mean = sum / n, var = sq / n - mean * mean;
        TDL_CHECK(mx <= k0, "%s: max |w| %g above the bound %g", q->name, mx, k0);
        TDL_CHECK(same == 0 || q->numel == 1 ? same == 0 : 0, "%s: %zu values equal under another seed",
                  q->name, same);
        if (q->numel >= 512) {
            /* U(-k, k): mean 0 (sd k / sqrt(3n)), variance k^2 / 3 */
            double sd_mean = k0 / sqrt(3.0 * n);
            TDL_CHECK(fabs(mean) < 5.0 * sd_mean, "%s: mean %g (sd %g)", q->name, mean, sd_mean);
            TDL_CHECK(fabs(var / (k0 * k0 / 3.0) - 1.0) < 0.15, "%s: variance %g, expected %g",
                      q->name, var, k0 * k0 / 3.0);
            TDL_CHECK(mx > 0.98 * k0, "%s: max |w| %g does not reach the bound %g", q->name, mx, k0);
        }
    }
    tdl_predictor_free(&a); tdl_predictor_free(&a2); tdl_predictor_free(&b);
    tdl_predictor_free(NULL);
    tdl_predictor_config bad = cfg;
    bad.dropout = 1.0f;
    TDL_CHECK(tdl_predictor_init(&a, &bad, 1) == TDL_ERR_INVALID, "dropout 1 refused");
}

/* ------------------------------------------------ files */
static int message_has(const char *what, const char *want) {
    int ok = strstr(tdl_last_error(), want) != NULL;
    printf("%s %s: \"%s\"%s\n", ok ? "ok  " : "FAIL", what, tdl_last_error(),
           ok ? "" : " (expected it to contain the text below)");
    if (!ok) printf("     %s\n", want);
    tdl_test_record(ok);
    return ok;
}

/* Write p's tensors with one changed: mode 's' gives `victim` the shape
 * [512, 64], 'm' leaves it out, 'x' adds a tensor "fc3.weight". */
static void write_variant(const tdl_predictor *p, const char *path, const char *victim, char mode) {
    tdl_st_entry e[20];
    int n = 0;
    static const int64_t bad_shape[2] = {512, 64}, one[1] = {1};
    for (int k = 0; k < p->params.count; k++) {
        const tdl_param *q = &p->params.items[k];
        e[n] = (tdl_st_entry){q->name, q->ndim, q->shape, p->params.param + q->offset};
        if (strcmp(q->name, victim) == 0) {
            if (mode == 'm') continue;
            if (mode == 's') e[n].shape = bad_shape;
        }
        n++;
    }
    if (mode == 'x') e[n++] = (tdl_st_entry){"fc3.weight", 1, one, p->params.param};
    TDL_CHECK(tdl_safetensors_write(path, e, n, NULL, 0) == TDL_OK, "write %s", path);
}

static void files(void) {
    tdl_predictor p, q;
    tdl_predictor_config cfg;
    tdl_predictor_config_default(&cfg);
    cfg.dropout = 0.25f;
    cfg.H1 = 32; /* a non-default size travels through the metadata */
    TDL_CHECK(tdl_predictor_init(&p, &cfg, 7) == TDL_OK, "init");
    char path[256];
    snprintf(path, sizeof path, "/tmp/tdl_test_predictor_%ld.safetensors", (long)getpid());
    TDL_CHECK(tdl_predictor_save(&p, path) == TDL_OK, "save: %s", tdl_last_error());
    TDL_CHECK(tdl_predictor_load(&q, path) == TDL_OK, "load: %s", tdl_last_error());
    TDL_CHECK(q.cfg.T == cfg.T && q.cfg.H1 == 32 && q.cfg.H2 == cfg.H2 && q.cfg.F == cfg.F &&
              q.cfg.dropout == 0.25f, "config round trip");
    TDL_CHECK(q.params.total == p.params.total &&
              memcmp(q.params.param, p.params.param, p.params.total * sizeof(float)) == 0,
              "save -> load is bit-identical");
    tdl_predictor_free(&q);
    tdl_predictor_free(&p);

    /* errors, on default-sized files without metadata (as a PyTorch export) */
    tdl_predictor_config_default(&cfg);
    TDL_CHECK(tdl_predictor_init(&p, &cfg, 8) == TDL_OK, "init");
    write_variant(&p, path, "lstm1.weight_hh_l0", 's');
    TDL_CHECK(tdl_predictor_load(&q, path) == TDL_ERR_SHAPE, "wrong shape refused");
    message_has("wrong shape", "tensor 'lstm1.weight_hh_l0' has shape [512, 64], expected [512, 128]");
    message_has("message names the file", path);
    write_variant(&p, path, "fc2.bias", 'm');
    TDL_CHECK(tdl_predictor_load(&q, path) == TDL_ERR_SHAPE, "missing tensor refused");
    message_has("missing tensor", "tensor 'fc2.bias' is missing");
    write_variant(&p, path, "", 'x');
    TDL_CHECK(tdl_predictor_load(&q, path) == TDL_ERR_SHAPE, "extra tensor refused");
    message_has("extra tensor", "unexpected tensor 'fc3.weight'");
    /* truncated: a good file cut short */
    TDL_CHECK(tdl_predictor_save(&p, path) == TDL_OK, "save");
    FILE *fp = fopen(path, "rb");
    char *bytes = malloc(600000);
    size_t len = fp ? fread(bytes, 1, 600000, fp) : 0;
    if (fp) fclose(fp);
    fp = fopen(path, "wb");
    if (fp) {
        fwrite(bytes, 1, len / 2, fp);
        fclose(fp);
    }
    tdl_status s = tdl_predictor_load(&q, path);
    TDL_CHECK(s == TDL_ERR_FORMAT, "truncated file: %s (%s)", tdl_status_name(s), tdl_last_error());
    message_has("truncated file names the file", path);
    /* a model with other metadata sizes than its tensors */
    const char *meta[10] = {"T", "7", "H1", "64", "H2", "64", "F", "32", "dropout", "0.3"};
    TDL_CHECK(tdl_params_save(&p.params, path, meta, 5, 0) == TDL_OK, "save");
    TDL_CHECK(tdl_predictor_load(&q, path) == TDL_ERR_SHAPE, "metadata sizes checked");
    message_has("metadata vs shapes", "expected [256, 1]");
    meta[3] = "big";
    TDL_CHECK(tdl_params_save(&p.params, path, meta, 5, 0) == TDL_OK, "save");
    TDL_CHECK(tdl_predictor_load(&q, path) == TDL_ERR_FORMAT, "bad metadata refused");
    message_has("bad metadata", "metadata H1 = 'big' is not a valid value");
    /* weights that are not finite: refused at load, naming the tensor */
    const struct { const char *name; size_t at; float v; const char *shown; } nf[] = {
        {"norm2.bias", 5, NAN, "nan"}, {"fc1.weight", 0, INFINITY, "inf"},
        {"lstm1.weight_hh_l0", 777, -INFINITY, "-inf"}};
    for (size_t k = 0; k < sizeof nf / sizeof *nf; k++) {
        float *w = tdl_params_data(&p.params, nf[k].name), keep = w[nf[k].at];
        w[nf[k].at] = nf[k].v;
        TDL_CHECK(tdl_predictor_save(&p, path) == TDL_OK, "save: %s", tdl_last_error());
        w[nf[k].at] = keep;
        s = tdl_predictor_load(&q, path);
        printf("     %s[%zu] = %s: %s: %s\n", nf[k].name, nf[k].at, nf[k].shown,
               tdl_status_name(s), tdl_last_error());
        TDL_CHECK(s == TDL_ERR_NUMERIC, "%s[%zu] = %s loaded (%s)", nf[k].name, nf[k].at,
                  nf[k].shown, tdl_status_name(s));
        char want[128];
        snprintf(want, sizeof want, "tensor '%s'", nf[k].name);
        message_has("non-finite weight names the tensor", want);
        snprintf(want, sizeof want, "%s at index %zu", nf[k].shown, nf[k].at);
        message_has("non-finite weight names the value and index", want);
        message_has("non-finite weight names the file", path);
        TDL_CHECK(q.params.mem == NULL, "a refused model leaves the predictor empty");
    }
    /* a trainer refuses a predictor whose weights are not finite */
    tdl_trainer tr;
    tdl_train_config tc;
    tdl_train_config_default(&tc);
    float *b2 = tdl_params_data(&p.params, "fc2.bias"), keep2 = b2[0];
    b2[0] = NAN;
    memset(&tr, 0, sizeof tr);
    s = tdl_trainer_init(&tr, &p, &tc);
    printf("     trainer on a NaN weight: %s: %s\n", tdl_status_name(s), tdl_last_error());
    TDL_CHECK(s == TDL_ERR_NUMERIC, "trainer_init accepted a NaN weight (%s)",
              tdl_status_name(s));
    message_has("trainer names the tensor", "tensor 'fc2.bias'");
    tdl_trainer_free(&tr);
    b2[0] = keep2;
    remove(path);
    TDL_CHECK(tdl_predictor_load(&q, path) == TDL_ERR_IO, "missing file: %s", tdl_last_error());
    free(bytes);
    tdl_predictor_free(&p);
}

/* The serving metadata (issue 13 item 1): set_origin -> save -> load gives
 * the same range, row length, method, source, rule and constants; a file
 * with only the old keys (config) loads with none of them; a present but
 * broken key is refused naming it. */
static void serving_meta(void) {
    tdl_predictor p, q;
    tdl_predictor_config cfg;
    tdl_predictor_config_default(&cfg);
    cfg.H1 = 16;
    cfg.H2 = 8;
    cfg.F = 4;
    TDL_CHECK(tdl_predictor_init(&p, &cfg, 5) == TDL_OK, "init");
    TDL_CHECK(!p.meta.has_range && !p.meta.has_rule && !p.meta.method[0], "init: no origin");
    char path[256];
    snprintf(path, sizeof path, "/tmp/tdl_test_predictor_meta_%ld.safetensors", (long)getpid());
    tdl_provision_params pp;
    tdl_provision_defaults(&pp);
    pp.eta = 0.6;
    tdl_range r = {374.0, 106957.25};
    TDL_CHECK(tdl_predictor_set_origin(&p, "kl-dro", "../data/23V.csv", r, TDL_PROVISION_AUTHORS,
                                       &pp) == TDL_OK, "set_origin: %s", tdl_last_error());
    TDL_CHECK(tdl_predictor_save(&p, path) == TDL_OK, "save: %s", tdl_last_error());
    TDL_CHECK(tdl_predictor_load(&q, path) == TDL_OK, "load: %s", tdl_last_error());
    TDL_CHECK(q.meta.has_range && q.meta.range.min == 374.0 && q.meta.range.max == 106957.25,
              "range round trip (%g %g)", q.meta.range.min, q.meta.range.max);
    TDL_CHECK(q.meta.row_len == 28, "row length %d", q.meta.row_len);
    TDL_CHECK(strcmp(q.meta.method, "kl-dro") == 0, "method '%s'", q.meta.method);
    TDL_CHECK(strcmp(q.meta.train_source, "../data/23V.csv") == 0, "source '%s'",
              q.meta.train_source);
    TDL_CHECK(q.meta.has_rule && q.meta.rule == TDL_PROVISION_AUTHORS &&
              memcmp(&q.meta.pp, &pp, sizeof pp) == 0, "rule and constants round trip");
    tdl_predictor_free(&q);
    /* refused origins */
    tdl_range flat = {5.0, 5.0}, nan = {NAN, 1.0};
    TDL_CHECK(tdl_predictor_set_origin(&p, "dfl", "s", flat, TDL_PROVISION_EXACT, &pp) ==
              TDL_ERR_INVALID, "zero range refused");
    TDL_CHECK(tdl_predictor_set_origin(&p, "dfl", "s", nan, TDL_PROVISION_EXACT, &pp) ==
              TDL_ERR_INVALID, "NaN range refused");
    TDL_CHECK(tdl_predictor_set_origin(&p, "", "s", r, TDL_PROVISION_EXACT, &pp) ==
              TDL_ERR_INVALID, "empty method refused");
    /* a file with the old keys only: loads, nothing known */
    const char *old[10] = {"T", "7", "H1", "16", "H2", "8", "F", "4", "dropout", "0.3"};
    TDL_CHECK(tdl_params_save(&p.params, path, old, 5, 0) == TDL_OK, "save old-style");
    TDL_CHECK(tdl_predictor_load(&q, path) == TDL_OK, "old-style file loads: %s",
              tdl_last_error());
    TDL_CHECK(!q.meta.has_range && !q.meta.has_rule && !q.meta.method[0] &&
              !q.meta.train_source[0] && q.meta.row_len == 0, "old-style file: no origin");
    tdl_predictor_free(&q);
    /* present but broken keys */
    static const struct { const char *k1, *v1, *k2, *v2, *frag; } bad[] = {
        {"train_min", "1", "train_max", "1", "is not a range"},
        {"train_min", "10", "train_max", "2", "is not a range"},
        {"train_min", "x", "train_max", "2", "train_min"},
        {"train_min", "1", "model", "m", "train_max"},
        {"train_min", "1", "train_max", "inf", "is not a range"},
        {"row_len", "0", "model", "m", "row_len"},
        {"rule", "best", "model", "m", "rule 'best'"},
        {"rule", "exact", "eta", "0.7", "\"A\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *m[14] = {"T", "7", "H1", "16", "H2", "8", "F", "4", "dropout", "0.3",
                             bad[i].k1, bad[i].v1, bad[i].k2, bad[i].v2};
        TDL_CHECK(tdl_params_save(&p.params, path, m, 7, 0) == TDL_OK, "save bad %zu", i);
        tdl_status s = tdl_predictor_load(&q, path);
        TDL_CHECK(s == TDL_ERR_FORMAT, "bad metadata %zu refused (%s)", i, tdl_status_name(s));
        message_has("bad metadata names the key", bad[i].frag);
    }
    const char *m[2 * 13] = {"T", "7", "H1", "16", "H2", "8", "F", "4", "dropout", "0.3",
                             "rule", "exact", "eta", "1.5", "A", "20", "B", "1.5", "a_min",
                             "200", "a_max", "400000", "P_idle", "100", "P_act", "280"};
    TDL_CHECK(tdl_params_save(&p.params, path, m, 13, 0) == TDL_OK, "save");
    TDL_CHECK(tdl_predictor_load(&q, path) == TDL_ERR_FORMAT, "bad constants refused");
    message_has("bad constants", "eta");
    remove(path);
    tdl_predictor_free(&p);
}

/* The interoperability script tests/predictor_torch_interop.sh drives this
 * binary with one of two variables (and nothing else runs):
 *   TDL_TEST_WRITE_MODEL=path  save a model initialised from seed 3;
 *   TDL_TEST_PREDICT=path      load a model file;
 * then print the eval prediction for the input 0.1, 0.2, ..., 0.7, which the
 * script compares with tools/import_predictor.py (PyTorch) on the same file. */
static int interop(const char *write_path, const char *predict_path) {
    tdl_predictor p;
    tdl_predictor_config cfg;
    tdl_predictor_config_default(&cfg);
    tdl_status s = write_path ? tdl_predictor_init(&p, &cfg, 3) : tdl_predictor_load(&p, predict_path);
    if (s == TDL_OK && write_path) {
        s = tdl_predictor_save(&p, write_path);
        if (s != TDL_OK) tdl_predictor_free(&p);
    }
    if (s != TDL_OK) {
        fprintf(stderr, "test_predictor: %s\n", tdl_last_error());
        return 1;
    }
    tdl_predictor_cache *c;
    float x[64], y;
    for (int i = 0; i < p.cfg.T && i < 64; i++) x[i] = 0.1f * (float)(i + 1);
    if (p.cfg.T > 64 || tdl_predictor_cache_init(&c, &p.cfg, 1) != TDL_OK) return 1;
    tdl_predictor_forward(&p, c, x, &y, 1, 0, NULL);
    printf("tdl prediction: %.9g\n", (double)y);
    tdl_predictor_cache_free(c);
    tdl_predictor_free(&p);
    return 0;
}

int main(void) {
    const char *w = getenv("TDL_TEST_WRITE_MODEL"), *r = getenv("TDL_TEST_PREDICT");
    if (w || r) return interop(w, r);
    torch_comparison();
    finite_differences(0);
    finite_differences(1);
    input_gradient_torch();
    input_gradient_fd(0);
    input_gradient_fd(1);
    dropout_determinism();
    init_statistics();
    files();
    serving_meta();
    return tdl_test_done("test_predictor");
}
