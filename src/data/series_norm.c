/* series_norm.c: min-max normalisation of a series and the way back to
 * tokens (spec section 2). */
#include <math.h>

#include "tdl/series.h"

tdl_status tdl_series_range(const tdl_series *s, tdl_range *r) {
    TDL_ASSERT(s && r, "NULL argument");
    if (s->n == 0) return tdl_error(TDL_ERR_INVALID, "the range of an empty series");
    double lo = s->v[0], hi = s->v[0];
    for (size_t i = 0; i < s->n; i++) {
        double x = s->v[i];
        if (!isfinite(x))
            return tdl_error(TDL_ERR_NUMERIC, "value %zu of the series is not finite", i);
        if (x < lo) lo = x;
        if (x > hi) hi = x;
    }
    r->min = lo;
    r->max = hi;
    return TDL_OK;
}

tdl_status tdl_range_check(tdl_range r, const char *what) {
    if (!isfinite(r.min) || !isfinite(r.max))
        return tdl_error(TDL_ERR_INVALID, "%s has the range %g .. %g, not finite", what, r.min,
                         r.max);
    if (!(r.max > r.min))
        return tdl_error(TDL_ERR_INVALID, "%s is constant (every value %g): its min-max range "
                         "has zero width, so it cannot be normalised (it needs at least two "
                         "distinct values)", what, r.min);
    if (!isfinite(r.max - r.min))
        return tdl_error(TDL_ERR_INVALID, "%s spans %g .. %g, a width beyond the largest "
                         "double", what, r.min, r.max);
    return TDL_OK;
}

void tdl_normalize(double *out, const double *v, size_t n, tdl_range r) {
    double span = r.max - r.min;
    if (span == 0.0) {
        for (size_t i = 0; i < n; i++) out[i] = 0.0;
        return;
    }
    for (size_t i = 0; i < n; i++) out[i] = (v[i] - r.min) / span;
}

void tdl_denormalize(double *out, const double *z, size_t n, tdl_range r) {
    double span = r.max - r.min;
    for (size_t i = 0; i < n; i++) out[i] = z[i] * span + r.min;
}

void tdl_denormalize_f(float *out, const float *z, size_t n, tdl_range r) {
    double span = r.max - r.min;
    for (size_t i = 0; i < n; i++) out[i] = (float)((double)z[i] * span + r.min);
}

tdl_status tdl_series_normalize(tdl_series *s, tdl_range *r) {
    TDL_TRY(tdl_series_range(s, r));
    tdl_normalize(s->v, s->v, s->n, *r);
    return TDL_OK;
}
