/*
 * distance.h: distances between the value distributions of two series.
 *
 * The 1-Wasserstein distance between the empirical distributions of a (n
 * values) and b (m values), W1 = integral over x of |F_a(x) - F_b(x)|, exact
 * (up to rounding) by sorting both and merging the two step functions; n and
 * m may differ. The normalised form first min-max scales each series to
 * [0, 1] by its own range (a constant series -> zeros), as the Azure README
 * and the paper report it (23D vs 23V: 0.1457).
 */
#ifndef TDL_DISTANCE_H
#define TDL_DISTANCE_H

#include <stddef.h>

#include "tdl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* W1 in the units of the values. n, m >= 1 (else TDL_ERR_INVALID), finite
 * values (else TDL_ERR_NUMERIC). Allocates sorted copies (TDL_ERR_NOMEM). */
tdl_status tdl_distance_w1(const double *a, size_t n, const double *b, size_t m, double *w1);

/* W1 of sorted a and b (ascending); no allocation, no checks. */
double tdl_distance_w1_sorted(const double *a, size_t n, const double *b, size_t m);

/* W1 after scaling each series to [0, 1] by its own min and max; in [0, 1]. */
tdl_status tdl_distance_w1_normalized(const double *a, size_t n, const double *b, size_t m,
                                      double *w1);

#ifdef __cplusplus
}
#endif
#endif /* TDL_DISTANCE_H */
