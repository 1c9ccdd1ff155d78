/* bench_dfl_epoch.c: one DFL epoch of the authors' loop (tdl_trainer_epoch)
 * on 23V's training rows (525 rows, 8 batches of 64, 168 Adam steps), and one
 * inference pass over the seven Azure test sets. Usage:
 *   bench_dfl_epoch [AZURE_DIR] [epochs]
 * Prints markdown rows: threads, seconds per epoch (best of `epochs`), the
 * LSTM GFLOP/s this implies, and the peak resident memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench_common.h"
#include "tdl/source.h"
#include "tdl/threads.h"
#include "tdl/train.h"

int main(int argc, char **argv) {
    tdl_threads_prefer_avx512(argv);
    const char *dir = argc > 1 ? argv[1] : "../shared/data/azure";
    int epochs = argc > 2 ? atoi(argv[2]) : 3;
    char path[1024];
    snprintf(path, sizeof path, "%s/23V.csv", dir);
    tdl_series raw;
    if (tdl_source_load(path, NULL, 0, &raw, NULL) != TDL_OK) {
        fprintf(stderr, "bench_dfl_epoch: %s (skipped: needs the Azure data)\n", tdl_last_error());
        return 0;
    }
    tdl_train_data d;
    if (tdl_train_data_prepare(&d, &raw) != TDL_OK) {
        fprintf(stderr, "bench_dfl_epoch: %s\n", tdl_last_error());
        return 1;
    }
    const char *core = tdl_threads_blas_core();
    for (int th = 1; th <= 2; th++) {
        tdl_threads_init(th);
        tdl_predictor_config pc;
        tdl_predictor_config_default(&pc);
        tdl_predictor p;
        tdl_train_config cfg;
        tdl_train_config_default(&cfg);
        tdl_trainer t;
        if (tdl_predictor_init(&p, &pc, 1) != TDL_OK || tdl_trainer_init(&t, &p, &cfg) != TDL_OK) {
            fprintf(stderr, "bench_dfl_epoch: %s\n", tdl_last_error());
            return 1;
        }
        double best = 1e30;
        int64_t steps = 0;
        for (int e = 0; e < epochs; e++) {
            tdl_epoch_stats st;
            double t0 = bench_now();
            if (tdl_trainer_epoch(&t, &d, &st) != TDL_OK) {
                fprintf(stderr, "bench_dfl_epoch: %s\n", tdl_last_error());
                return 1;
            }
            double dt = bench_now() - t0;
            if (dt < best) best = dt;
            steps = st.steps;
        }
        /* LSTM matrix-product FLOPs per step (forward + backward = 3x forward). */
        double fwd = 2.0 * cfg.batch * pc.T *
                     (4.0 * pc.H1 * (1 + pc.H1) + 4.0 * pc.H2 * (pc.H1 + pc.H2));
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("| tdl DFL epoch, 23V (%lld steps) | %s | %d | %.3f s | %.1f GFLOP/s | %.0f MB |\n",
               (long long)steps, core, th, best, 3.0 * fwd * (double)steps / best * 1e-9,
               ru.ru_maxrss / 1024.0);
        fflush(stdout);
        tdl_trainer_free(&t);
        tdl_predictor_free(&p);
    }
    tdl_train_data_free(&d);
    tdl_series_free(&raw);
    return 0;
}
