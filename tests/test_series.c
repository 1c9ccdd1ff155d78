/* test_series.c: the series protocol of spec section 2 on in-memory series:
 * normalisation and its inverse, rows, the 70/30 split, the test-series
 * limit, windows, images, slices and concatenation, statistics and the
 * autocorrelation, period detection (against brute force). */
#include <math.h>
#include <stdint.h>
#include <time.h>

#include "tdl/rng.h"
#include "tdl/series.h"
#include "tdl_test.h"

static tdl_series make(size_t n) {
    tdl_series s;
    TDL_ASSERT(tdl_series_alloc(&s, n) == TDL_OK, "alloc");
    return s;
}

static void test_normalize(void) {
    tdl_series s = make(5);
    const double v[5] = {374, 1000, 106957, 50000, 374};
    for (int i = 0; i < 5; i++) s.v[i] = v[i];
    tdl_range r;
    TDL_CHECK(tdl_series_normalize(&s, &r) == TDL_OK, "%s", tdl_last_error());
    TDL_CHECK(r.min == 374 && r.max == 106957, "range %g %g", r.min, r.max);
    double worst = 0;
    for (int i = 0; i < 5; i++) {
        double want = (v[i] - 374.0) / (106957.0 - 374.0);
        worst = fmax(worst, fabs(s.v[i] - want));
    }
    TDL_CHECK(worst == 0 && s.v[0] == 0 && s.v[2] == 1, "normalised values off by %g", worst);
    double back[5];
    tdl_denormalize(back, s.v, 5, r);
    worst = 0;
    for (int i = 0; i < 5; i++) worst = fmax(worst, fabs(back[i] - v[i]));
    TDL_CHECK(worst <= 1e-9, "round trip to tokens off by %g", worst);
    printf("ok   normalise / denormalise: worst round trip %.3g tokens\n", worst);

    float zf[3] = {0.0f, 0.5f, 1.0f}, tf[3];
    tdl_denormalize_f(tf, zf, 3, r);
    TDL_CHECK(tf[0] == 374.0f && fabsf(tf[1] - 53665.5f) < 0.01f && tf[2] == 106957.0f,
              "float tokens %g %g %g", tf[0], tf[1], tf[2]);

    /* by a given (training) range: values outside map outside [0, 1] */
    double w[2] = {0, 200000}, z[2];
    tdl_normalize(z, w, 2, r);
    TDL_CHECK(z[0] < 0 && z[1] > 1, "not clipped: %g %g", z[0], z[1]);

    /* constant series -> zeros */
    for (int i = 0; i < 5; i++) s.v[i] = 7.5;
    TDL_CHECK(tdl_series_normalize(&s, &r) == TDL_OK, "constant");
    int zeros = 1;
    for (int i = 0; i < 5; i++) zeros &= s.v[i] == 0.0;
    TDL_CHECK(zeros, "a constant series normalises to zeros");

    s.v[3] = NAN;
    TDL_CHECK(tdl_series_range(&s, &r) == TDL_ERR_NUMERIC, "NaN accepted");
    tdl_series_free(&s);
    tdl_series e = {NULL, 0};
    TDL_CHECK(tdl_series_range(&e, &r) == TDL_ERR_INVALID, "empty accepted");
    tdl_series_free(&e);
    tdl_series_free(NULL);
}

static void test_rows_split_limit(void) {
    double v[60];
    for (int i = 0; i < 60; i++) v[i] = i;
    TDL_CHECK(tdl_rows_count(60) == 2 && tdl_rows_count(27) == 0 && tdl_rows_count(21030) == 751
                  && tdl_rows_count(120959) == 4319,
              "row counts");
    float rows[56];
    tdl_series_rows(rows, v, 60);
    int ok = 1;
    for (int i = 0; i < 56; i++) ok &= rows[i] == (float)i;
    TDL_CHECK(ok, "rows are consecutive values");

    size_t tr, te;
    tdl_rows_split(751, &tr, &te);
    TDL_CHECK(tr == 525 && te == 226, "751 rows -> %zu train, %zu test", tr, te);
    size_t bad = 0, first_bad = 0;
    for (size_t R = 0; R <= 200000; R++) {
        tdl_rows_split(R, &tr, &te);
        if (te != (size_t)ceil(0.3 * (double)R) || tr + te != R) {
            if (!bad) first_bad = R;
            bad++;
        }
    }
    TDL_CHECK(bad == 0, "split differs from ceil(0.3 R) at %zu values, first R=%zu", bad, first_bad);
    printf("ok   rows of 28 and the 70/30 split (751 -> 525/226; R <= 200000 vs ceil)\n");

    TDL_CHECK(tdl_series_test_count(120959) == 100000 && tdl_series_test_count(22368) == 22368
                  && tdl_series_test_count(100000) == 100000,
              "first 100,000 values");
}

static void test_windows(void) {
    enum { R = 3 };
    float rows[R * 28];
    for (int i = 0; i < R * 28; i++) rows[i] = (float)(i * 10 + 1);
    size_t W = tdl_windows_count(R);
    TDL_CHECK(W == 63, "21 windows a row");
    float x[63 * 7], y[63];
    tdl_windows_all(x, y, rows, R);
    int ok = 1;
    for (size_t r = 0; r < R; r++)
        for (int t = 7; t < 28; t++) {
            size_t w = r * 21 + (size_t)(t - 7);
            ok &= y[w] == rows[r * 28 + (size_t)t];
            for (int j = 0; j < 7; j++) ok &= x[w * 7 + (size_t)j] == rows[r * 28 + (size_t)(t - 7 + j)];
        }
    TDL_CHECK(ok, "windows_all: x = row[t-7..t-1], y = row[t]");
    /* the first and last instances spelled out */
    TDL_CHECK(x[0] == 1 && x[6] == 61 && y[0] == 71, "first window %g..%g -> %g", x[0], x[6], y[0]);
    TDL_CHECK(y[62] == rows[83] && x[62 * 7] == rows[76], "last window");

    float xa[R * 7], ya[R];
    ok = 1;
    for (int t = 7; t < 28; t++) {
        tdl_windows_at(xa, ya, rows, R, t);
        for (size_t r = 0; r < R; r++) {
            size_t w = r * 21 + (size_t)(t - 7);
            ok &= ya[r] == y[w];
            for (int j = 0; j < 7; j++) ok &= xa[r * 7 + (size_t)j] == x[w * 7 + (size_t)j];
        }
    }
    TDL_CHECK(ok, "windows_at(t) = the instances of step t");
    printf("ok   windows: 21 per row, (W, 7, 1) layout, per-step batches agree\n");
}

static void test_images(void) {
    enum { R = 60 };
    static float rows[R * 28];
    for (int i = 0; i < R * 28; i++) rows[i] = (float)i;
    TDL_CHECK(tdl_images_count(60) == 3 && tdl_images_count(56) == 2 && tdl_images_count(525) == 19
                  && tdl_images_count(1) == 1,
              "image counts");
    static float img[7 * 784];
    tdl_images_from_rows(img, 7, rows, R);
    int ok = 1;
    for (size_t i = 0; i < 7; i++) {
        size_t k = i % 3;
        for (size_t j = 0; j < 28; j++) {
            size_t g = k * 28 + j;
            size_t src = g < R ? g : g - R; /* image 2: rows 56..59 then 0..23 */
            for (size_t c = 0; c < 28; c++) ok &= img[i * 784 + j * 28 + c] == rows[src * 28 + c];
        }
    }
    TDL_CHECK(ok, "images: 28 rows each, last completed from the start, tiled");
    TDL_CHECK(img[2 * 784 + 4 * 28] == 0.0f && img[2 * 784 + 3 * 28] == 59.0f * 28,
              "image 2 row 3 is row 59, row 4 is row 0");
    /* fewer than 28 rows: cycle them */
    float few[5 * 28], one[784];
    for (int i = 0; i < 5 * 28; i++) few[i] = (float)i;
    tdl_images_from_rows(one, 1, few, 5);
    ok = 1;
    for (size_t j = 0; j < 28; j++) ok &= one[j * 28] == few[(j % 5) * 28];
    TDL_CHECK(ok, "5 rows cycle to fill one image");
    printf("ok   1x28x28 images (525 rows -> 19 images; completion and tiling)\n");
}

static void test_slice_concat(void) {
    tdl_series a = make(4), b = make(3), c, d;
    for (int i = 0; i < 4; i++) a.v[i] = i;
    for (int i = 0; i < 3; i++) b.v[i] = 10 + i;
    tdl_series parts[2] = {a, b};
    TDL_CHECK(tdl_series_concat(&c, parts, 2) == TDL_OK && c.n == 7, "concat");
    const double want[7] = {0, 1, 2, 3, 10, 11, 12};
    int ok = 1;
    for (int i = 0; i < 7; i++) ok &= c.v[i] == want[i];
    TDL_CHECK(ok, "concat values");
    TDL_CHECK(tdl_series_slice(&d, &c, 2, 5) == TDL_OK && d.n == 3 && d.v[0] == 2 && d.v[2] == 10,
              "slice");
    tdl_series_free(&d);
    TDL_CHECK(tdl_series_slice(&d, &c, 5, 8) == TDL_ERR_INVALID, "slice past the end accepted");
    TDL_CHECK(tdl_series_slice(&d, &c, 3, 3) == TDL_OK && d.n == 0, "empty slice");
    tdl_series_free(&d);
    tdl_series_free(&a);
    tdl_series_free(&b);
    tdl_series_free(&c);
    printf("ok   slice and concatenation\n");
}

static void test_stats(void) {
    enum { N = 1001 };
    tdl_series s = make(N);
    for (int i = 0; i < N; i++) s.v[i] = i + 1; /* 1..1001 */
    tdl_series_stats st;
    TDL_CHECK(tdl_series_stats_compute(&s, &st) == TDL_OK, "%s", tdl_last_error());
    double want_std = sqrt(((double)N * N - 1) / 12.0); /* population std of 1..N */
    TDL_CHECK(st.min == 1 && st.max == N && st.mean == 501.0 && fabs(st.std - want_std) < 1e-9,
              "stats %g %g %g %.12g (std want %.12g)", st.min, st.max, st.mean, st.std, want_std);

    /* large offset, small spread: the two-pass mean and std stay exact */
    for (int i = 0; i < N; i++) s.v[i] = 1e9 + (i % 2 ? 1.0 : -1.0);
    TDL_CHECK(tdl_series_stats_compute(&s, &st) == TDL_OK, "offset");
    double m = 1e9 - 1.0 / N, sd = sqrt(1.0 - 1.0 / ((double)N * N));
    TDL_CHECK(fabs(st.mean - m) < 1e-6 && fabs(st.std - sd) < 1e-6, "offset stats %.12g %.12g",
              st.mean, st.std);

    /* autocorrelation against the formula evaluated in long double */
    tdl_rng r;
    tdl_rng_init(&r, 5, 0);
    s.v[0] = 0;
    for (int i = 1; i < N; i++) s.v[i] = 0.8 * s.v[i - 1] + tdl_rng_normal(&r); /* AR(1) */
    enum { L = 20 };
    double acf[L];
    TDL_CHECK(tdl_series_acf(acf, &s, L) == TDL_OK, "acf");
    long double mean = 0, den = 0;
    for (int i = 0; i < N; i++) mean += s.v[i];
    mean /= N;
    for (int i = 0; i < N; i++) den += (s.v[i] - mean) * (s.v[i] - mean);
    double worst = 0;
    for (int k = 1; k <= L; k++) {
        long double num = 0;
        for (int i = 0; i + k < N; i++) num += (s.v[i] - mean) * (s.v[i + k] - mean);
        worst = fmax(worst, fabs(acf[k - 1] - (double)(num / den)));
    }
    TDL_CHECK(worst < 1e-12, "acf off by %g", worst);
    TDL_CHECK(fabs(acf[0] - 0.8) < 0.08 && acf[0] > acf[4] && acf[4] > acf[19] - 0.1,
              "AR(1) phi=0.8: acf(1)=%.3f acf(5)=%.3f", acf[0], acf[4]);
    printf("ok   stats and acf: worst acf difference %.3g, AR(0.8) acf(1)=%.3f\n", worst, acf[0]);

    for (int i = 0; i < N; i++) s.v[i] = 3.0;
    TDL_CHECK(tdl_series_acf(acf, &s, L) == TDL_OK && acf[0] == 0 && acf[L - 1] == 0,
              "constant series acf zeros");
    TDL_CHECK(tdl_series_acf(acf, &s, 0) == TDL_ERR_INVALID, "L=0 accepted");
    TDL_CHECK(tdl_series_acf(acf, &s, N) == TDL_ERR_INVALID, "L=n accepted");
    tdl_series_free(&s);
    tdl_series e = {NULL, 0};
    TDL_CHECK(tdl_series_stats_compute(&e, &st) == TDL_ERR_INVALID, "empty stats accepted");

    /* values near the largest double: the sum and the squared deviations
     * overflowed (mean and std printed as nan); scaled by a power of two they
     * stay exact: 1e308 and 1.5e308 alternating, mean 1.25e308, std 0.25e308 */
    tdl_series big = make(120);
    for (int i = 0; i < 120; i++) big.v[i] = i % 2 ? 1.5e308 : 1e308;
    tdl_status sb = tdl_series_stats_compute(&big, &st);
    printf("     1e308/1.5e308: %s mean %.17g std %.17g\n", tdl_status_name(sb), st.mean, st.std);
    TDL_CHECK(sb == TDL_OK && fabs(st.mean / 1.25e308 - 1) < 1e-15 &&
                  fabs(st.std / 0.25e308 - 1) < 1e-12,
              "huge values: %s mean %g std %g", tdl_status_name(sb), st.mean, st.std);
    TDL_CHECK(tdl_series_acf(acf, &big, 3) == TDL_OK && fabs(acf[0] + 119.0 / 120) < 1e-12 &&
                  fabs(acf[1] - 118.0 / 120) < 1e-12,
              "huge values: acf %g %g", acf[0], acf[1]);
    /* and their small counterparts keep the same bits as before the scaling */
    for (int i = 0; i < 120; i++) big.v[i] = i % 2 ? 3.0 : 2.0;
    TDL_CHECK(tdl_series_stats_compute(&big, &st) == TDL_OK && st.mean == 2.5 && st.std == 0.5,
              "small values: mean %.17g std %.17g", st.mean, st.std);
    /* a spread no double holds (signed values): refused, not inf */
    for (int i = 0; i < 120; i++) big.v[i] = i % 2 ? 1.7e308 : -1.7e308;
    sb = tdl_series_stats_compute(&big, &st);
    printf("     +-1.7e308: %s: %s\n", tdl_status_name(sb), tdl_last_error());
    TDL_CHECK(sb == TDL_OK ? isfinite(st.mean) && isfinite(st.std) : sb == TDL_ERR_NUMERIC,
              "+-1.7e308: %s mean %g std %g", tdl_status_name(sb), st.mean, st.std);
    tdl_series_free(&big);

    /* ranges: a constant series cannot be normalised */
    tdl_range flat = {7.0, 7.0}, ok = {1.0, 2.0}, wide = {-1.7e308, 1.7e308}, nan_r = {NAN, 1.0};
    TDL_CHECK(tdl_range_check(ok, "x") == TDL_OK, "a range of width 1");
    TDL_CHECK(tdl_range_check(flat, "the training series") == TDL_ERR_INVALID &&
                  strstr(tdl_last_error(), "the training series is constant (every value 7)"),
              "flat range: %s", tdl_last_error());
    TDL_CHECK(tdl_range_check(wide, "x") == TDL_ERR_INVALID, "a width beyond DBL_MAX");
    TDL_CHECK(tdl_range_check(nan_r, "x") == TDL_ERR_INVALID, "a NaN end");
}

/* The smallest p < n with v[i] == v[i+p] for all i and 2p <= n, by brute force. */
static size_t brute_period(const double *v, size_t n) {
    for (size_t p = 1; 2 * p <= n; p++) {
        size_t i = 0;
        while (i + p < n && v[i] == v[i + p]) i++;
        if (i + p == n) return p;
    }
    return 0;
}

static void test_period(void) {
    tdl_rng r;
    tdl_rng_init(&r, 9, 0);
    /* random short series over small alphabets, some built periodic */
    size_t bad = 0, periodic = 0;
    for (int trial = 0; trial < 4000; trial++) {
        double v[64];
        size_t n = 1 + tdl_rng_below(&r, 64);
        uint32_t alpha = 1 + tdl_rng_below(&r, 3);
        size_t p0 = 1 + tdl_rng_below(&r, 12);
        int make_periodic = trial % 2;
        for (size_t i = 0; i < n; i++)
            v[i] = make_periodic && i >= p0 ? v[i - p0] : (double)tdl_rng_below(&r, alpha);
        tdl_series s = {v, n};
        size_t got;
        TDL_CHECK(tdl_series_period(&s, &got) == TDL_OK, "period");
        size_t want = brute_period(v, n);
        if (got != want) {
            if (bad < 5) printf("     n=%zu got %zu want %zu\n", n, got, want);
            bad++;
        }
        periodic += want != 0;
    }
    TDL_CHECK(bad == 0, "%zu of 4000 periods differ from brute force", bad);
    printf("ok   period vs brute force: 4000 series (%zu periodic)\n", periodic);

    /* the exact definition at the edges */
    double abab[5] = {1, 2, 1, 2, 1}, aba[3] = {1, 2, 1}, nan2[4] = {NAN, 1, NAN, 1};
    size_t p;
    tdl_series s = {abab, 5};
    tdl_series_period(&s, &p);
    TDL_CHECK(p == 2, "12121 has period 2 (got %zu)", p);
    s = (tdl_series){aba, 3};
    tdl_series_period(&s, &p);
    TDL_CHECK(p == 0, "121: period 2 but fewer than two repeats (got %zu)", p);
    s = (tdl_series){nan2, 4};
    tdl_series_period(&s, &p);
    TDL_CHECK(p == 0, "NaN never repeats (got %zu)", p);
    s = (tdl_series){abab, 1};
    tdl_series_period(&s, &p);
    TDL_CHECK(p == 0, "one value: no period");

    /* the size of the Azure series: 701 values x 30, 120,959 random values */
    tdl_series big = make(120959);
    for (size_t i = 0; i < 701; i++) big.v[i] = 374 + tdl_rng_below(&r, 100000);
    for (size_t i = 701; i < 21030; i++) big.v[i] = big.v[i - 701];
    big.n = 21030;
    clock_t t0 = clock();
    tdl_series_period(&big, &p);
    TDL_CHECK(p == 701, "701 x 30: got %zu", p);
    big.n = 120959;
    for (size_t i = 0; i < big.n; i++) big.v[i] = tdl_rng_below(&r, 1000);
    tdl_series_period(&big, &p);
    double ms = 1000.0 * (double)(clock() - t0) / CLOCKS_PER_SEC;
    TDL_CHECK(p == 0, "random 120959 values: got %zu", p);
    TDL_CHECK(ms < 1000, "period detection took %.1f ms", ms);
    printf("ok   period 701 found; none in 120,959 random values (%.1f ms for both)\n", ms);
    tdl_series_free(&big);
}

int main(void) {
    test_normalize();
    test_rows_split_limit();
    test_windows();
    test_images();
    test_slice_concat();
    test_stats();
    test_period();
    return tdl_test_done("test_series");
}
