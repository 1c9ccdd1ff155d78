/* bench_lstm.c: one training step of the predictor's two LSTM layers at
 * batch 64, 7 steps (1 -> 128 and 128 -> 64 hidden): both forwards and both
 * backwards through time, with the gradient entering at every step of layer 2
 * and flowing into layer 1. One markdown row per thread count. */
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "tdl/nn.h"
#include "tdl/threads.h"

enum { B = 64, T = 7, C1 = 1, H1 = 128, H2 = 64 };

typedef struct {
    float *x, *w_ih1, *w_hh1, *b_ih1, *b_hh1, *w_ih2, *w_hh2, *b_ih2, *b_hh2;
    float *h1, *c1, *tc1, *g1, *h2, *c2, *tc2, *g2, *dh2, *dh1;
    float *dw_ih1, *dw_hh1, *db_ih1, *db_hh1, *dw_ih2, *dw_hh2, *db_ih2, *db_hh2, *scratch;
} lstm_ctx;

static void step(void *p) {
    lstm_ctx *c = p;
    tdl_lstm_forward(c->h1, c->c1, c->tc1, c->g1, c->x, c->w_ih1, c->w_hh1, c->b_ih1, c->b_hh1, B,
                     T, C1, H1);
    tdl_lstm_forward(c->h2, c->c2, c->tc2, c->g2, c->h1, c->w_ih2, c->w_hh2, c->b_ih2, c->b_hh2, B,
                     T, H1, H2);
    memset(c->dh1, 0, sizeof(float) * B * T * H1);
    tdl_lstm_backward(c->dh1, c->dw_ih2, c->dw_hh2, c->db_ih2, c->db_hh2, c->dh2, c->h1, c->h2,
                      c->c2, c->tc2, c->g2, c->w_ih2, c->w_hh2, c->scratch, B, T, H1, H2);
    tdl_lstm_backward(NULL, c->dw_ih1, c->dw_hh1, c->db_ih1, c->db_hh1, c->dh1, c->x, c->h1, c->c1,
                      c->tc1, c->g1, c->w_ih1, c->w_hh1, c->scratch, B, T, C1, H1);
}

int main(int argc, char **argv) {
    (void)argc;
    tdl_threads_prefer_avx512(argv);
    lstm_ctx c;
    c.x = bench_floats(B * T * C1, 1);
    c.w_ih1 = bench_floats(4 * H1 * C1, 2); c.w_hh1 = bench_floats(4 * H1 * H1, 3);
    c.b_ih1 = bench_floats(4 * H1, 4); c.b_hh1 = bench_floats(4 * H1, 5);
    c.w_ih2 = bench_floats(4 * H2 * H1, 6); c.w_hh2 = bench_floats(4 * H2 * H2, 7);
    c.b_ih2 = bench_floats(4 * H2, 8); c.b_hh2 = bench_floats(4 * H2, 9);
    c.h1 = bench_floats(B * T * H1, 0); c.c1 = bench_floats(B * T * H1, 0);
    c.tc1 = bench_floats(B * T * H1, 0); c.tc2 = bench_floats(B * T * H2, 0);
    c.g1 = bench_floats(B * T * 4 * H1, 0); c.h2 = bench_floats(B * T * H2, 0);
    c.c2 = bench_floats(B * T * H2, 0); c.g2 = bench_floats(B * T * 4 * H2, 0);
    c.dh2 = bench_floats(B * T * H2, 10); c.dh1 = bench_floats(B * T * H1, 0);
    c.dw_ih1 = bench_floats(4 * H1 * C1, 0); c.dw_hh1 = bench_floats(4 * H1 * H1, 0);
    c.db_ih1 = bench_floats(4 * H1, 0); c.db_hh1 = bench_floats(4 * H1, 0);
    c.dw_ih2 = bench_floats(4 * H2 * H1, 0); c.dw_hh2 = bench_floats(4 * H2 * H2, 0);
    c.db_ih2 = bench_floats(4 * H2, 0); c.db_hh2 = bench_floats(4 * H2, 0);
    size_t s1 = tdl_lstm_scratch_floats(B, T, C1, H1), s2 = tdl_lstm_scratch_floats(B, T, H1, H2);
    c.scratch = bench_floats(s1 > s2 ? s1 : s2, 0);
    /* Matrix-product FLOPs: forward 2*B*T*4H*(C+H) per layer; backward twice that. */
    double fwd = 2.0 * B * T * (4.0 * H1 * (C1 + H1) + 4.0 * H2 * (H1 + H2));
    double flops = 3.0 * fwd;
    const char *core = tdl_threads_blas_core();
    for (int th = 1; th <= 2; th++) {
        tdl_threads_init(th);
        double t = bench_best(step, &c, 5, 0.3);
        printf("| LSTM step B=%d T=%d (1->%d, %d->%d) | %s | %d | %.3f ms | %.1f GFLOP/s | %.3f s "
               "per 168 steps |\n", B, T, H1, H1, H2, core, th, t * 1e3, flops / t * 1e-9, 168 * t);
        fflush(stdout);
    }
    return 0;
}
