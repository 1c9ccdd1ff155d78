/* fast_exp.h (internal): a branch-free float exp that vectorises under
 * `omp simd`, unlike libm's expf, for the element-wise loops of the UNet
 * (fused GroupNorm -> GELU, the attention softmax).
 *
 *   exp(y): y = k ln2 + r (|r| <= ln2 / 2, ln2 split in two so k ln2 is exact),
 *   Taylor of degree 7 in r (relative error 6e-9 against exp(r)), times 2^k
 *   built from its bits; y is clamped to [-87, 88] (exp(-87) = 1.6e-38, the
 *   smallest normal is 1.2e-38; exp(88) = 1.7e38 < FLT_MAX), so 2^k stays a
 *   normal float and results below the range are 1.6e-38, not 0. NaN stays NaN.
 * Against expf the result differs by a few ulp (rounding of the polynomial).
 */
#ifndef TDL_FAST_EXP_H
#define TDL_FAST_EXP_H

#include <stdint.h>
#include <string.h>

/* always_inline: also inlined into callers compiled with other optimize() options
 * (unet_gngelu.c's contracted forward), which GCC otherwise refuses. */
static inline __attribute__((always_inline)) float fast_exp(float y) {
    y = y < -87.0f ? -87.0f : (y > 88.0f ? 88.0f : y);
    const float magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    const float kf = (y * 1.44269504088896341f + magic) - magic;
    float r = y - kf * 0.693145751953125f; /* ln2 high part, exact product */
    r = r - kf * 1.42860682030941723212e-6f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    /* kf is in [-126, 127] for finite y; a NaN y gives a NaN kf, whose int
     * conversion is undefined, so the exponent is taken from a clamped copy
     * (a NaN compares false and becomes -126) and the NaN still reaches the
     * result through r and p. */
    const float kc = kf > -126.0f ? kf : -126.0f;
    const int32_t bits = ((int32_t)kc + 127) * (1 << 23);
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

#endif /* TDL_FAST_EXP_H */
