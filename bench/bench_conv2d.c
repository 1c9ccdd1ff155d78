/* bench_conv2d.c: tdl_conv2d forward and backward (dinp, dweight, dbias) for
 * the UNet's shapes at batch 64 (and 16, the training chunk). One markdown
 * row per shape and path: 3x3 stride-1 "same" shapes run the im2col, the
 * Winograd F(2x2, 3x3) and F(4x4, 3x3) paths (called directly), and with one
 * output channel also the direct sum (conv2d_oc1.c); "*" marks the
 * one tdl_conv2d_* dispatches to (TDL_CONV_IM2COL=1 forces im2col). GFLOP/s count the direct
 * convolution's multiply-adds for both paths.
 *
 *   bench_conv2d [THREADS [SET]]     THREADS default: TDL_THREADS or all;
 *                                    SET: small, paper or all (default) */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../src/nn/conv2d_winograd.h"
#include "bench_common.h"
#include "tdl/nn.h"
#include "tdl/threads.h"

typedef struct {
    tdl_conv2d_shape s;
    int wino;
    float *inp, *w, *b, *out, *dout, *dinp, *dw, *db, *work;
} conv_ctx;

static void run_fwd(void *p) {
    conv_ctx *c = p;
    if (c->wino == 1) conv2d_oc1_forward(c->out, c->inp, c->w, c->b, &c->s, c->work);
    else if (c->wino == 2) conv2d_wino_forward(c->out, c->inp, c->w, c->b, &c->s, c->work);
    else if (c->wino == 4) conv2d_wino4_forward(c->out, c->inp, c->w, c->b, &c->s, c->work);
    else conv2d_im2col_forward(c->out, c->inp, c->w, c->b, &c->s, c->work);
}

/* The bias gradient is the same code for both paths: tdl_conv2d_backward
 * with dinp = dweight = NULL adds only it. */
static void run_bwd(void *p) {
    conv_ctx *c = p;
    tdl_conv2d_backward(NULL, NULL, c->db, c->dout, c->inp, c->w, &c->s, c->work);
    if (c->wino == 1) conv2d_oc1_backward(c->dinp, c->dw, c->dout, c->inp, c->w, &c->s, c->work);
    else if (c->wino == 2)
        conv2d_wino_backward(c->dinp, c->dw, c->dout, c->inp, c->w, &c->s, c->work);
    else if (c->wino == 4)
        conv2d_wino4_backward(c->dinp, c->dw, c->dout, c->inp, c->w, &c->s, c->work);
    else conv2d_im2col_backward(c->dinp, c->dw, c->dout, c->inp, c->w, &c->s, c->work);
}

int main(int argc, char **argv) {
    tdl_threads_prefer_avx512(argv);
    int threads = argc > 1 ? atoi(argv[1]) : 0;
    tdl_threads_init(threads);
    const char *set = argc > 2 ? argv[2] : NULL;
    /* B, C, H, W, OC, K, S, P: the UNet's convolutions (small: ch 32, paper: ch 128);
     * the small preset's every 3x3 shape at batch 64 (its reverse step). */
    static const struct {
        const char *set;
        tdl_conv2d_shape s;
    } shapes[] = {
        {"small", {64, 1, 28, 28, 32, 3, 1, 1}},    /* head */
        {"small", {64, 32, 28, 28, 1, 3, 1, 1}},    /* tail */
        {"small", {64, 32, 28, 28, 32, 3, 1, 1}},   /* level 0 */
        {"small", {16, 32, 28, 28, 32, 3, 1, 1}},   /* level 0, training chunk */
        {"small", {64, 32, 28, 28, 32, 3, 2, 1}},   /* downsample 28 -> 14 */
        {"small", {64, 64, 28, 28, 64, 3, 1, 1}},   /* up 14 -> 28 */
        {"small", {64, 96, 28, 28, 32, 3, 1, 1}},   /* up level 0, block conv1 */
        {"small", {64, 64, 28, 28, 32, 3, 1, 1}},   /* up level 0, block conv1 */
        {"small", {64, 32, 14, 14, 64, 3, 1, 1}},   /* level 1, conv1 */
        {"small", {64, 64, 14, 14, 64, 3, 1, 1}},   /* level 1 */
        {"small", {64, 128, 14, 14, 64, 3, 1, 1}},  /* up level 1, conv1 */
        {"small", {64, 96, 14, 14, 64, 3, 1, 1}},   /* up level 1, conv1 */
        {"small", {64, 64, 14, 14, 64, 3, 2, 1}},   /* downsample 14 -> 7 */
        {"small", {64, 64, 7, 7, 64, 3, 1, 1}},     /* level 2 */
        {"small", {16, 64, 7, 7, 64, 3, 1, 1}},     /* level 2, training chunk */
        {"small", {64, 128, 7, 7, 64, 3, 1, 1}},    /* up level 2, conv1 */
        {"small", {64, 64, 14, 14, 64, 1, 1, 0}},   /* 1x1 (attention q/k/v/proj) */
        {"paper", {64, 128, 28, 28, 128, 3, 1, 1}}, /* level 0 */
        {"paper", {64, 128, 28, 28, 128, 3, 2, 1}}, /* downsample 28 -> 14 */
        {"paper", {64, 256, 14, 14, 256, 3, 1, 1}}, /* level 1 */
        {"paper", {64, 256, 7, 7, 256, 3, 1, 1}},   /* level 2 */
        {"paper", {64, 256, 14, 14, 256, 1, 1, 0}}, /* 1x1 (attention q/k/v/proj) */
    };
    const char *core = tdl_threads_blas_core();
    printf("| shape | core | threads | path | forward | backward |\n|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        if (set && strcmp(set, "all") != 0 && strcmp(set, shapes[i].set) != 0) continue;
        conv_ctx c;
        memset(&c, 0, sizeof c);
        c.s = shapes[i].s;
        int OH = tdl_conv2d_out_h(&c.s), OW = tdl_conv2d_out_w(&c.s);
        size_t ni = (size_t)c.s.B * c.s.C * c.s.H * c.s.W;
        size_t no = (size_t)c.s.B * c.s.OC * OH * OW;
        size_t nw = (size_t)c.s.OC * c.s.C * c.s.K * c.s.K;
        const int nt = omp_get_max_threads();
        const int has_wino = conv2d_wino_supports(&c.s);
        size_t nwork = conv2d_im2col_work_floats(&c.s, nt);
        if (has_wino && conv2d_wino_work_floats(&c.s, nt) > nwork)
            nwork = conv2d_wino_work_floats(&c.s, nt);
        if (has_wino && conv2d_wino4_work_floats(&c.s, nt) > nwork)
            nwork = conv2d_wino4_work_floats(&c.s, nt);
        const int has_oc1 = conv2d_oc1_supports(&c.s);
        if (has_oc1 && conv2d_oc1_work_floats(&c.s, nt) > nwork)
            nwork = conv2d_oc1_work_floats(&c.s, nt);
        c.inp = bench_floats(ni, 1); c.w = bench_floats(nw, 2); c.b = bench_floats(c.s.OC, 3);
        c.out = bench_floats(no, 4); c.dout = bench_floats(no, 5); c.dinp = bench_floats(ni, 6);
        c.dw = bench_floats(nw, 7); c.db = bench_floats(c.s.OC, 8);
        c.work = bench_floats(nwork, 9);
        /* the dispatcher's pick: its forward gives the bits of one path */
        int pick = 0;
        if (has_wino) {
            float *o = bench_floats(no, 10);
            tdl_conv2d_forward(o, c.inp, c.w, c.b, &c.s, c.work);
            for (int m = has_oc1 ? 1 : 2; m <= 4; m += m == 1 ? 1 : 2) {
                c.wino = m;
                run_fwd(&c);
                if (memcmp(o, c.out, no * sizeof(float)) == 0) pick = m;
            }
            free(o);
        }
        double flops = 2.0 * c.s.B * c.s.OC * OH * OW * (double)c.s.C * c.s.K * c.s.K;
        for (int wino = 0; wino <= (has_wino ? 4 : 0); wino += wino == 0 && has_oc1 ? 1 : wino == 1 ? 1 : 2) {
            c.wino = wino;
            double tf = bench_best(run_fwd, &c, 3, 0.3);
            double tb = bench_best(run_bwd, &c, 3, 0.3);
            printf("| %d x %d x %dx%d -> %d, k%d s%d | %s | %d | %s%s | %.2f ms (%.1f GFLOP/s) | "
                   "%.2f ms (%.1f GFLOP/s) |\n", c.s.B, c.s.C, c.s.H, c.s.W, c.s.OC, c.s.K, c.s.S,
                   core, tdl_threads_count(),
                   wino == 1 ? "direct" : wino == 2 ? "F(2x2,3x3)" : wino == 4 ? "F(4x4,3x3)" : "im2col",
                   wino == pick ? " *" : "", tf * 1e3, flops / tf * 1e-9, tb * 1e3,
                   2 * flops / tb * 1e-9);
            fflush(stdout);
        }
        free(c.inp); free(c.w); free(c.b); free(c.out); free(c.dout); free(c.dinp); free(c.dw);
        free(c.db); free(c.work);
    }
    return 0;
}
