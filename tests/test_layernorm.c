/* test_layernorm.c: tdl_layernorm_* by finite differences and against
 * torch.nn.LayerNorm with perturbed weight and bias (fixture layernorm). */
#include <stdlib.h>
#include <string.h>

#include "tdl/nn.h"
#include "tdl_test.h"

/* FD: h = 1e-2 on a float forward (rows of O(1) values): noise ~1e-5,
 * truncation O(h^2) relative; gradients are O(0.1..1). */
#define FD_H 1e-2
#define FD_ATOL 1e-4
#define FD_RTOL 1e-2
#define PT_ATOL 1e-6
#define PT_RTOL 1e-5
#define EPS 1e-5f

typedef struct {
    float *out, *mean, *rstd, *inp, *w, *b, *r;
    int N, C;
} ln_ctx;

static double ln_loss(void *p) {
    ln_ctx *c = p;
    tdl_layernorm_forward(c->out, c->mean, c->rstd, c->inp, c->w, c->b, c->N, c->C, EPS);
    return tdl_test_dot(c->out, c->r, (size_t)c->N * c->C);
}

static void test_fd(int N, int C) {
    size_t n = (size_t)N * C;
    ln_ctx c = {tdl_test_floats(n), tdl_test_floats(N), tdl_test_floats(N),
                tdl_test_uniform(n, -2, 2, 1), tdl_test_uniform(C, 0.5f, 1.5f, 2),
                tdl_test_uniform(C, -0.5f, 0.5f, 3), tdl_test_uniform(n, -1, 1, 4), N, C};
    float *dx = tdl_test_floats(n), *dw = tdl_test_floats(C), *db = tdl_test_floats(C);
    ln_loss(&c);
    tdl_layernorm_backward(dx, dw, db, c.r, c.inp, c.w, c.mean, c.rstd, N, C);
    char what[64];
    snprintf(what, sizeof what, "layernorm N%d C%d dinp", N, C);
    tdl_test_gradcheck(what, ln_loss, &c, c.inp, dx, n, FD_H, FD_ATOL, FD_RTOL, NULL, 0);
    snprintf(what, sizeof what, "layernorm N%d C%d dweight", N, C);
    tdl_test_gradcheck(what, ln_loss, &c, c.w, dw, C, FD_H, FD_ATOL, FD_RTOL, NULL, 0);
    snprintf(what, sizeof what, "layernorm N%d C%d dbias", N, C);
    tdl_test_gradcheck(what, ln_loss, &c, c.b, db, C, FD_H, FD_ATOL, FD_RTOL, NULL, 0);

    /* backward adds: a second call doubles every gradient */
    ln_loss(&c);
    float *dx2 = tdl_test_floats(n), *dw2 = tdl_test_floats(C), *db2 = tdl_test_floats(C);
    for (int k = 0; k < 2; k++)
        tdl_layernorm_backward(dx2, dw2, db2, c.r, c.inp, c.w, c.mean, c.rstd, N, C);
    for (size_t i = 0; i < n; i++) dx[i] *= 2.0f;
    for (int i = 0; i < C; i++) { dw[i] *= 2.0f; db[i] *= 2.0f; }
    tdl_test_allclose("layernorm backward adds dinp", dx2, dx, n, 1e-6, 1e-6);
    tdl_test_allclose("layernorm backward adds dweight", dw2, dw, C, 1e-6, 1e-6);
    tdl_test_allclose("layernorm backward adds dbias", db2, db, C, 1e-6, 1e-6);
    free(c.out); free(c.mean); free(c.rstd); free(c.inp); free(c.w); free(c.b); free(c.r);
    free(dx); free(dw); free(db); free(dx2); free(dw2); free(db2);
}

static void test_torch(void) {
    tdl_safetensors st;
    tdl_test_fixture(&st, "layernorm");
    size_t n, nc;
    float *x = tdl_test_tensor(&st, "layernorm.inp", &n), *w = tdl_test_tensor(&st, "layernorm.weight", &nc);
    float *b = tdl_test_tensor(&st, "layernorm.bias", NULL), *r = tdl_test_tensor(&st, "layernorm.dout", NULL);
    int C = (int)nc, N = (int)(n / nc);
    float *out = tdl_test_floats(n), *mean = tdl_test_floats(N), *rstd = tdl_test_floats(N);
    float *dx = tdl_test_floats(n), *dw = tdl_test_floats(C), *db = tdl_test_floats(C);
    tdl_layernorm_forward(out, mean, rstd, x, w, b, N, C, EPS);
    tdl_layernorm_backward(dx, dw, db, r, x, w, mean, rstd, N, C);
    const char *names[4] = {"layernorm.out", "layernorm.dinp", "layernorm.dweight", "layernorm.dbias"};
    float *got[4] = {out, dx, dw, db};
    size_t cnt[4] = {n, n, nc, nc};
    for (int i = 0; i < 4; i++) {
        float *want = tdl_test_tensor(&st, names[i], NULL);
        char what[64];
        snprintf(what, sizeof what, "torch %s", names[i]);
        tdl_test_allclose(what, got[i], want, cnt[i], PT_ATOL, PT_RTOL);
        free(want);
    }
    free(x); free(w); free(b); free(r); free(out); free(mean); free(rstd); free(dx); free(dw); free(db);
    tdl_safetensors_free(&st);
}

int main(void) {
    test_fd(3, 8);
    test_fd(5, 130); /* more than one 64-column block in the weight reductions */
    test_torch();
    return tdl_test_done("test_layernorm");
}
