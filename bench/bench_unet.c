/* bench_unet.c: the UNet's training step (forward with dropout + backward)
 * and reverse step (forward, inference cache) for a preset and batch:
 *
 *   bench_unet [PRESET [B [REPS [MICRO]]]]      (default: small 64 3 16)
 *
 * The training step runs B images as chunks of MICRO (forward + backward
 * each, gradients accumulating): the grad cache holds MICRO images.
 * Prints the best time of REPS rounds (after one warm-up) of each, the
 * GFLOP/s from the plan's FLOP count (convolutions, linears, attention
 * matmuls; backward counted as twice the forward), the cache bytes, and the
 * peak RSS after the training part (params + grad cache) and at the end.
 * Last, one whole DDPM training iteration as `tdl diffusion train` runs it
 * (tdl_diffusion_trainer_step: draw t and eps, the loss, forward + backward
 * in chunks of tdl_ddpm_grad_chunk (32; paper: 16), the finiteness check and the Adam step) on B images of a
 * synthetic series, with the process's peak RSS: the figure to set against
 * a PyTorch training step (forward, loss, backward, Adam). */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "../src/models/unet_plan.h"
#include "bench_common.h"
#include "tdl/diffusion_train.h"
#include "tdl/threads.h"
#include "tdl/unet.h"

typedef struct {
    tdl_unet *u;
    tdl_unet_cache *c;
    float *x, *eps, *deps;
    int *t;
    int B, micro;
    tdl_rng rng;
} step_ctx;

/* A training step on B images as chunks of `micro`: the UNet has no batch
 * coupling (GroupNorm and attention are per image), so the summed gradients
 * equal one pass over B up to float summation order. */
static void train_step(void *p) {
    step_ctx *s = p;
    const size_t img = (size_t)s->u->cfg.image * s->u->cfg.image;
    for (int b0 = 0; b0 < s->B; b0 += s->micro) {
        const int nb = s->B - b0 < s->micro ? s->B - b0 : s->micro;
        tdl_unet_forward(s->u, s->c, s->x + b0 * img, s->t + b0, s->eps + b0 * img, nb, 1,
                         &s->rng);
        tdl_unet_backward(s->u, s->c, s->deps + b0 * img, NULL, nb);
    }
}

static void reverse_step(void *p) {
    step_ctx *s = p;
    tdl_unet_forward(s->u, s->c, s->x, s->t, s->eps, s->B, 0, NULL);
}

typedef struct {
    tdl_diffusion_trainer *tr;
    const tdl_diffusion_data *data;
} trainer_ctx;

static void trainer_step(void *p) {
    trainer_ctx *c = p;
    tdl_diffusion_trainer_step(c->tr, c->data, NULL);
}

static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

/* One warm-up call, then reps timed calls: the best wall time per call, and in
 * *cpu the process CPU seconds per call (all threads), which a shared machine
 * disturbs less: with T threads and no contention, wall ~ cpu / T. */
static double time_calls(void (*fn)(void *), void *ctx, int reps, double *cpu) {
    fn(ctx);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    const long f0 = ru.ru_minflt;
    double best = 1e30, c0 = cpu_seconds();
    for (int r = 0; r < reps; r++) {
        double t0 = bench_now();
        fn(ctx);
        double t = bench_now() - t0;
        if (t < best) best = t;
    }
    *cpu = (cpu_seconds() - c0) / reps;
    getrusage(RUSAGE_SELF, &ru);
    if (ru.ru_minflt - f0 > 1000)
        printf("(%ld page faults per step)\n", (ru.ru_minflt - f0) / reps);
    return best;
}

static double peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

int main(int argc, char **argv) {
    tdl_threads_prefer_avx512(argv);
    const char *preset = argc > 1 ? argv[1] : "small";
    const int B = argc > 2 ? atoi(argv[2]) : 64;
    const int reps = argc > 3 ? atoi(argv[3]) : 3;
    const int micro = argc > 4 ? atoi(argv[4]) : (B < 16 ? B : 16);
    if (B < 1 || reps < 1 || micro < 1 || micro > B) {
        fprintf(stderr, "usage: bench_unet [PRESET [B [REPS [MICRO]]]]\n");
        return 2;
    }
    if (tdl_threads_init(0) != TDL_OK) {
        fprintf(stderr, "bench_unet: %s\n", tdl_last_error());
        return 1;
    }
    tdl_unet_config cfg;
    tdl_unet u;
    if (tdl_unet_config_preset(&cfg, preset) != TDL_OK || tdl_unet_init(&u, &cfg, 1) != TDL_OK) {
        fprintf(stderr, "bench_unet: %s\n", tdl_last_error());
        return 1;
    }
    const size_t n = (size_t)B * cfg.image * cfg.image;
    step_ctx s = {.u = &u, .B = B, .micro = micro};
    s.x = bench_floats(n, 1);
    s.eps = bench_floats(n, 2);
    s.deps = bench_floats(n, 3);
    s.t = calloc((size_t)B, sizeof *s.t);
    for (int b = 0; b < B; b++) s.t[b] = (b * 37) % cfg.T;
    tdl_rng_init(&s.rng, 1, 0);
    const double flops = u.plan->flops_fwd * B;
    char text[TDL_UNET_CONFIG_CHARS];
    tdl_unet_config_format(&cfg, text);
    printf("UNet %s (%s), batch %d, %zu trainable parameters, %.3f GFLOP per image forward, "
           "%d threads, OpenBLAS %s\n", preset, text, B, tdl_params_trainable(&u.params),
           u.plan->flops_fwd * 1e-9, tdl_threads_count(), tdl_threads_blas_core());

    printf("training step: %d chunk(s) of forward + backward on at most %d images\n",
           (B + micro - 1) / micro, micro);
    if (tdl_unet_cache_init(&s.c, &u, micro, 1) != TDL_OK) {
        fprintf(stderr, "bench_unet: %s\n", tdl_last_error());
        return 1;
    }
    const size_t grad_bytes = tdl_unet_cache_bytes(s.c);
    double ct, cr;
    const double tt = time_calls(train_step, &s, reps, &ct);
    const double rss_train = peak_rss_mb();
    printf("training step (fwd+bwd): %.4f s  %.1f GFLOP/s  (cpu %.3f s)  grad cache %.1f MB  "
           "peak RSS %.0f MB\n", tt, 3.0 * flops / tt * 1e-9, ct, grad_bytes / 1048576.0,
           rss_train);
    fflush(stdout);
    tdl_unet_cache_free(s.c);

    if (tdl_unet_cache_init(&s.c, &u, B, 0) != TDL_OK) {
        fprintf(stderr, "bench_unet: %s\n", tdl_last_error());
        return 1;
    }
    const size_t inf_bytes = tdl_unet_cache_bytes(s.c);
    const double tr = time_calls(reverse_step, &s, reps, &cr);
    printf("reverse step (fwd):      %.4f s  %.1f GFLOP/s  (cpu %.3f s)  inference cache %.1f MB  "
           "peak RSS %.0f MB\n", tr, flops / tr * 1e-9, cr, inf_bytes / 1048576.0, peak_rss_mb());
    tdl_unet_cache_free(s.c);
    tdl_unet_free(&u);
    free(s.x), free(s.eps), free(s.deps), free(s.t);

    /* the whole training iteration, through the trainer */
    tdl_ddpm_config mc;
    tdl_diffusion_train_config tc;
    tdl_series raw = {0};
    tdl_diffusion_data data;
    tdl_ddpm m;
    tdl_diffusion_trainer trn;
    if (tdl_diffusion_preset(preset, &mc, &tc) != TDL_OK ||
        tdl_series_alloc(&raw, (size_t)28 * 800) != TDL_OK) {
        fprintf(stderr, "bench_unet: %s\n", tdl_last_error());
        return 1;
    }
    for (size_t i = 0; i < raw.n; i++) /* 800 rows: 560 training rows, 20 images */
        raw.v[i] = 1000.0 + 300.0 * sin(0.2 * (double)i) + 50.0 * sin(0.037 * (double)i * i);
    tc.batch = B;
    if (tdl_diffusion_data_prepare(&data, &raw) != TDL_OK || tdl_ddpm_init(&m, &mc, 1) != TDL_OK ||
        tdl_diffusion_trainer_init(&trn, &m, &tc) != TDL_OK) {
        fprintf(stderr, "bench_unet: %s\n", tdl_last_error());
        return 1;
    }
    trainer_ctx tctx = {&trn, &data};
    double cs;
    const double ts = time_calls(trainer_step, &tctx, reps, &cs);
    printf("trainer step (loss, fwd+bwd, Adam): %.4f s  %.1f GFLOP/s  (cpu %.3f s)  skipped %lld  "
           "peak RSS %.0f MB (process)\n", ts, 3.0 * flops / ts * 1e-9, cs, (long long)trn.skipped,
           peak_rss_mb());
    tdl_diffusion_trainer_free(&trn);
    tdl_ddpm_free(&m);
    tdl_diffusion_data_free(&data);
    tdl_series_free(&raw);
    return 0;
}
