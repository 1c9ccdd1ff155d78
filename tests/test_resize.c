/* test_resize.c: nearest x2 upsampling and bilinear resizing (half-pixel
 * centres) by central differences and against F.interpolate
 * (tools/fixturegen/image.py): the UNet's cases 8x8 -> 7x7 (skip/upsampled
 * size mismatch), 4x4 -> 7x7, 28x28 -> 28x28 (identity), and 5x3 -> 8x9. */
#include <stdlib.h>
#include <string.h>

#include "tdl/nn.h"
#include "tdl_test.h"

/* Both maps are linear, so central differences are exact up to the float
 * rounding of L (~1e-6) / 2h, h = 1e-2; a wrong tap or weight moves a
 * gradient by >= 0.05 (weights are multiples of 1/14 or more here). */
#define FD_H 1e-2
#define FD_ATOL 2e-4
#define FD_RTOL 1e-3
/* PyTorch parity: at most four float products per element. */
#define PT_ATOL 1e-6
#define PT_RTOL 1e-5

typedef struct {
    int nearest;
    int B, C, H, W, OH, OW;
    float *out, *inp, *r;
} rs_ctx;

static void rs_forward(rs_ctx *c) {
    if (c->nearest) tdl_upsample2x_forward(c->out, c->inp, c->B, c->C, c->H, c->W);
    else tdl_bilinear_forward(c->out, c->inp, c->B, c->C, c->H, c->W, c->OH, c->OW);
}

static void rs_backward(rs_ctx *c, float *dinp, const float *dout) {
    if (c->nearest) tdl_upsample2x_backward(dinp, dout, c->B, c->C, c->H, c->W);
    else tdl_bilinear_backward(dinp, dout, c->B, c->C, c->H, c->W, c->OH, c->OW);
}

static double rs_loss(void *p) {
    rs_ctx *c = (rs_ctx *)p;
    rs_forward(c);
    return tdl_test_dot(c->out, c->r, (size_t)c->B * c->C * c->OH * c->OW);
}

static void test_fd(int nearest, int B, int C, int H, int W, int OH, int OW) {
    rs_ctx c = {nearest, B, C, H, W, nearest ? 2 * H : OH, nearest ? 2 * W : OW, 0, 0, 0};
    printf("-- %s FD B=%d C=%d %dx%d -> %dx%d\n", nearest ? "upsample2x" : "bilinear", B, C, H, W,
           c.OH, c.OW);
    const size_t nin = (size_t)B * C * H * W, nout = (size_t)B * C * c.OH * c.OW;
    c.out = tdl_test_floats(nout);
    c.inp = tdl_test_uniform(nin, -1.0f, 1.0f, 31);
    c.r = tdl_test_uniform(nout, -1.0f, 1.0f, 32);
    float *dinp = tdl_test_floats(nin);
    rs_backward(&c, dinp, c.r);
    tdl_test_gradcheck(nearest ? "upsample2x inp" : "bilinear inp", rs_loss, &c, c.inp, dinp, nin,
                       FD_H, FD_ATOL, FD_RTOL, NULL, 400);
    /* Backward adds into a non-zero gradient. */
    float *base = tdl_test_uniform(nin, -1.0f, 1.0f, 33), *acc = tdl_test_floats(nin);
    float *want = tdl_test_floats(nin);
    memcpy(acc, base, nin * sizeof(float));
    rs_backward(&c, acc, c.r);
    for (size_t i = 0; i < nin; i++) want[i] = base[i] + dinp[i];
    tdl_test_allclose("resize adds dinp", acc, want, nin, 1e-5, 1e-5);
    /* Interpolation weights sum to one: a constant image stays constant. */
    for (size_t i = 0; i < nin; i++) c.inp[i] = 0.75f;
    rs_forward(&c);
    float *cst = tdl_test_floats(nout);
    for (size_t i = 0; i < nout; i++) cst[i] = 0.75f;
    tdl_test_allclose("resize keeps constants", c.out, cst, nout, 1e-6, 0.0);
    free(cst), free(base), free(acc), free(want), free(dinp), free(c.out), free(c.inp), free(c.r);
}

static void test_torch(const char *name, int nearest, int B, int C, int H, int W, int OH,
                       int OW) {
    printf("-- %s vs F.interpolate\n", name);
    tdl_safetensors st;
    tdl_test_fixture(&st, name);
    const char *k = nearest ? "upsample2x" : "bilinear";
    rs_ctx c = {nearest, B, C, H, W, OH, OW, 0, 0, 0};
    const size_t nin = (size_t)B * C * H * W, nout = (size_t)B * C * OH * OW;
    char key[64], what[96];
    size_t n1, n2;
    snprintf(key, sizeof key, "%s.inp", k);
    c.inp = tdl_test_tensor(&st, key, &n1);
    snprintf(key, sizeof key, "%s.dout", k);
    c.r = tdl_test_tensor(&st, key, &n2);
    TDL_CHECK(n1 == nin && n2 == nout, "fixture %s shapes %zu %zu", name, n1, n2);
    snprintf(key, sizeof key, "%s.out", k);
    float *want = tdl_test_tensor(&st, key, NULL);
    snprintf(key, sizeof key, "%s.dinp", k);
    float *want_dinp = tdl_test_tensor(&st, key, NULL);
    c.out = tdl_test_floats(nout);
    float *dinp = tdl_test_floats(nin);
    rs_forward(&c);
    snprintf(what, sizeof what, "torch %s out", name);
    tdl_test_allclose(what, c.out, want, nout, PT_ATOL, PT_RTOL);
    rs_backward(&c, dinp, c.r);
    snprintf(what, sizeof what, "torch %s dinp", name);
    tdl_test_allclose(what, dinp, want_dinp, nin, PT_ATOL, PT_RTOL);
    if (!nearest && H == OH && W == OW) {
        snprintf(what, sizeof what, "%s is the identity", name);
        tdl_test_allclose(what, c.out, c.inp, nout, 0.0, 0.0);
    }
    free(c.inp), free(c.r), free(c.out), free(want), free(want_dinp), free(dinp);
    tdl_safetensors_free(&st);
}

int main(void) {
    test_fd(1, 2, 2, 3, 4, 0, 0);
    test_fd(0, 2, 2, 8, 8, 7, 7);
    test_fd(0, 1, 2, 4, 4, 7, 7);
    test_fd(0, 1, 1, 28, 28, 28, 28);
    test_fd(0, 2, 1, 5, 3, 8, 9);
    test_fd(0, 1, 2, 7, 6, 3, 4); /* strong downsampling */
    test_torch("upsample2x", 1, 2, 3, 3, 4, 6, 8);
    test_torch("bilinear_8to7", 0, 2, 2, 8, 8, 7, 7);
    test_torch("bilinear_4to7", 0, 2, 2, 4, 4, 7, 7);
    test_torch("bilinear_28id", 0, 1, 1, 28, 28, 28, 28);
    test_torch("bilinear_5x3to8x9", 0, 2, 2, 5, 3, 8, 9);
    return tdl_test_done("test_resize");
}
