/* group_stats.h: the statistics of one GroupNorm group (tdl_groupnorm_forward
 * and the UNet's fused GroupNorm -> GELU), accumulated in one pass:
 *
 *   s1 = sum (x - x0),  s2 = sum (x - x0)^2   in double, x0 the group's first value
 *   mean = x0 + s1 / n,  var = s2 / n - (s1 / n)^2 (biased),  rstd = 1 / sqrt(var + eps)
 *
 * d = x - x0 and d^2 are (nearly always) exact in double, and shifting by a
 * value of the group keeps E[d^2] - E[d]^2 free of cancellation when
 * |mean| >> std. Always inlined: GCC would not inline into the UNet's clones
 * compiled with other optimize() options, and the loop would not vectorise there. */
#ifndef TDL_GROUP_STATS_H
#define TDL_GROUP_STATS_H

#include <math.h>
#include <stddef.h>

#define GROUP_STATS_INLINE static inline __attribute__((always_inline))

// *s1, *s2 += the sums of d = x - x0 and d^2 over x (n)
GROUP_STATS_INLINE void group_stats_add(double *s1, double *s2, const float *x, size_t n,
                                        double x0) {
    double a = 0.0, b = 0.0;
#pragma omp simd reduction(+ : a, b)
    for (size_t i = 0; i < n; i++) {
        const double d = (double)x[i] - x0;
        a += d;
        b += d * d;
    }
    *s1 += a;
    *s2 += b;
}

// *mean, *rstd of a group of n values from its shifted sums s1, s2 (shift x0)
GROUP_STATS_INLINE void group_stats_finish(float *mean, float *rstd, double s1, double s2,
                                           size_t n, double x0, double eps) {
    const double dm = s1 / (double)n;
    double var = s2 / (double)n - dm * dm;
    if (var < 0.0) var = 0.0;
    *mean = (float)(x0 + dm);
    *rstd = (float)(1.0 / sqrt(var + eps));
}

#endif
