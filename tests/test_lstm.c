/* test_lstm.c: tdl_lstm_* by finite differences (dh = R on every step) and
 * against torch.nn.LSTM(C, H, batch_first=True) (fixtures lstm: B=3 T=5 C=4
 * H=6, lstm_c1: B=2 T=7 C=1 H=5; tools/fixturegen/seq.py). */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/nn.h"
#include "tdl_test.h"

/* FD: h = 1e-2 on a float forward: float noise in the loss ~1e-7, / 2h gives
 * ~1e-5 absolute (observed worst 7e-6), truncation O(h^2) ~1e-4 relative.
 * A wrong sign or a missing term in any gate changes many entries by far
 * more than atol + rtol |g|. */
#define FD_H 1e-2
#define FD_ATOL 5e-5
#define FD_RTOL 1e-2
/* PyTorch parity: float32 through T steps of sigmoid/tanh (ours within 2 ulp
 * of libm) and sums ordered differently from torch's. */
#define PT_ATOL 2e-7
#define PT_RTOL 1e-5

typedef struct {
    int B, T, C, H;
    float *inp, *w_ih, *w_hh, *b_ih, *b_hh; /* (B,T,C) (4H,C) (4H,H) (4H) (4H) */
    float *h, *c, *gates, *r;               /* (B,T,H) (B,T,H) (B,T,4H) (B,T,H) */
    float *tc;                              /* (B,T,H) tanh(c) */
} lstm_ctx;

static double lstm_loss(void *p) {
    lstm_ctx *x = p;
    tdl_lstm_forward(x->h, x->c, x->tc, x->gates, x->inp, x->w_ih, x->w_hh, x->b_ih, x->b_hh,
                     x->B, x->T, x->C, x->H);
    return tdl_test_dot(x->h, x->r, (size_t)x->B * x->T * x->H);
}

static void ctx_alloc(lstm_ctx *x, int B, int T, int C, int H) {
    x->B = B; x->T = T; x->C = C; x->H = H;
    size_t n = (size_t)B * T;
    x->inp = tdl_test_floats(n * C);
    x->w_ih = tdl_test_floats((size_t)4 * H * C);
    x->w_hh = tdl_test_floats((size_t)4 * H * H);
    x->b_ih = tdl_test_floats((size_t)4 * H);
    x->b_hh = tdl_test_floats((size_t)4 * H);
    x->h = tdl_test_floats(n * H);
    x->c = tdl_test_floats(n * H);
    x->gates = tdl_test_floats(n * 4 * H);
    x->r = tdl_test_floats(n * H);
    x->tc = tdl_test_floats(n * H);
}

static void ctx_free(lstm_ctx *x) {
    free(x->inp); free(x->w_ih); free(x->w_hh); free(x->b_ih); free(x->b_hh);
    free(x->h); free(x->c); free(x->gates); free(x->r); free(x->tc);
}

static void fill(float *p, size_t n, float lo, float hi, unsigned stream) {
    float *t = tdl_test_uniform(n, lo, hi, stream);
    memcpy(p, t, n * sizeof(float));
    free(t);
}

typedef struct {
    float *dinp, *dw_ih, *dw_hh, *db_ih, *db_hh;
} lstm_grads;

static void grads_alloc(lstm_grads *g, const lstm_ctx *x) {
    g->dinp = tdl_test_floats((size_t)x->B * x->T * x->C);
    g->dw_ih = tdl_test_floats((size_t)4 * x->H * x->C);
    g->dw_hh = tdl_test_floats((size_t)4 * x->H * x->H);
    g->db_ih = tdl_test_floats((size_t)4 * x->H);
    g->db_hh = tdl_test_floats((size_t)4 * x->H);
}

static void grads_free(lstm_grads *g) {
    free(g->dinp); free(g->dw_ih); free(g->dw_hh); free(g->db_ih); free(g->db_hh);
}

/* forward, then backward with dh = x->r into g */
static void run_backward(lstm_ctx *x, lstm_grads *g) {
    lstm_loss(x);
    float *scratch = tdl_test_floats(tdl_lstm_scratch_floats(x->B, x->T, x->C, x->H));
    tdl_lstm_backward(g->dinp, g->dw_ih, g->dw_hh, g->db_ih, g->db_hh, x->r, x->inp, x->h, x->c,
                      x->tc, x->gates, x->w_ih, x->w_hh, scratch, x->B, x->T, x->C, x->H);
    free(scratch);
}

static void test_fd(int B, int T, int C, int H, unsigned seed) {
    lstm_ctx x;
    ctx_alloc(&x, B, T, C, H);
    size_t n = (size_t)B * T;
    fill(x.inp, n * C, -1.0f, 1.0f, seed + 1);
    fill(x.w_ih, (size_t)4 * H * C, -0.6f, 0.6f, seed + 2);
    fill(x.w_hh, (size_t)4 * H * H, -0.6f, 0.6f, seed + 3);
    fill(x.b_ih, (size_t)4 * H, -0.5f, 0.5f, seed + 4);
    fill(x.b_hh, (size_t)4 * H, -0.5f, 0.5f, seed + 5);
    fill(x.r, n * H, -1.0f, 1.0f, seed + 6);
    lstm_grads g;
    grads_alloc(&g, &x);
    run_backward(&x, &g);
    char what[96];
    snprintf(what, sizeof what, "lstm B%d T%d C%d H%d dinp", B, T, C, H);
    tdl_test_gradcheck(what, lstm_loss, &x, x.inp, g.dinp, n * C, FD_H, FD_ATOL, FD_RTOL, NULL, 0);
    snprintf(what, sizeof what, "lstm B%d T%d C%d H%d dw_ih", B, T, C, H);
    tdl_test_gradcheck(what, lstm_loss, &x, x.w_ih, g.dw_ih, (size_t)4 * H * C, FD_H, FD_ATOL,
                       FD_RTOL, NULL, 0);
    snprintf(what, sizeof what, "lstm B%d T%d C%d H%d dw_hh", B, T, C, H);
    tdl_test_gradcheck(what, lstm_loss, &x, x.w_hh, g.dw_hh, (size_t)4 * H * H, FD_H, FD_ATOL,
                       FD_RTOL, NULL, 0);
    snprintf(what, sizeof what, "lstm B%d T%d C%d H%d db_ih", B, T, C, H);
    tdl_test_gradcheck(what, lstm_loss, &x, x.b_ih, g.db_ih, (size_t)4 * H, FD_H, FD_ATOL, FD_RTOL,
                       NULL, 0);
    snprintf(what, sizeof what, "lstm B%d T%d C%d H%d db_hh", B, T, C, H);
    tdl_test_gradcheck(what, lstm_loss, &x, x.b_hh, g.db_hh, (size_t)4 * H, FD_H, FD_ATOL, FD_RTOL,
                       NULL, 0);

    /* backward adds: a second call on the filled gradients doubles them */
    lstm_grads g2;
    grads_alloc(&g2, &x);
    run_backward(&x, &g2);
    run_backward(&x, &g2);
    float *twice = tdl_test_floats((size_t)4 * H * H);
    for (size_t i = 0; i < (size_t)4 * H * H; i++) twice[i] = 2.0f * g.dw_hh[i];
    tdl_test_allclose("lstm backward adds dw_hh", g2.dw_hh, twice, (size_t)4 * H * H, 1e-6, 1e-6);
    for (size_t i = 0; i < n * C; i++) twice[i] = 2.0f * g.dinp[i];
    tdl_test_allclose("lstm backward adds dinp", g2.dinp, twice, n * C, 1e-6, 1e-6);
    for (size_t i = 0; i < (size_t)4 * H; i++) twice[i] = 2.0f * g.db_hh[i];
    tdl_test_allclose("lstm backward adds db_hh", g2.db_hh, twice, (size_t)4 * H, 1e-6, 1e-6);
    free(twice);

    /* NULL gradients are skipped */
    lstm_grads g3;
    grads_alloc(&g3, &x);
    float *scratch = tdl_test_floats(tdl_lstm_scratch_floats(B, T, C, H));
    tdl_lstm_backward(NULL, NULL, g3.dw_hh, NULL, NULL, x.r, x.inp, x.h, x.c, x.tc, x.gates,
                      x.w_ih, x.w_hh, scratch, B, T, C, H);
    /* without dinp and with C = 1 the rows are summed in another order
     * (time-major, lstm.c): equal up to float rounding */
    tdl_test_allclose("lstm dw_hh alone", g3.dw_hh, g.dw_hh, (size_t)4 * H * H, 1e-7, 1e-6);
    /* every weight gradient but dinp: the predictor's first layer (C = 1)
     * takes the time-major path; the same gradients up to float rounding */
    lstm_grads g4;
    grads_alloc(&g4, &x);
    tdl_lstm_backward(NULL, g4.dw_ih, g4.dw_hh, g4.db_ih, g4.db_hh, x.r, x.inp, x.h, x.c, x.tc,
                      x.gates, x.w_ih, x.w_hh, scratch, B, T, C, H);
    tdl_test_allclose("lstm without dinp: dw_ih", g4.dw_ih, g.dw_ih, (size_t)4 * H * C, 1e-7,
                      1e-6);
    tdl_test_allclose("lstm without dinp: dw_hh", g4.dw_hh, g.dw_hh, (size_t)4 * H * H, 1e-7,
                      1e-6);
    tdl_test_allclose("lstm without dinp: db_ih", g4.db_ih, g.db_ih, (size_t)4 * H, 1e-7, 1e-6);
    tdl_test_allclose("lstm without dinp: db_hh", g4.db_hh, g.db_hh, (size_t)4 * H, 1e-7, 1e-6);
    grads_free(&g4);
    free(scratch);

    /* one thread and two give the same hidden states (batch rows are split
     * over threads; only the BLAS order could differ) */
    int nt = omp_get_max_threads();
    omp_set_num_threads(1);
    lstm_loss(&x);
    float *h1 = tdl_test_floats(n * H);
    memcpy(h1, x.h, n * H * sizeof(float));
    omp_set_num_threads(2);
    lstm_loss(&x);
    tdl_test_allclose("lstm h 1 thread vs 2", x.h, h1, n * H, 1e-7, 1e-6);
    omp_set_num_threads(nt);
    free(h1);
    grads_free(&g); grads_free(&g2); grads_free(&g3);
    ctx_free(&x);
}

/* dw_hh gets nothing from a single step; everything else still flows */
static void test_single_step(void) {
    lstm_ctx x;
    ctx_alloc(&x, 2, 1, 3, 4);
    fill(x.inp, 6, -1, 1, 40);
    fill(x.w_ih, 48, -0.6f, 0.6f, 41);
    fill(x.w_hh, 64, -0.6f, 0.6f, 42);
    fill(x.r, 8, -1, 1, 43);
    lstm_grads g;
    grads_alloc(&g, &x);
    run_backward(&x, &g);
    float zero[64] = {0};
    tdl_test_allclose("lstm T=1 dw_hh stays zero", g.dw_hh, zero, 64, 0, 0);
    tdl_test_gradcheck("lstm T=1 dinp", lstm_loss, &x, x.inp, g.dinp, 6, FD_H, FD_ATOL, FD_RTOL,
                       NULL, 0);
    grads_free(&g);
    ctx_free(&x);
}

static void test_torch(const char *name) {
    tdl_safetensors st;
    tdl_test_fixture(&st, name);
    char key[128], what[128];
    size_t nx, nwi, nwh, nh;
#define T_(suffix, n) (snprintf(key, sizeof key, "%s.%s", name, suffix), tdl_test_tensor(&st, key, n))
    float *inp = T_("inp", &nx), *w_ih = T_("weight_ih_l0", &nwi), *w_hh = T_("weight_hh_l0", &nwh);
    float *b_ih = T_("bias_ih_l0", NULL), *b_hh = T_("bias_hh_l0", NULL), *r = T_("dout", &nh);
    int H = 1;
    while ((size_t)4 * H * H < nwh) H++;
    int C = (int)(nwi / (4 * (size_t)H));
    snprintf(key, sizeof key, "%s.inp", name);
    const tdl_st_tensor *tin = tdl_safetensors_find(&st, key);
    int B = (int)tin->shape[0], T = (int)tin->shape[1];
    TDL_CHECK((size_t)4 * H * H == nwh && nx == (size_t)B * T * C && nh == (size_t)B * T * H,
              "%s fixture shapes", name);
    lstm_ctx x = {B, T, C, H, inp, w_ih, w_hh, b_ih, b_hh, tdl_test_floats(nh), tdl_test_floats(nh),
                  tdl_test_floats(nh * 4), r, tdl_test_floats(nh)};
    lstm_grads g;
    grads_alloc(&g, &x);
    run_backward(&x, &g);
    float *want = T_("h", NULL);
    snprintf(what, sizeof what, "torch %s h", name);
    tdl_test_allclose(what, x.h, want, nh, PT_ATOL, PT_RTOL);
    free(want);
    want = T_("c_n", NULL);
    float *clast = tdl_test_floats((size_t)B * H);
    for (int b = 0; b < B; b++)
        memcpy(clast + (size_t)b * H, x.c + ((size_t)b * T + T - 1) * H, (size_t)H * sizeof(float));
    snprintf(what, sizeof what, "torch %s c_n", name);
    tdl_test_allclose(what, clast, want, (size_t)B * H, PT_ATOL, PT_RTOL);
    free(want);
    free(clast);
    const char *gn[5] = {"dinp", "dweight_ih_l0", "dweight_hh_l0", "dbias_ih_l0", "dbias_hh_l0"};
    float *gp[5] = {g.dinp, g.dw_ih, g.dw_hh, g.db_ih, g.db_hh};
    size_t gc[5] = {nx, nwi, nwh, (size_t)4 * H, (size_t)4 * H};
    for (int i = 0; i < 5; i++) {
        want = T_(gn[i], NULL);
        snprintf(what, sizeof what, "torch %s %s", name, gn[i]);
        tdl_test_allclose(what, gp[i], want, gc[i], PT_ATOL, PT_RTOL);
        free(want);
    }
#undef T_
    grads_free(&g);
    ctx_free(&x);
    tdl_safetensors_free(&st);
}

/* A NaN in the input must reach the outputs of its batch row (training skips
 * non-finite steps; a hidden NaN would be a silent wrong answer), and large
 * pre-activations must saturate cleanly without NaN or infinity. */
static void test_nonfinite(void) {
    lstm_ctx x;
    ctx_alloc(&x, 2, 3, 2, 4);
    fill(x.inp, 12, -1, 1, 1);
    fill(x.w_ih, 32, -0.5f, 0.5f, 2);
    fill(x.w_hh, 64, -0.5f, 0.5f, 3);
    x.inp[1] = NAN; /* batch row 0, step 0 */
    lstm_loss(&x);
    int row0_nan = 1, row1_finite = 1;
    for (int i = 0; i < 12; i++) {
        row0_nan &= isnan(x.h[i]);
        row1_finite &= isfinite(x.h[12 + i]);
    }
    TDL_CHECK(row0_nan && row1_finite, "NaN input: row 0 all NaN %d, row 1 finite %d", row0_nan,
              row1_finite);
    x.inp[1] = 1e30f;
    lstm_loss(&x);
    int finite = 1;
    for (int i = 0; i < 24; i++) finite &= isfinite(x.h[i]) && fabsf(x.h[i]) <= 1.0f;
    TDL_CHECK(finite, "huge input gave a non-finite or out-of-range hidden state");
    ctx_free(&x);
}

int main(void) {
    test_nonfinite();
    test_fd(2, 4, 3, 5, 10);
    test_fd(3, 3, 1, 4, 20); /* C = 1 as the predictor's first layer; odd B split over threads */
    test_single_step();
    test_torch("lstm");
    test_torch("lstm_c1");
    return tdl_test_done("test_lstm");
}
