/*
 * series.h: a workload series (one value per time slot) and the data
 * protocol of spec section 2 built on it.
 *
 * Units: a series holds tokens per slot, or values normalised to [0, 1] by a
 * tdl_range. Series are double; the arrays handed to models (rows, windows,
 * images) are float, row-major. Dimensions: N values, R rows of
 * TDL_ROW_LEN (28), W windows.
 *
 * The protocol, in order:
 *   normalise (own range, or the training range)  tdl_series_normalize
 *   rows of 28, tail dropped                      tdl_series_rows
 *   ordered 70/30 split of the rows               tdl_rows_split
 *   at most 100,000 values of a test series       tdl_series_test_count
 *   windows of 7 inputs, 1 target (21 per row)    tdl_windows_all / _at
 *   1x28x28 images of 28 rows                     tdl_images_from_rows
 * and beside it: concatenation and slicing, summary statistics and the
 * autocorrelation, detection of an exactly repeating series.
 */
#ifndef TDL_SERIES_H
#define TDL_SERIES_H

#include <stddef.h>

#include "tdl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    TDL_ROW_LEN = 28,          /* slots per row */
    TDL_WINDOW_IN = 7,         /* inputs of one prediction instance */
    TDL_WINDOWS_PER_ROW = 21,  /* targets t = 7..27 of a row */
    TDL_IMAGE_SIDE = 28,       /* an image is 1 x 28 x 28 = 28 rows */
    TDL_TEST_MAX_VALUES = 100000 /* a test series uses at most its first 100,000 values */
};

/* One numeric series: tokens per slot, or values normalised to [0, 1]. */
typedef struct tdl_series {
    double *v;   /* (n) */
    size_t n;
} tdl_series;

/* Allocate n zeroed values. */
tdl_status tdl_series_alloc(tdl_series *s, size_t n);

/* NULL-safe; leaves *s empty. */
void tdl_series_free(tdl_series *s);

/* out = a copy of s->v[begin .. end-1]; begin <= end <= s->n (else
 * TDL_ERR_INVALID). out is allocated; free it with tdl_series_free. */
tdl_status tdl_series_slice(tdl_series *out, const tdl_series *s, size_t begin, size_t end);

/* out = parts[0] followed by parts[1] ... parts[k-1] (k >= 1). */
tdl_status tdl_series_concat(tdl_series *out, const tdl_series *parts, size_t k);

/* ---- normalisation (series_norm.c) ---- */

/* A value range in tokens; normalised z = (v - min) / (max - min). */
typedef struct tdl_range {
    double min, max;
} tdl_range;

/* The series' own range. n >= 1 and finite values, else TDL_ERR_INVALID /
 * TDL_ERR_NUMERIC. */
tdl_status tdl_series_range(const tdl_series *s, tdl_range *r);

/* TDL_OK when r can map normalised values to tokens and back: min and max
 * finite, max > min, and max - min finite. Otherwise TDL_ERR_INVALID with a
 * message that starts with `what` (e.g. "the training series") and says
 * which: a constant series (every value equal) has a range of zero width,
 * so a model trained or evaluated on it would see only zeros and every
 * forecast would map to the same token count. */
tdl_status tdl_range_check(tdl_range r, const char *what);

/* out[i] = (v[i] - r.min) / (r.max - r.min), i < n; all zeros when
 * r.max == r.min (a constant series, spec section 2). Values outside r map
 * outside [0, 1]: nothing is clipped (the physical protocol needs that).
 * out may equal v. */
void tdl_normalize(double *out, const double *v, size_t n, tdl_range r);

/* Tokens from normalised values: out[i] = z[i] * (r.max - r.min) + r.min.
 * out may equal z. */
void tdl_denormalize(double *out, const double *z, size_t n, tdl_range r);
void tdl_denormalize_f(float *out, const float *z, size_t n, tdl_range r);

/* *r = own range of s and s normalised in place by it. */
tdl_status tdl_series_normalize(tdl_series *s, tdl_range *r);

/* ---- rows, split, windows, images (series_rows.c, series_images.c) ---- */

/* Rows of 28 that fit in n values (the tail is dropped): n / 28. */
size_t tdl_rows_count(size_t n);

/* rows (R, 28) float with R = tdl_rows_count(n): rows[r][j] = v[28 r + j]. */
void tdl_series_rows(float *rows, const double *v, size_t n);

/* The ordered split of R rows: the first *ntrain rows train, the last
 * *ntest = ceil(0.3 R) test (integer arithmetic: (3R + 9) / 10).
 * R = 751 -> 525 train, 226 test. */
void tdl_rows_split(size_t R, size_t *ntrain, size_t *ntest);

/* Values of a test series that are used: min(n, TDL_TEST_MAX_VALUES). */
size_t tdl_series_test_count(size_t n);

/* Windows of R rows: 21 * R instances; instance w = 21 r + (t - 7), t = 7..27:
 * x (W, 7, 1) = rows[r][t-7 .. t-1], y (W) = rows[r][t]. The (B, T, C)
 * layout tdl_lstm_forward takes, B = W, T = 7, C = 1. */
size_t tdl_windows_count(size_t R);
void tdl_windows_all(float *x, float *y, const float *rows, size_t R);

/* The batch of one step t in [7, 27] as the authors train (one step per
 * (batch, t)): x (R, 7, 1) = rows[r][t-7 .. t-1], y (R) = rows[r][t]. */
void tdl_windows_at(float *x, float *y, const float *rows, size_t R, int t);

/* Images of R rows (R >= 1): ceil(R / 28). Image k is rows 28 k .. 28 k + 27;
 * the last partial group is completed with rows 0, 1, ... from the start
 * (cycling if R < 28). */
size_t tdl_images_count(size_t R);

/* img (count, 1, 28, 28): image i of the count is image (i mod
 * tdl_images_count(R)) above, so a larger count tiles the images in order.
 * R >= 1. */
void tdl_images_from_rows(float *img, size_t count, const float *rows, size_t R);

/* ---- statistics (series_stats.c) ---- */

typedef struct tdl_series_stats {
    double min, max, mean;
    double std; /* population standard deviation (divides by n) */
} tdl_series_stats;

/* n >= 1 and finite values, else TDL_ERR_INVALID / TDL_ERR_NUMERIC. Values
 * beyond 2^500 are summed scaled by a power of two (exact), so the mean and
 * spread of values near the largest double come out right; a result that
 * still overflows is TDL_ERR_NUMERIC, never an inf or nan. */
tdl_status tdl_series_stats_compute(const tdl_series *s, tdl_series_stats *st);

/* Sample autocorrelation at lags 1..L: acf[k-1] = sum_{i<n-k} (v[i]-m)(v[i+k]-m)
 * / sum_i (v[i]-m)^2 (the usual biased estimator, as statsmodels' acf).
 * Needs 1 <= L < n (else TDL_ERR_INVALID); a constant series gives zeros. */
tdl_status tdl_series_acf(double *acf, const tdl_series *s, size_t L);

/* ---- repetition (series_period.c) ---- */

/* The smallest period p of an exactly repeating series: v[i] == v[i + p] for
 * every i < n - p, with at least two full repeats (2 p <= n). 0 when there is
 * none (or n < 2). Values compare with ==, so NaN never repeats. O(n) time
 * (prefix function over the values), O(n) scratch; TDL_ERR_NOMEM on failure. */
tdl_status tdl_series_period(const tdl_series *s, size_t *period);

#ifdef __cplusplus
}
#endif
#endif /* TDL_SERIES_H */
