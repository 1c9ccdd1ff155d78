/*
 * threads.h: one place that decides how many threads tdl uses.
 *
 * tdl parallelises outer loops with OpenMP and leaves matrix products to
 * OpenBLAS built with OpenMP (Debian's libopenblas0-openmp). Both therefore
 * share one thread pool and one count: a cblas call made inside a tdl parallel
 * region runs on the calling thread only, and one made outside uses the whole
 * team, so the two never oversubscribe the cores.
 *
 * OpenBLAS picks its kernels once, when it is loaded, from the CPU or from the
 * environment variable OPENBLAS_CORETYPE. A preset OPENBLAS_CORETYPE=Haswell
 * (this project's machines have one) or a CPU that OpenBLAS does not know
 * leaves AVX2 kernels running on CPUs with AVX-512, at about half the sgemm
 * speed; tdl_threads_prefer_avx512() fixes that for programs (see below).
 */
#ifndef TDL_THREADS_H
#define TDL_THREADS_H

#include "tdl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The count is process-wide state (OpenMP's and OpenBLAS's). The serving
 * path (provisioner.h, tdl_predictor_stream in predictor.h) uses neither
 * OpenMP nor BLAS nor this count: its handles run on any threads at once. */
enum { TDL_THREADS_MAX = 1024 };

/* Set the thread count for OpenMP and OpenBLAS. n >= 1 is used as given;
 * n == 0 means: TDL_THREADS from the environment if set, else every core.
 * Fails (TDL_ERR_INVALID) on n < 0, n > TDL_THREADS_MAX or a malformed
 * TDL_THREADS. */
tdl_status tdl_threads_init(int n);

/* The thread count in force. */
int tdl_threads_count(void);

/* The name of the OpenBLAS kernel set in use (e.g. "SkylakeX", "Haswell"). */
const char *tdl_threads_blas_core(void);

/* Whether the OpenBLAS kernels in use are AVX-512 ones (SkylakeX, Cooperlake,
 * SapphireRapids). */
int tdl_threads_blas_uses_avx512(void);

/* Whether the CPU has the AVX-512 subsets OpenBLAS's SkylakeX kernels use
 * (F, CD, BW, DQ, VL). */
int tdl_threads_cpu_has_avx512(void);

/* Call first thing in main(). If the CPU has AVX-512 but the OpenBLAS kernels
 * in use do not (OpenBLAS 0.3.21 picks Haswell on Zen 5, and some machine
 * images preset OPENBLAS_CORETYPE=Haswell), set OPENBLAS_CORETYPE=SkylakeX and
 * re-execute the program (/proc/self/exe, same argv), since OpenBLAS reads the
 * variable only while loading. TDL_NO_AVX512=1 in the environment keeps
 * OpenBLAS's own choice (to measure it, say). Returns normally in every other
 * case, including when exec fails. A program embedding libtdl can instead
 * export OPENBLAS_CORETYPE=SkylakeX before it starts. */
void tdl_threads_prefer_avx512(char **argv);

#ifdef __cplusplus
}
#endif
#endif /* TDL_THREADS_H */
