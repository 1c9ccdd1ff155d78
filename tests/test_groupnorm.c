/* test_groupnorm.c: GroupNorm forward/backward by central differences and
 * against torch.nn.GroupNorm (tools/fixturegen/image.py, fixture "groupnorm"). */
#include <stdlib.h>
#include <string.h>

#include "tdl/nn.h"
#include "tdl_test.h"

/* Finite differences of L = sum(out * R) with the float forward, h = 1e-2:
 * rounding noise in L is ~1e-6 / 2h ~ 5e-5 and the truncation error O(h^2)
 * stays below 1e-5 (observed worst 7e-6) for inputs of order 1, while a wrong sign or a missing
 * term changes gradients by O(0.1). */
#define FD_H 1e-2
#define FD_ATOL 2e-4
#define FD_RTOL 1e-2
/* PyTorch parity: same float formula, statistics in double here vs float
 * there; values of order 1. */
#define PT_ATOL 1e-5
#define PT_RTOL 1e-4
#define EPS 1e-5f

typedef struct {
    float *out, *mean, *rstd, *inp, *weight, *bias, *r;
    int B, C, S, G;
} gn_ctx;

static double gn_loss(void *p) {
    gn_ctx *c = (gn_ctx *)p;
    tdl_groupnorm_forward(c->out, c->mean, c->rstd, c->inp, c->weight, c->bias, c->B, c->C, c->S,
                          c->G, EPS);
    return tdl_test_dot(c->out, c->r, (size_t)c->B * c->C * c->S);
}

static void test_fd(int B, int C, int S, int G) {
    printf("-- groupnorm FD B=%d C=%d S=%d G=%d\n", B, C, S, G);
    const size_t n = (size_t)B * C * S;
    gn_ctx c = {0};
    c.B = B, c.C = C, c.S = S, c.G = G;
    c.out = tdl_test_floats(n);
    c.mean = tdl_test_floats((size_t)B * G);
    c.rstd = tdl_test_floats((size_t)B * G);
    c.inp = tdl_test_uniform(n, -2.0f, 3.0f, 1);
    c.weight = tdl_test_uniform((size_t)C, 0.5f, 1.5f, 2);
    c.bias = tdl_test_uniform((size_t)C, -0.5f, 0.5f, 3);
    c.r = tdl_test_uniform(n, -1.0f, 1.0f, 4);
    float *dinp = tdl_test_floats(n), *dw = tdl_test_floats((size_t)C),
          *db = tdl_test_floats((size_t)C);
    gn_loss(&c);
    tdl_groupnorm_backward(dinp, dw, db, c.r, c.inp, c.weight, c.mean, c.rstd, B, C, S, G);
    tdl_test_gradcheck("groupnorm inp", gn_loss, &c, c.inp, dinp, n, FD_H, FD_ATOL, FD_RTOL,
                       NULL, 0);
    tdl_test_gradcheck("groupnorm weight", gn_loss, &c, c.weight, dw, (size_t)C, FD_H, FD_ATOL,
                       FD_RTOL, NULL, 0);
    tdl_test_gradcheck("groupnorm bias", gn_loss, &c, c.bias, db, (size_t)C, FD_H, FD_ATOL,
                       FD_RTOL, NULL, 0);

    /* Backward adds into non-zero gradients. */
    float *base = tdl_test_uniform(n, -1.0f, 1.0f, 5);
    float *a_inp = tdl_test_floats(n), *a_w = tdl_test_floats((size_t)C),
          *a_b = tdl_test_floats((size_t)C);
    memcpy(a_inp, base, n * sizeof(float));
    memcpy(a_w, base, (size_t)C * sizeof(float));
    memcpy(a_b, base + C, (size_t)C * sizeof(float));
    gn_loss(&c);
    tdl_groupnorm_backward(a_inp, a_w, a_b, c.r, c.inp, c.weight, c.mean, c.rstd, B, C, S, G);
    tdl_test_check_adds("groupnorm adds dinp", a_inp, base, dinp, n);
    tdl_test_check_adds("groupnorm adds dweight", a_w, base, dw, (size_t)C);
    tdl_test_check_adds("groupnorm adds dbias", a_b, base + C, db, (size_t)C);
    /* NULL gradients are skipped; the others are unchanged. */
    float *only = tdl_test_floats(n);
    tdl_groupnorm_backward(only, NULL, NULL, c.r, c.inp, c.weight, c.mean, c.rstd, B, C, S, G);
    tdl_test_allclose("groupnorm dinp alone", only, dinp, n, 0.0, 0.0);

    free(only);
    free(base), free(a_inp), free(a_w), free(a_b);
    free(dinp), free(dw), free(db);
    free(c.out), free(c.mean), free(c.rstd), free(c.inp), free(c.weight), free(c.bias), free(c.r);
}

static void test_torch(void) {
    printf("-- groupnorm vs torch.nn.GroupNorm\n");
    tdl_safetensors st;
    tdl_test_fixture(&st, "groupnorm");
    size_t n, nc;
    float *inp = tdl_test_tensor(&st, "groupnorm.inp", &n);
    float *w = tdl_test_tensor(&st, "groupnorm.weight", &nc);
    float *b = tdl_test_tensor(&st, "groupnorm.bias", NULL);
    float *r = tdl_test_tensor(&st, "groupnorm.dout", NULL);
    float *want = tdl_test_tensor(&st, "groupnorm.out", NULL);
    float *want_dinp = tdl_test_tensor(&st, "groupnorm.dinp", NULL);
    float *want_dw = tdl_test_tensor(&st, "groupnorm.dweight", NULL);
    float *want_db = tdl_test_tensor(&st, "groupnorm.dbias", NULL);
    const int B = 2, C = 6, S = 20, G = 3;
    TDL_CHECK(n == (size_t)B * C * S && nc == (size_t)C, "fixture shape %zu %zu", n, nc);
    float *out = tdl_test_floats(n), *mean = tdl_test_floats(B * G), *rstd = tdl_test_floats(B * G);
    float *dinp = tdl_test_floats(n), *dw = tdl_test_floats(C), *db = tdl_test_floats(C);
    tdl_groupnorm_forward(out, mean, rstd, inp, w, b, B, C, S, G, EPS);
    tdl_test_allclose("torch groupnorm out", out, want, n, PT_ATOL, PT_RTOL);
    tdl_groupnorm_backward(dinp, dw, db, r, inp, w, mean, rstd, B, C, S, G);
    tdl_test_allclose("torch groupnorm dinp", dinp, want_dinp, n, PT_ATOL, PT_RTOL);
    tdl_test_allclose("torch groupnorm dweight", dw, want_dw, C, PT_ATOL, PT_RTOL);
    tdl_test_allclose("torch groupnorm dbias", db, want_db, C, PT_ATOL, PT_RTOL);
    free(inp), free(w), free(b), free(r), free(want), free(want_dinp), free(want_dw), free(want_db);
    free(out), free(mean), free(rstd), free(dinp), free(dw), free(db);
    tdl_safetensors_free(&st);
}

int main(void) {
    test_fd(2, 6, 5, 3);
    test_fd(1, 4, 7, 1);  /* one group: LayerNorm over (C, S) */
    test_fd(2, 4, 3, 4);  /* one channel per group: InstanceNorm */
    test_torch();
    return tdl_test_done("test_groupnorm");
}
