/* bench_conv2d.c: tdl_conv2d forward and backward (dinp, dweight, dbias) for
 * the UNet's shapes at batch 64. One markdown row per shape. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "tdl/nn.h"
#include "tdl/threads.h"

typedef struct {
    tdl_conv2d_shape s;
    float *inp, *w, *b, *out, *dout, *dinp, *dw, *db, *work;
} conv_ctx;

static void run_fwd(void *p) {
    conv_ctx *c = p;
    tdl_conv2d_forward(c->out, c->inp, c->w, c->b, &c->s, c->work);
}

static void run_bwd(void *p) {
    conv_ctx *c = p;
    tdl_conv2d_backward(c->dinp, c->dw, c->db, c->dout, c->inp, c->w, &c->s, c->work);
}

int main(int argc, char **argv) {
    tdl_threads_prefer_avx512(argv);
    int threads = argc > 1 ? atoi(argv[1]) : 0;
    tdl_threads_init(threads);
    /* B, C, H, W, OC, K, S, P: the UNet's convolutions (small: ch 32, paper: ch 128). */
    static const tdl_conv2d_shape shapes[] = {
        {64, 1, 28, 28, 32, 3, 1, 1},    /* head, small */
        {64, 32, 28, 28, 32, 3, 1, 1},   /* level 0, small */
        {64, 128, 28, 28, 128, 3, 1, 1}, /* level 0, paper */
        {64, 128, 28, 28, 128, 3, 2, 1}, /* downsample 28 -> 14, paper */
        {64, 64, 14, 14, 64, 3, 1, 1},   /* level 1, small */
        {64, 256, 14, 14, 256, 3, 1, 1}, /* level 1, paper */
        {64, 64, 7, 7, 64, 3, 1, 1},     /* level 2, small */
        {64, 256, 7, 7, 256, 3, 1, 1},   /* level 2, paper */
        {64, 256, 14, 14, 256, 1, 1, 0}, /* 1x1 (attention q/k/v/proj), paper */
    };
    const char *core = tdl_threads_blas_core();
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        conv_ctx c;
        memset(&c, 0, sizeof c);
        c.s = shapes[i];
        int OH = tdl_conv2d_out_h(&c.s), OW = tdl_conv2d_out_w(&c.s);
        size_t ni = (size_t)c.s.B * c.s.C * c.s.H * c.s.W;
        size_t no = (size_t)c.s.B * c.s.OC * OH * OW;
        size_t nw = (size_t)c.s.OC * c.s.C * c.s.K * c.s.K;
        c.inp = bench_floats(ni, 1); c.w = bench_floats(nw, 2); c.b = bench_floats(c.s.OC, 3);
        c.out = bench_floats(no, 4); c.dout = bench_floats(no, 5); c.dinp = bench_floats(ni, 6);
        c.dw = bench_floats(nw, 7); c.db = bench_floats(c.s.OC, 8);
        c.work = bench_floats(tdl_conv2d_work_floats(&c.s, omp_get_max_threads()), 9);
        double flops = 2.0 * c.s.B * c.s.OC * OH * OW * (double)c.s.C * c.s.K * c.s.K;
        double tf = bench_best(run_fwd, &c, 3, 0.3);
        double tb = bench_best(run_bwd, &c, 3, 0.3);
        printf("| %d x %d x %dx%d -> %d, k%d s%d | %s | %d | %.2f ms (%.1f GFLOP/s) | %.2f ms "
               "(%.1f GFLOP/s) |\n", c.s.B, c.s.C, c.s.H, c.s.W, c.s.OC, c.s.K, c.s.S, core,
               tdl_threads_count(), tf * 1e3, flops / tf * 1e-9, tb * 1e3, 2 * flops / tb * 1e-9);
        fflush(stdout);
        free(c.inp); free(c.w); free(c.b); free(c.out); free(c.dout); free(c.dinp); free(c.dw);
        free(c.db); free(c.work);
    }
    return 0;
}
