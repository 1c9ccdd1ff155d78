/* test_linear.c: tdl_linear_* by finite differences and against torch.nn.Linear
 * (fixture linear, tools/fixturegen/seq.py). */
#include <stdlib.h>
#include <string.h>

#include "tdl/nn.h"
#include "tdl_test.h"

/* FD: the loss is linear in each argument, so central differences are exact up
 * to float rounding of the forward (~1e-6 of a loss of order 1, / 2h = 2e-2);
 * a wrong sign or missing term is off by O(0.1..1). */
#define FD_H 1e-2
#define FD_ATOL 1e-4
#define FD_RTOL 1e-3
/* PyTorch parity: the same sgemm-sized sums in float32. */
#define PT_ATOL 1e-6
#define PT_RTOL 1e-5

typedef struct {
    float *out, *inp, *w, *b, *r;
    int N, C, OC;
} lin_ctx;

static double lin_loss(void *p) {
    lin_ctx *c = p;
    tdl_linear_forward(c->out, c->inp, c->w, c->b, c->N, c->C, c->OC);
    return tdl_test_dot(c->out, c->r, (size_t)c->N * c->OC);
}

static void test_fd(void) {
    const int N = 4, C = 5, OC = 3;
    lin_ctx c = {tdl_test_floats((size_t)N * OC), tdl_test_uniform((size_t)N * C, -1, 1, 1),
                 tdl_test_uniform((size_t)OC * C, -1, 1, 2), tdl_test_uniform(OC, -1, 1, 3),
                 tdl_test_uniform((size_t)N * OC, -1, 1, 4), N, C, OC};
    float *dinp = tdl_test_floats((size_t)N * C), *dw = tdl_test_floats((size_t)OC * C);
    float *db = tdl_test_floats(OC);
    tdl_linear_backward(dinp, dw, db, c.r, c.inp, c.w, N, C, OC);
    tdl_test_gradcheck("linear dinp", lin_loss, &c, c.inp, dinp, (size_t)N * C, FD_H, FD_ATOL,
                       FD_RTOL, NULL, 0);
    tdl_test_gradcheck("linear dweight", lin_loss, &c, c.w, dw, (size_t)OC * C, FD_H, FD_ATOL,
                       FD_RTOL, NULL, 0);
    tdl_test_gradcheck("linear dbias", lin_loss, &c, c.b, db, OC, FD_H, FD_ATOL, FD_RTOL, NULL, 0);

    /* backward adds: start from random gradients g0, expect g0 + g */
    float *g0i = tdl_test_uniform((size_t)N * C, -1, 1, 5), *g0w = tdl_test_uniform((size_t)OC * C, -1, 1, 6);
    float *g0b = tdl_test_uniform(OC, -1, 1, 7);
    float *ai = tdl_test_floats((size_t)N * C), *aw = tdl_test_floats((size_t)OC * C), *ab = tdl_test_floats(OC);
    memcpy(ai, g0i, sizeof(float) * N * C);
    memcpy(aw, g0w, sizeof(float) * OC * C);
    memcpy(ab, g0b, sizeof(float) * OC);
    tdl_linear_backward(ai, aw, ab, c.r, c.inp, c.w, N, C, OC);
    for (int i = 0; i < N * C; i++) g0i[i] += dinp[i];
    for (int i = 0; i < OC * C; i++) g0w[i] += dw[i];
    for (int i = 0; i < OC; i++) g0b[i] += db[i];
    tdl_test_allclose("linear backward adds dinp", ai, g0i, (size_t)N * C, 1e-6, 1e-6);
    tdl_test_allclose("linear backward adds dweight", aw, g0w, (size_t)OC * C, 1e-6, 1e-6);
    tdl_test_allclose("linear backward adds dbias", ab, g0b, OC, 1e-6, 1e-6);

    /* NULL gradients are skipped; NULL bias means no bias */
    float *dw2 = tdl_test_floats((size_t)OC * C);
    tdl_linear_backward(NULL, dw2, NULL, c.r, c.inp, c.w, N, C, OC);
    tdl_test_allclose("linear dweight alone", dw2, dw, (size_t)OC * C, 0, 0);
    float *o2 = tdl_test_floats((size_t)N * OC);
    tdl_linear_forward(o2, c.inp, c.w, NULL, N, C, OC);
    lin_loss(&c);
    for (int n = 0; n < N; n++)
        for (int k = 0; k < OC; k++) o2[n * OC + k] += c.b[k];
    tdl_test_allclose("linear without bias", o2, c.out, (size_t)N * OC, 1e-6, 1e-6);
    free(c.out); free(c.inp); free(c.w); free(c.b); free(c.r); free(dinp); free(dw); free(db);
    free(g0i); free(g0w); free(g0b); free(ai); free(aw); free(ab); free(dw2); free(o2);
}

static void test_torch(void) {
    tdl_safetensors st;
    tdl_test_fixture(&st, "linear");
    size_t nx, nw, nb, no;
    float *x = tdl_test_tensor(&st, "linear.inp", &nx), *w = tdl_test_tensor(&st, "linear.weight", &nw);
    float *b = tdl_test_tensor(&st, "linear.bias", &nb), *r = tdl_test_tensor(&st, "linear.dout", &no);
    int OC = (int)nb, C = (int)(nw / nb), N = (int)(nx / (size_t)C);
    TDL_CHECK(no == (size_t)N * OC, "fixture shapes");
    float *out = tdl_test_floats(no), *dx = tdl_test_floats(nx), *dw = tdl_test_floats(nw), *db = tdl_test_floats(nb);
    tdl_linear_forward(out, x, w, b, N, C, OC);
    tdl_linear_backward(dx, dw, db, r, x, w, N, C, OC);
    float *want = tdl_test_tensor(&st, "linear.out", NULL);
    tdl_test_allclose("torch linear out", out, want, no, PT_ATOL, PT_RTOL);
    free(want);
    want = tdl_test_tensor(&st, "linear.dinp", NULL);
    tdl_test_allclose("torch linear dinp", dx, want, nx, PT_ATOL, PT_RTOL);
    free(want);
    want = tdl_test_tensor(&st, "linear.dweight", NULL);
    tdl_test_allclose("torch linear dweight", dw, want, nw, PT_ATOL, PT_RTOL);
    free(want);
    want = tdl_test_tensor(&st, "linear.dbias", NULL);
    tdl_test_allclose("torch linear dbias", db, want, nb, PT_ATOL, PT_RTOL);
    free(want);
    free(x); free(w); free(b); free(r); free(out); free(dx); free(dw); free(db);
    tdl_safetensors_free(&st);
}

int main(void) {
    test_fd();
    test_torch();
    return tdl_test_done("test_linear");
}
