/* unet_gngelu.c: the UNet's fused GroupNorm -> GELU, forward and backward.
 *
 *   n (B, C, S) = GN(x) = (x - mean) * rstd * weight + bias   (tdl_groupnorm's statistics:
 *                 double sums in one pass over x - x[0], biased variance, per (b, g))
 *   out         = GELU(n) = n Phi(n),  Phi(n) = (1 + erf(n / sqrt 2)) / 2
 * Backward, given dout: dn = dout * (Phi(n) + n phi(n)), then GroupNorm's
 * backward; n is recomputed from x and the statistics.
 *
 * The UNet spends most of its element-wise time here, so Phi and exp are
 * branch-free and vectorise (`omp simd`), unlike libm's erfcf and expf:
 *   exp(y): fast_exp of ../nn/fast_exp.h (relative error 6e-9; callers' y never
 *     exceeds 1), for phi(n) in the backward.
 *   erf(z): a rational function of z^2 (see ERF_P), no exp.
 * Against tdl_gelu_forward (libm erfcf), measured on 1e8 points of x in [-12, 12]: within
 * 2.4e-7 * max(1, |x|) with fused multiply-adds (the AVX-512 clone's forward), 2.9e-7
 * without; the worst cases are x of 4 to 5, where Phi rounds near 1 (2 ulp of the output).
 * (The erfc-with-exp form this replaced: 2.1e-7, at 2.4 times the cost.)
 *
 * Optional dropout after the GELU (the ResBlock's block2), fused into the same
 * per-group pass: element i of the flat (B, C, S) output is multiplied by
 * tdl_dropout_mask's mask[i] (0 when word drop->pos + i of the rng is below
 * the threshold, else 1 / (1 - p)), the same product as tdl_dropout_mask +
 * tdl_dropout_forward, so the numbers are those of the unfused passes; the
 * backward multiplies dout by the same mask first. The mask is drawn per
 * group from the positions, so it does not depend on the thread count. The
 * forward can also keep the mask as one byte per element (1: kept), which the
 * backward then reads instead of drawing the words again (Philox costs about
 * as much per element as the whole GroupNorm -> GELU pass).
 *
 * Two more passes ride along: the forward can first add a per-(b, c) value to
 * its input in place (the ResBlock's time-embedding projection added to conv1's
 * output), and the backward can return the per-(b, c) sums over S of the
 * written dinp (that projection's gradient).
 */
/* Element-wise loops with selects vectorise only when GCC may assume that
 * floating-point operations do not trap (tdl never enables FP exceptions);
 * this changes no result (unlike -ffast-math, it allows no reassociation,
 * contraction or NaN assumptions). */
#pragma GCC optimize("no-trapping-math")

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <string.h>

#include "../nn/fast_exp.h"
#include "../nn/group_stats.h"
#include "tdl/rng.h"
#include "unet_plan.h"

#define INV_SQRT2 0.70710678118654752440f
#define INV_SQRT_2PI 0.39894228040143267794f

/* Phi(x) = (1 + erf(z)) / 2, z = x / sqrt 2 clamped to [-4, 4] (erf(4) = 1 - 1.5e-8), with
 * erf(z) = z R(z^2), R = P / Q of degrees 6 and 5 in z^2 (tools/fit_erf_rational.py prints
 * these): numpy least squares of
 * z (P - (erf(z) / z) Q) on 40001 points of z in [0, 4], reweighted by 1 / Q of the previous
 * fit and then (Lawson) by the error, keeping the best (1.5e-9); then rounded to float
 * one at a time (P0 first, the smallest term P6 last), refitting the rest after each, so
 * the rounding leaves no bias: absolute error of erf 7.3e-9, mean 9e-11. No exp, one
 * division. */
static const float ERF_P[7] = {
    1.128379226e+00f, 1.838764548e-01f, 5.434902757e-02f, 3.820773913e-03f,
    3.874005051e-04f, 4.930636806e-06f, -1.439599107e-08f,
};
static const float ERF_Q[6] = {
    1.0f, 4.962901473e-01f, 1.135936528e-01f, 1.543466281e-02f, 1.311875181e-03f, 6.541036419e-05f,
};

static inline __attribute__((always_inline)) float phi_cdf(float x) {
    float z = x * INV_SQRT2;
    z = z < -4.0f ? -4.0f : (z > 4.0f ? 4.0f : z);
    const float u = z * z;
    float p = ERF_P[6];
    p = p * u + ERF_P[5];
    p = p * u + ERF_P[4];
    p = p * u + ERF_P[3];
    p = p * u + ERF_P[2];
    p = p * u + ERF_P[1];
    p = p * u + ERF_P[0];
    float q = ERF_Q[5];
    q = q * u + ERF_Q[4];
    q = q * u + ERF_Q[3];
    q = q * u + ERF_Q[2];
    q = q * u + ERF_Q[1];
    q = q * u + ERF_Q[0];
    return 0.5f * (z * p / q) + 0.5f;
}

/* The per-group work is compiled for AVX-512, AVX2 and the baseline, picked
 * at load time (GCC function multiversioning): the library is built without
 * -march, and these loops are where the UNet spends its element-wise time. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define UNET_CLONES __attribute__((target_clones("avx512f", "avx2", "default"), noinline))
/* The forward lets GCC contract a * b + c to one fused multiply-add where the
 * target has it (the AVX-512 clone): Phi's two Horner chains, the affine and
 * the squares take half the instructions, and each product-sum is rounded
 * once instead of twice (same accuracy class; the numbers differ from the
 * uncontracted ones by rounding only). The backward stays uncontracted. */
#define UNET_CONTRACT __attribute__((optimize("fp-contract=fast")))
#else
#define UNET_CLONES
#define UNET_CONTRACT
#endif

/* Dropout parameters: the rng holding the mask, tdl_dropout_mask's threshold
 * on the word's top 24 bits, the kept elements' scale, the mask's bytes. */
typedef struct drop_mask {
    const tdl_rng *rng; /* NULL: no dropout */
    int32_t thr;
    float scale;
    uint8_t *keep;      /* (B, C, S) 1 where kept, or NULL */
} drop_mask;

static drop_mask drop_of(const tdl_rng *drop, float p, uint8_t *keep) {
    drop_mask d = {drop, 0, 1.0f, keep};
    if (!drop) return d;
    TDL_ASSERT(p >= 0.0f && p < 1.0f, "gn_gelu: dropout p=%g outside [0, 1)", (double)p);
    d.thr = (int32_t)ceilf(p * 16777216.0f); /* as tdl_dropout_mask */
    d.scale = 1.0f / (1.0f - p);
    return d;
}

#define MASK_CHUNK 256 /* rng words per draw */

// y (n) *= mask of words pos .. pos + n - 1 (tdl_dropout_mask's values); keep (n) or
// NULL: 1 where kept.
static inline void apply_mask(float *y, const drop_mask *dm, uint64_t pos, size_t n,
                              uint8_t *keep) {
    uint32_t words[MASK_CHUNK];
    for (size_t i0 = 0; i0 < n; i0 += MASK_CHUNK) {
        const size_t m = n - i0 < MASK_CHUNK ? n - i0 : MASK_CHUNK;
        tdl_rng_words_at(dm->rng, pos + i0, words, m);
        const int32_t thr = dm->thr;
        const float scale = dm->scale;
        float *yc = y + i0;
        if (keep) {
            uint8_t *kc = keep + i0;
#pragma omp simd
            for (size_t j = 0; j < m; j++) {
                const int k = (int32_t)(words[j] >> 8) >= thr;
                kc[j] = (uint8_t)k;
                yc[j] *= k ? scale : 0.0f;
            }
        } else {
#pragma omp simd
            for (size_t j = 0; j < m; j++)
                yc[j] *= (int32_t)(words[j] >> 8) >= thr ? scale : 0.0f;
        }
    }
}

// d (n) *= the kept mask: scale where keep, else 0 (the values apply_mask multiplied by).
static inline void apply_keep(float *d, const uint8_t *keep, float scale, size_t n) {
#pragma omp simd
    for (size_t i = 0; i < n; i++) d[i] *= keep[i] ? scale : 0.0f;
}

// One (b, g) group: y (CG, S) = GELU(GN(x (CG, S))), times the dropout mask of words
// rng pos + off .. when dm->rng (bytes to dm->keep + off when dm->keep); *mean, *rstd;
// w, bb (CG). With cadd (CG): first xw (CG, S), the
// same memory as x, += cadd per channel.
UNET_CLONES UNET_CONTRACT
static void group_forward(float *y, float *mean, float *rstd, const float *x, float *xw,
                          const float *cadd, const float *w, const float *bb, int CG, int S,
                          const drop_mask *dm, size_t off) {
    const size_t n = (size_t)CG * S;
    // one pass: sums of d = x - x0 and d^2 in double (group_stats.h)
    const double x0 = cadd ? (double)(xw[0] + cadd[0]) : (double)x[0];
    double s1 = 0.0, s2 = 0.0;
    if (cadd) {
        for (int cc = 0; cc < CG; cc++) {
            float *xc = xw + (size_t)cc * S;
            const float add = cadd[cc];
            double c1 = 0.0, c2 = 0.0;
#pragma omp simd reduction(+ : c1, c2)
            for (int s = 0; s < S; s++) {
                const float v = xc[s] + add;
                xc[s] = v;
                const double d = (double)v - x0;
                c1 += d;
                c2 += d * d;
            }
            s1 += c1;
            s2 += c2;
        }
    } else {
        group_stats_add(&s1, &s2, x, n, x0);
    }
    group_stats_finish(mean, rstd, s1, s2, n, x0, UNET_GN_EPS);
    const float fm = *mean, fr = *rstd;
    for (int cc = 0; cc < CG; cc++) {
        const float a = fr * w[cc], c = bb[cc] - fm * fr * w[cc];
        const float *xc = x + (size_t)cc * S;
        float *yc = y + (size_t)cc * S;
#pragma omp simd
        for (int s = 0; s < S; s++) {
            const float v = xc[s] * a + c;
            yc[s] = v * phi_cdf(v);
        }
    }
    if (dm->rng) apply_mask(y, dm, dm->rng->pos + off, n, dm->keep ? dm->keep + off : NULL);
}

static void gn_gelu_forward(float *out, float *mean, float *rstd, const float *inp,
                            float *inp_w, const float *cadd, const float *weight,
                            const float *bias, int B, int C, int S, int G, const tdl_rng *drop,
                            float p, uint8_t *keep) {
    const int CG = C / G;
    const size_t n = (size_t)CG * S;
    const drop_mask dm = drop_of(drop, p, keep);
#pragma omp parallel for schedule(static)
    for (int bg = 0; bg < B * G; bg++) {
        const int g = bg % G;
        group_forward(out + (size_t)bg * n, mean + bg, rstd + bg, inp + (size_t)bg * n,
                      cadd ? inp_w + (size_t)bg * n : NULL, cadd ? cadd + (size_t)bg * CG : NULL,
                      weight + g * CG, bias + g * CG, CG, S, &dm, (size_t)bg * n);
    }
}

// out (B, C, S) = GELU(GN(inp)) [* dropout mask]; mean, rstd (B, G); weight, bias (C)
void unet_gn_gelu_forward(float *out, float *mean, float *rstd, const float *inp,
                          const float *weight, const float *bias, int B, int C, int S, int G,
                          const tdl_rng *drop, float p, uint8_t *keep) {
    gn_gelu_forward(out, mean, rstd, inp, NULL, NULL, weight, bias, B, C, S, G, drop, p, keep);
}

// inp (B, C, S) += cadd (B, C) over S; then as unet_gn_gelu_forward
void unet_gn_gelu_forward_add(float *out, float *mean, float *rstd, float *inp, const float *cadd,
                              const float *weight, const float *bias, int B, int C, int S, int G,
                              const tdl_rng *drop, float p, uint8_t *keep) {
    gn_gelu_forward(out, mean, rstd, inp, inp, cadd, weight, bias, B, C, S, G, drop, p, keep);
}

// One (b, g) group of the backward: d (CG, S) becomes dn (d first times the dropout
// mask when dm->rng: from dm->keep + off, else from the words rng pos + off ..);
// dx (CG, S) += (acc) or = (!acc); pw, pb (CG) get the group's sums of dn * xhat and dn
// per channel; with !acc and dsum, dsum (CG) = the sums over S of dx.
UNET_CLONES
static void group_backward(float *dx, double *pw, double *pb, float *dsum, float *d,
                           const float *x, const float *w, const float *bb, float m, float r,
                           int CG, int S, const drop_mask *dm, size_t off, int acc) {
    const size_t n = (size_t)CG * S;
    if (dm->rng && dm->keep) apply_keep(d, dm->keep + off, dm->scale, n);
    else if (dm->rng) apply_mask(d, dm, dm->rng->pos + off, n, NULL);
    double s1 = 0.0, s2 = 0.0;
    for (int cc = 0; cc < CG; cc++) {
        const float wc = w[cc], bc = bb[cc];
        const float *xc = x + (size_t)cc * S;
        float *dc = d + (size_t)cc * S;
        double cw = 0.0, cb = 0.0;
#pragma omp simd reduction(+ : cw, cb)
        for (int s = 0; s < S; s++) {
            const float xhat = (xc[s] - m) * r;
            const float v = xhat * wc + bc;
            const float dg = phi_cdf(v) + v * INV_SQRT_2PI * fast_exp(-0.5f * v * v);
            const float dn = dc[s] * dg;
            dc[s] = dn;
            cw += (double)dn * xhat;
            cb += dn;
        }
        pw[cc] = cw;
        pb[cc] = cb;
        s1 += cb * wc; // sum of dxhat = dn * w
        s2 += cw * wc; // sum of dxhat * xhat
    }
    const float m1 = (float)(s1 / (double)n), m2 = (float)(s2 / (double)n);
    for (int cc = 0; cc < CG; cc++) {
        const float wc = w[cc];
        const float *xc = x + (size_t)cc * S;
        const float *dc = d + (size_t)cc * S;
        float *dxc = dx + (size_t)cc * S;
        if (acc) {
#pragma omp simd
            for (int s = 0; s < S; s++) {
                const float xhat = (xc[s] - m) * r;
                dxc[s] += r * (dc[s] * wc - m1 - xhat * m2);
            }
        } else {
            double rs = 0.0;
#pragma omp simd reduction(+ : rs)
            for (int s = 0; s < S; s++) {
                const float xhat = (xc[s] - m) * r;
                const float v = r * (dc[s] * wc - m1 - xhat * m2);
                dxc[s] = v;
                rs += v;
            }
            if (dsum) dsum[cc] = (float)rs;
        }
    }
}

// dout (B, C, S) is overwritten with dn = dL/dGN-output; dinp (B, C, S) += (acc) or =
// (!acc), dweight, dbias (C) +=; dsum (B, C) or NULL (only with !acc) = sums over S of
// dinp; part: 2*B*C doubles of scratch.
void unet_gn_gelu_backward(float *dinp, float *dweight, float *dbias, float *dsum, float *dout,
                           const float *inp, const float *weight, const float *bias,
                           const float *mean, const float *rstd, double *part, int B, int C,
                           int S, int G, const tdl_rng *drop, float p, const uint8_t *keep,
                           int acc) {
    TDL_ASSERT(!dsum || !acc, "gn_gelu_backward: dsum needs acc == 0");
    const int CG = C / G;
    const size_t n = (size_t)CG * S;
    const drop_mask dm = drop_of(drop, p, (uint8_t *)(uintptr_t)keep); /* only read here */
    double *pw = part, *pb = part + (size_t)B * C; // (B, C) sums of dn * xhat and of dn
#pragma omp parallel for schedule(static)
    for (int bg = 0; bg < B * G; bg++) {
        const int b = bg / G, g = bg % G;
        group_backward(dinp + (size_t)bg * n, pw + (size_t)b * C + g * CG,
                       pb + (size_t)b * C + g * CG, dsum ? dsum + (size_t)bg * CG : NULL,
                       dout + (size_t)bg * n, inp + (size_t)bg * n,
                       weight + g * CG, bias + g * CG, mean[bg], rstd[bg], CG, S, &dm,
                       (size_t)bg * n, acc);
    }
    // affine gradients: per channel, over the batch in order
    for (int c = 0; c < C; c++) {
        double sw = 0.0, sb = 0.0;
        for (int b = 0; b < B; b++) {
            sw += pw[(size_t)b * C + c];
            sb += pb[(size_t)b * C + c];
        }
        dweight[c] += (float)sw;
        dbias[c] += (float)sb;
    }
}
