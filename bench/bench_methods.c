/* bench_methods.c: one training epoch of each predictor method (issue 11)
 * on 23V's training rows, through the one loop (tdl_trainer_epoch), next to
 * the reference each method's target is stated against:
 *   dfl, mse, kl-dro          the 525 rows (168 steps); reference: a DFL epoch
 *   da-gauss/cutout/perlin    the rows plus one noisy copy (1050 rows, 336
 *                             steps); reference: a DFL epoch on the same rows
 *   w-dro                     the 525 rows, 15 Frank-Wolfe iterations per step;
 *                             reference: 16 forward-backward passes per step
 *                             (15 attack passes, forward + input gradient in
 *                             train mode, plus the DFL step), timed alone
 * Usage: bench_methods [AZURE_DIR] [epochs] [threads]
 * Prints markdown rows: method, threads, seconds per epoch (best of
 * `epochs`), its reference, the ratio, peak RSS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench_common.h"
#include "tdl/source.h"
#include "tdl/threads.h"
#include "tdl/train.h"

typedef struct method {
    const char *name;
    tdl_train_loss loss;
    tdl_train_augment augment;
    tdl_train_wdro wdro;
} method;

static const method METHODS[] = {
    {"dfl", TDL_TRAIN_DFL, TDL_AUGMENT_NONE, TDL_TRAIN_WDRO_OFF},
    {"mse", TDL_TRAIN_MSE, TDL_AUGMENT_NONE, TDL_TRAIN_WDRO_OFF},
    {"kl-dro", TDL_TRAIN_KLDRO, TDL_AUGMENT_NONE, TDL_TRAIN_WDRO_OFF},
    {"da-gauss", TDL_TRAIN_DFL, TDL_AUGMENT_GAUSS, TDL_TRAIN_WDRO_OFF},
    {"da-cutout", TDL_TRAIN_DFL, TDL_AUGMENT_CUTOUT, TDL_TRAIN_WDRO_OFF},
    {"da-perlin", TDL_TRAIN_DFL, TDL_AUGMENT_PERLIN, TDL_TRAIN_WDRO_OFF},
    {"w-dro", TDL_TRAIN_DFL, TDL_AUGMENT_NONE, TDL_TRAIN_WDRO_PAPER},
};
enum { N_METHODS = sizeof METHODS / sizeof METHODS[0] };

static void die(const char *what) {
    fprintf(stderr, "bench_methods: %s: %s\n", what, tdl_last_error());
    exit(1);
}

/* Best seconds of `epochs` epochs of method m on d (a fresh predictor and
 * trainer, seed 1, the spec's settings otherwise); *steps gets the steps. */
static double time_epochs(const method *m, const tdl_train_data *d, int epochs, int64_t *steps) {
    tdl_predictor_config pc;
    tdl_predictor_config_default(&pc);
    tdl_predictor p;
    tdl_train_config cfg;
    tdl_train_config_default(&cfg);
    cfg.loss = m->loss;
    cfg.augment = m->augment;
    cfg.wdro = m->wdro;
    tdl_trainer t;
    if (tdl_predictor_init(&p, &pc, 1) != TDL_OK || tdl_trainer_init(&t, &p, &cfg) != TDL_OK)
        die(m->name);
    double best = 1e30;
    for (int e = 0; e < epochs; e++) {
        tdl_epoch_stats st;
        double t0 = bench_now();
        if (tdl_trainer_epoch(&t, d, &st) != TDL_OK) die(m->name);
        double dt = bench_now() - t0;
        if (dt < best) best = dt;
        *steps = st.steps + st.skipped;
    }
    tdl_trainer_free(&t);
    tdl_predictor_free(&p);
    return best;
}

/* W-DRO's reference: per step of an epoch (the same windows), 15 passes of
 * forward (train mode) + input gradient and one DFL forward + parameter
 * backward, no attack arithmetic and no Adam; seconds per epoch. */
static double time_passes(const tdl_train_data *d, int epochs, int fw_iters) {
    tdl_predictor_config pc;
    tdl_predictor_config_default(&pc);
    tdl_predictor p;
    tdl_train_config cfg;
    tdl_train_config_default(&cfg);
    tdl_predictor_cache *c;
    const int B = cfg.batch, T = pc.T;
    if (tdl_predictor_init(&p, &pc, 1) != TDL_OK || tdl_predictor_cache_init(&c, &pc, B) != TDL_OK)
        die("passes");
    float *x = malloc((size_t)B * T * sizeof(float)), *dx = malloc((size_t)B * T * sizeof(float));
    float *y = malloc((size_t)B * sizeof(float)), *dy = malloc((size_t)B * sizeof(float));
    float *tg = malloc((size_t)B * sizeof(float));
    if (!x || !dx || !y || !dy || !tg) die("passes: out of memory");
    tdl_rng rng;
    tdl_rng_init(&rng, 1, 1);
    const size_t nb = d->R / (size_t)B;
    double best = 1e30;
    for (int e = 0; e < epochs; e++) {
        double t0 = bench_now();
        for (size_t b = 0; b < nb; b++) {
            const float *rows = d->rows + b * (size_t)B * 28;
            for (int t = T; t < 28; t++) {
                for (int i = 0; i < B; i++) {
                    memcpy(x + (size_t)i * T, rows + (size_t)i * 28 + t - T, T * sizeof(float));
                    tg[i] = rows[(size_t)i * 28 + t];
                }
                for (int k = 0; k < fw_iters; k++) {
                    tdl_predictor_forward(&p, c, x, y, B, 1, &rng);
                    tdl_predictor_dfl_loss(&cfg.pp, cfg.rule, 1.0, 0.0, y, tg, dy, B);
                    tdl_predictor_backward_input(&p, c, dy, dx, B, 0);
                }
                tdl_predictor_forward(&p, c, x, y, B, 1, &rng);
                tdl_predictor_dfl_loss(&cfg.pp, cfg.rule, 1.0, 0.0, y, tg, dy, B);
                tdl_params_zero_grad(&p.params);
                tdl_predictor_backward(&p, c, dy, B);
            }
        }
        double dt = bench_now() - t0;
        if (dt < best) best = dt;
    }
    free(x), free(dx), free(y), free(dy), free(tg);
    tdl_predictor_cache_free(c);
    tdl_predictor_free(&p);
    return best;
}

int main(int argc, char **argv) {
    tdl_threads_prefer_avx512(argv);
    const char *dir = argc > 1 ? argv[1] : "../shared/data/azure";
    const int epochs = argc > 2 ? atoi(argv[2]) : 3;
    const int th = argc > 3 ? atoi(argv[3]) : 2;
    if (epochs < 1 || th < 1) {
        fprintf(stderr, "usage: bench_methods [AZURE_DIR] [epochs >= 1] [threads >= 1]\n");
        return 2;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/23V.csv", dir);
    tdl_series raw;
    if (tdl_source_load(path, NULL, 0, &raw, NULL) != TDL_OK) {
        fprintf(stderr, "bench_methods: %s (skipped: needs the Azure data)\n", tdl_last_error());
        return 0;
    }
    tdl_threads_init(th);
    tdl_train_data d, dbl;
    if (tdl_train_data_prepare(&d, &raw) != TDL_OK || tdl_train_data_prepare(&dbl, &raw) != TDL_OK)
        die("23V");
    /* The augmented methods' reference: DFL on rows + a copy (the same count;
     * the noise does not change the work). */
    if (tdl_train_data_augment(&dbl, TDL_AUGMENT_GAUSS, 0.0, 1) != TDL_OK) die("23V doubled");
    tdl_train_config def;
    tdl_train_config_default(&def);
    int64_t s_dfl = 0, s_dbl = 0;
    const method *dfl = &METHODS[0];
    const double t_dfl = time_epochs(dfl, &d, epochs, &s_dfl);
    const double t_dbl = time_epochs(dfl, &dbl, epochs, &s_dbl);
    const double t_pass = time_passes(&d, epochs, def.fw_iters);
    const char *core = tdl_threads_blas_core();
    for (int i = 0; i < N_METHODS; i++) {
        const method *m = &METHODS[i];
        tdl_train_data aug = {0};
        const tdl_train_data *data = &d;
        if (m->augment != TDL_AUGMENT_NONE) {
            if (tdl_train_data_prepare(&aug, &raw) != TDL_OK ||
                tdl_train_data_augment(&aug, m->augment, def.noise_level, def.noise_seed) != TDL_OK)
                die(m->name);
            data = &aug;
        }
        int64_t steps = 0;
        const double sec = i == 0 ? t_dfl : time_epochs(m, data, epochs, &steps);
        if (i == 0) steps = s_dfl;
        const char *ref_name = m->wdro != TDL_TRAIN_WDRO_OFF ? "16 passes per step"
                               : m->augment != TDL_AUGMENT_NONE ? "DFL epoch, same rows"
                                                                : "DFL epoch";
        const double ref = m->wdro != TDL_TRAIN_WDRO_OFF ? t_pass
                           : m->augment != TDL_AUGMENT_NONE ? t_dbl
                                                            : t_dfl;
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("| %s | %s | %d | %lld | %.3f s | %s %.3f s | %.2f x | %.0f MB |\n", m->name, core,
               th, (long long)steps, sec, ref_name, ref, sec / ref, ru.ru_maxrss / 1024.0);
        fflush(stdout);
        tdl_train_data_free(&aug);
    }
    (void)s_dbl;
    tdl_train_data_free(&dbl);
    tdl_train_data_free(&d);
    tdl_series_free(&raw);
    return 0;
}
