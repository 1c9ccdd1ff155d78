/*
 * synth.c: generate a token workload series from a profile (model in
 * include/tdl/synth.h, fit and checks in docs/synthesis.md).
 *
 * Random streams of the seed (tdl_rng_init(seed, stream)):
 *   0  the phase theta of the daily cycle (one uniform double)
 *   1  innovations of the slow AR(1) S    (one normal per slot)
 *   2  innovations of the fast AR(1) F    (one normal per slot)
 *   3  the white part N                   (one normal per slot)
 *   4  burst onsets B                     (one uniform double per slot)
 * A component whose weight (or rate) is 0 draws nothing. Each stream is read
 * in slot order, so the first n values of a longer series equal a shorter one.
 */
#include "tdl/synth.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tdl/rng.h"

static const double synth_two_pi = 6.283185307179586476925286766559;

enum { STREAM_PHASE = 0, STREAM_SLOW = 1, STREAM_FAST = 2, STREAM_WHITE = 3, STREAM_SPIKE = 4 };

static int in_range(double v, double lo, double hi) { return isfinite(v) && v >= lo && v <= hi; }

tdl_status tdl_synth_profile_check(const tdl_synth_profile *p) {
    TDL_ASSERT(p != NULL, "profile is NULL");
    const char *n = p->name ? p->name : "(unnamed)";
#define SYNTH_NEED(cond, ...)                                                          \
    do {                                                                               \
        if (!(cond)) return tdl_error(TDL_ERR_INVALID, "profile '%s': " __VA_ARGS__); \
    } while (0)
    SYNTH_NEED(in_range(p->mu, -50.0, 50.0), "mu %g is not in [-50, 50] log tokens", n, p->mu);
    SYNTH_NEED(in_range(p->sigma, 0.0, 10.0), "sigma %g is not in [0, 10]", n, p->sigma);
    SYNTH_NEED(in_range(p->w_slow, 0.0, 1.0), "w_slow %g is not in [0, 1]", n, p->w_slow);
    SYNTH_NEED(in_range(p->w_fast, 0.0, 1.0), "w_fast %g is not in [0, 1]", n, p->w_fast);
    SYNTH_NEED(p->w_slow + p->w_fast <= 1.0 + 1e-12, "w_slow + w_fast = %g exceeds 1", n,
               p->w_slow + p->w_fast);
    SYNTH_NEED(isfinite(p->phi_slow) && fabs(p->phi_slow) < 1.0,
               "phi_slow %g is not in (-1, 1)", n, p->phi_slow);
    SYNTH_NEED(isfinite(p->phi_fast) && fabs(p->phi_fast) < 1.0,
               "phi_fast %g is not in (-1, 1)", n, p->phi_fast);
    SYNTH_NEED(in_range(p->cycle, 0.0, 10.0), "cycle %g is not in [0, 10]", n, p->cycle);
    SYNTH_NEED(in_range(p->spike_rate, 0.0, 1.0), "spike_rate %g is not in [0, 1]", n,
               p->spike_rate);
    SYNTH_NEED(in_range(p->spike_height, -20.0, 20.0), "spike_height %g is not in [-20, 20]", n,
               p->spike_height);
    SYNTH_NEED(isfinite(p->spike_decay) && p->spike_decay >= 0.0 && p->spike_decay < 1.0,
               "spike_decay %g is not in [0, 1)", n, p->spike_decay);
    SYNTH_NEED(in_range(p->lo, 1.0, 1e15) && in_range(p->hi, 1.0, 1e15) && p->lo < p->hi,
               "clip range [%g, %g] is not 1 <= lo < hi <= 1e15", n, p->lo, p->hi);
#undef SYNTH_NEED
    return TDL_OK;
}

tdl_status tdl_synth_generate_profile(tdl_series *out, const tdl_synth_profile *p, size_t slots,
                                      uint64_t seed) {
    TDL_ASSERT(out != NULL && p != NULL, "NULL argument");
    out->v = NULL;
    out->n = 0;
    TDL_TRY(tdl_synth_profile_check(p));
    if (slots < 1 || slots > TDL_SYNTH_MAX_SLOTS)
        return tdl_error(TDL_ERR_INVALID, "slots %zu is not in [1, %zu]", slots,
                         TDL_SYNTH_MAX_SLOTS);
    TDL_TRY(tdl_series_alloc(out, slots));

    tdl_rng r_phase, r_slow, r_fast, r_white, r_spike;
    tdl_rng_init(&r_phase, seed, STREAM_PHASE);
    tdl_rng_init(&r_slow, seed, STREAM_SLOW);
    tdl_rng_init(&r_fast, seed, STREAM_FAST);
    tdl_rng_init(&r_white, seed, STREAM_WHITE);
    tdl_rng_init(&r_spike, seed, STREAM_SPIKE);

    const double theta = synth_two_pi * tdl_rng_uniform_double(&r_phase);
    const double w_white = fmax(0.0, 1.0 - p->w_slow - p->w_fast);
    const double a_slow = p->sigma * sqrt(p->w_slow);  /* log tokens per unit S */
    const double a_fast = p->sigma * sqrt(p->w_fast);
    const double a_white = p->sigma * sqrt(w_white);
    const double e_slow = sqrt(1.0 - p->phi_slow * p->phi_slow); /* innovation std */
    const double e_fast = sqrt(1.0 - p->phi_fast * p->phi_fast);
    const int use_spikes = p->spike_rate > 0.0 && p->spike_height != 0.0;
    const double log_lo = log(p->lo), log_hi = log(p->hi);

    /* Stationary start: S_0, F_0 ~ N(0, 1); bursts start from none. */
    double s = p->w_slow > 0.0 ? tdl_rng_normal(&r_slow) : 0.0;
    double f = p->w_fast > 0.0 ? tdl_rng_normal(&r_fast) : 0.0;
    double j = 0.0;
    for (size_t t = 0; t < slots; t++) {
        if (t > 0) {
            if (p->w_slow > 0.0) s = p->phi_slow * s + e_slow * tdl_rng_normal(&r_slow);
            if (p->w_fast > 0.0) f = p->phi_fast * f + e_fast * tdl_rng_normal(&r_fast);
        }
        double y = p->mu + a_slow * s + a_fast * f;
        if (w_white > 0.0) y += a_white * tdl_rng_normal(&r_white);
        if (p->cycle > 0.0)
            y += p->cycle * sin(theta + synth_two_pi * (double)(t % TDL_SYNTH_DAY_SLOTS) /
                                            TDL_SYNTH_DAY_SLOTS);
        if (use_spikes) {
            j *= p->spike_decay;
            if (tdl_rng_uniform_double(&r_spike) < p->spike_rate) j += p->spike_height;
            y += j;
        }
        /* Clip in log space first so exp never overflows, then round. */
        double x = y < log_lo ? p->lo : y > log_hi ? p->hi : exp(y);
        x = floor(x + 0.5);
        out->v[t] = x < p->lo ? ceil(p->lo) : x > p->hi ? floor(p->hi) : x;
    }
    return TDL_OK;
}

tdl_status tdl_synth_generate(tdl_series *out, const char *name, size_t slots, uint64_t seed) {
    TDL_ASSERT(out != NULL, "out is NULL");
    out->v = NULL;
    out->n = 0;
    const tdl_synth_profile *p = tdl_synth_profile_find(name);
    if (!p) {
        char names[512];
        size_t used = 0;
        names[0] = '\0';
        for (size_t i = 0; i < tdl_synth_profile_count() && used < sizeof names; i++) {
            int w = snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                             tdl_synth_profile_at(i)->name);
            if (w < 0) break;
            used += (size_t)w;
        }
        return tdl_error(TDL_ERR_INVALID, "unknown workload profile '%s'; valid profiles: %s",
                         name ? name : "(null)", names);
    }
    return tdl_synth_generate_profile(out, p, slots, seed);
}
