/* test_noise.c: Gaussian, Cutout and Perlin noise: determinism per
 * (seed, stream), the distributions (moments, zeroed fraction, clipping),
 * Perlin against an independent evaluation of the documented stream layout,
 * its bounds and smoothness, and bad parameters. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/noise.h"
#include "tdl_test.h"

enum { N = 100000 };

static void test_gaussian(void) {
    static double x[N], y[N];
    for (size_t i = 0; i < N; i++) x[i] = 0.5;
    tdl_rng r;
    tdl_rng_init(&r, 3, 1);
    tdl_noise_gaussian(x, N, 0.05, &r);
    /* the same draws by hand */
    tdl_rng_init(&r, 3, 1);
    double worst = 0, s1 = 0, s2 = 0;
    for (size_t i = 0; i < N; i++) {
        double e = tdl_rng_normal(&r);
        double v = fmin(1.0, fmax(0.0, 0.5 + 0.05 * e));
        worst = fmax(worst, fabs(v - x[i]));
        s1 += x[i] - 0.5;
        s2 += (x[i] - 0.5) * (x[i] - 0.5);
    }
    double mean = s1 / N, sd = sqrt(s2 / N - mean * mean);
    TDL_CHECK(worst == 0, "Gaussian differs from its draws by %g", worst);
    TDL_CHECK(fabs(mean) < 4 * 0.05 / sqrt(N) && fabs(sd - 0.05) < 0.001,
              "Gaussian mean %g std %g (want 0, 0.05)", mean, sd);
    printf("ok   Gaussian sigma 0.05 at 0.5: mean %.2e std %.5f\n", mean, sd);

    /* clipping: at 0 about half the values stay 0, none below */
    for (size_t i = 0; i < N; i++) y[i] = i % 2 ? 0.0 : 1.0;
    tdl_noise_gaussian(y, N, 0.05, &r);
    size_t at0 = 0, at1 = 0, out = 0;
    for (size_t i = 0; i < N; i++) {
        out += y[i] < 0 || y[i] > 1;
        if (i % 2) at0 += y[i] == 0.0;
        else at1 += y[i] == 1.0;
    }
    TDL_CHECK(out == 0, "%zu values outside [0, 1]", out);
    TDL_CHECK(fabs(at0 / (N / 2.0) - 0.5) < 0.02 && fabs(at1 / (N / 2.0) - 0.5) < 0.02,
              "clipped fractions %zu %zu of %d", at0, at1, N / 2);
    printf("ok   Gaussian clipped to [0, 1]: %.3f stuck at 0, %.3f at 1\n", at0 / (N / 2.0),
           at1 / (N / 2.0));
}

static void test_cutout(void) {
    static double x[N], y[N];
    for (size_t i = 0; i < N; i++) x[i] = y[i] = 0.25 + 0.5 * (double)i / N;
    tdl_rng r;
    tdl_rng_init(&r, 4, 0);
    tdl_noise_cutout(x, N, 0.05, &r);
    size_t zeroed = 0, changed = 0;
    for (size_t i = 0; i < N; i++) {
        zeroed += x[i] == 0.0;
        changed += x[i] != 0.0 && x[i] != y[i];
    }
    double frac = (double)zeroed / N, se = sqrt(0.05 * 0.95 / N);
    TDL_CHECK(fabs(frac - 0.05) < 5 * se && changed == 0, "Cutout zeroed %.4f, %zu changed", frac,
              changed);
    printf("ok   Cutout p=0.05: %.4f zeroed (5 sigma = %.4f), others untouched\n", frac, 5 * se);
    tdl_rng_init(&r, 4, 0);
    memcpy(x, y, sizeof x);
    tdl_noise_cutout(x, N, 0.0, &r);
    TDL_CHECK(memcmp(x, y, sizeof x) == 0, "p=0 changed values");
    tdl_noise_cutout(x, N, 1.0, &r);
    size_t nz = 0;
    for (size_t i = 0; i < N; i++) nz += x[i] != 0.0;
    TDL_CHECK(nz == 0, "p=1 left %zu values", nz);
}

static long double fade_ref(long double f) {
    return 10 * f * f * f - 15 * f * f * f * f + 6 * f * f * f * f * f;
}

/* Perlin from the documented stream layout, in long double, written as
 * (1 - s) g0 f + s g1 (f - 1). */
static void perlin_ref(double *out, size_t n, const tdl_perlin_params *p, uint64_t seed,
                       uint64_t stream) {
    tdl_rng r;
    tdl_rng_init(&r, seed, stream);
    long double w = 1, wsum = 0;
    for (size_t i = 0; i < n; i++) out[i] = 0;
    for (int o = 0; o < p->octaves; o++) {
        long double u = tdl_rng_u32(&r) / 4294967296.0L;
        long double freq = (long double)(1u << o) / p->wavelength;
        uint64_t base = r.pos;
        for (size_t i = 0; i < n; i++) {
            long double c = i * freq + u;
            uint64_t k = (uint64_t)floorl(c);
            long double f = c - k;
            long double g0 = tdl_rng_u32_at(&r, base + k) * 2.0L / 4294967296.0L - 1;
            long double g1 = tdl_rng_u32_at(&r, base + k + 1) * 2.0L / 4294967296.0L - 1;
            long double s = fade_ref(f);
            out[i] += (double)(w * ((1 - s) * g0 * f + s * g1 * (f - 1)));
        }
        r.pos = base + (uint64_t)floorl((n - 1) * freq + u) + 2;
        wsum += w;
        w *= p->persistence;
    }
    for (size_t i = 0; i < n; i++) out[i] = (double)(out[i] * 2 / wsum);
}

static void test_perlin(void) {
    static double a[N], b[N], ref[N];
    tdl_perlin_params p = tdl_perlin_defaults();
    TDL_CHECK(p.octaves == 8 && p.amplitude == 0.05, "defaults: 8 octaves, 5%% of the range");
    tdl_rng r;
    tdl_rng_init(&r, 7, 2);
    TDL_CHECK(tdl_perlin_1d(a, N, &p, &r) == TDL_OK, "%s", tdl_last_error());
    uint64_t used = r.pos;
    perlin_ref(ref, N, &p, 7, 2);
    double worst = 0, peak = 0;
    for (size_t i = 0; i < N; i++) {
        worst = fmax(worst, fabs(a[i] - ref[i]));
        peak = fmax(peak, fabs(a[i]));
    }
    TDL_CHECK(worst < 1e-12, "Perlin vs reference: worst %g", worst);
    TDL_CHECK(peak <= 1.0 && peak > 0.3, "Perlin peak %g (want in (0.3, 1])", peak);
    printf("ok   Perlin 8 octaves vs long-double reference: worst %.3g, peak %.3f, %llu words\n",
           worst, peak, (unsigned long long)used);

    /* deterministic per (seed, stream); another stream differs; the rng moved */
    tdl_rng_init(&r, 7, 2);
    tdl_perlin_1d(b, N, &p, &r);
    TDL_CHECK(memcmp(a, b, sizeof a) == 0 && r.pos == used, "same seed and stream differ");
    tdl_rng_init(&r, 7, 3);
    tdl_perlin_1d(b, N, &p, &r);
    size_t same = 0;
    for (size_t i = 0; i < N; i++) same += a[i] == b[i];
    TDL_CHECK(same < 10, "streams 2 and 3 agree at %zu values", same);

    /* one octave is smooth: slope <= 1.35 per lattice cell (times 2 for the
     * scale to [-1, 1]); eight octaves (persistence 1/2: every octave adds
     * the same slope) are rougher */
    tdl_perlin_params one = p;
    one.octaves = 1;
    tdl_rng_init(&r, 7, 4);
    tdl_perlin_1d(b, N, &one, &r);
    double step1 = 0, step8 = 0;
    for (size_t i = 1; i < N; i++) {
        step1 = fmax(step1, fabs(b[i] - b[i - 1]));
        step8 = fmax(step8, fabs(a[i] - a[i - 1]));
    }
    TDL_CHECK(step1 <= 2 * 1.35 / one.wavelength && step8 > 2 * step1,
              "largest step: 1 octave %g (bound %g), 8 octaves %g", step1,
              2 * 1.35 / one.wavelength, step8);
    printf("ok   Perlin smoothness: largest step 1 octave %.4f, 8 octaves %.4f\n", step1, step8);

    /* tdl_noise_perlin: amplitude as a fraction of the range */
    for (size_t i = 0; i < N; i++) a[i] = b[i] = 0.2 + 0.5 * (double)(i % 1000) / 999.0;
    tdl_rng_init(&r, 8, 0);
    TDL_CHECK(tdl_noise_perlin(a, N, &p, &r) == TDL_OK, "noise_perlin");
    tdl_rng_init(&r, 8, 0);
    tdl_perlin_1d(ref, N, &p, &r);
    double dev = 0, worst_add = 0;
    for (size_t i = 0; i < N; i++) {
        dev = fmax(dev, fabs(a[i] - b[i]));
        worst_add = fmax(worst_add, fabs(a[i] - (b[i] + 0.05 * 0.5 * ref[i])));
    }
    TDL_CHECK(worst_add < 1e-15 && dev <= 0.05 * 0.5 && dev > 0.005,
              "Perlin added: worst %g, largest change %g of range 0.5", worst_add, dev);
    printf("ok   Perlin 5%% of a range of 0.5: largest change %.4f\n", dev);
    for (size_t i = 0; i < 10; i++) a[i] = 0.3;
    TDL_CHECK(tdl_noise_perlin(a, 10, &p, &r) == TDL_OK && a[9] == 0.3, "constant unchanged");

    tdl_perlin_params bad = p;
    bad.octaves = 0;
    TDL_CHECK(tdl_perlin_1d(b, 10, &bad, &r) == TDL_ERR_INVALID, "0 octaves accepted");
    bad = p;
    bad.wavelength = 0;
    TDL_CHECK(tdl_perlin_1d(b, 10, &bad, &r) == TDL_ERR_INVALID, "wavelength 0 accepted");
    bad = p;
    bad.persistence = 1.5;
    TDL_CHECK(tdl_perlin_1d(b, 10, &bad, &r) == TDL_ERR_INVALID, "persistence 1.5 accepted");
    bad = p;
    bad.amplitude = -1;
    TDL_CHECK(tdl_noise_perlin(b, 10, &bad, &r) == TDL_ERR_INVALID, "amplitude -1 accepted");
}

int main(void) {
    test_gaussian();
    test_cutout();
    test_perlin();
    return tdl_test_done("test_noise");
}
