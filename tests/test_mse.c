/* test_mse.c: tdl_mse_* by finite differences and against
 * torch.nn.functional.mse_loss (fixture mse). */
#include <stdlib.h>
#include <string.h>

#include "tdl/nn.h"
#include "tdl_test.h"

/* FD: the loss is quadratic, so central differences are exact up to float
 * rounding of the returned mean (~1e-7 / 2h). */
#define FD_H 1e-2
#define FD_ATOL 1e-5
#define FD_RTOL 1e-3
#define PT_ATOL 1e-7
#define PT_RTOL 1e-6

typedef struct {
    float *pred, *target;
    size_t N;
    float r; /* the loss is r * mse */
} mse_ctx;

static double mse_loss(void *p) {
    mse_ctx *c = p;
    return (double)c->r * tdl_mse_forward(c->pred, c->target, c->N);
}

static void test_fd(void) {
    const size_t N = 13;
    mse_ctx c = {tdl_test_uniform(N, -2, 2, 1), tdl_test_uniform(N, -2, 2, 2), N, -0.8f};
    float *d = tdl_test_floats(N);
    tdl_mse_backward(d, c.pred, c.target, N, c.r);
    tdl_test_gradcheck("mse dpred", mse_loss, &c, c.pred, d, N, FD_H, FD_ATOL, FD_RTOL, NULL, 0);
    /* backward adds */
    float *d2 = tdl_test_uniform(N, -1, 1, 3), *want = tdl_test_floats(N);
    for (size_t i = 0; i < N; i++) want[i] = d2[i] + d[i];
    tdl_mse_backward(d2, c.pred, c.target, N, c.r);
    tdl_test_allclose("mse backward adds", d2, want, N, 1e-7, 1e-6);
    /* a hand value: pred (1, 2, 3), target (0, 0, 1) -> (1 + 4 + 4) / 3 = 3 */
    float p3[3] = {1, 2, 3}, t3[3] = {0, 0, 1};
    TDL_CHECK(tdl_mse_forward(p3, t3, 3) == 3.0f, "mse of a hand example");
    free(c.pred); free(c.target); free(d); free(d2); free(want);
}

static void test_torch(void) {
    tdl_safetensors st;
    tdl_test_fixture(&st, "mse");
    size_t n;
    float *pred = tdl_test_tensor(&st, "mse.pred", &n), *target = tdl_test_tensor(&st, "mse.target", NULL);
    float *loss = tdl_test_tensor(&st, "mse.loss", NULL), *dloss = tdl_test_tensor(&st, "mse.dloss", NULL);
    float *want = tdl_test_tensor(&st, "mse.dpred", NULL);
    float got = tdl_mse_forward(pred, target, n);
    tdl_test_allclose("torch mse loss", &got, loss, 1, PT_ATOL, PT_RTOL);
    float *d = tdl_test_floats(n);
    tdl_mse_backward(d, pred, target, n, dloss[0]);
    tdl_test_allclose("torch mse dpred", d, want, n, PT_ATOL, PT_RTOL);
    free(pred); free(target); free(loss); free(dloss); free(want); free(d);
    tdl_safetensors_free(&st);
}

int main(void) {
    test_fd();
    test_torch();
    return tdl_test_done("test_mse");
}
