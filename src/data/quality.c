/* quality.c: a generated series against a real one: W1, mean and spread,
 * autocorrelation at lags 1..28, a 20-bin histogram and its total
 * variation distance (quality.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/distance.h"
#include "tdl/quality.h"

const char *tdl_quality_scale_name(tdl_quality_scale s) {
    return s == TDL_QUALITY_OWN_RANGE ? "own-range" : "as-given";
}

tdl_status tdl_quality_scale_parse(const char *name, tdl_quality_scale *s) {
    TDL_ASSERT(name && s, "NULL argument");
    if (strcmp(name, "as-given") == 0 || strcmp(name, "normalised") == 0 ||
        strcmp(name, "normalized") == 0) {
        *s = TDL_QUALITY_AS_GIVEN;
        return TDL_OK;
    }
    if (strcmp(name, "own-range") == 0 || strcmp(name, "own") == 0) {
        *s = TDL_QUALITY_OWN_RANGE;
        return TDL_OK;
    }
    return tdl_error(TDL_ERR_INVALID, "unknown scale '%s' (normalised or own-range)", name);
}

/* Checks one input and makes the scaled copy *out (allocated). */
static tdl_status scaled_copy(tdl_series *out, const tdl_series *s, tdl_quality_scale scale,
                              const char *which) {
    if (s->n <= TDL_QUALITY_LAGS)
        return tdl_error(TDL_ERR_INVALID,
                         "the %s series has %zu values; quality needs at least %d "
                         "(autocorrelation to lag %d)",
                         which, s->n, TDL_QUALITY_LAGS + 1, TDL_QUALITY_LAGS);
    for (size_t i = 0; i < s->n; i++)
        if (!isfinite(s->v[i]))
            return tdl_error(TDL_ERR_NUMERIC, "value %zu of the %s series is not finite", i, which);
    TDL_TRY(tdl_series_alloc(out, s->n));
    memcpy(out->v, s->v, s->n * sizeof *s->v);
    if (scale == TDL_QUALITY_OWN_RANGE) {
        tdl_range r;
        tdl_status st = tdl_series_normalize(out, &r);
        if (st != TDL_OK) {
            tdl_series_free(out);
            return st;
        }
    }
    return TDL_OK;
}

/* Everything measured on one scaled series. */
static tdl_status describe(tdl_quality_side *d, const tdl_series *s) {
    tdl_series_stats st;
    TDL_TRY(tdl_series_stats_compute(s, &st));
    TDL_TRY(tdl_series_acf(d->acf, s, TDL_QUALITY_LAGS));
    d->n = s->n;
    d->min = st.min;
    d->max = st.max;
    d->mean = st.mean;
    d->std = st.std;
    size_t count[TDL_QUALITY_BINS] = {0}, below = 0, above = 0;
    for (size_t i = 0; i < s->n; i++) {
        double v = s->v[i];
        if (v < 0.0) below++;
        else if (v > 1.0) above++;
        else {
            size_t b = (size_t)(v * TDL_QUALITY_BINS); /* v in [0, 1]: 0..20 */
            count[b < TDL_QUALITY_BINS ? b : TDL_QUALITY_BINS - 1]++;
        }
    }
    double n = (double)s->n;
    for (int b = 0; b < TDL_QUALITY_BINS; b++) d->hist[b] = (double)count[b] / n;
    d->below = (double)below / n;
    d->above = (double)above / n;
    return TDL_OK;
}

tdl_status tdl_quality_compare(const tdl_series *real, const tdl_series *gen,
                               tdl_quality_scale scale, tdl_quality *q) {
    TDL_ASSERT(real && gen && q, "NULL argument");
    TDL_ASSERT(scale == TDL_QUALITY_AS_GIVEN || scale == TDL_QUALITY_OWN_RANGE, "bad scale %d",
               (int)scale);
    memset(q, 0, sizeof *q);
    q->scale = scale;
    tdl_series a = {NULL, 0}, b = {NULL, 0};
    tdl_status st = scaled_copy(&a, real, scale, "real");
    if (st == TDL_OK) st = scaled_copy(&b, gen, scale, "generated");
    if (st == TDL_OK) st = describe(&q->real, &a);
    if (st == TDL_OK) st = describe(&q->gen, &b);
    if (st == TDL_OK) st = tdl_distance_w1(a.v, a.n, b.v, b.n, &q->w1);
    tdl_series_free(&a);
    tdl_series_free(&b);
    if (st != TDL_OK) return st;

    q->mean_diff = q->gen.mean - q->real.mean;
    q->std_diff = q->gen.std - q->real.std;
    double ss = 0.0;
    for (int k = 0; k < TDL_QUALITY_LAGS; k++) {
        double d = q->gen.acf[k] - q->real.acf[k];
        if (fabs(d) > q->acf_max_abs) q->acf_max_abs = fabs(d);
        ss += d * d;
    }
    q->acf_rms = sqrt(ss / TDL_QUALITY_LAGS);
    double tv = fabs(q->gen.below - q->real.below) + fabs(q->gen.above - q->real.above);
    for (int i = 0; i < TDL_QUALITY_BINS; i++) tv += fabs(q->gen.hist[i] - q->real.hist[i]);
    q->hist_tv = 0.5 * tv;
    /* differences of values near the largest double can overflow */
    if (!isfinite(q->w1) || !isfinite(q->mean_diff) || !isfinite(q->std_diff))
        return tdl_error(TDL_ERR_NUMERIC, "the generated and real values differ by more than "
                         "the largest double (W1 %g, mean difference %g): rescale them",
                         q->w1, q->mean_diff);
    return TDL_OK;
}
