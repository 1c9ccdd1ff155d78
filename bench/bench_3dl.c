/* bench_3dl.c: one outer epoch of 3D-Learning by phase, with the authors'
 * counts (Z0 4 x 64, T' 10, 10 inner epochs, S_theta 64 images, one
 * predictor epoch), and the UNet passes an inner iteration needs, timed in
 * the same run:
 *
 *   bench_3dl [PRESET [INNER [SOURCE]]]     (default: small 10 synth:conversation)
 *
 * PRESET is a diffusion preset (its network, initialised from seed 1: the
 * timing does not depend on the weights); INNER the inner epochs (10 as the
 * authors). Prints: Z0's sampling (once per run), the epoch's phases (the
 * regret pass over Z0, the inner maximisation, sampling S_theta, the
 * predictor's epoch), one inner iteration, and the reference passes: J's
 * batch plus the T' - 1 stored transitions of z0_images images, forward and
 * backward each (tdl_ddpm_loss_given on a grad work), and the peak RSS. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "../src/methods/learn3d_internal.h"
#include "bench_common.h"
#include "tdl/learn3d.h"
#include "tdl/source.h"
#include "tdl/threads.h"

static double peak_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

static void die(const char *what) {
    fprintf(stderr, "bench_3dl: %s: %s\n", what, tdl_last_error());
    exit(1);
}

int main(int argc, char **argv) {
    tdl_threads_prefer_avx512(argv);
    const char *preset = argc > 1 ? argv[1] : "small";
    int inner = argc > 2 ? atoi(argv[2]) : 10;
    const char *source = argc > 3 ? argv[3] : TDL_SOURCE_DEFAULT;
    if (tdl_threads_init(0) != TDL_OK) die("threads");

    tdl_series raw = {0};
    if (tdl_source_load(source, NULL, 0, &raw, NULL) != TDL_OK) die(source);
    tdl_train_data td;
    tdl_diffusion_data dd;
    if (tdl_train_data_prepare(&td, &raw) != TDL_OK) die("training rows");
    if (tdl_diffusion_data_prepare(&dd, &raw) != TDL_OK) die("training images");
    tdl_ddpm_config mc;
    tdl_diffusion_train_config tc;
    if (tdl_diffusion_preset(preset, &mc, &tc) != TDL_OK) die(preset);
    tdl_ddpm theta;
    if (tdl_ddpm_init(&theta, &mc, 1) != TDL_OK) die("ddpm");
    tdl_predictor_config pc;
    tdl_predictor_config_default(&pc);
    tdl_predictor pred;
    if (tdl_predictor_init(&pred, &pc, 1) != TDL_OK) die("predictor");
    tdl_3dl_config c;
    tdl_3dl_config_default(&c);
    c.inner = inner;

    printf("3D-Learning outer epoch: preset %s (T %d, %zu parameters), Z0 %d x %d, T' %d, "
           "inner %d, S_theta %d, %d thread(s), source %s\n",
           preset, mc.unet.T, tdl_params_trainable(&theta.unet.params), c.z0_batches,
           c.z0_images, c.tprime, c.inner, c.s_images, tdl_threads_count(), source);
    tdl_3dl s;
    double t0 = bench_now();
    if (tdl_3dl_init(&s, &c, &pred, td.range, &theta, &dd, NULL, NULL) != TDL_OK) die("init");
    double tz = bench_now() - t0;
    printf("  ratio chunk %d images (caches of the chunk and J's batch: %.0f MB); Z0 sampled "
           "with trajectories in %.2f s (once per run)\n",
           tdl_3dl_work_chunk(s.work), (double)tdl_3dl_work_bytes(s.work) / 1048576.0, tz);
    tdl_3dl_epoch_stats es;
    if (tdl_3dl_epoch(&s, &es, NULL, NULL) != TDL_OK) die("epoch");
    int iters = c.inner * c.z0_batches;
    double per_iter = iters ? es.sec_inner / iters : 0.0;
    printf("  | phase | seconds |\n  |---|---|\n");
    printf("  | regret over Z0 (%d rows) | %.2f |\n", s.z0.N * 28, es.sec_regret);
    printf("  | inner maximisation (%d iterations) | %.2f |\n", iters, es.sec_inner);
    printf("  | sample S_theta (%d images, T %d) | %.2f |\n", c.s_images, mc.unet.T, es.sec_sample);
    printf("  | predictor epoch on S_theta (%" PRId64 " steps) | %.2f |\n", es.pred_steps,
           es.sec_pred);
    printf("  | whole outer epoch | %.2f |\n", es.seconds);

    /* the UNet passes an inner iteration needs: 1 + (T' - 1) batches, fwd + bwd */
    tdl_ddpm_work gw;
    if (tdl_ddpm_work_init(&gw, &theta, c.z0_images, 1) != TDL_OK) die("work");
    const size_t D = tdl_ddpm_image_size(&theta);
    float *x0 = bench_floats((size_t)c.z0_images * D, 3), *eps = bench_floats((size_t)c.z0_images * D, 4);
    int *t = malloc((size_t)c.z0_images * sizeof *t);
    for (int b = 0; b < c.z0_images; b++) t[b] = b % c.tprime;
    double best = 1e30;
    for (int rep = 0; rep < 2; rep++) {
        double a = bench_now();
        for (int k = 0; k < 1 + s.plan.n; k++) {
            tdl_params_zero_grad(&theta.unet.params);
            tdl_ddpm_loss_given(&theta, &gw, x0, t, eps, c.z0_images, 0, NULL);
        }
        double e = bench_now() - a;
        if (e < best) best = e;
    }
    printf("  inner iteration %.3f s; its UNet passes (%d x %d images fwd+bwd) %.3f s; ratio %.2f\n",
           per_iter, 1 + s.plan.n, c.z0_images, best, best > 0 ? per_iter / best : 0.0);
    printf("  peak RSS %.0f MB\n", peak_mb());
    free(x0);
    free(eps);
    free(t);
    tdl_ddpm_work_free(&gw);
    tdl_3dl_free(&s);
    tdl_predictor_free(&pred);
    tdl_ddpm_free(&theta);
    tdl_train_data_free(&td);
    tdl_diffusion_data_free(&dd);
    tdl_series_free(&raw);
    return 0;
}
