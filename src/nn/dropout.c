/* dropout.c: inverted dropout (torch.nn.Dropout in training mode) with a
 * counter-based mask: mask[i] comes from word r->pos + i of the rng's stream,
 * so it does not depend on how the work is split over threads. The words are
 * drawn many Philox blocks at a time (tdl_rng_words_at, vectorised). */
#include <math.h>
#include <stdint.h>

#include "tdl/nn.h"
#include "tdl/rng.h"
#include "tdl/status.h"

#define TDL_DROPOUT_PAR_MIN 16384

#define TDL_DROPOUT_CHUNK 256 /* mask entries per draw of rng words */

// mask (N): 0 with probability p, else 1 / (1 - p); r advances by N.
// mask[i] = 0 iff u_i < p, u_i = (word (pos + i) >> 8) / 2^24 as tdl_rng_uniform:
// p is resolved to 2^-24.
void tdl_dropout_mask(float *mask, size_t N, float p, tdl_rng *r) {
    TDL_ASSERT(mask && r, "dropout_mask: NULL argument");
    TDL_ASSERT(p >= 0.0f && p < 1.0f, "dropout_mask: p=%g outside [0, 1)", (double)p);
    if (N == 0) return;
    const float scale = 1.0f / (1.0f - p);
    const uint64_t pos = r->pos;
    // u < p for u = k / 2^24 (k integer, p * 2^24 exact) iff k < ceil(p * 2^24)
    const int32_t thr = (int32_t)ceilf(p * 16777216.0f);
    const long nchunks = (long)((N + TDL_DROPOUT_CHUNK - 1) / TDL_DROPOUT_CHUNK);
    #pragma omp parallel for if (N > TDL_DROPOUT_PAR_MIN)
    for (long k = 0; k < nchunks; k++) {
        size_t i0 = (size_t)k * TDL_DROPOUT_CHUNK;
        size_t n = N - i0 < TDL_DROPOUT_CHUNK ? N - i0 : TDL_DROPOUT_CHUNK;
        uint32_t words[TDL_DROPOUT_CHUNK];
        tdl_rng_words_at(r, pos + i0, words, n);
        float *m = mask + i0;
        #pragma omp simd
        for (size_t j = 0; j < n; j++) m[j] = (int32_t)(words[j] >> 8) >= thr ? scale : 0.0f;
    }
    r->pos = pos + N;
}

/* Several instruction sets for the elementwise loops, chosen at load time
 * (one multiply or one multiply-add per element: the same results). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(TDL_NO_CLONES)
#define DROPOUT_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define DROPOUT_CLONES
#endif

DROPOUT_CLONES
static void dropout_mul(float *out, const float *inp, const float *mask, long n) {
    #pragma omp simd
    for (long i = 0; i < n; i++) out[i] = inp[i] * mask[i];
}

DROPOUT_CLONES
static void dropout_muladd(float *restrict dinp, const float *restrict dout,
                           const float *restrict mask, long n) {
    #pragma omp simd
    for (long i = 0; i < n; i++) dinp[i] += dout[i] * mask[i];
}

#define TDL_DROPOUT_PAR_CHUNK 8192 /* elements per thread task */

// out (N) = inp * mask; out may alias inp
void tdl_dropout_forward(float *out, const float *inp, const float *mask, size_t N) {
    TDL_ASSERT(out && inp && mask, "dropout_forward: NULL tensor");
    const long n = (long)N, chunks = (n + TDL_DROPOUT_PAR_CHUNK - 1) / TDL_DROPOUT_PAR_CHUNK;
    #pragma omp parallel for if (n > TDL_DROPOUT_PAR_MIN)
    for (long k = 0; k < chunks; k++) {
        long i0 = k * TDL_DROPOUT_PAR_CHUNK;
        long len = n - i0 < TDL_DROPOUT_PAR_CHUNK ? n - i0 : TDL_DROPOUT_PAR_CHUNK;
        dropout_mul(out + i0, inp + i0, mask + i0, len);
    }
}

// dinp (N) += dout * mask
void tdl_dropout_backward(float *dinp, const float *dout, const float *mask, size_t N) {
    TDL_ASSERT(dinp && dout && mask, "dropout_backward: NULL tensor");
    const long n = (long)N, chunks = (n + TDL_DROPOUT_PAR_CHUNK - 1) / TDL_DROPOUT_PAR_CHUNK;
    #pragma omp parallel for if (n > TDL_DROPOUT_PAR_MIN)
    for (long k = 0; k < chunks; k++) {
        long i0 = k * TDL_DROPOUT_PAR_CHUNK;
        long len = n - i0 < TDL_DROPOUT_PAR_CHUNK ? n - i0 : TDL_DROPOUT_PAR_CHUNK;
        dropout_muladd(dinp + i0, dout + i0, mask + i0, len);
    }
}
