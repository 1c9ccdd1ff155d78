/* threads.c: one thread count for OpenMP and OpenBLAS, and the choice of
 * OpenBLAS's AVX-512 kernels. */
#include "tdl/threads.h"

#include <cblas.h>
#include <errno.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static int tdl_nthreads = 0;

static tdl_status parse_threads(const char *text, const char *what, int *out) {
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < 1 || v > TDL_THREADS_MAX)
        return tdl_error(TDL_ERR_INVALID, "%s='%s' is not a thread count (1 to %d)", what, text,
                         (int)TDL_THREADS_MAX);
    *out = (int)v;
    return TDL_OK;
}

tdl_status tdl_threads_init(int n) {
    if (n < 0 || n > TDL_THREADS_MAX)
        return tdl_error(TDL_ERR_INVALID, "thread count %d out of range (1 to %d)", n,
                         (int)TDL_THREADS_MAX);
    if (n == 0) {
        const char *env = getenv("TDL_THREADS");
        if (env && *env) TDL_TRY(parse_threads(env, "TDL_THREADS", &n));
        else n = omp_get_num_procs();
    }
    if (n < 1) n = 1;
    omp_set_num_threads(n);
    /* Debian's OpenMP build of OpenBLAS sizes its work from the OpenMP team;
     * telling it explicitly keeps the two in step with any other build. */
    openblas_set_num_threads(n);
    tdl_nthreads = n;
    return TDL_OK;
}

int tdl_threads_count(void) { return tdl_nthreads > 0 ? tdl_nthreads : omp_get_max_threads(); }

const char *tdl_threads_blas_core(void) {
    const char *name = openblas_get_corename();
    return name ? name : "unknown";
}

int tdl_threads_cpu_has_avx512(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl");
#else
    return 0;
#endif
}

int tdl_threads_blas_uses_avx512(void) {
    static const char *const cores[] = {"SkylakeX", "Cooperlake", "SapphireRapids"};
    const char *name = tdl_threads_blas_core();
    for (size_t i = 0; i < sizeof cores / sizeof *cores; i++)
        if (strcasecmp(name, cores[i]) == 0) return 1;
    return 0;
}

void tdl_threads_prefer_avx512(char **argv) {
    /* Already re-executed once, or told to keep OpenBLAS's choice. */
    if (getenv("TDL_BLAS_REEXEC") || getenv("TDL_NO_AVX512")) return;
    if (!tdl_threads_cpu_has_avx512()) return;
    /* OpenBLAS is loaded: ask which kernels it chose, from the CPU or from an
     * OPENBLAS_CORETYPE in the environment (some images preset Haswell). */
    if (tdl_threads_blas_uses_avx512()) return;
    /* Only a new process image can load OpenBLAS again with the variable set. */
    if (setenv("OPENBLAS_CORETYPE", "SkylakeX", 1) != 0) return;
    if (setenv("TDL_BLAS_REEXEC", "1", 1) != 0) return;
    execv("/proc/self/exe", argv);
    /* exec failed (no /proc?): carry on with the kernels already chosen. */
}
