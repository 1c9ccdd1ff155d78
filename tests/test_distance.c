/* test_distance.c: the 1-Wasserstein distance: hand-computed cases, a
 * second exact formula (quantile functions, integral over u of
 * |Q_a(u) - Q_b(u)|) on random series of different lengths with ties,
 * shift and scale identities, the normalised form, and bad input. */
#include <math.h>
#include <stdlib.h>

#include "tdl/distance.h"
#include "tdl/rng.h"
#include "tdl_test.h"

static int cmp(const void *pa, const void *pb) {
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* integral_0^1 |Q_a(u) - Q_b(u)| du: Q_a is a[i] on ((i)/n, (i+1)/n]; merge
 * the breakpoints of both quantile functions. Inputs sorted. */
static double w1_quantile(const double *a, size_t n, const double *b, size_t m) {
    size_t i = 0, j = 0;
    long double u = 0, sum = 0;
    while (i < n && j < m) {
        /* next breakpoint: min((i+1)/n, (j+1)/m), compared exactly */
        unsigned long long ln = (unsigned long long)(i + 1) * m, lm = (unsigned long long)(j + 1) * n;
        long double next = ln <= lm ? (long double)(i + 1) / n : (long double)(j + 1) / m;
        sum += (next - u) * fabsl((long double)a[i] - b[j]);
        u = next;
        if (ln <= lm) i++;
        if (lm <= ln) j++;
    }
    return (double)sum;
}

static void check(const char *what, double got, double want, double tol) {
    int ok = fabs(got - want) <= tol;
    printf("%s %s: got %.12g want %.12g\n", ok ? "ok  " : "FAIL", what, got, want);
    tdl_test_record(ok);
}

static void test_small(void) {
    double w;
    double a[1] = {0}, b[1] = {1}, c[2] = {0, 1}, d[1] = {0.5}, e[3] = {0, 0, 3}, f[2] = {1, 2};
    tdl_distance_w1(a, 1, b, 1, &w);
    check("W1({0},{1})", w, 1.0, 0);
    tdl_distance_w1(c, 2, d, 1, &w);
    check("W1({0,1},{0.5})", w, 0.5, 0);
    /* F_e: 2/3 on [0,3); F_f: 0 on [0,1), 1/2 on [1,2), 1 on [2,3):
     * 2/3 + 1/6 + 1/3 = 7/6 */
    tdl_distance_w1(e, 3, f, 2, &w);
    check("W1({0,0,3},{1,2})", w, 7.0 / 6.0, 1e-15);
    tdl_distance_w1(f, 2, e, 3, &w);
    check("symmetric", w, 7.0 / 6.0, 1e-15);
    tdl_distance_w1(e, 3, e, 3, &w);
    check("W1(a, a)", w, 0.0, 0);
    /* normalised: {0,0,3} -> {0,0,1}, {1,2} -> {0,1}: on [0,1) F = 2/3 vs
     * 1/2, so 1/6 */
    tdl_distance_w1_normalized(e, 3, f, 2, &w);
    check("normalised W1({0,0,3},{1,2})", w, 1.0 / 6.0, 1e-15);
    double k[3] = {5, 5, 5};
    tdl_distance_w1_normalized(k, 3, f, 2, &w); /* constant -> zeros vs {0,1} */
    check("normalised, constant series -> zeros", w, 0.5, 0);
}

static void test_random(void) {
    tdl_rng r;
    tdl_rng_init(&r, 11, 0);
    double worst = 0, worst_id = 0, worst_shift = 0;
    for (int trial = 0; trial < 300; trial++) {
        size_t n = 1 + tdl_rng_below(&r, 500), m = 1 + tdl_rng_below(&r, 700);
        double *a = malloc(n * sizeof *a), *b = malloc(m * sizeof *b), *c = malloc(m * sizeof *c);
        int ties = trial % 3 == 0;
        for (size_t i = 0; i < n; i++)
            a[i] = ties ? (double)tdl_rng_below(&r, 10) : tdl_rng_normal(&r) * 3 + 1;
        for (size_t i = 0; i < m; i++)
            b[i] = ties ? (double)tdl_rng_below(&r, 12) : tdl_rng_uniform_double(&r) * 10;
        double w, w2, wn;
        tdl_distance_w1(a, n, b, m, &w);
        qsort(a, n, sizeof *a, cmp);
        qsort(b, m, sizeof *b, cmp);
        double want = w1_quantile(a, n, b, m);
        worst = fmax(worst, fabs(w - want) / fmax(1.0, want));
        /* scale and shift: W1(2b + 3, 2a + 3) = 2 W1(a, b); normalised W1 unchanged */
        double *a2 = malloc(n * sizeof *a2);
        for (size_t i = 0; i < n; i++) a2[i] = 2 * a[i] + 3;
        for (size_t i = 0; i < m; i++) c[i] = 2 * b[i] + 3;
        tdl_distance_w1(c, m, a2, n, &w2);
        worst_shift = fmax(worst_shift, fabs(w2 - 2 * w) / fmax(1.0, w));
        tdl_distance_w1_normalized(a, n, b, m, &w);
        tdl_distance_w1_normalized(a2, n, c, m, &wn);
        worst_id = fmax(worst_id, fabs(w - wn));
        TDL_CHECK(w >= 0 && w <= 1, "normalised W1 %g outside [0, 1]", w);
        free(a);
        free(b);
        free(c);
        free(a2);
    }
    TDL_CHECK(worst < 1e-12, "CDF vs quantile formula: worst relative difference %g", worst);
    TDL_CHECK(worst_shift < 1e-12, "scale/shift: worst %g", worst_shift);
    TDL_CHECK(worst_id < 1e-12, "normalised invariance: worst %g", worst_id);
    printf("ok   300 random pairs (lengths 1..700, with ties): CDF vs quantile worst %.3g, "
           "scale %.3g, normalised invariance %.3g\n", worst, worst_shift, worst_id);
}

static void test_errors(void) {
    double a[2] = {1, NAN}, w;
    TDL_CHECK(tdl_distance_w1(a, 0, a, 1, &w) == TDL_ERR_INVALID, "empty accepted");
    TDL_CHECK(tdl_distance_w1(a, 1, a, 2, &w) == TDL_ERR_NUMERIC, "NaN accepted");
    TDL_CHECK(tdl_distance_w1_normalized(a, 2, a, 1, &w) == TDL_ERR_NUMERIC, "NaN accepted");
    printf("ok   errors: %s\n", tdl_last_error());
}

int main(void) {
    test_small();
    test_random();
    test_errors();
    return tdl_test_done("test_distance");
}
