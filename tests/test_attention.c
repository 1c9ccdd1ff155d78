/* test_attention.c: channel-major self-attention by central differences and
 * against PyTorch (fixture "attention"), and the UNet's whole attention block
 * (GroupNorm -> 1x1 q, k, v -> attention -> 1x1 proj -> residual) composed
 * from the kernels here, against the PyTorch module it mirrors (fixture
 * "attnblock"; tools/fixturegen/image.py). */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/nn.h"
#include "tdl_test.h"

/* Softmax attention is smooth: with h = 1e-2 and inputs in [-1, 1] the
 * truncation error O(h^2) is ~1e-5 and the float rounding of L / 2h ~5e-5;
 * a wrong sign or a missing term (the 1/sqrt(C) scale, the row sum of the
 * softmax backward) changes gradients by O(0.05..1). */
#define FD_H 1e-2
#define FD_ATOL 3e-4
#define FD_RTOL 1e-2
#define BLOCK_FD_ATOL 1e-3
/* PyTorch parity: sgemm vs bmm products of length <= 16 of order-1 values
 * and expf; values of order 1. */
#define PT_ATOL 1e-5
#define PT_RTOL 1e-4

/* ------------------------------------------------------ attention kernel */
typedef struct {
    int B, C, N;
    float *out, *att, *q, *k, *v, *r;
} att_ctx;

static double att_loss(void *p) {
    att_ctx *c = (att_ctx *)p;
    tdl_attention_forward(c->out, c->att, c->q, c->k, c->v, c->B, c->C, c->N);
    return tdl_test_dot(c->out, c->r, (size_t)c->B * c->C * c->N);
}

static void test_fd(int B, int C, int N) {
    printf("-- attention FD B=%d C=%d N=%d\n", B, C, N);
    const size_t n = (size_t)B * C * N;
    att_ctx c = {B, C, N, 0, 0, 0, 0, 0, 0};
    c.out = tdl_test_floats(n);
    c.att = tdl_test_floats((size_t)B * N * N);
    c.q = tdl_test_uniform(n, -1.5f, 1.5f, 51);
    c.k = tdl_test_uniform(n, -1.5f, 1.5f, 52);
    c.v = tdl_test_uniform(n, -1.0f, 1.0f, 53);
    c.r = tdl_test_uniform(n, -1.0f, 1.0f, 54);
    float *scratch = tdl_test_floats(tdl_attention_scratch_floats(B, C, N, omp_get_max_threads()));
    float *dq = tdl_test_floats(n), *dk = tdl_test_floats(n), *dv = tdl_test_floats(n);
    att_loss(&c);
    /* Rows of att are distributions. */
    double worst = 0.0;
    for (int i = 0; i < B * N; i++) {
        double s = 0.0;
        for (int j = 0; j < N; j++) s += c.att[(size_t)i * N + j];
        worst = fabs(s - 1.0) > worst ? fabs(s - 1.0) : worst;
    }
    TDL_CHECK(worst < 1e-6, "attention rows sum to 1 within %g", worst);
    tdl_attention_backward(dq, dk, dv, c.r, c.q, c.k, c.v, c.att, scratch, B, C, N);
    tdl_test_gradcheck("attention q", att_loss, &c, c.q, dq, n, FD_H, FD_ATOL, FD_RTOL, NULL, 0);
    tdl_test_gradcheck("attention k", att_loss, &c, c.k, dk, n, FD_H, FD_ATOL, FD_RTOL, NULL, 0);
    tdl_test_gradcheck("attention v", att_loss, &c, c.v, dv, n, FD_H, FD_ATOL, FD_RTOL, NULL, 0);

    /* Adds into non-zero gradients; NULL gradients are skipped. */
    float *base = tdl_test_uniform(n, -1.0f, 1.0f, 55);
    float *aq = tdl_test_floats(n), *ak = tdl_test_floats(n), *av = tdl_test_floats(n);
    memcpy(aq, base, n * sizeof(float));
    memcpy(ak, base, n * sizeof(float));
    memcpy(av, base, n * sizeof(float));
    att_loss(&c);
    tdl_attention_backward(aq, ak, av, c.r, c.q, c.k, c.v, c.att, scratch, B, C, N);
    tdl_test_check_adds("attention adds dq", aq, base, dq, n);
    tdl_test_check_adds("attention adds dk", ak, base, dk, n);
    tdl_test_check_adds("attention adds dv", av, base, dv, n);
    memset(aq, 0, n * sizeof(float));
    memset(av, 0, n * sizeof(float));
    tdl_attention_backward(aq, NULL, NULL, c.r, c.q, c.k, c.v, c.att, scratch, B, C, N);
    tdl_test_allclose("attention dq alone", aq, dq, n, 0.0, 0.0);
    tdl_attention_backward(NULL, NULL, av, c.r, c.q, c.k, c.v, c.att, NULL, B, C, N);
    tdl_test_allclose("attention dv alone (no scratch)", av, dv, n, 0.0, 0.0);

    free(base), free(aq), free(ak), free(av), free(dq), free(dk), free(dv), free(scratch);
    free(c.out), free(c.att), free(c.q), free(c.k), free(c.v), free(c.r);
}

static void test_torch(void) {
    printf("-- attention vs PyTorch bmm/softmax\n");
    tdl_safetensors st;
    tdl_test_fixture(&st, "attention");
    const int B = 2, C = 8, N = 12;
    const size_t n = (size_t)B * C * N, na = (size_t)B * N * N;
    size_t n1;
    float *q = tdl_test_tensor(&st, "attention.q", &n1);
    float *k = tdl_test_tensor(&st, "attention.k", NULL);
    float *v = tdl_test_tensor(&st, "attention.v", NULL);
    float *r = tdl_test_tensor(&st, "attention.dout", NULL);
    float *want = tdl_test_tensor(&st, "attention.out", NULL);
    float *want_att = tdl_test_tensor(&st, "attention.att", NULL);
    float *want_dq = tdl_test_tensor(&st, "attention.dq", NULL);
    float *want_dk = tdl_test_tensor(&st, "attention.dk", NULL);
    float *want_dv = tdl_test_tensor(&st, "attention.dv", NULL);
    TDL_CHECK(n1 == n, "fixture shape %zu", n1);
    float *out = tdl_test_floats(n), *att = tdl_test_floats(na);
    float *dq = tdl_test_floats(n), *dk = tdl_test_floats(n), *dv = tdl_test_floats(n);
    float *scratch = tdl_test_floats(tdl_attention_scratch_floats(B, C, N, omp_get_max_threads()));
    tdl_attention_forward(out, att, q, k, v, B, C, N);
    tdl_test_allclose("torch attention att", att, want_att, na, PT_ATOL, PT_RTOL);
    tdl_test_allclose("torch attention out", out, want, n, PT_ATOL, PT_RTOL);
    tdl_attention_backward(dq, dk, dv, r, q, k, v, att, scratch, B, C, N);
    tdl_test_allclose("torch attention dq", dq, want_dq, n, PT_ATOL, PT_RTOL);
    tdl_test_allclose("torch attention dk", dk, want_dk, n, PT_ATOL, PT_RTOL);
    tdl_test_allclose("torch attention dv", dv, want_dv, n, PT_ATOL, PT_RTOL);
    free(q), free(k), free(v), free(r), free(want), free(want_att), free(want_dq), free(want_dk),
        free(want_dv);
    free(out), free(att), free(dq), free(dk), free(dv), free(scratch);
    tdl_safetensors_free(&st);
}

/* --------------------------------------------------- the attention block */
enum { P_GW, P_GB, P_QW, P_QB, P_KW, P_KB, P_VW, P_VB, P_PW, P_PB, NPARAM };
static const char *const param_names[NPARAM] = {
    "group_norm.weight", "group_norm.bias", "proj_q.weight", "proj_q.bias", "proj_k.weight",
    "proj_k.bias",       "proj_v.weight",   "proj_v.bias",   "proj.weight", "proj.bias"};

typedef struct {
    int B, C, G, N;
    float *x, *param[NPARAM], *r;                // x (B, C, N); params as named above
    float *mean, *rstd;                          // (B, G)
    float *h, *q, *k, *v, *o, *p, *out;          // (B, C, N)
    float *att;                                  // (B, N, N)
    float *work, *scratch;
} block;

static size_t param_size(const block *m, int i) {
    return (i == P_QW || i == P_KW || i == P_VW || i == P_PW) ? (size_t)m->C * m->C : (size_t)m->C;
}

static tdl_conv2d_shape block_conv(const block *m) {
    return (tdl_conv2d_shape){m->B, m->C, m->N, 1, m->C, 1, 1, 0};
}

/* out = x + proj(attention(q(h), k(h), v(h))), h = GroupNorm(x). */
static void block_forward(block *m) {
    const int B = m->B, C = m->C, N = m->N;
    const tdl_conv2d_shape s = block_conv(m);
    float **w = m->param;
    tdl_groupnorm_forward(m->h, m->mean, m->rstd, m->x, w[P_GW], w[P_GB], B, C, N, m->G, 1e-5f);
    tdl_conv2d_forward(m->q, m->h, w[P_QW], w[P_QB], &s, m->work);
    tdl_conv2d_forward(m->k, m->h, w[P_KW], w[P_KB], &s, m->work);
    tdl_conv2d_forward(m->v, m->h, w[P_VW], w[P_VB], &s, m->work);
    tdl_attention_forward(m->o, m->att, m->q, m->k, m->v, B, C, N);
    tdl_conv2d_forward(m->p, m->o, w[P_PW], w[P_PB], &s, m->work);
    const size_t n = (size_t)B * C * N;
    for (size_t i = 0; i < n; i++) m->out[i] = m->x[i] + m->p[i];
}

/* Adds into dx (B, C, N) and dparam[i] (zeroed by the caller). */
static void block_backward(block *m, float *dx, float **dparam, const float *dout) {
    const int B = m->B, C = m->C, N = m->N;
    const size_t n = (size_t)B * C * N;
    const tdl_conv2d_shape s = block_conv(m);
    float **w = m->param;
    float *d_o = tdl_test_floats(n), *dq = tdl_test_floats(n), *dk = tdl_test_floats(n),
          *dv = tdl_test_floats(n), *dh = tdl_test_floats(n);
    for (size_t i = 0; i < n; i++) dx[i] += dout[i]; // residual
    tdl_conv2d_backward(d_o, dparam[P_PW], dparam[P_PB], dout, m->o, w[P_PW], &s, m->work);
    tdl_attention_backward(dq, dk, dv, d_o, m->q, m->k, m->v, m->att, m->scratch, B, C, N);
    tdl_conv2d_backward(dh, dparam[P_QW], dparam[P_QB], dq, m->h, w[P_QW], &s, m->work);
    tdl_conv2d_backward(dh, dparam[P_KW], dparam[P_KB], dk, m->h, w[P_KW], &s, m->work);
    tdl_conv2d_backward(dh, dparam[P_VW], dparam[P_VB], dv, m->h, w[P_VW], &s, m->work);
    tdl_groupnorm_backward(dx, dparam[P_GW], dparam[P_GB], dh, m->x, w[P_GW], m->mean, m->rstd, B,
                           C, N, m->G);
    free(d_o), free(dq), free(dk), free(dv), free(dh);
}

static double block_loss(void *p) {
    block *m = (block *)p;
    block_forward(m);
    return tdl_test_dot(m->out, m->r, (size_t)m->B * m->C * m->N);
}

static void test_block(void) {
    printf("-- attention block vs the PyTorch module\n");
    tdl_safetensors st;
    tdl_test_fixture(&st, "attnblock");
    block m = {0};
    m.B = 2, m.C = 8, m.G = 4, m.N = 16; // H = W = 4
    const size_t n = (size_t)m.B * m.C * m.N;
    char key[96], what[128];
    size_t got;
    m.x = tdl_test_tensor(&st, "attnblock.inp", &got);
    TDL_CHECK(got == n, "fixture inp has %zu elements", got);
    for (int i = 0; i < NPARAM; i++) {
        snprintf(key, sizeof key, "attnblock.%s", param_names[i]);
        m.param[i] = tdl_test_tensor(&st, key, &got);
        TDL_CHECK(got == param_size(&m, i), "fixture %s has %zu elements", key, got);
    }
    m.r = tdl_test_tensor(&st, "attnblock.dout", NULL);
    m.mean = tdl_test_floats((size_t)m.B * m.G), m.rstd = tdl_test_floats((size_t)m.B * m.G);
    m.h = tdl_test_floats(n), m.q = tdl_test_floats(n), m.k = tdl_test_floats(n);
    m.v = tdl_test_floats(n), m.o = tdl_test_floats(n), m.p = tdl_test_floats(n);
    m.out = tdl_test_floats(n), m.att = tdl_test_floats((size_t)m.B * m.N * m.N);
    const tdl_conv2d_shape s = block_conv(&m);
    m.work = tdl_test_floats(tdl_conv2d_work_floats(&s, omp_get_max_threads()));
    m.scratch = tdl_test_floats(tdl_attention_scratch_floats(m.B, m.C, m.N, omp_get_max_threads()));

    float *dx = tdl_test_floats(n), *dparam[NPARAM];
    for (int i = 0; i < NPARAM; i++) dparam[i] = tdl_test_floats(param_size(&m, i));
    block_forward(&m);
    float *want = tdl_test_tensor(&st, "attnblock.out", NULL);
    tdl_test_allclose("torch attnblock out", m.out, want, n, PT_ATOL, PT_RTOL);
    free(want);
    block_backward(&m, dx, dparam, m.r);
    want = tdl_test_tensor(&st, "attnblock.dinp", NULL);
    tdl_test_allclose("torch attnblock dinp", dx, want, n, PT_ATOL, PT_RTOL);
    free(want);
    for (int i = 0; i < NPARAM; i++) {
        snprintf(key, sizeof key, "attnblock.d%s", param_names[i]);
        snprintf(what, sizeof what, "torch attnblock d%s", param_names[i]);
        want = tdl_test_tensor(&st, key, NULL);
        tdl_test_allclose(what, dparam[i], want, param_size(&m, i), PT_ATOL, PT_RTOL);
        free(want);
    }

    /* The composition by central differences too. L sums 256 outputs of the
     * whole block, so its float rounding / 2h is ~1.5e-4 (the exactly-zero
     * gradient of proj_k.bias shows numeric 1.5e-4): looser atol here. */
    printf("-- attention block FD\n");
    tdl_test_gradcheck("attnblock inp", block_loss, &m, m.x, dx, n, FD_H, BLOCK_FD_ATOL, FD_RTOL,
                       NULL, 0);
    for (int i = 0; i < NPARAM; i++) {
        snprintf(what, sizeof what, "attnblock %s", param_names[i]);
        tdl_test_gradcheck(what, block_loss, &m, m.param[i], dparam[i], param_size(&m, i), FD_H,
                           BLOCK_FD_ATOL, FD_RTOL, NULL, 0);
    }

    free(dx);
    for (int i = 0; i < NPARAM; i++) free(dparam[i]), free(m.param[i]);
    free(m.x), free(m.r), free(m.mean), free(m.rstd), free(m.h), free(m.q), free(m.k), free(m.v);
    free(m.o), free(m.p), free(m.out), free(m.att), free(m.work), free(m.scratch);
    tdl_safetensors_free(&st);
}

int main(void) {
    test_fd(2, 4, 6);
    test_fd(1, 3, 5);
    test_fd(3, 2, 1); /* one position: att = 1, out = v */
    test_torch();
    test_block();
    return tdl_test_done("test_attention");
}
