/* test_conv2d.c: conv2d by central differences (K 1/3/5, stride 1/2,
 * padding 0/1/2, non-square images), against torch.nn.Conv2d
 * (tools/fixturegen/image.py: fixtures conv2d_k3s1p1, conv2d_k3s2p1 (the
 * UNet's 7 -> 4 downsample), conv2d_k3s1p0, conv2d_k1), and for independence
 * of the thread count. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/nn.h"
#include "tdl_test.h"

/* Convolution is linear in inp and in weight, so central differences have no
 * truncation error: only float rounding of L (~1e-6 for |L| ~ 10) / 2h with
 * h = 1e-2, i.e. ~1e-4 at worst. A wrong index or a missing tap changes a
 * gradient by O(0.1..1). */
#define FD_H 1e-2
#define FD_ATOL 5e-4
#define FD_RTOL 1e-3
/* PyTorch parity: sums of <= 27 float products of order 1. */
#define PT_ATOL 1e-5
#define PT_RTOL 1e-4

typedef struct {
    tdl_conv2d_shape s;
    float *out, *inp, *weight, *bias, *r, *work;
    size_t nout;
} conv_ctx;

static double conv_loss(void *p) {
    conv_ctx *c = (conv_ctx *)p;
    tdl_conv2d_forward(c->out, c->inp, c->weight, c->bias, &c->s, c->work);
    return tdl_test_dot(c->out, c->r, c->nout);
}

static void test_fd(int B, int C, int H, int W, int OC, int K, int S, int P) {
    conv_ctx c = {0};
    c.s = (tdl_conv2d_shape){B, C, H, W, OC, K, S, P};
    const int OH = tdl_conv2d_out_h(&c.s), OW = tdl_conv2d_out_w(&c.s);
    printf("-- conv2d FD B=%d C=%d H=%d W=%d OC=%d K=%d S=%d P=%d -> %dx%d\n", B, C, H, W, OC, K,
           S, P, OH, OW);
    const size_t nin = (size_t)B * C * H * W, nw = (size_t)OC * C * K * K;
    c.nout = (size_t)B * OC * OH * OW;
    c.out = tdl_test_floats(c.nout);
    c.inp = tdl_test_uniform(nin, -1.0f, 1.0f, 11);
    c.weight = tdl_test_uniform(nw, -1.0f, 1.0f, 12);
    c.bias = tdl_test_uniform((size_t)OC, -1.0f, 1.0f, 13);
    c.r = tdl_test_uniform(c.nout, -1.0f, 1.0f, 14);
    c.work = tdl_test_floats(tdl_conv2d_work_floats(&c.s, omp_get_max_threads()));
    float *dinp = tdl_test_floats(nin), *dw = tdl_test_floats(nw), *db = tdl_test_floats(OC);
    conv_loss(&c);
    tdl_conv2d_backward(dinp, dw, db, c.r, c.inp, c.weight, &c.s, c.work);
    tdl_test_gradcheck("conv2d inp", conv_loss, &c, c.inp, dinp, nin, FD_H, FD_ATOL, FD_RTOL,
                       NULL, 300);
    tdl_test_gradcheck("conv2d weight", conv_loss, &c, c.weight, dw, nw, FD_H, FD_ATOL, FD_RTOL,
                       NULL, 300);
    tdl_test_gradcheck("conv2d bias", conv_loss, &c, c.bias, db, (size_t)OC, FD_H, FD_ATOL,
                       FD_RTOL, NULL, 0);

    /* Backward adds into non-zero gradients; NULL gradients are skipped. */
    float *base = tdl_test_uniform(nin + nw + OC, -1.0f, 1.0f, 15);
    float *a_inp = tdl_test_floats(nin), *a_w = tdl_test_floats(nw), *a_b = tdl_test_floats(OC);
    memcpy(a_inp, base, nin * sizeof(float));
    memcpy(a_w, base + nin, nw * sizeof(float));
    memcpy(a_b, base + nin + nw, (size_t)OC * sizeof(float));
    tdl_conv2d_backward(a_inp, a_w, a_b, c.r, c.inp, c.weight, &c.s, c.work);
    tdl_test_check_adds("conv2d adds dinp", a_inp, base, dinp, nin);
    tdl_test_check_adds("conv2d adds dweight", a_w, base + nin, dw, nw);
    tdl_test_check_adds("conv2d adds dbias", a_b, base + nin + nw, db, (size_t)OC);
    float *only = tdl_test_floats(nin);
    tdl_conv2d_backward(only, NULL, NULL, c.r, c.inp, c.weight, &c.s, c.work);
    tdl_test_allclose("conv2d dinp alone", only, dinp, nin, 0.0, 0.0);
    float *only_w = tdl_test_floats(nw);
    tdl_conv2d_backward(NULL, only_w, NULL, c.r, c.inp, c.weight, &c.s, c.work);
    tdl_test_allclose("conv2d dweight alone", only_w, dw, nw, 0.0, 0.0);
    /* bias NULL in the forward: out without the bias. */
    tdl_conv2d_forward(c.out, c.inp, c.weight, NULL, &c.s, c.work);
    float *with = tdl_test_floats(c.nout);
    tdl_conv2d_forward(with, c.inp, c.weight, c.bias, &c.s, c.work);
    for (size_t i = 0; i < c.nout; i++) c.out[i] += c.bias[(i / ((size_t)OH * OW)) % OC];
    tdl_test_allclose("conv2d bias NULL", c.out, with, c.nout, 1e-6, 1e-6);

    free(with), free(only), free(only_w), free(base), free(a_inp), free(a_w), free(a_b);
    free(dinp), free(dw), free(db);
    free(c.out), free(c.inp), free(c.weight), free(c.bias), free(c.r), free(c.work);
}

static void test_torch(const char *name, int B, int C, int H, int W, int OC, int K, int S, int P) {
    printf("-- conv2d vs torch.nn.Conv2d: %s\n", name);
    tdl_safetensors st;
    tdl_test_fixture(&st, name);
    tdl_conv2d_shape s = {B, C, H, W, OC, K, S, P};
    const size_t nin = (size_t)B * C * H * W, nw = (size_t)OC * C * K * K;
    const size_t nout = (size_t)B * OC * tdl_conv2d_out_h(&s) * tdl_conv2d_out_w(&s);
    size_t n1, n2, n3;
    float *inp = tdl_test_tensor(&st, "conv2d.inp", &n1);
    float *w = tdl_test_tensor(&st, "conv2d.weight", &n2);
    float *b = tdl_test_tensor(&st, "conv2d.bias", NULL);
    float *r = tdl_test_tensor(&st, "conv2d.dout", &n3);
    float *want = tdl_test_tensor(&st, "conv2d.out", NULL);
    float *want_dinp = tdl_test_tensor(&st, "conv2d.dinp", NULL);
    float *want_dw = tdl_test_tensor(&st, "conv2d.dweight", NULL);
    float *want_db = tdl_test_tensor(&st, "conv2d.dbias", NULL);
    TDL_CHECK(n1 == nin && n2 == nw && n3 == nout, "fixture %s shapes %zu %zu %zu", name, n1, n2,
              n3);
    float *work = tdl_test_floats(tdl_conv2d_work_floats(&s, omp_get_max_threads()));
    float *out = tdl_test_floats(nout), *dinp = tdl_test_floats(nin), *dw = tdl_test_floats(nw),
          *db = tdl_test_floats(OC);
    char what[128];
    tdl_conv2d_forward(out, inp, w, b, &s, work);
    snprintf(what, sizeof what, "torch %s out", name);
    tdl_test_allclose(what, out, want, nout, PT_ATOL, PT_RTOL);
    tdl_conv2d_backward(dinp, dw, db, r, inp, w, &s, work);
    snprintf(what, sizeof what, "torch %s dinp", name);
    tdl_test_allclose(what, dinp, want_dinp, nin, PT_ATOL, PT_RTOL);
    snprintf(what, sizeof what, "torch %s dweight", name);
    tdl_test_allclose(what, dw, want_dw, nw, PT_ATOL, PT_RTOL);
    snprintf(what, sizeof what, "torch %s dbias", name);
    tdl_test_allclose(what, db, want_db, OC, PT_ATOL, PT_RTOL);
    free(inp), free(w), free(b), free(r), free(want), free(want_dinp), free(want_dw), free(want_db);
    free(work), free(out), free(dinp), free(dw), free(db);
    tdl_safetensors_free(&st);
}

/* 1 thread vs 2 threads: forward, dinp and dbias bit-identical; dweight
 * within 1e-6 relative to its largest element (summation order only). */
static void test_threads(int B, int C, int H, int W, int OC, int K, int S, int P) {
    printf("-- conv2d threads 1 vs 2: B=%d C=%d %dx%d OC=%d K=%d S=%d P=%d\n", B, C, H, W, OC, K,
           S, P);
    tdl_conv2d_shape s = {B, C, H, W, OC, K, S, P};
    const size_t nin = (size_t)B * C * H * W, nw = (size_t)OC * C * K * K;
    const size_t nout = (size_t)B * OC * tdl_conv2d_out_h(&s) * tdl_conv2d_out_w(&s);
    float *inp = tdl_test_uniform(nin, -1.0f, 1.0f, 21);
    float *w = tdl_test_uniform(nw, -0.2f, 0.2f, 22);
    float *b = tdl_test_uniform(OC, -1.0f, 1.0f, 23);
    float *r = tdl_test_uniform(nout, -1.0f, 1.0f, 24);
    float *work = tdl_test_floats(tdl_conv2d_work_floats(&s, 2));
    float *out[2], *dinp[2], *dw[2], *db[2];
    const int saved = omp_get_max_threads();
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(t + 1);
        out[t] = tdl_test_floats(nout), dinp[t] = tdl_test_floats(nin);
        dw[t] = tdl_test_floats(nw), db[t] = tdl_test_floats(OC);
        tdl_conv2d_forward(out[t], inp, w, b, &s, work);
        tdl_conv2d_backward(dinp[t], dw[t], db[t], r, inp, w, &s, work);
    }
    omp_set_num_threads(saved);
    TDL_CHECK(memcmp(out[0], out[1], nout * sizeof(float)) == 0, "forward differs with threads");
    TDL_CHECK(memcmp(dinp[0], dinp[1], nin * sizeof(float)) == 0, "dinp differs with threads");
    TDL_CHECK(memcmp(db[0], db[1], OC * sizeof(float)) == 0, "dbias differs with threads");
    double mx = 0.0;
    for (size_t i = 0; i < nw; i++) mx = fabs(dw[0][i]) > mx ? fabs(dw[0][i]) : mx;
    tdl_test_allclose("conv2d dweight 2 threads vs 1", dw[1], dw[0], nw, 1e-6 * mx, 1e-6);
    for (int t = 0; t < 2; t++) free(out[t]), free(dinp[t]), free(dw[t]), free(db[t]);
    free(inp), free(w), free(b), free(r), free(work);
}

int main(void) {
    test_fd(2, 2, 7, 5, 3, 3, 1, 1); /* UNet's 3x3 "same" conv, non-square */
    test_fd(2, 2, 7, 5, 3, 3, 2, 1); /* 3x3 stride 2 downsample, odd sizes */
    test_fd(2, 2, 6, 7, 3, 3, 2, 0);
    test_fd(1, 3, 5, 4, 2, 3, 1, 0);
    test_fd(2, 3, 4, 5, 2, 1, 1, 0); /* 1x1: no im2col */
    test_fd(2, 2, 5, 6, 3, 1, 2, 0); /* 1x1 stride 2: im2col path */
    test_fd(3, 2, 6, 5, 2, 5, 1, 2); /* general odd K */
    test_fd(1, 1, 2, 3, 2, 3, 2, 2); /* padding wider than the image */
    test_torch("conv2d_k3s1p1", 2, 3, 7, 5, 4, 3, 1, 1);
    test_torch("conv2d_k3s2p1", 2, 3, 7, 7, 4, 3, 2, 1);
    test_torch("conv2d_k3s1p0", 2, 2, 6, 5, 3, 3, 1, 0);
    test_torch("conv2d_k1", 2, 5, 4, 3, 3, 1, 1, 0);
    test_threads(6, 16, 14, 14, 24, 3, 1, 1);
    test_threads(5, 16, 9, 9, 8, 3, 2, 1);
    test_threads(6, 32, 7, 7, 16, 1, 1, 0);
    return tdl_test_done("test_conv2d");
}
