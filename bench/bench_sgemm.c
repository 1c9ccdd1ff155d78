/* bench_sgemm.c: OpenBLAS cblas_sgemm GFLOP/s for square matrices on 1 and 2
 * threads, with the kernels OpenBLAS loaded (printed). One markdown row per
 * (size, threads). Usage: bench_sgemm [max_size] */
#include <cblas.h>
#include <stdlib.h>

#include "bench_common.h"
#include "tdl/threads.h"

typedef struct { int n; float *a, *b, *c; } sgemm_ctx;

static void run_sgemm(void *p) {
    sgemm_ctx *s = p;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->n, s->n, s->n, 1.0f, s->a, s->n,
                s->b, s->n, 0.0f, s->c, s->n);
}

int main(int argc, char **argv) {
    tdl_threads_prefer_avx512(argv);
    int max_n = argc > 1 ? atoi(argv[1]) : 2048;
    const char *core = tdl_threads_blas_core();
    for (int n = 256; n <= max_n; n *= 2) {
        sgemm_ctx s = {n, bench_floats((size_t)n * n, 1), bench_floats((size_t)n * n, 2),
                       bench_floats((size_t)n * n, 3)};
        for (int th = 1; th <= 2; th++) {
            tdl_threads_init(th);
            double t = bench_best(run_sgemm, &s, 3, 0.3);
            printf("| sgemm %d x %d x %d | %s | %d | %.2f ms | %.1f GFLOP/s |\n", n, n, n, core, th,
                   t * 1e3, 2.0 * n * n * (double)n / t * 1e-9);
            fflush(stdout);
        }
        free(s.a); free(s.b); free(s.c);
    }
    return 0;
}
