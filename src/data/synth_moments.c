/*
 * synth_moments.c: the exact moments of a synthesis profile's model, and the
 * same statistics measured on a series (so that tests and docs compare like
 * with like).
 *
 * With x = exp(mu + C + sigma Z + J), the three parts independent:
 *   C = c sin(theta + 2 pi t / P), theta uniform:
 *       E[e^C] = I0(c),  E[e^{C_t + C_{t+k}}] = I0(2 c cos(pi k / P))
 *   Z Gaussian, unit variance, corr rho(k) = w_s phi_s^k + w_f phi_f^k:
 *       E[e^{sigma Z}] = e^{sigma^2/2},  E[e^{sigma (Z_t + Z_{t+k})}] = e^{sigma^2 (1 + rho(k))}
 *   J_t = sum_{i>=0} h d^i B_{t-i}, B iid Bernoulli(p) (stationary):
 *       E[e^{a J}] = prod_i (1 - p + p e^{a h d^i})
 *       E[e^{J_t + J_{t+k}}] = prod_{i<k} (1 - p + p e^{h d^i})
 *                             * prod_{i>=0} (1 - p + p e^{h d^i (1 + d^k)})
 * so mean = E[x], var = E[x^2] - mean^2, acf(k) = (E[x_t x_{t+k}] - mean^2) / var.
 * Rounding and clipping are not in these formulas (docs/synthesis.md).
 */
#include "tdl/synth.h"

#include <math.h>

static const double synth_pi = 3.14159265358979323846264338327950;

/* Modified Bessel function I0(x) = sum_m (x/2)^{2m} / (m!)^2, x >= 0 (the
 * profile check keeps x <= 20; the series converges for every x). */
static double bessel_i0(double x) {
    double q = 0.25 * x * x, term = 1.0, sum = 1.0;
    for (int m = 1; m < 500; m++) {
        term *= q / ((double)m * (double)m);
        sum += term;
        if (term < 1e-17 * sum) break;
    }
    return sum;
}

/* log prod_{i >= i0} (1 - p + p e^{scale h d^i}) over i until the term vanishes. */
static double log_burst_product(double p, double h, double d, double scale) {
    double total = 0.0, e = scale * h;
    for (int i = 0; i < 100000; i++) {
        total += log1p(p * expm1(e));
        if (fabs(e) < 1e-16) break;
        e *= d;
    }
    return total;
}

tdl_status tdl_synth_moments(const tdl_synth_profile *p, tdl_synth_stats *st) {
    TDL_ASSERT(p != NULL && st != NULL, "NULL argument");
    TDL_TRY(tdl_synth_profile_check(p));
    const double sg2 = p->sigma * p->sigma, c = p->cycle;
    const int bursts = p->spike_rate > 0.0 && p->spike_height != 0.0;
    const double pr = p->spike_rate, h = p->spike_height, d = p->spike_decay;
    const double lj1 = bursts ? log_burst_product(pr, h, d, 1.0) : 0.0;
    const double lj2 = bursts ? log_burst_product(pr, h, d, 2.0) : 0.0;
    /* In units of e^{mu} and e^{2 mu} to keep the numbers moderate. */
    const double m1 = exp(sg2 / 2 + lj1) * bessel_i0(c);
    const double m2 = exp(2 * sg2 + lj2) * bessel_i0(2 * c);
    const double var = m2 - m1 * m1;
    if (!(var > 0.0) || !isfinite(var))
        return tdl_error(TDL_ERR_NUMERIC, "profile '%s': model variance %g is not positive",
                         p->name ? p->name : "(unnamed)", var);
    st->mean = exp(p->mu) * m1;
    st->std = exp(p->mu) * sqrt(var);
    for (int k = 1; k <= TDL_SYNTH_LAGS; k++) {
        double rho = p->w_slow * pow(p->phi_slow, k) + p->w_fast * pow(p->phi_fast, k);
        double ljk = 0.0;
        if (bursts) {
            double dk = pow(d, k), e = h;
            for (int i = 0; i < k; i++, e *= d) ljk += log1p(pr * expm1(e));
            ljk += log_burst_product(pr, h, d, 1.0 + dk);
        }
        double cyc = bessel_i0(2 * c * cos(synth_pi * k / TDL_SYNTH_DAY_SLOTS));
        double mk = exp(sg2 * (1.0 + rho) + ljk) * cyc;
        st->acf[k - 1] = (mk - m1 * m1) / var;
    }
    return TDL_OK;
}

tdl_status tdl_synth_sample_stats(const tdl_series *s, tdl_synth_stats *st) {
    TDL_ASSERT(s != NULL && st != NULL, "NULL argument");
    if (s->n <= TDL_SYNTH_LAGS)
        return tdl_error(TDL_ERR_INVALID, "a series of %zu values is too short for lag %d", s->n,
                         TDL_SYNTH_LAGS);
    double sum = 0.0;
    for (size_t i = 0; i < s->n; i++) sum += s->v[i];
    const double m = sum / (double)s->n;
    double ss = 0.0;
    for (size_t i = 0; i < s->n; i++) ss += (s->v[i] - m) * (s->v[i] - m);
    if (!(ss > 0.0)) return tdl_error(TDL_ERR_INVALID, "a constant series has no autocorrelation");
    st->mean = m;
    st->std = sqrt(ss / (double)s->n);
    for (size_t k = 1; k <= TDL_SYNTH_LAGS; k++) {
        double c = 0.0;
        for (size_t i = 0; i + k < s->n; i++) c += (s->v[i] - m) * (s->v[i + k] - m);
        st->acf[k - 1] = c / ss;
    }
    return TDL_OK;
}
