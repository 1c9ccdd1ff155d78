/* layernorm.c: layer normalisation over the last dimension (torch.nn.LayerNorm(C)). */
#include <math.h>

#include "tdl/nn.h"
#include "tdl/status.h"

#define TDL_LN_PAR_MIN 8192 /* elements below which one thread does it all */

// out (N, C), mean (N), rstd (N), inp (N, C), weight (C), bias (C)
void tdl_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                           const float *weight, const float *bias, int N, int C, float eps) {
    TDL_ASSERT(out && mean && rstd && inp && weight && bias, "layernorm_forward: NULL tensor");
    TDL_ASSERT(N > 0 && C > 0, "layernorm_forward: bad dims N=%d C=%d", N, C);
    #pragma omp parallel for if ((long)N * C > TDL_LN_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        double s = 0.0;
        for (int i = 0; i < C; i++) s += x[i];
        double m = s / C;
        double v = 0.0;  // biased variance, two-pass
        for (int i = 0; i < C; i++) {
            double d = x[i] - m;
            v += d * d;
        }
        v /= C;
        float mf = (float)m, rs = (float)(1.0 / sqrt(v + (double)eps));
        float *o = out + (size_t)n * C;
        for (int i = 0; i < C; i++) o[i] = (x[i] - mf) * rs * weight[i] + bias[i];
        mean[n] = mf;
        rstd[n] = rs;
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
        // dx = rstd (dnorm - mean(dnorm) - norm mean(dnorm norm)), dnorm = dout * weight
        #pragma omp parallel for if (par)
        for (int n = 0; n < N; n++) {
            const float *x = inp + (size_t)n * C, *d = dout + (size_t)n * C;
            float m = mean[n], rs = rstd[n];
            float dmean = 0.0f, dnorm_norm = 0.0f;
            for (int i = 0; i < C; i++) {
                float norm = (x[i] - m) * rs, dnorm = d[i] * weight[i];
                dmean += dnorm;
                dnorm_norm += dnorm * norm;
            }
            dmean /= (float)C;
            dnorm_norm /= (float)C;
            float *dx = dinp + (size_t)n * C;
            for (int i = 0; i < C; i++) {
                float norm = (x[i] - m) * rs, dnorm = d[i] * weight[i];
                dx[i] += (dnorm - dmean - norm * dnorm_norm) * rs;
            }
        }
    }
    if (dweight || dbias) {
        // reductions over rows: each thread owns a block of columns (no shared writes)
        const int CB = 64;
        int nblocks = (C + CB - 1) / CB;
        #pragma omp parallel for if (par && nblocks > 1)
        for (int blk = 0; blk < nblocks; blk++) {
            int i0 = blk * CB, i1 = i0 + CB < C ? i0 + CB : C;
            float aw[64], ab[64];
            for (int i = 0; i < i1 - i0; i++) aw[i] = ab[i] = 0.0f;
            for (int n = 0; n < N; n++) {
                const float *x = inp + (size_t)n * C, *d = dout + (size_t)n * C;
                float m = mean[n], rs = rstd[n];
                for (int i = i0; i < i1; i++) {
                    aw[i - i0] += d[i] * ((x[i] - m) * rs);
                    ab[i - i0] += d[i];
                }
            }
            for (int i = i0; i < i1; i++) {
                if (dweight) dweight[i] += aw[i - i0];
                if (dbias) dbias[i] += ab[i - i0];
            }
        }
    }
}
