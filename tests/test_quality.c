/* test_quality.c: sample quality metrics (quality.h) on series with known
 * answers: identical series, a shifted copy (W1 = shift as given, 0 by own
 * range), a scaled copy, AR(1) series (lag-k autocorrelation near a^k), a
 * hand-counted histogram and its total variation distance, a constant
 * series (no NaN), and bad input (too short, not finite, bad scale name). */
#include <math.h>
#include <string.h>

#include "tdl/quality.h"
#include "tdl/rng.h"
#include "tdl_test.h"

static void check(const char *what, double got, double want, double tol) {
    int ok = fabs(got - want) <= tol;
    printf("%s %s: got %.12g want %.12g (tol %g)\n", ok ? "ok  " : "FAIL", what, got, want, tol);
    tdl_test_record(ok);
}

static tdl_series make(size_t n) {
    tdl_series s;
    if (tdl_series_alloc(&s, n) != TDL_OK) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return s;
}

/* x[i] = a x[i-1] + e[i], e ~ N(0, 1), started from the stationary law;
 * then mapped affinely to roughly [0, 1] (affine maps keep the acf). */
static tdl_series ar1(size_t n, double a, uint64_t seed) {
    tdl_series s = make(n);
    tdl_rng r;
    tdl_rng_init(&r, seed, 0);
    double x = tdl_rng_normal(&r) / sqrt(1.0 - a * a);
    for (size_t i = 0; i < n; i++) {
        x = a * x + tdl_rng_normal(&r);
        s.v[i] = 0.5 + 0.1 * x * sqrt(1.0 - a * a);
    }
    return s;
}

static void test_identical(void) {
    tdl_series a = ar1(2000, 0.5, 1);
    tdl_quality q;
    TDL_CHECK(tdl_quality_compare(&a, &a, TDL_QUALITY_AS_GIVEN, &q) == TDL_OK, "%s",
              tdl_last_error());
    check("identical: W1", q.w1, 0.0, 0.0);
    check("identical: mean diff", q.mean_diff, 0.0, 0.0);
    check("identical: std diff", q.std_diff, 0.0, 0.0);
    check("identical: acf max abs", q.acf_max_abs, 0.0, 0.0);
    check("identical: acf rms", q.acf_rms, 0.0, 0.0);
    check("identical: histogram TV", q.hist_tv, 0.0, 0.0);
    check("identical: n", (double)q.gen.n, 2000.0, 0.0);
    double total = q.real.below + q.real.above;
    for (int b = 0; b < TDL_QUALITY_BINS; b++) total += q.real.hist[b];
    check("histogram fractions sum to 1", total, 1.0, 1e-12);
    tdl_series_free(&a);
}

static void test_shift_and_scale(void) {
    const double shift = 0.125;
    tdl_series a = ar1(3000, 0.8, 2), b = make(3000), c = make(1500);
    for (size_t i = 0; i < a.n; i++) b.v[i] = a.v[i] + shift;
    tdl_quality q;
    TDL_CHECK(tdl_quality_compare(&a, &b, TDL_QUALITY_AS_GIVEN, &q) == TDL_OK, "%s",
              tdl_last_error());
    check("shift: W1 = shift", q.w1, shift, 1e-12);
    check("shift: mean diff = shift", q.mean_diff, shift, 1e-12);
    check("shift: std diff 0", q.std_diff, 0.0, 1e-12);
    check("shift: acf unchanged", q.acf_max_abs, 0.0, 1e-9);
    TDL_CHECK(q.hist_tv > 0.05, "a shift of 2.5 bins moves the histogram: TV %g", q.hist_tv);
    TDL_CHECK(tdl_quality_compare(&a, &b, TDL_QUALITY_OWN_RANGE, &q) == TDL_OK, "%s",
              tdl_last_error());
    check("shift, own range: W1 0", q.w1, 0.0, 1e-12);
    check("shift, own range: TV 0", q.hist_tv, 0.0, 1e-12);
    check("own range: real max 1", q.real.max, 1.0, 1e-15);
    check("own range: gen min 0", q.gen.min, 0.0, 1e-15);
    check("scale name", strcmp(tdl_quality_scale_name(q.scale), "own-range"), 0, 0);

    /* the first half of a, scaled by 2 about 0: std doubles, W1 of the
     * value laws = E|2X - X| over matched quantiles = mean of the half */
    for (size_t i = 0; i < c.n; i++) c.v[i] = 2.0 * a.v[i];
    tdl_series half = {a.v, 1500};
    TDL_CHECK(tdl_quality_compare(&half, &c, TDL_QUALITY_AS_GIVEN, &q) == TDL_OK, "%s",
              tdl_last_error());
    check("scale x2: std diff = std", q.std_diff, q.real.std, 1e-12);
    check("scale x2: W1 = mean (values > 0)", q.w1, q.real.mean, 1e-12);
    check("scale x2: acf unchanged", q.acf_max_abs, 0.0, 1e-9);
    tdl_series_free(&a);
    tdl_series_free(&b);
    tdl_series_free(&c);
}

static void test_ar1(void) {
    const double coef[3] = {0.9, 0.5, -0.4};
    for (int k = 0; k < 3; k++) {
        double a = coef[k];
        tdl_series real = ar1(20000, a, 10 + (uint64_t)k), white = ar1(20000, 0.0, 20);
        tdl_quality q;
        TDL_CHECK(tdl_quality_compare(&real, &white, TDL_QUALITY_AS_GIVEN, &q) == TDL_OK, "%s",
                  tdl_last_error());
        char what[96];
        /* the lag-k estimate's standard error is about 1/sqrt(n) ~ 0.007 */
        snprintf(what, sizeof what, "AR(1) a=%.1f: lag-1 acf", a);
        check(what, q.real.acf[0], a, 0.03);
        snprintf(what, sizeof what, "AR(1) a=%.1f: lag-2 acf", a);
        check(what, q.real.acf[1], a * a, 0.03);
        snprintf(what, sizeof what, "AR(1) a=%.1f: lag-28 acf", a);
        check(what, q.real.acf[27], pow(a, 28), 0.03);
        snprintf(what, sizeof what, "white noise vs a=%.1f: acf max |diff| = |a|", a);
        check(what, q.acf_max_abs, fabs(a), 0.03);
        /* white: acf ~ 0, so the diff is ~ -a^k, rms = sqrt(mean a^2k) */
        double ss = 0.0;
        for (int l = 1; l <= TDL_QUALITY_LAGS; l++) ss += pow(a, 2 * l);
        snprintf(what, sizeof what, "white noise vs a=%.1f: acf rms", a);
        check(what, q.acf_rms, sqrt(ss / TDL_QUALITY_LAGS), 0.02);
        /* both built with the same marginal N(0.5, 0.1^2) */
        snprintf(what, sizeof what, "AR(1) a=%.1f: W1 to white noise small", a);
        TDL_CHECK(q.w1 < 0.01, "%s: %g", what, q.w1);
        tdl_series_free(&real);
        tdl_series_free(&white);
    }
}

static void test_histogram(void) {
    /* 40 values: 10 in bin 0 (0.0, 0.004, ... 0.036), 10 of 1.0 (last bin), 10 of
     * 0.5 (bin 10), 5 below 0, 5 above 1 */
    tdl_series a = make(40), b = make(40);
    for (int i = 0; i < 10; i++) {
        a.v[i] = 0.004 * i;
        a.v[10 + i] = 1.0;
        a.v[20 + i] = 0.5;
    }
    for (int i = 0; i < 5; i++) {
        a.v[30 + i] = -0.2 - i;
        a.v[35 + i] = 1.0 + 1e-9 + i;
    }
    /* b: all 40 in bin 10 (0.5..0.549) */
    for (int i = 0; i < 40; i++) b.v[i] = 0.5 + 0.001 * i;
    tdl_quality q;
    TDL_CHECK(tdl_quality_compare(&a, &b, TDL_QUALITY_AS_GIVEN, &q) == TDL_OK, "%s",
              tdl_last_error());
    check("histogram: bin 0", q.real.hist[0], 0.25, 0);
    check("histogram: bin 10 (0.5)", q.real.hist[10], 0.25, 0);
    check("histogram: last bin holds 1.0", q.real.hist[TDL_QUALITY_BINS - 1], 0.25, 0);
    check("histogram: below 0", q.real.below, 0.125, 0);
    check("histogram: above 1", q.real.above, 0.125, 0);
    check("histogram: gen bin 10", q.gen.hist[10], 1.0, 0);
    /* TV = 0.5 (0.25 + 0.75 + 0.25 + 0.125 + 0.125) = 0.75 */
    check("histogram TV", q.hist_tv, 0.75, 1e-15);
    /* disjoint supports: TV 1 */
    for (int i = 0; i < 40; i++) b.v[i] = 0.01 * (i % 4);
    for (int i = 0; i < 40; i++) a.v[i] = 0.9 + 0.001 * i;
    TDL_CHECK(tdl_quality_compare(&a, &b, TDL_QUALITY_AS_GIVEN, &q) == TDL_OK, "%s",
              tdl_last_error());
    check("disjoint histograms: TV 1", q.hist_tv, 1.0, 1e-15);
    tdl_series_free(&a);
    tdl_series_free(&b);
}

static void test_constant(void) {
    tdl_series k = make(100), a = ar1(100, 0.3, 5);
    for (size_t i = 0; i < k.n; i++) k.v[i] = 7.0;
    for (int s = 0; s < 2; s++) {
        tdl_quality q;
        tdl_quality_scale scale = s ? TDL_QUALITY_OWN_RANGE : TDL_QUALITY_AS_GIVEN;
        TDL_CHECK(tdl_quality_compare(&a, &k, scale, &q) == TDL_OK, "%s", tdl_last_error());
        int finite = isfinite(q.w1) && isfinite(q.acf_rms) && isfinite(q.acf_max_abs) &&
                     isfinite(q.hist_tv) && isfinite(q.std_diff) && isfinite(q.mean_diff);
        for (int l = 0; l < TDL_QUALITY_LAGS; l++) finite = finite && q.gen.acf[l] == 0.0;
        TDL_CHECK(finite, "constant series (%s): every metric finite, acf zeros",
                  tdl_quality_scale_name(scale));
        check("constant series: std 0", q.gen.std, 0.0, 0.0);
        if (scale == TDL_QUALITY_OWN_RANGE) {
            check("constant series, own range: all zeros -> bin 0", q.gen.hist[0], 1.0, 0);
            check("constant series, own range: mean 0", q.gen.mean, 0.0, 0);
        } else {
            check("constant 7: all above 1", q.gen.above, 1.0, 0);
            check("constant 7: W1 = 7 - mean", q.w1, 7.0 - q.real.mean, 1e-12);
        }
    }
    tdl_series_free(&k);
    tdl_series_free(&a);
}

static void test_bad_input(void) {
    tdl_series a = ar1(200, 0.3, 6), short28 = ar1(28, 0.3, 7), ok29 = ar1(29, 0.3, 8);
    tdl_quality q;
    tdl_status s = tdl_quality_compare(&a, &short28, TDL_QUALITY_AS_GIVEN, &q);
    TDL_CHECK(s == TDL_ERR_INVALID, "28 generated values: status %s", tdl_status_name(s));
    TDL_CHECK(strstr(tdl_last_error(), "generated series has 28 values") != NULL, "message: %s",
              tdl_last_error());
    s = tdl_quality_compare(&short28, &a, TDL_QUALITY_OWN_RANGE, &q);
    TDL_CHECK(s == TDL_ERR_INVALID && strstr(tdl_last_error(), "real series") != NULL,
              "28 real values: %s: %s", tdl_status_name(s), tdl_last_error());
    s = tdl_quality_compare(&a, &ok29, TDL_QUALITY_AS_GIVEN, &q);
    TDL_CHECK(s == TDL_OK, "29 values are enough: %s", tdl_last_error());
    tdl_series empty = {NULL, 0};
    s = tdl_quality_compare(&empty, &a, TDL_QUALITY_AS_GIVEN, &q);
    TDL_CHECK(s == TDL_ERR_INVALID, "empty real series: %s", tdl_status_name(s));
    a.v[17] = NAN;
    s = tdl_quality_compare(&ok29, &a, TDL_QUALITY_AS_GIVEN, &q);
    TDL_CHECK(s == TDL_ERR_NUMERIC && strstr(tdl_last_error(), "value 17 of the generated") != NULL,
              "NaN: %s: %s", tdl_status_name(s), tdl_last_error());
    a.v[17] = INFINITY;
    s = tdl_quality_compare(&a, &ok29, TDL_QUALITY_OWN_RANGE, &q);
    TDL_CHECK(s == TDL_ERR_NUMERIC, "infinity: %s", tdl_status_name(s));

    tdl_quality_scale sc = TDL_QUALITY_OWN_RANGE;
    TDL_CHECK(tdl_quality_scale_parse("normalised", &sc) == TDL_OK && sc == TDL_QUALITY_AS_GIVEN,
              "parse normalised");
    TDL_CHECK(tdl_quality_scale_parse("own-range", &sc) == TDL_OK && sc == TDL_QUALITY_OWN_RANGE,
              "parse own-range");
    TDL_CHECK(tdl_quality_scale_parse("bogus", &sc) == TDL_ERR_INVALID, "bad scale refused");
    tdl_series_free(&a);
    tdl_series_free(&short28);
    tdl_series_free(&ok29);
}

int main(void) {
    test_identical();
    test_shift_and_scale();
    test_ar1();
    test_histogram();
    test_constant();
    test_bad_input();
    return tdl_test_done("test_quality");
}
