/* test_threads.c: thread-count selection (argument, TDL_THREADS, refusals)
 * and the OpenBLAS coordination. */
#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/threads.h"
#include "tdl_test.h"

int main(int argc, char **argv) {
    (void)argc;
    tdl_threads_prefer_avx512(argv);
    TDL_CHECK(tdl_threads_init(1) == TDL_OK && tdl_threads_count() == 1 &&
                  omp_get_max_threads() == 1 && openblas_get_num_threads() == 1,
              "explicit 1 thread");
    TDL_CHECK(tdl_threads_init(3) == TDL_OK && omp_get_max_threads() == 3 &&
                  openblas_get_num_threads() >= 1,
              "explicit 3 threads");
    TDL_CHECK(tdl_threads_init(-1) == TDL_ERR_INVALID, "negative count accepted");
    TDL_CHECK(tdl_threads_init(TDL_THREADS_MAX + 1) == TDL_ERR_INVALID, "huge count accepted");
    setenv("TDL_THREADS", "2", 1);
    TDL_CHECK(tdl_threads_init(0) == TDL_OK && tdl_threads_count() == 2, "TDL_THREADS=2");
    const char *bad[] = {"0", "-3", "two", "2x", "", "99999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        setenv("TDL_THREADS", bad[i], 1);
        tdl_status s = tdl_threads_init(0);
        /* An empty value means "unset": every core. */
        if (bad[i][0] == '\0') TDL_CHECK(s == TDL_OK, "empty TDL_THREADS refused");
        else TDL_CHECK(s == TDL_ERR_INVALID && strstr(tdl_last_error(), "TDL_THREADS"),
                       "TDL_THREADS='%s' accepted", bad[i]);
    }
    unsetenv("TDL_THREADS");
    TDL_CHECK(tdl_threads_init(0) == TDL_OK && tdl_threads_count() == omp_get_num_procs(),
              "default is every core");

    /* sgemm inside a parallel region runs on the calling thread and gives the
     * same numbers as outside it. */
    enum { N = 96 };
    float *a = tdl_test_uniform(N * N, -1, 1, 1), *b = tdl_test_uniform(N * N, -1, 1, 2);
    float *c1 = tdl_test_floats(N * N), *c2 = tdl_test_floats(2 * N * N);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1.0f, a, N, b, N, 0.0f, c1, N);
#pragma omp parallel for num_threads(2)
    for (int k = 0; k < 2; k++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1.0f, a, N, b, N, 0.0f,
                    c2 + (size_t)k * N * N, N);
    tdl_test_allclose("sgemm in a parallel region (thread 0)", c2, c1, N * N, 1e-5, 1e-5);
    tdl_test_allclose("sgemm in a parallel region (thread 1)", c2 + N * N, c1, N * N, 1e-5, 1e-5);
    printf("blas kernels: %s (cpu avx512: %d, kernels avx512: %d)\n", tdl_threads_blas_core(),
           tdl_threads_cpu_has_avx512(), tdl_threads_blas_uses_avx512());
    TDL_CHECK(!tdl_threads_cpu_has_avx512() || getenv("TDL_NO_AVX512") ||
                  tdl_threads_blas_uses_avx512(),
              "AVX-512 CPU but OpenBLAS runs %s kernels", tdl_threads_blas_core());
    free(a); free(b); free(c1); free(c2);
    return tdl_test_done("test_threads");
}
