/* bench_eval.c: one evaluation of a predictor over the seven Azure test sets
 * of Table I (23V's 30% test split, 24V, 23D, 24D, 23D24D, 23D24V, 24D24V;
 * issue 4, deliverable 6): for every set the test rows (authors' protocol:
 * own range of the first 100,000 values), then tdl_evaluate (inference
 * forward of every window, MSE, pooled and grouped regret, exact rule), as
 * `tdl eval` does. The predictor is the paper's, initialised from seed 1
 * (the work does not depend on the weights). Usage:
 *   bench_eval [AZURE_DIR] [rounds]
 * Prints markdown rows per thread count (1, 2): seconds for the seven sets
 * (best of `rounds`, CSV reading excluded and reported apart), the LSTM
 * GFLOP/s of the forward passes, peak resident memory. Skips with a message
 * (status 0) when the data is absent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench_common.h"
#include "tdl/evaluate.h"
#include "tdl/source.h"
#include "tdl/threads.h"

enum { NSETS = 7 };
static const char *const set_names[NSETS] = {"23V", "24V", "23D", "24D",
                                             "23D24D", "23D24V", "24D24V"};

int main(int argc, char **argv) {
    tdl_threads_prefer_avx512(argv);
    const char *dir = argc > 1 ? argv[1] : "../shared/data/azure";
    int rounds = argc > 2 ? atoi(argv[2]) : 2;
    if (rounds < 1) rounds = 1;
    tdl_series raw[NSETS];
    memset(raw, 0, sizeof raw);
    double t0 = bench_now();
    for (int i = 0; i < NSETS; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s.csv", dir, set_names[i]);
        if (tdl_source_load(path, NULL, 0, &raw[i], NULL) != TDL_OK) {
            fprintf(stderr, "bench_eval: %s (skipped: needs the Azure data in %s; set "
                    "TDL_DATA_DIR)\n", tdl_last_error(), dir);
            printf("| tdl eval, 7 Azure sets | skipped: the Azure data is absent (%s) | | | | |\n",
                   dir);
            for (int k = 0; k < i; k++) tdl_series_free(&raw[k]);
            return 0;
        }
    }
    double load_s = bench_now() - t0;
    tdl_range range; /* 23V, the training series */
    if (tdl_series_range(&raw[0], &range) != TDL_OK) {
        fprintf(stderr, "bench_eval: %s\n", tdl_last_error());
        return 1;
    }
    tdl_provision_params pp;
    tdl_provision_defaults(&pp);
    tdl_predictor_config pc;
    tdl_predictor_config_default(&pc);
    tdl_predictor p;
    if (tdl_predictor_init(&p, &pc, 1) != TDL_OK) {
        fprintf(stderr, "bench_eval: %s\n", tdl_last_error());
        return 1;
    }
    const char *core = tdl_threads_blas_core();
    for (int th = 1; th <= 2; th++) {
        tdl_threads_init(th);
        double best = 1e30, avg_regret = 0.0;
        size_t instances = 0;
        for (int round = 0; round < rounds; round++) {
            double start = bench_now(), sum = 0.0;
            instances = 0;
            for (int i = 0; i < NSETS; i++) {
                float *rows = NULL;
                size_t R = 0;
                tdl_eval_result res;
                tdl_status s = tdl_eval_rows(&rows, &R, &raw[i], i == 0, range,
                                             TDL_PROTOCOL_AUTHORS);
                if (s == TDL_OK)
                    s = tdl_evaluate(&p, rows, R, range, &pp, TDL_PROVISION_EXACT, 64, &res);
                free(rows);
                if (s != TDL_OK) {
                    fprintf(stderr, "bench_eval: %s: %s\n", set_names[i], tdl_last_error());
                    return 1;
                }
                instances += res.instances;
                sum += res.regret_pooled;
            }
            double dt = bench_now() - start;
            if (dt < best) best = dt;
            avg_regret = sum / NSETS;
        }
        /* LSTM forward FLOPs per instance (matrix products of both layers). */
        double fwd = 2.0 * pc.T * (4.0 * pc.H1 * (1 + pc.H1) + 4.0 * pc.H2 * (pc.H1 + pc.H2));
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("| tdl eval, 7 Azure sets (%zu instances; CSV reading %.2f s apart) | %s | %d | "
               "%.3f s | %.1f GFLOP/s | %.0f MB |\n",
               instances, load_s, core, th, best, fwd * (double)instances / best * 1e-9,
               ru.ru_maxrss / 1024.0);
        fprintf(stderr, "bench_eval: %d threads: average pooled regret %.4f (untrained "
                "predictor, seed 1)\n", th, avg_regret);
        fflush(stdout);
    }
    tdl_predictor_free(&p);
    for (int i = 0; i < NSETS; i++) tdl_series_free(&raw[i]);
    return 0;
}
