/* test_conv2d_winograd.c: the Winograd F(2x2, 3x3) and F(4x4, 3x3) paths of
 * conv2d (src/nn/conv2d_winograd.c) against the im2col path on random data for many
 * shapes (B 1..5, C and OC 1..70, H and W 1..29, odd and even, 1 and 2; whole
 * image blocks, row-range blocks and the team mode), with 1 and 2 threads;
 * by central differences; against torch.nn.Conv2d (fixture conv2d_k3s1p1);
 * the direct sum for one output channel (conv2d_oc1.c) against im2col and by
 * central differences;
 * and the dispatch of tdl_conv2d_* (TDL_CONV_IM2COL). */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../src/nn/conv2d_winograd.h"
#include "tdl/nn.h"
#include "tdl_test.h"

/* Winograd vs the direct sum: F(2x2, 3x3) rounds differently (transforms
 * with coefficients 1 and 1/2, products of transformed values), ~1e-6 of the
 * largest element here; a wrong coefficient or index is off by O(0.1) of it. */
#define WINO_REL 1e-5
/* F(4x4, 3x3) has coefficients up to 8 and 1/24: ~5e-6 measured here. */
#define WINO4_REL 3e-5
/* Central differences as in test_conv2d.c (the convolution is linear, so a
 * step has no truncation error, only the rounding of L over 2h). F(4x4, 3x3)
 * rounds ~10x more than the direct sum: with h = 1e-2 that noise alone is
 * ~5e-4, so its check steps by 0.25 instead. */
#define FD_H 1e-2
#define FD_H4 0.25
#define FD_ATOL 5e-4
#define FD_RTOL 1e-3
#define PT_ATOL 1e-5
#define PT_RTOL 1e-4

static double max_abs(const float *x, size_t n) {
    double m = 0.0;
    for (size_t i = 0; i < n; i++) m = fabs(x[i]) > m ? fabs(x[i]) : m;
    return m;
}

/* One Winograd variant. */
typedef struct {
    const char *name;
    size_t (*work)(const tdl_conv2d_shape *, int);
    void (*fwd)(float *, const float *, const float *, const float *, const tdl_conv2d_shape *,
                float *);
    void (*bwd)(float *, float *, const float *, const float *, const float *,
                const tdl_conv2d_shape *, float *);
    double rel; /* tolerance against im2col, relative to the largest element */
} wino_path;

static const wino_path F2 = {"F(2x2,3x3)", conv2d_wino_work_floats, conv2d_wino_forward,
                             conv2d_wino_backward, WINO_REL};
static const wino_path F4 = {"F(4x4,3x3)", conv2d_wino4_work_floats, conv2d_wino4_forward,
                             conv2d_wino4_backward, WINO4_REL};
/* The direct sum for one output channel (conv2d_oc1.c): only the summation
 * order differs from im2col. */
static const wino_path OC1 = {"direct OC=1", conv2d_oc1_work_floats, conv2d_oc1_forward,
                              conv2d_oc1_backward, WINO_REL};
static const wino_path *wp = &F2; /* the variant under test */

static size_t work_for(const tdl_conv2d_shape *s) {
    size_t c = conv2d_im2col_work_floats(s, 2);
    if (!conv2d_wino_supports(s)) return c;
    const size_t w[4] = {F2.work(s, 1), F2.work(s, 2), F4.work(s, 1), F4.work(s, 2)};
    for (int k = 0; k < 4; k++) c = w[k] > c ? w[k] : c;
    if (conv2d_oc1_supports(s)) {
        const size_t o[2] = {OC1.work(s, 1), OC1.work(s, 2)};
        for (int k = 0; k < 2; k++) c = o[k] > c ? o[k] : c;
    }
    return c;
}

/* Winograd vs im2col: forward (with bias), dinp and dweight (added into
 * zeros), each within wp->rel of the largest reference element; with 1 and
 * 2 threads, forward and dinp bit-identical between the two. */
static void test_vs_im2col(int B, int C, int H, int W, int OC, unsigned seed) {
    const tdl_conv2d_shape s = {B, C, H, W, OC, 3, 1, 1};
    const size_t nin = (size_t)B * C * H * W, nw = (size_t)OC * C * 9, nout = (size_t)B * OC * H * W;
    float *inp = tdl_test_uniform(nin, -1.0f, 1.0f, seed);
    float *w = tdl_test_uniform(nw, -1.0f, 1.0f, seed + 1);
    float *bias = tdl_test_uniform((size_t)OC, -1.0f, 1.0f, seed + 2);
    float *dout = tdl_test_uniform(nout, -1.0f, 1.0f, seed + 3);
    float *work = tdl_test_floats(work_for(&s));
    float *ref = tdl_test_floats(nout), *ref_dinp = tdl_test_floats(nin), *ref_dw = tdl_test_floats(nw);
    conv2d_im2col_forward(ref, inp, w, bias, &s, work);
    conv2d_im2col_backward(ref_dinp, ref_dw, dout, inp, w, &s, work);
    const double mo = max_abs(ref, nout), mi = max_abs(ref_dinp, nin), mw = max_abs(ref_dw, nw);
    float *out[2], *dinp[2], *dw[2];
    const int saved = omp_get_max_threads();
    char what[160];
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(t + 1);
        out[t] = tdl_test_floats(nout), dinp[t] = tdl_test_floats(nin), dw[t] = tdl_test_floats(nw);
        wp->fwd(out[t], inp, w, bias, &s, work);
        wp->bwd(dinp[t], dw[t], dout, inp, w, &s, work);
        snprintf(what, sizeof what, "%s B=%d C=%d %dx%d OC=%d, %d thread(s): forward", wp->name,
                 B, C, H, W, OC, t + 1);
        tdl_test_allclose(what, out[t], ref, nout, wp->rel * mo, 0.0);
        snprintf(what, sizeof what, "%s B=%d C=%d %dx%d OC=%d, %d thread(s): dinp", wp->name, B,
                 C, H, W, OC, t + 1);
        tdl_test_allclose(what, dinp[t], ref_dinp, nin, wp->rel * mi, 0.0);
        snprintf(what, sizeof what, "%s B=%d C=%d %dx%d OC=%d, %d thread(s): dweight", wp->name,
                 B, C, H, W, OC, t + 1);
        tdl_test_allclose(what, dw[t], ref_dw, nw, wp->rel * mw, 0.0);
    }
    omp_set_num_threads(saved);
    TDL_CHECK(memcmp(out[0], out[1], nout * sizeof(float)) == 0,
              "B=%d C=%d %dx%d OC=%d: forward differs between 1 and 2 threads", B, C, H, W, OC);
    TDL_CHECK(memcmp(dinp[0], dinp[1], nin * sizeof(float)) == 0,
              "B=%d C=%d %dx%d OC=%d: dinp differs between 1 and 2 threads", B, C, H, W, OC);
    for (int t = 0; t < 2; t++) free(out[t]), free(dinp[t]), free(dw[t]);
    free(inp), free(w), free(bias), free(dout), free(work), free(ref), free(ref_dinp), free(ref_dw);
}

/* Backward adds into non-zero gradients; dinp alone and dweight alone give
 * the same numbers as both at once. */
static void test_adds(int B, int C, int H, int W, int OC) {
    printf("-- %s backward adds: B=%d C=%d %dx%d OC=%d\n", wp->name, B, C, H, W, OC);
    const tdl_conv2d_shape s = {B, C, H, W, OC, 3, 1, 1};
    const size_t nin = (size_t)B * C * H * W, nw = (size_t)OC * C * 9, nout = (size_t)B * OC * H * W;
    float *inp = tdl_test_uniform(nin, -1.0f, 1.0f, 41);
    float *w = tdl_test_uniform(nw, -1.0f, 1.0f, 42);
    float *dout = tdl_test_uniform(nout, -1.0f, 1.0f, 43);
    float *base = tdl_test_uniform(nin + nw, -1.0f, 1.0f, 44);
    float *work = tdl_test_floats(work_for(&s));
    float *dinp = tdl_test_floats(nin), *dw = tdl_test_floats(nw);
    wp->bwd(dinp, dw, dout, inp, w, &s, work);
    float *a_inp = tdl_test_floats(nin), *a_w = tdl_test_floats(nw);
    memcpy(a_inp, base, nin * sizeof(float));
    memcpy(a_w, base + nin, nw * sizeof(float));
    wp->bwd(a_inp, a_w, dout, inp, w, &s, work);
    tdl_test_check_adds("winograd adds dinp", a_inp, base, dinp, nin);
    tdl_test_check_adds("winograd adds dweight", a_w, base + nin, dw, nw);
    float *only = tdl_test_floats(nin), *only_w = tdl_test_floats(nw);
    wp->bwd(only, NULL, dout, inp, w, &s, work);
    tdl_test_allclose("winograd dinp alone", only, dinp, nin, 0.0, 0.0);
    wp->bwd(NULL, only_w, dout, inp, w, &s, work);
    tdl_test_allclose("winograd dweight alone", only_w, dw, nw, 0.0, 0.0);
    free(inp), free(w), free(dout), free(base), free(work), free(dinp), free(dw), free(a_inp);
    free(a_w), free(only), free(only_w);
}

typedef struct {
    tdl_conv2d_shape s;
    float *out, *inp, *weight, *bias, *r, *work;
    size_t nout;
} fd_ctx;

static double wino_loss(void *p) {
    fd_ctx *c = (fd_ctx *)p;
    wp->fwd(c->out, c->inp, c->weight, c->bias, &c->s, c->work);
    return tdl_test_dot(c->out, c->r, c->nout);
}

static void test_fd(int B, int C, int H, int W, int OC) {
    printf("-- %s FD: B=%d C=%d %dx%d OC=%d\n", wp->name, B, C, H, W, OC);
    fd_ctx c = {0};
    c.s = (tdl_conv2d_shape){B, C, H, W, OC, 3, 1, 1};
    const size_t nin = (size_t)B * C * H * W, nw = (size_t)OC * C * 9;
    c.nout = (size_t)B * OC * H * W;
    c.out = tdl_test_floats(c.nout);
    c.inp = tdl_test_uniform(nin, -1.0f, 1.0f, 51);
    c.weight = tdl_test_uniform(nw, -1.0f, 1.0f, 52);
    c.bias = tdl_test_uniform((size_t)OC, -1.0f, 1.0f, 53);
    c.r = tdl_test_uniform(c.nout, -1.0f, 1.0f, 54);
    c.work = tdl_test_floats(work_for(&c.s));
    float *dinp = tdl_test_floats(nin), *dw = tdl_test_floats(nw), *db = tdl_test_floats(OC);
    wp->bwd(dinp, dw, c.r, c.inp, c.weight, &c.s, c.work);
    tdl_conv2d_backward(NULL, NULL, db, c.r, c.inp, c.weight, &c.s, c.work);
    const double h = wp == &F4 ? FD_H4 : FD_H;
    tdl_test_gradcheck("winograd inp", wino_loss, &c, c.inp, dinp, nin, h, FD_ATOL, FD_RTOL, NULL,
                       300);
    tdl_test_gradcheck("winograd weight", wino_loss, &c, c.weight, dw, nw, h, FD_ATOL, FD_RTOL,
                       NULL, 300);
    tdl_test_gradcheck("winograd bias", wino_loss, &c, c.bias, db, (size_t)OC, h, FD_ATOL, FD_RTOL,
                       NULL, 0);
    free(dinp), free(dw), free(db);
    free(c.out), free(c.inp), free(c.weight), free(c.bias), free(c.r), free(c.work);
}

/* The PyTorch fixture of test_conv2d.c (C = 3, which tdl_conv2d_* runs by
 * im2col) through the Winograd path. */
static void test_torch(void) {
    printf("-- %s vs torch.nn.Conv2d: conv2d_k3s1p1\n", wp->name);
    tdl_safetensors st;
    tdl_test_fixture(&st, "conv2d_k3s1p1");
    const tdl_conv2d_shape s = {2, 3, 7, 5, 4, 3, 1, 1};
    const size_t nin = 2 * 3 * 7 * 5, nw = 4 * 3 * 9, nout = 2 * 4 * 7 * 5;
    size_t n1, n2, n3;
    float *inp = tdl_test_tensor(&st, "conv2d.inp", &n1);
    float *w = tdl_test_tensor(&st, "conv2d.weight", &n2);
    float *b = tdl_test_tensor(&st, "conv2d.bias", NULL);
    float *r = tdl_test_tensor(&st, "conv2d.dout", &n3);
    float *want = tdl_test_tensor(&st, "conv2d.out", NULL);
    float *want_dinp = tdl_test_tensor(&st, "conv2d.dinp", NULL);
    float *want_dw = tdl_test_tensor(&st, "conv2d.dweight", NULL);
    TDL_CHECK(n1 == nin && n2 == nw && n3 == nout, "fixture shapes %zu %zu %zu", n1, n2, n3);
    float *work = tdl_test_floats(work_for(&s));
    float *out = tdl_test_floats(nout), *dinp = tdl_test_floats(nin), *dw = tdl_test_floats(nw);
    wp->fwd(out, inp, w, b, &s, work);
    wp->bwd(dinp, dw, r, inp, w, &s, work);
    tdl_test_allclose("winograd torch out", out, want, nout, PT_ATOL, PT_RTOL);
    tdl_test_allclose("winograd torch dinp", dinp, want_dinp, nin, PT_ATOL, PT_RTOL);
    tdl_test_allclose("winograd torch dweight", dw, want_dw, nw, PT_ATOL, PT_RTOL);
    free(inp), free(w), free(b), free(r), free(want), free(want_dinp), free(want_dw);
    free(work), free(out), free(dinp), free(dw);
    tdl_safetensors_free(&st);
}

/* tdl_conv2d_* runs 3x3 stride-1 "same" convolutions with one output channel
 * by the direct sum, those with at least 4 input channels by Winograd (F(4x4, 3x3) on images of at least 24x24 with
 * C + OC >= 96 and OC >= 32, else F(2x2, 3x3)) unless TDL_CONV_IM2COL is set (and
 * not 0), everything else by im2col; dbias equals the sum of dout in double. */
static void test_dispatch(void) {
    const char *e = getenv("TDL_CONV_IM2COL");
    const int forced = e && e[0] && strcmp(e, "0") != 0;
    printf("-- dispatch (TDL_CONV_IM2COL %s)\n", forced ? "set" : "unset");
    enum { NS = 7 };
    const tdl_conv2d_shape shapes[NS] = {
        {2, 8, 9, 6, 5, 3, 1, 1},    {2, 3, 9, 6, 5, 3, 1, 1},   {2, 8, 9, 6, 5, 3, 2, 1},
        {1, 96, 24, 25, 96, 3, 1, 1}, {1, 64, 24, 24, 32, 3, 1, 1}, {1, 32, 24, 24, 32, 3, 1, 1},
        {1, 96, 24, 24, 1, 3, 1, 1}};
    const int tile[NS] = {2, 0, 0, 4, 4, 2, 1}; /* 1: direct OC = 1 */
    for (int k = 0; k < NS; k++) {
        const tdl_conv2d_shape s = shapes[k];
        const int OH = tdl_conv2d_out_h(&s), OW = tdl_conv2d_out_w(&s);
        const size_t nin = (size_t)s.B * s.C * s.H * s.W, nout = (size_t)s.B * s.OC * OH * OW;
        float *inp = tdl_test_uniform(nin, -1.0f, 1.0f, 61);
        float *w = tdl_test_uniform((size_t)s.OC * s.C * 9, -1.0f, 1.0f, 62);
        float *dout = tdl_test_uniform(nout, -1.0f, 1.0f, 63);
        float *work = tdl_test_floats(tdl_conv2d_work_floats(&s, omp_get_max_threads()) +
                                      work_for(&s));
        float *got = tdl_test_floats(nout), *want = tdl_test_floats(nout);
        const int m = forced ? 0 : tile[k];
        tdl_conv2d_forward(got, inp, w, NULL, &s, work);
        if (m == 1) OC1.fwd(want, inp, w, NULL, &s, work);
        else if (m == 2) F2.fwd(want, inp, w, NULL, &s, work);
        else if (m == 4) F4.fwd(want, inp, w, NULL, &s, work);
        else conv2d_im2col_forward(want, inp, w, NULL, &s, work);
        TDL_CHECK(memcmp(got, want, nout * sizeof(float)) == 0, "shape %d: dispatch to %s", k,
                  m == 1 ? OC1.name : m == 2 ? F2.name : m == 4 ? F4.name : "im2col");
        float *db = tdl_test_floats((size_t)s.OC), *want_db = tdl_test_floats((size_t)s.OC);
        tdl_conv2d_backward(NULL, NULL, db, dout, inp, w, &s, work);
        for (int oc = 0; oc < s.OC; oc++) {
            double acc = 0.0;
            for (int b = 0; b < s.B; b++)
                for (int q = 0; q < OH * OW; q++) acc += dout[((size_t)b * s.OC + oc) * OH * OW + q];
            want_db[oc] = (float)acc;
        }
        tdl_test_allclose("dbias", db, want_db, (size_t)s.OC, 1e-5, 1e-5);
        free(inp), free(w), free(dout), free(work), free(got), free(want), free(db), free(want_db);
    }
}

int main(void) {
    /* edge shapes: 1x1, 1xW, 2x2 images, one channel, blocks of whole images
     * (several images each), row-range blocks (C + OC = 140 at 29x27: 7 tile
     * rows per block), and the team mode (one block, two threads) */
    static const int fixed[][5] = {
        {1, 1, 1, 1, 1},   {2, 3, 1, 5, 4},    {1, 4, 2, 1, 3},   {3, 5, 2, 2, 6},
        {2, 1, 5, 4, 70},  {1, 70, 3, 3, 1},   {5, 8, 29, 29, 8}, {2, 70, 29, 27, 70},
        {1, 64, 28, 28, 64}, {4, 16, 7, 7, 16}, {5, 64, 14, 14, 64},
    };
    for (int v = 0; v < 2; v++) {
        wp = v == 0 ? &F2 : &F4;
        unsigned seed = 100;
        for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++, seed += 4)
            test_vs_im2col(fixed[i][0], fixed[i][1], fixed[i][2], fixed[i][3], fixed[i][4], seed);
        /* random shapes from a fixed LCG */
        unsigned long x = 12345;
        for (int i = 0; i < 24; i++, seed += 4) {
            int d[5];
            const int hi[5] = {5, 70, 29, 29, 70};
            for (int k = 0; k < 5; k++) {
                x = x * 6364136223846793005UL + 1442695040888963407UL;
                d[k] = 1 + (int)((x >> 33) % (unsigned long)hi[k]);
            }
            test_vs_im2col(d[0], d[1], d[2], d[3], d[4], seed);
        }
        test_adds(2, 70, 29, 27, 70);
        test_adds(3, 5, 6, 7, 4);
        test_fd(2, 4, 7, 5, 5);
        test_fd(1, 3, 9, 12, 2);
        test_fd(2, 6, 13, 11, 5);
        test_torch();
    }
    /* the direct sum for one output channel: edge shapes, the tail (32 -> 1
     * at 28x28), shapes whose flat grid is not a multiple of 16 floats,
     * several images per thread and fewer images than threads */
    wp = &OC1;
    {
        static const int oc1[][4] = {{1, 1, 1, 1}, {2, 3, 1, 5}, {1, 4, 2, 1}, {3, 5, 2, 2},
                                     {5, 32, 28, 28}, {4, 7, 9, 13}, {1, 70, 29, 27},
                                     {6, 2, 5, 3}, {3, 1, 6, 6}};
        unsigned seed = 500;
        for (size_t i = 0; i < sizeof oc1 / sizeof *oc1; i++, seed += 4)
            test_vs_im2col(oc1[i][0], oc1[i][1], oc1[i][2], oc1[i][3], 1, seed);
        test_adds(3, 5, 6, 7, 1);
        test_adds(1, 8, 9, 4, 1);
        test_fd(2, 4, 7, 5, 1);
        test_fd(3, 3, 9, 12, 1);
    }
    test_dispatch();
    return tdl_test_done("test_conv2d_winograd");
}
