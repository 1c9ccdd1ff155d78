/*
 * quality.h: how closely a generated workload series (e.g. DDPM samples laid
 * out as rows of 28) resembles a real one, by the value distribution and the
 * short-range time structure.
 *
 * Scale (say which when reporting; both are offered):
 *   TDL_QUALITY_AS_GIVEN   both series are compared as given; the caller has
 *                          put them in the same units (the usual case: the
 *                          real series min-max normalised by its own range,
 *                          the generated one already in those normalised
 *                          units, as the DDPM trains and samples). Levels and
 *                          spreads are compared, so a sampler that drifts or
 *                          shrinks shows up.
 *   TDL_QUALITY_OWN_RANGE  each series is first min-max scaled to [0, 1] by
 *                          its own range (a constant series -> zeros), as the
 *                          normalised W1 of distance.h: compares shapes only,
 *                          blind to level and scale.
 *
 * Metrics, on the (scaled) values:
 *   w1         1-Wasserstein distance of the two value distributions
 *              (tdl_distance_w1; equals |shift| for a shifted copy)
 *   mean, std  of each (std: population, divides by n)
 *   acf        sample autocorrelation of each at lags 1..28 (tdl_series_acf;
 *              a constant series gives zeros); the difference generated -
 *              real: its largest absolute value and its root mean square
 *              over the 28 lags
 *   histogram  20 equal bins on [0, 1] (value v in bin floor(20 v), 1.0 in
 *              the last), plus the fraction below 0 and above 1 (samples are
 *              not clipped), for each; and the total variation distance
 *              between the two, 0.5 sum |p_i - q_i| over the 22 cells, in
 *              [0, 1]
 */
#ifndef TDL_QUALITY_H
#define TDL_QUALITY_H

#include <stddef.h>

#include "tdl/series.h"
#include "tdl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    TDL_QUALITY_LAGS = 28, /* autocorrelation lags 1..28 (one row) */
    TDL_QUALITY_BINS = 20  /* histogram bins on [0, 1] */
};

typedef enum tdl_quality_scale {
    TDL_QUALITY_AS_GIVEN = 0,
    TDL_QUALITY_OWN_RANGE
} tdl_quality_scale;

/* "as-given" / "own-range"; parse also accepts "normalised"/"normalized" for
 * as-given (the CLI's name: it normalises the real series first) and "own". */
const char *tdl_quality_scale_name(tdl_quality_scale s);
tdl_status tdl_quality_scale_parse(const char *name, tdl_quality_scale *s);

/* What is measured on one series (after scaling). */
typedef struct tdl_quality_side {
    size_t n;                         /* values */
    double min, max, mean, std;       /* std: population */
    double acf[TDL_QUALITY_LAGS];     /* acf[k-1]: lag k */
    double hist[TDL_QUALITY_BINS];    /* fraction of values in each bin of [0, 1] */
    double below, above;              /* fraction < 0 and > 1 */
} tdl_quality_side;

typedef struct tdl_quality {
    tdl_quality_scale scale;
    tdl_quality_side real, gen;
    double w1;            /* W1 of the value distributions */
    double mean_diff;     /* gen.mean - real.mean */
    double std_diff;      /* gen.std - real.std */
    double acf_max_abs;   /* max over lags of |gen.acf - real.acf| */
    double acf_rms;       /* sqrt(mean over lags of (gen.acf - real.acf)^2) */
    double hist_tv;       /* total variation distance of the 22-cell histograms */
} tdl_quality;

/* Compare gen with real. Each needs more than TDL_QUALITY_LAGS values
 * (the autocorrelation to lag 28), else TDL_ERR_INVALID naming which; every
 * value finite, else TDL_ERR_NUMERIC; TDL_ERR_NOMEM. The inputs are not
 * modified. */
tdl_status tdl_quality_compare(const tdl_series *real, const tdl_series *gen,
                               tdl_quality_scale scale, tdl_quality *q);

#ifdef __cplusplus
}
#endif
#endif /* TDL_QUALITY_H */
