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

static double mean_of(const double *v, size_t n) {
    double m = 0.0;
    for (size_t i = 0; i < n; i++) m += v[i];
    m /= (double)n;
    /* one correction pass: the mean of the residuals */
    double c = 0.0;
    for (size_t i = 0; i < n; i++) c += v[i] - m;
    return m + c / (double)n;
}

tdl_status tdl_series_stats_compute(const tdl_series *s, tdl_series_stats *st) {
    TDL_ASSERT(s && st, "NULL argument");
    TDL_TRY(check_finite(s));
    double lo = s->v[0], hi = s->v[0];
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i] < lo) lo = s->v[i];
        if (s->v[i] > hi) hi = s->v[i];
    }
    double m = mean_of(s->v, s->n), ss = 0.0;
    for (size_t i = 0; i < s->n; i++) ss += (s->v[i] - m) * (s->v[i] - m);
    st->min = lo;
    st->max = hi;
    st->mean = m;
    st->std = sqrt(ss / (double)s->n);
    return TDL_OK;
}

tdl_status tdl_series_acf(double *acf, const tdl_series *s, size_t L) {
    TDL_ASSERT(acf && s, "NULL argument");
    TDL_TRY(check_finite(s));
    if (L < 1 || L >= s->n)
        return tdl_error(TDL_ERR_INVALID, "autocorrelation lags 1..%zu need more than %zu values",
                         L, L);
    double m = mean_of(s->v, s->n), den = 0.0;
    for (size_t i = 0; i < s->n; i++) den += (s->v[i] - m) * (s->v[i] - m);
    for (size_t k = 1; k <= L; k++) {
        double num = 0.0;
        for (size_t i = 0; i + k < s->n; i++) num += (s->v[i] - m) * (s->v[i + k] - m);
        acf[k - 1] = den > 0.0 ? num / den : 0.0;
    }
    return TDL_OK;
}
