/* series_stats.c: mean, standard deviation, extremes and the
 * autocorrelation of a series. */
#include <math.h>

#include "tdl/series.h"

static tdl_status check_finite(const tdl_series *s) {
    if (s->n == 0) return tdl_error(TDL_ERR_INVALID, "statistics of an empty series");
    for (size_t i = 0; i < s->n; i++)
        if (!isfinite(s->v[i]))
            return tdl_error(TDL_ERR_NUMERIC, "value %zu of the series is not finite", i);
    return TDL_OK;
}

/* The factor the values are computed with: 1, or for values beyond 2^500
 * (whose sums or squared deviations could overflow, e.g. the mean of 1e308
 * and 1.5e308 came out as nan) the power of two 2^-e with 2^e > max |v|.
 * A power of two scales exactly, so ordinary series keep every bit. */
static double scale_of(const double *v, size_t n) {
    double m = 0.0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(v[i]));
    if (m <= 0x1p500) return 1.0;
    int e;
    frexp(m, &e);
    return ldexp(1.0, -e);
}

/* Mean of the values times c. */
static double mean_of(const double *v, size_t n, double c) {
    double m = 0.0;
    for (size_t i = 0; i < n; i++) m += v[i] * c;
    m /= (double)n;
    /* one correction pass: the mean of the residuals */
    double r = 0.0;
    for (size_t i = 0; i < n; i++) r += v[i] * c - m;
    return m + r / (double)n;
}

tdl_status tdl_series_stats_compute(const tdl_series *s, tdl_series_stats *st) {
    TDL_ASSERT(s && st, "NULL argument");
    TDL_TRY(check_finite(s));
    double lo = s->v[0], hi = s->v[0];
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i] < lo) lo = s->v[i];
        if (s->v[i] > hi) hi = s->v[i];
    }
    const double c = scale_of(s->v, s->n);
    double m = mean_of(s->v, s->n, c), ss = 0.0;
    for (size_t i = 0; i < s->n; i++) ss += (s->v[i] * c - m) * (s->v[i] * c - m);
    st->min = lo;
    st->max = hi;
    st->mean = m / c;
    st->std = sqrt(ss / (double)s->n) / c;
    if (!isfinite(st->mean) || !isfinite(st->std))
        return tdl_error(TDL_ERR_NUMERIC, "the series' mean or spread overflows a double "
                         "(values %g .. %g)", lo, hi);
    return TDL_OK;
}

tdl_status tdl_series_acf(double *acf, const tdl_series *s, size_t L) {
    TDL_ASSERT(acf && s, "NULL argument");
    TDL_TRY(check_finite(s));
    if (L < 1 || L >= s->n)
        return tdl_error(TDL_ERR_INVALID, "autocorrelation lags 1..%zu need more than %zu values",
                         L, L);
    /* the ratio does not depend on the scale: computed on the scaled values */
    const double c = scale_of(s->v, s->n);
    double m = mean_of(s->v, s->n, c), den = 0.0;
    for (size_t i = 0; i < s->n; i++) den += (s->v[i] * c - m) * (s->v[i] * c - m);
    for (size_t k = 1; k <= L; k++) {
        double num = 0.0;
        for (size_t i = 0; i + k < s->n; i++) num += (s->v[i] * c - m) * (s->v[i + k] * c - m);
        acf[k - 1] = den > 0.0 ? num / den : 0.0;
    }
    return TDL_OK;
}
