/* groupnorm.c: group normalisation over (C/G channels, S positions), as
 * torch.nn.GroupNorm(G, C, eps): biased variance, per-channel affine.
 * Statistics: group_stats.h (double, one pass over x - x[0]). */
#include <math.h>
#include <omp.h>

#include "group_stats.h"
#include "tdl/nn.h"
#include "tdl/status.h"

// out (B, C, S), mean (B, G), rstd (B, G), inp (B, C, S), weight (C), bias (C)
void tdl_groupnorm_forward(float *out, float *mean, float *rstd, const float *inp,
                           const float *weight, const float *bias, int B, int C, int S, int G,
                           float eps) {
    TDL_ASSERT(out && mean && rstd && inp && weight && bias, "NULL argument");
    TDL_ASSERT(B > 0 && C > 0 && S > 0 && G > 0 && C % G == 0,
               "bad shape B=%d C=%d S=%d G=%d", B, C, S, G);
    const int CG = C / G;
    const size_t n = (size_t)CG * S; // elements per group
#pragma omp parallel for schedule(static)
    for (int bg = 0; bg < B * G; bg++) {
        const int g = bg % G;
        const float *x = inp + (size_t)bg * n; // group bg is contiguous: (CG, S)
        float *y = out + (size_t)bg * n;
        double s1 = 0.0, s2 = 0.0;
        group_stats_add(&s1, &s2, x, n, x[0]);
        group_stats_finish(&mean[bg], &rstd[bg], s1, s2, n, x[0], eps);
        const float fm = mean[bg], fr = rstd[bg];
        for (int cc = 0; cc < CG; cc++) {
            const int c = g * CG + cc;
            const float w = weight[c], bb = bias[c];
            const float *xc = x + (size_t)cc * S;
            float *yc = y + (size_t)cc * S;
            for (int s = 0; s < S; s++) yc[s] = (xc[s] - fm) * fr * w + bb;
        }
    }
}

// dinp (B, C, S), dweight (C), dbias (C); dout, inp (B, C, S); weight (C); mean, rstd (B, G)
void tdl_groupnorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                            const float *inp, const float *weight, const float *mean,
                            const float *rstd, int B, int C, int S, int G) {
    TDL_ASSERT(dout && inp && weight && mean && rstd, "NULL argument");
    TDL_ASSERT(B > 0 && C > 0 && S > 0 && G > 0 && C % G == 0,
               "bad shape B=%d C=%d S=%d G=%d", B, C, S, G);
    const int CG = C / G;
    const size_t n = (size_t)CG * S;
    // Affine parameters: one thread per channel, summing over (B, S) in order.
    if (dweight || dbias) {
#pragma omp parallel for schedule(static)
        for (int c = 0; c < C; c++) {
            const int g = c / CG;
            double dw = 0.0, db = 0.0;
            for (int b = 0; b < B; b++) {
                const float m = mean[b * G + g], r = rstd[b * G + g];
                const float *x = inp + ((size_t)b * C + c) * S;
                const float *dy = dout + ((size_t)b * C + c) * S;
                for (int s = 0; s < S; s++) {
                    dw += (double)dy[s] * ((x[s] - m) * r);
                    db += dy[s];
                }
            }
            if (dweight) dweight[c] += (float)dw;
            if (dbias) dbias[c] += (float)db;
        }
    }
    if (!dinp) return;
    // dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dout * weight.
#pragma omp parallel for schedule(static)
    for (int bg = 0; bg < B * G; bg++) {
        const int g = bg % G;
        const float m = mean[bg], r = rstd[bg];
        const float *x = inp + (size_t)bg * n;
        const float *dy = dout + (size_t)bg * n;
        float *dx = dinp + (size_t)bg * n;
        double s1 = 0.0, s2 = 0.0;
        for (int cc = 0; cc < CG; cc++) {
            const float w = weight[g * CG + cc];
            for (int s = 0; s < S; s++) {
                const size_t i = (size_t)cc * S + s;
                const double dxh = (double)dy[i] * w;
                s1 += dxh;
                s2 += dxh * ((x[i] - m) * r);
            }
        }
        const float m1 = (float)(s1 / (double)n), m2 = (float)(s2 / (double)n);
        for (int cc = 0; cc < CG; cc++) {
            const float w = weight[g * CG + cc];
            for (int s = 0; s < S; s++) {
                const size_t i = (size_t)cc * S + s;
                const float xhat = (x[i] - m) * r;
                dx[i] += r * (dy[i] * w - m1 - xhat * m2);
            }
        }
    }
}
