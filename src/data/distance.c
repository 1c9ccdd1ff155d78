/* distance.c: the 1-Wasserstein distance between two empirical
 * distributions, exact by sorting and merging. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/distance.h"
#include "tdl/series.h"

static int cmp_double(const void *pa, const void *pb) {
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* F_a and F_b are step functions with jumps at the sorted values; between
 * consecutive distinct points x_k < x_{k+1} of the merged set both are
 * constant, so the integral is sum |F_a - F_b| (x_{k+1} - x_k). */
double tdl_distance_w1_sorted(const double *a, size_t n, const double *b, size_t m) {
    size_t i = 0, j = 0;
    double prev = a[0] < b[0] ? a[0] : b[0];
    double sum = 0.0, fa = 0.0, fb = 0.0;
    while (i < n || j < m) {
        double x = (j >= m || (i < n && a[i] <= b[j])) ? a[i] : b[j];
        sum += fabs(fa - fb) * (x - prev);
        prev = x;
        while (i < n && a[i] == x) i++;
        while (j < m && b[j] == x) j++;
        fa = (double)i / (double)n;
        fb = (double)j / (double)m;
    }
    return sum;
}

static tdl_status sorted_copy(double **out, const double *v, size_t n, const char *which,
                              int normalize) {
    *out = NULL;
    if (n == 0) return tdl_error(TDL_ERR_INVALID, "W1 of an empty series (%s)", which);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return tdl_error(TDL_ERR_NUMERIC, "W1: value %zu of series %s is not finite", i, which);
    double *c = malloc(n * sizeof *c);
    if (!c) return tdl_error(TDL_ERR_NOMEM, "out of memory for W1 of %zu values", n);
    memcpy(c, v, n * sizeof *c);
    qsort(c, n, sizeof *c, cmp_double);
    if (normalize) {
        tdl_range r = {c[0], c[n - 1]};
        tdl_normalize(c, c, n, r);
    }
    *out = c;
    return TDL_OK;
}

static tdl_status w1(const double *a, size_t n, const double *b, size_t m, double *out,
                     int normalize) {
    TDL_ASSERT(out, "NULL result");
    double *sa = NULL, *sb = NULL;
    tdl_status st = sorted_copy(&sa, a, n, "a", normalize);
    if (st == TDL_OK) st = sorted_copy(&sb, b, m, "b", normalize);
    if (st == TDL_OK) *out = tdl_distance_w1_sorted(sa, n, sb, m);
    free(sa);
    free(sb);
    return st;
}

tdl_status tdl_distance_w1(const double *a, size_t n, const double *b, size_t m, double *out) {
    return w1(a, n, b, m, out, 0);
}

tdl_status tdl_distance_w1_normalized(const double *a, size_t n, const double *b, size_t m,
                                      double *out) {
    return w1(a, n, b, m, out, 1);
}
