/* dropout.c: inverted dropout (torch.nn.Dropout in training mode) with a
 * counter-based mask: mask[i] comes from word r->pos + i of the rng's stream,
 * so it does not depend on how the work is split over threads. */
#include <stdint.h>

#include "tdl/nn.h"
#include "tdl/rng.h"
#include "tdl/status.h"

#define TDL_DROPOUT_PAR_MIN 16384

// mask (N): 0 with probability p, else 1 / (1 - p); r advances by N
void tdl_dropout_mask(float *mask, size_t N, float p, tdl_rng *r) {
    TDL_ASSERT(mask && r, "dropout_mask: NULL argument");
    TDL_ASSERT(p >= 0.0f && p < 1.0f, "dropout_mask: p=%g outside [0, 1)", (double)p);
    if (N == 0) return;
    const float scale = 1.0f / (1.0f - p);
    const uint64_t pos = r->pos;
    // Word w of the stream is word (w & 3) of Philox block w >> 2 (as in
    // tdl_rng_u32_at); one block gives four consecutive mask entries.
    const uint64_t first = pos >> 2, last = (pos + N - 1) >> 2;
    const long nblocks = (long)(last - first + 1);
    const uint32_t key[2] = {(uint32_t)r->seed, (uint32_t)(r->seed >> 32)};
    #pragma omp parallel for if (N > TDL_DROPOUT_PAR_MIN)
    for (long k = 0; k < nblocks; k++) {
        uint64_t block = first + (uint64_t)k;
        uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), (uint32_t)r->stream,
                           (uint32_t)(r->stream >> 32)};
        uint32_t words[4];
        tdl_philox4x32(ctr, key, words);
        for (int j = 0; j < 4; j++) {
            uint64_t w = block * 4 + (uint64_t)j;
            if (w < pos || w >= pos + N) continue;
            // uniform in [0, 1) from the top 24 bits, as tdl_rng_uniform
            float u = (float)(words[j] >> 8) * (1.0f / 16777216.0f);
            mask[w - pos] = u < p ? 0.0f : scale;
        }
    }
    r->pos = pos + N;
}

// out (N) = inp * mask; out may alias inp
void tdl_dropout_forward(float *out, const float *inp, const float *mask, size_t N) {
    TDL_ASSERT(out && inp && mask, "dropout_forward: NULL tensor");
    long n = (long)N;
    #pragma omp parallel for if (n > TDL_DROPOUT_PAR_MIN)
    for (long i = 0; i < n; i++) out[i] = inp[i] * mask[i];
}

// dinp (N) += dout * mask
void tdl_dropout_backward(float *dinp, const float *dout, const float *mask, size_t N) {
    TDL_ASSERT(dinp && dout && mask, "dropout_backward: NULL tensor");
    long n = (long)N;
    #pragma omp parallel for if (n > TDL_DROPOUT_PAR_MIN)
    for (long i = 0; i < n; i++) dinp[i] += dout[i] * mask[i];
}
