/*
 * synth.h: synthetic token workloads (tokens per 5-second slot) from named
 * profiles fitted to the Azure LLM traces (docs/synthesis.md).
 *
 * Model, per slot t (0-based), all logs natural:
 *
 *   log x_t = mu + c sin(theta + 2 pi t / 17280) + sigma Z_t + J_t
 *   Z_t     = sqrt(w_s) S_t + sqrt(w_f) F_t + sqrt(1 - w_s - w_f) N_t
 *   S_t     = phi_s S_{t-1} + sqrt(1 - phi_s^2) e_t   (stationary, unit variance;
 *   F_t     = phi_f F_{t-1} + sqrt(1 - phi_f^2) e'_t   likewise)
 *   N_t     = white N(0, 1)
 *   J_t     = d J_{t-1} + h B_t,  B_t ~ Bernoulli(p)   (bursts)
 *   theta   ~ U(0, 2 pi), drawn from the seed
 *
 * and the written value is round(x_t) clipped to [lo, hi] (positive
 * integers). Every draw comes from tdl_rng streams of the seed, one stream per
 * component, so a (profile, seed) gives the same series bit for bit, and a
 * longer series starts with the shorter one.
 */
#ifndef TDL_SYNTH_H
#define TDL_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "tdl/series.h"
#include "tdl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Slots per day at 5 s a slot: the period of the daily cycle. */
#define TDL_SYNTH_DAY_SLOTS 17280
/* Largest series tdl_synth_generate makes (about 1.6 years of slots, 80 MB). */
#define TDL_SYNTH_MAX_SLOTS ((size_t)10000000)
/* Autocorrelation lags that tdl_synth_moments and tdl_synth_sample_stats give. */
#define TDL_SYNTH_LAGS 28

/* The statistics of the data a profile was fitted to (present == 0 for the
 * shifted profiles, which have no data of their own). */
typedef struct tdl_synth_target {
    int present;
    const char *source;  /* file name in ../shared/data/azure */
    size_t n;            /* values fitted (one period for the repeating 2023 files) */
    double mean, std;    /* tokens (population std) */
    double acf[3];       /* autocorrelation at lags 1, 7, 28 */
    double min, max;     /* tokens */
} tdl_synth_target;

typedef struct tdl_synth_profile {
    const char *name;
    const char *description;  /* one line */
    double mu;                /* log tokens: level of the Gaussian part */
    double sigma;             /* log tokens: std of sigma Z */
    double w_slow, phi_slow;  /* slow AR(1): variance share, coefficient per slot */
    double w_fast, phi_fast;  /* fast AR(1): likewise; 1 - w_slow - w_fast is white */
    double cycle;             /* c: daily sinusoid amplitude, log tokens */
    double spike_rate;        /* p: probability per slot that a burst starts */
    double spike_height;      /* h: log tokens added at a burst's onset */
    double spike_decay;       /* d: per-slot decay of a burst in log tokens, [0, 1) */
    double lo, hi;            /* clip range, tokens, 1 <= lo < hi */
    tdl_synth_target target;
} tdl_synth_profile;

/* The built-in profiles, index 0 .. count-1 (0 is the default, "conversation"). */
size_t tdl_synth_profile_count(void);
const tdl_synth_profile *tdl_synth_profile_at(size_t i);

/* The profile called `name`, or NULL. */
const tdl_synth_profile *tdl_synth_profile_find(const char *name);

/* out = `slots` values of the built-in profile `name` from `seed`. An
 * unknown name gives TDL_ERR_INVALID with a message listing the valid names;
 * slots must be in [1, TDL_SYNTH_MAX_SLOTS]. out is allocated here (free it
 * with tdl_series_free); on failure it is left empty. */
tdl_status tdl_synth_generate(tdl_series *out, const char *name, size_t slots, uint64_t seed);

/* As tdl_synth_generate for a caller-made profile; its parameters are
 * checked (TDL_ERR_INVALID naming the bad one). */
tdl_status tdl_synth_generate_profile(tdl_series *out, const tdl_synth_profile *p, size_t slots,
                                      uint64_t seed);

/* Check a profile's parameters (finite, in range). */
tdl_status tdl_synth_profile_check(const tdl_synth_profile *p);

/* Mean, std and autocorrelation at lags 1..TDL_SYNTH_LAGS (acf[k-1] is lag
 * k) of a series, or of a model. */
typedef struct tdl_synth_stats {
    double mean, std;
    double acf[TDL_SYNTH_LAGS];
} tdl_synth_stats;

/* Exact stationary moments of profile p's model before rounding and
 * clipping (the phase theta averaged over; closed forms in synth_moments.c). */
tdl_status tdl_synth_moments(const tdl_synth_profile *p, tdl_synth_stats *st);

/* Sample statistics of s: mean, population std, and the usual acf estimator
 * sum (x_t - m)(x_{t+k} - m) / sum (x_t - m)^2. Needs s->n > TDL_SYNTH_LAGS
 * and a non-constant series (else TDL_ERR_INVALID). */
tdl_status tdl_synth_sample_stats(const tdl_series *s, tdl_synth_stats *st);

#ifdef __cplusplus
}
#endif
#endif /* TDL_SYNTH_H */
