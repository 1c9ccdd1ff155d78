/* layernorm.c: layer normalisation over the last dimension (torch.nn.LayerNorm(C)).
 *
 * The row loops are vector loops: the forward's mean and variance are double
 * sums, the backward's two row reductions float sums, all reduced in vector
 * lanes (a summation order of their own, the same on every run and thread
 * count; the forward's double sums round to the same float almost always). */
#include <math.h>

#include "tdl/nn.h"
#include "tdl/status.h"

#define TDL_LN_PAR_MIN 8192 /* elements below which one thread does it all */

/* Several instruction sets for the row loops, chosen at load time (no FMA
 * contraction: the same operations in every version). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(TDL_NO_CLONES)
#define LN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LN_CLONES
#endif

/* One row: o (C) = (x - mean) * rstd * w + b; *mean, *rstd out. */
LN_CLONES
static void ln_row_forward(float *restrict o, float *mean, float *rstd, const float *restrict x,
                           const float *restrict w, const float *restrict b, int C, float eps) {
    double s = 0.0;
    #pragma omp simd reduction(+ : s)
    for (int i = 0; i < C; i++) s += x[i];
    double m = s / C;
    double v = 0.0;  // biased variance, two-pass
    #pragma omp simd reduction(+ : v)
    for (int i = 0; i < C; i++) {
        double d = x[i] - m;
        v += d * d;
    }
    v /= C;
    float mf = (float)m, rs = (float)(1.0 / sqrt(v + (double)eps));
    #pragma omp simd
    for (int i = 0; i < C; i++) o[i] = (x[i] - mf) * rs * w[i] + b[i];
    *mean = mf;
    *rstd = rs;
}

// out (N, C), mean (N), rstd (N), inp (N, C), weight (C), bias (C)
void tdl_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                           const float *weight, const float *bias, int N, int C, float eps) {
    TDL_ASSERT(out && mean && rstd && inp && weight && bias, "layernorm_forward: NULL tensor");
    TDL_ASSERT(N > 0 && C > 0, "layernorm_forward: bad dims N=%d C=%d", N, C);
    #pragma omp parallel for if ((long)N * C > TDL_LN_PAR_MIN)
    for (int n = 0; n < N; n++)
        ln_row_forward(out + (size_t)n * C, mean + n, rstd + n, inp + (size_t)n * C, weight, bias,
                       C, eps);
}

void tdl_layernorm_forward_row(float *out, float *mean, float *rstd, const float *inp,
                               const float *weight, const float *bias, int C, float eps) {
    TDL_ASSERT(out && mean && rstd && inp && weight && bias && C > 0, "layernorm_forward_row");
    ln_row_forward(out, mean, rstd, inp, weight, bias, C, eps);
}

/* One row of dinp: dx (C) += rstd (dnorm - mean(dnorm) - norm mean(dnorm norm)),
 * dnorm = d * w, norm = (x - m) * rs. */
LN_CLONES
static void ln_row_backward(float *restrict dx, const float *restrict d, const float *restrict x,
                            const float *restrict w, float m, float rs, int C) {
    float dmean = 0.0f, dnorm_norm = 0.0f;
    #pragma omp simd reduction(+ : dmean, dnorm_norm)
    for (int i = 0; i < C; i++) {
        float norm = (x[i] - m) * rs, dnorm = d[i] * w[i];
        dmean += dnorm;
        dnorm_norm += dnorm * norm;
    }
    dmean /= (float)C;
    dnorm_norm /= (float)C;
    #pragma omp simd
    for (int i = 0; i < C; i++) {
        float norm = (x[i] - m) * rs, dnorm = d[i] * w[i];
        dx[i] += (dnorm - dmean - norm * dnorm_norm) * rs;
    }
}

/* Columns [i0, i1) of dweight and dbias, summed over the N rows in order
 * (each lane one column: the same sums as a scalar loop). aw, ab (i1 - i0). */
LN_CLONES
static void ln_cols_backward(float *restrict aw, float *restrict ab, const float *dout,
                             const float *inp, const float *mean, const float *rstd, int N, int C,
                             int i0, int i1) {
    for (int i = 0; i < i1 - i0; i++) aw[i] = ab[i] = 0.0f;
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C + i0, *d = dout + (size_t)n * C + i0;
        const float m = mean[n], rs = rstd[n];
        #pragma omp simd
        for (int i = 0; i < i1 - i0; i++) {
            aw[i] += d[i] * ((x[i] - m) * rs);
            ab[i] += d[i];
        }
    }
}

// dinp (N, C), dweight (C), dbias (C), dout (N, C), inp (N, C), weight (C), mean, rstd (N)
void tdl_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                            const float *inp, const float *weight, const float *mean,
                            const float *rstd, int N, int C) {
    TDL_ASSERT(dout && inp && weight && mean && rstd, "layernorm_backward: NULL tensor");
    TDL_ASSERT(N > 0 && C > 0, "layernorm_backward: bad dims N=%d C=%d", N, C);
    int par = (long)N * C > TDL_LN_PAR_MIN;
    if (dinp) {
        #pragma omp parallel for if (par)
        for (int n = 0; n < N; n++)
            ln_row_backward(dinp + (size_t)n * C, dout + (size_t)n * C, inp + (size_t)n * C,
                            weight, mean[n], rstd[n], C);
    }
    if (dweight || dbias) {
        // reductions over rows: each thread owns a block of columns (no shared writes)
        const int CB = 64;
        int nblocks = (C + CB - 1) / CB;
        #pragma omp parallel for if (par && nblocks > 1)
        for (int blk = 0; blk < nblocks; blk++) {
            int i0 = blk * CB, i1 = i0 + CB < C ? i0 + CB : C;
            float aw[64], ab[64];
            ln_cols_backward(aw, ab, dout, inp, mean, rstd, N, C, i0, i1);
            for (int i = i0; i < i1; i++) {
                if (dweight) dweight[i] += aw[i - i0];
                if (dbias) dbias[i] += ab[i - i0];
            }
        }
    }
}
