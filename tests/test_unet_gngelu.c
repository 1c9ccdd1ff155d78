/* test_unet_gngelu.c: the UNet's fused GroupNorm -> GELU [-> Dropout] kernel
 * (src/models/unet_gngelu.c, internal: unet_plan.h) against the unfused
 * library kernels it replaces (tdl_groupnorm, tdl_gelu, tdl_dropout, each
 * tested against PyTorch in their own tests), by central differences, and
 * for thread-count independence.
 *
 * Tolerances: forward, the fast erfc-based Phi is within 2e-7 * max(1, |x|)
 * of libm's and the affine is computed as x * a + c instead of
 * (x - mean) * rstd * w + b (a few ulp of values of order 1-4, times the
 * dropout scale 1/(1 - p) = 1.33): atol 2e-6, rtol 2e-6. Backward adds a
 * few ulp per term of sums over a group of 2 x 20 elements: atol 1e-5, rtol
 * 1e-5 for dinp and dn; dweight and dbias sum B groups: the same. The masks
 * are compared exactly (dropped <=> reference mask 0). Central differences,
 * h = 1e-2 on inputs of order 1: truncation ~1e-5, float rounding of the
 * loss / 2h ~ 1e-5: atol 2e-4, rtol 2e-3. */
#include <math.h>
#include <stdint.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../src/models/unet_plan.h"
#include "tdl/nn.h"
#include "tdl/rng.h"
#include "tdl/threads.h"
#include "tdl_test.h"

#define FWD_ATOL 2e-6
#define FWD_RTOL 2e-6
#define BWD_ATOL 1e-5
#define BWD_RTOL 1e-5
#define FD_H 1e-2
#define FD_ATOL 2e-4
#define FD_RTOL 2e-3

typedef struct {
    int B, C, S, G;
    float p;
    const tdl_rng *drop; /* NULL: no dropout */
    float *inp, *w, *b, *out, *mean, *rstd, *R;
} gg_ctx;

static double gg_loss(void *p) {
    gg_ctx *c = p;
    unet_gn_gelu_forward(c->out, c->mean, c->rstd, c->inp, c->w, c->b, c->B, c->C, c->S, c->G,
                         c->drop, c->p, NULL);
    return tdl_test_dot(c->out, c->R, (size_t)c->B * c->C * c->S);
}

static void test_case(int B, int C, int S, int G, float p, const char *tag) {
    printf("-- fused GroupNorm -> GELU%s B=%d C=%d S=%d G=%d (%s)\n",
           p > 0.0f ? " -> Dropout" : "", B, C, S, G, tag);
    const size_t n = (size_t)B * C * S, ng = (size_t)B * G;
    tdl_rng drop;
    tdl_rng_init(&drop, 77, 3);
    drop.pos = 1001; /* an odd start: the masks are drawn per group from word positions */
    gg_ctx c = {B, C, S, G, p, p > 0.0f ? &drop : NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    c.inp = tdl_test_uniform(n, -2.0f, 3.0f, 11);
    c.w = tdl_test_uniform((size_t)C, 0.5f, 1.5f, 12);
    c.b = tdl_test_uniform((size_t)C, -0.5f, 0.5f, 13);
    c.R = tdl_test_uniform(n, -1.0f, 1.0f, 14);
    c.out = tdl_test_floats(n);
    c.mean = tdl_test_floats(ng);
    c.rstd = tdl_test_floats(ng);

    // forward against GroupNorm, GELU, Dropout
    gg_loss(&c);
    TDL_CHECK(drop.pos == 1001, "forward moved the rng (%llu)", (unsigned long long)drop.pos);
    float *gn = tdl_test_floats(n), *ge = tdl_test_floats(n), *mask = tdl_test_floats(n);
    float *rmean = tdl_test_floats(ng), *rrstd = tdl_test_floats(ng), *want = tdl_test_floats(n);
    tdl_groupnorm_forward(gn, rmean, rrstd, c.inp, c.w, c.b, B, C, S, G, UNET_GN_EPS);
    tdl_gelu_forward(ge, gn, n);
    if (c.drop) {
        tdl_rng r = drop;
        tdl_dropout_mask(mask, n, p, &r);
        tdl_dropout_forward(want, ge, mask, n);
    } else {
        for (size_t i = 0; i < n; i++) mask[i] = 1.0f;
        memcpy(want, ge, n * sizeof *want);
    }
    tdl_test_allclose("forward vs groupnorm+gelu+dropout", c.out, want, n, FWD_ATOL, FWD_RTOL);
    tdl_test_allclose("mean", c.mean, rmean, ng, 0.0, 0.0);
    tdl_test_allclose("rstd", c.rstd, rrstd, ng, 0.0, 0.0);
    size_t zeros = 0, wrong = 0;
    for (size_t i = 0; i < n; i++) {
        zeros += mask[i] == 0.0f;
        wrong += (mask[i] == 0.0f) != (c.out[i] == 0.0f);
    }
    TDL_CHECK(wrong == 0, "%zu of %zu elements dropped differently", wrong, n);
    if (c.drop)
        TDL_CHECK(zeros > n * p / 2 && zeros < n * p * 2, "%zu of %zu dropped for p=%g", zeros,
                  n, (double)p);

    // backward against the unfused kernels' backward
    float *dout = tdl_test_floats(n), *dinp = tdl_test_floats(n);
    float *dw = tdl_test_floats((size_t)C), *db = tdl_test_floats((size_t)C);
    double *part = calloc(2 * (size_t)B * C, sizeof *part);
    TDL_CHECK(part != NULL, "out of memory");
    memcpy(dout, c.R, n * sizeof *dout);
    unet_gn_gelu_backward(dinp, dw, db, NULL, dout, c.inp, c.w, c.b, c.mean, c.rstd, part, B, C,
                          S, G, c.drop, p, NULL, 1);
    float *dd = tdl_test_floats(n), *dgn = tdl_test_floats(n), *rdinp = tdl_test_floats(n);
    float *rdw = tdl_test_floats((size_t)C), *rdb = tdl_test_floats((size_t)C);
    tdl_dropout_backward(dd, c.R, mask, n);
    tdl_gelu_backward(dgn, dd, gn, n);
    tdl_groupnorm_backward(rdinp, rdw, rdb, dgn, c.inp, c.w, rmean, rrstd, B, C, S, G);
    tdl_test_allclose("dn (dout overwritten)", dout, dgn, n, BWD_ATOL, BWD_RTOL);
    tdl_test_allclose("dinp vs unfused", dinp, rdinp, n, BWD_ATOL, BWD_RTOL);
    tdl_test_allclose("dweight vs unfused", dw, rdw, (size_t)C, BWD_ATOL, BWD_RTOL);
    tdl_test_allclose("dbias vs unfused", db, rdb, (size_t)C, BWD_ATOL, BWD_RTOL);

    // acc = 1 adds into dinp; acc = 0 writes it
    float *base = tdl_test_uniform(n, -1.0f, 1.0f, 15), *acc = tdl_test_floats(n);
    float *ow = tdl_test_floats(n), *dw2 = tdl_test_floats((size_t)C);
    float *db2 = tdl_test_floats((size_t)C);
    memcpy(acc, base, n * sizeof *acc);
    memcpy(ow, base, n * sizeof *ow);
    memcpy(dout, c.R, n * sizeof *dout);
    unet_gn_gelu_backward(acc, dw2, db2, NULL, dout, c.inp, c.w, c.b, c.mean, c.rstd, part, B, C,
                          S, G, c.drop, p, NULL, 1);
    tdl_test_check_adds("acc=1 adds dinp", acc, base, dinp, n);
    memcpy(dout, c.R, n * sizeof *dout);
    unet_gn_gelu_backward(ow, dw2, db2, NULL, dout, c.inp, c.w, c.b, c.mean, c.rstd, part, B, C,
                          S, G, c.drop, p, NULL, 0);
    tdl_test_allclose("acc=0 writes dinp", ow, dinp, n, 0.0, 0.0);
    float *dw2x = tdl_test_floats((size_t)C);
    for (int i = 0; i < C; i++) dw2x[i] = 2.0f * dw[i];
    tdl_test_allclose("dweight adds", dw2, dw2x, (size_t)C, 1e-6, 1e-6);

    // the mask kept as bytes: the same forward; backward from the bytes = backward
    // from the redrawn words, bit for bit
    if (c.drop) {
        uint8_t *keep = malloc(n);
        float *ok = tdl_test_floats(n), *kd = tdl_test_floats(n), *kw = tdl_test_floats((size_t)C);
        float *kb = tdl_test_floats((size_t)C), *rd = tdl_test_floats(n);
        float *rw = tdl_test_floats((size_t)C), *rb = tdl_test_floats((size_t)C);
        TDL_CHECK(keep != NULL, "out of memory");
        memset(keep, 7, n);
        unet_gn_gelu_forward(ok, c.mean, c.rstd, c.inp, c.w, c.b, B, C, S, G, c.drop, p, keep);
        TDL_CHECK(memcmp(ok, c.out, n * sizeof *ok) == 0, "keep: forward output changed");
        size_t bad = 0;
        for (size_t i = 0; i < n; i++) bad += keep[i] != (mask[i] != 0.0f);
        TDL_CHECK(bad == 0, "keep: %zu of %zu bytes differ from the mask", bad, n);
        memcpy(dout, c.R, n * sizeof *dout);
        unet_gn_gelu_backward(kd, kw, kb, NULL, dout, c.inp, c.w, c.b, c.mean, c.rstd, part, B, C,
                              S, G, c.drop, p, keep, 0);
        memcpy(dout, c.R, n * sizeof *dout);
        unet_gn_gelu_backward(rd, rw, rb, NULL, dout, c.inp, c.w, c.b, c.mean, c.rstd, part, B, C,
                              S, G, c.drop, p, NULL, 0);
        TDL_CHECK(memcmp(kd, rd, n * sizeof *kd) == 0 && memcmp(kw, rw, C * sizeof *kw) == 0 &&
                      memcmp(kb, rb, C * sizeof *kb) == 0,
                  "keep: backward from the bytes differs from the redrawn mask");
        tdl_test_allclose("keep: backward dinp vs unfused", kd, rdinp, n, BWD_ATOL, BWD_RTOL);
        free(keep), free(ok), free(kd), free(kw), free(kb), free(rd), free(rw), free(rb);
    }

    // _add: inp += cadd (B, C) over S in place, then the same forward
    float *cadd = tdl_test_uniform((size_t)B * C, -1.0f, 1.0f, 16);
    float *added = tdl_test_floats(n), *inp2 = tdl_test_floats(n), *out2 = tdl_test_floats(n);
    for (size_t i = 0; i < n; i++) added[i] = c.inp[i] + cadd[i / (size_t)S];
    memcpy(inp2, c.inp, n * sizeof *inp2);
    unet_gn_gelu_forward_add(out2, c.mean, c.rstd, inp2, cadd, c.w, c.b, B, C, S, G, c.drop, p,
                             NULL);
    tdl_test_allclose("_add: inp updated in place", inp2, added, n, 0.0, 0.0);
    unet_gn_gelu_forward(c.out, c.mean, c.rstd, added, c.w, c.b, B, C, S, G, c.drop, p, NULL);
    tdl_test_allclose("_add: output as forward of inp + cadd", out2, c.out, n, 0.0, 0.0);
    gg_loss(&c);

    // dsum (acc = 0): the sums over S of dinp
    float *dsum = tdl_test_floats((size_t)B * C), *wsum = tdl_test_floats((size_t)B * C);
    memcpy(dout, c.R, n * sizeof *dout);
    unet_gn_gelu_backward(ow, dw2, db2, dsum, dout, c.inp, c.w, c.b, c.mean, c.rstd, part, B, C,
                          S, G, c.drop, p, NULL, 0);
    for (size_t bc = 0; bc < (size_t)B * C; bc++) {
        double acc_s = 0.0;
        for (int k = 0; k < S; k++) acc_s += ow[bc * S + k];
        wsum[bc] = (float)acc_s;
    }
    tdl_test_allclose("dsum = sums of dinp over S", dsum, wsum, (size_t)B * C, 1e-7, 1e-6);
    free(cadd), free(added), free(inp2), free(out2), free(dsum), free(wsum);

    // central differences of sum(out * R) with the mask fixed
    tdl_test_gradcheck("fused inp", gg_loss, &c, c.inp, dinp, n, FD_H, FD_ATOL, FD_RTOL, NULL, 96);
    tdl_test_gradcheck("fused weight", gg_loss, &c, c.w, dw, (size_t)C, FD_H, FD_ATOL, FD_RTOL,
                       NULL, 0);
    tdl_test_gradcheck("fused bias", gg_loss, &c, c.b, db, (size_t)C, FD_H, FD_ATOL, FD_RTOL, NULL,
                       0);

    // 1 and 2 threads: bit-identical forward and backward
    float *o1 = tdl_test_floats(n), *d1 = tdl_test_floats(n), *d2 = tdl_test_floats(n);
    float *w1 = tdl_test_floats((size_t)C), *w2 = tdl_test_floats((size_t)C);
    float *b1 = tdl_test_floats((size_t)C), *b2 = tdl_test_floats((size_t)C);
    TDL_CHECK(tdl_threads_init(1) == TDL_OK, "threads");
    gg_loss(&c);
    memcpy(o1, c.out, n * sizeof *o1);
    memcpy(dout, c.R, n * sizeof *dout);
    unet_gn_gelu_backward(d1, w1, b1, NULL, dout, c.inp, c.w, c.b, c.mean, c.rstd, part, B, C, S, G,
                          c.drop, p, NULL, 1);
    TDL_CHECK(tdl_threads_init(2) == TDL_OK, "threads");
    gg_loss(&c);
    memcpy(dout, c.R, n * sizeof *dout);
    unet_gn_gelu_backward(d2, w2, b2, NULL, dout, c.inp, c.w, c.b, c.mean, c.rstd, part, B, C, S, G,
                          c.drop, p, NULL, 1);
    TDL_CHECK(memcmp(o1, c.out, n * sizeof *o1) == 0, "forward: 1 and 2 threads differ");
    TDL_CHECK(memcmp(d1, d2, n * sizeof *d1) == 0 && memcmp(w1, w2, C * sizeof *w1) == 0 &&
                  memcmp(b1, b2, C * sizeof *b1) == 0,
              "backward: 1 and 2 threads differ");

    free(c.inp), free(c.w), free(c.b), free(c.R), free(c.out), free(c.mean), free(c.rstd);
    free(gn), free(ge), free(mask), free(rmean), free(rrstd), free(want);
    free(dout), free(dinp), free(dw), free(db), free(part), free(dd), free(dgn), free(rdinp);
    free(rdw), free(rdb), free(base), free(acc), free(ow), free(dw2), free(db2), free(dw2x);
    free(o1), free(d1), free(d2), free(w1), free(w2), free(b1), free(b2);
}

int main(void) {
    TDL_CHECK(tdl_threads_init(2) == TDL_OK, "threads");
    test_case(3, 8, 20, 4, 0.0f, "no dropout");
    test_case(3, 8, 20, 4, 0.25f, "dropout");
    test_case(2, 6, 300, 6, 0.1f, "one channel per group, masks span chunks");
    return tdl_test_done("test_unet_gngelu");
}
