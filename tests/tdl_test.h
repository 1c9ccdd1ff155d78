/*
 * tdl_test.h: the small harness every test executable shares.
 *
 * - TDL_CHECK(cond, fmt, ...) counts a failure (and prints it) without stopping.
 * - tdl_test_allclose compares |a - b| <= atol + rtol |b| over arrays and
 *   prints the worst difference, pass or fail.
 * - tdl_test_gradcheck compares an analytic gradient with central differences
 *   of a scalar loss computed in double.
 * - tdl_test_fixture opens tests/fixtures/NAME.safetensors (made by
 *   tools/gen_fixtures.py with PyTorch); tdl_test_tensor copies one tensor out.
 * - tdl_test_skip(fmt, ...) records a part that could not run (missing data);
 *   tdl_test_part(argc, argv, "azure") says whether this run is the part
 *   registered as NAME_azure (the parts that need ../shared/data/azure run
 *   as their own CTest test, so that the rest never reports a skip).
 * - tdl_test_done() prints "NAME: N checks, M failed[, K skipped]" and returns
 *   the exit code: 1 when a check failed (or none ran), TDL_TEST_SKIP (77,
 *   CTest's SKIP_RETURN_CODE for every test) when something was skipped and
 *   nothing failed, else 0. A test never passes silently over a skip.
 */
#ifndef TDL_TEST_H
#define TDL_TEST_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/rng.h"
#include "tdl/safetensors.h"
#include "tdl/status.h"

static int tdl_test_checks;
static int tdl_test_failures;
static int tdl_test_skips;

/* The exit code CTest reads as "skipped" (SKIP_RETURN_CODE in CMakeLists.txt). */
#define TDL_TEST_SKIP 77

#define TDL_CHECK(cond, ...)                                                   \
    do {                                                                       \
        tdl_test_checks++;                                                     \
        if (!(cond)) {                                                         \
            tdl_test_failures++;                                               \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);    \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
        }                                                                      \
    } while (0)

/* Count one check with result ok (the caller printed the details). */
static inline void tdl_test_record(int ok) {
    tdl_test_checks++;
    if (!ok) tdl_test_failures++;
}

/* |got - want| <= atol + rtol |want| for all i < n (NaN fails). Prints the
 * worst element. Returns 1 when every element passes. Counts one check. */
static inline int tdl_test_allclose(const char *what, const float *got, const float *want,
                                    size_t n, double atol, double rtol) {
    double worst = 0.0, worst_excess = -1.0;
    size_t wi = 0, bad = 0;
    for (size_t i = 0; i < n; i++) {
        double a = got[i], b = want[i];
        double d = fabs(a - b);
        double tol = atol + rtol * fabs(b);
        if (!(d <= tol)) bad++;
        double excess = (d != d) ? INFINITY : d - tol;
        if (excess > worst_excess || i == 0) { worst_excess = excess; worst = d; wi = i; }
    }
    int ok = bad == 0;
    printf("%s %s: n=%zu worst |a-b|=%.3g at %zu (got %.9g want %.9g) atol=%g rtol=%g%s\n",
           ok ? "ok  " : "FAIL", what, n, worst, wi, n ? (double)got[wi] : 0.0,
           n ? (double)want[wi] : 0.0, atol, rtol, ok ? "" : " MISMATCH");
    if (!ok) printf("     %zu of %zu elements outside tolerance\n", bad, n);
    tdl_test_record(ok);
    return ok;
}

/* accum (a gradient buffer that started as base and received one backward
 * call) must equal base + fresh (the same call into zeros): backward adds.
 * A kernel that overwrote would be off by base, which is of order 1. */
static inline int tdl_test_check_adds(const char *what, const float *accum, const float *base,
                                      const float *fresh, size_t n) {
    float *want = (float *)calloc(n ? n : 1, sizeof(float));
    if (!want) { fprintf(stderr, "out of memory\n"); exit(2); }
    for (size_t i = 0; i < n; i++) want[i] = base[i] + fresh[i];
    int ok = tdl_test_allclose(what, accum, want, n, 1e-5, 1e-5);
    free(want);
    return ok;
}

/* A scalar loss of the kernel's inputs, computed in double (typically
 * sum(out * R) for a fixed random R). */
typedef double (*tdl_test_loss_fn)(void *ctx);

/* Central differences: for each checked i, (L(x+h e_i) - L(x-h e_i)) / 2h
 * against grad[i], passing when |num - ana| <= atol + rtol |num|. Checks at
 * most max_checks elements spread evenly over x (all when n <= max_checks);
 * skip[i] != 0 excludes an element (inputs at a kink). x is restored. Prints
 * the worst element; counts one check; returns 1 on pass. */
static inline int tdl_test_gradcheck(const char *what, tdl_test_loss_fn loss, void *ctx,
                                     float *x, const float *grad, size_t n, double h,
                                     double atol, double rtol, const unsigned char *skip,
                                     size_t max_checks) {
    size_t stride = (max_checks == 0 || n <= max_checks) ? 1 : (n + max_checks - 1) / max_checks;
    size_t checked = 0, bad = 0, wi = 0;
    double worst_excess = -INFINITY, wnum = 0.0, wana = 0.0;
    for (size_t i = 0; i < n; i += stride) {
        if (skip && skip[i]) continue;
        float x0 = x[i];
        x[i] = (float)(x0 + h);
        double hp = (double)x[i] - x0;
        double lp = loss(ctx);
        x[i] = (float)(x0 - h);
        double hm = x0 - (double)x[i];
        double lm = loss(ctx);
        x[i] = x0;
        double num = (lp - lm) / (hp + hm);
        double ana = grad[i];
        double d = fabs(num - ana), tol = atol + rtol * fabs(num);
        double excess = (d != d) ? INFINITY : d - tol;
        if (!(d <= tol)) bad++;
        if (excess > worst_excess) { worst_excess = excess; wi = i; wnum = num; wana = ana; }
        checked++;
    }
    int ok = bad == 0 && checked > 0;
    printf("%s grad %s: %zu of %zu checked, worst at %zu: numeric %.9g analytic %.9g "
           "(atol=%g rtol=%g h=%g)%s\n",
           ok ? "ok  " : "FAIL", what, checked, n, wi, wnum, wana, atol, rtol, h,
           ok ? "" : " MISMATCH");
    tdl_test_record(ok);
    return ok;
}

/* sum_i out[i] * r[i] in double. */
static inline double tdl_test_dot(const float *out, const float *r, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)out[i] * r[i];
    return s;
}

/* malloc that aborts the test on failure; zeroed. */
static inline float *tdl_test_floats(size_t n) {
    float *p = (float *)calloc(n ? n : 1, sizeof(float));
    if (!p) { fprintf(stderr, "out of memory\n"); exit(2); }
    return p;
}

/* A fresh array of n uniform values in [lo, hi) from stream `stream` of seed 1234. */
static inline float *tdl_test_uniform(size_t n, float lo, float hi, unsigned stream) {
    float *p = tdl_test_floats(n);
    tdl_rng r;
    tdl_rng_init(&r, 1234, stream);
    tdl_rng_fill_uniform(&r, p, n, lo, hi);
    return p;
}

/* Open tests/fixtures/NAME.safetensors; exits the test with status 1 and a
 * message (the fixture is part of the repository) when it cannot be read. */
static inline void tdl_test_fixture(tdl_safetensors *st, const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.safetensors", TDL_FIXTURE_DIR, name);
    if (tdl_safetensors_read(st, path) != TDL_OK) {
        fprintf(stderr, "FAIL cannot read fixture %s: %s (regenerate with `make fixtures`)\n",
                path, tdl_last_error());
        exit(1);
    }
}

/* A malloc'd copy of fixture tensor `name`; *n receives its element count
 * (may be NULL). Exits with status 1 if the tensor is missing. */
static inline float *tdl_test_tensor(const tdl_safetensors *st, const char *name, size_t *n) {
    const tdl_st_tensor *t = tdl_safetensors_find(st, name);
    if (!t) {
        fprintf(stderr, "FAIL fixture has no tensor '%s' (regenerate with `make fixtures`)\n", name);
        exit(1);
    }
    float *p = tdl_test_floats(t->numel);
    tdl_safetensors_copy(st, t, p);
    if (n) *n = t->numel;
    return p;
}

/* A part of the test that cannot run here (printed as "SKIP <why>"). */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static inline void tdl_test_skip(const char *fmt, ...) {
    va_list ap;
    fputs("SKIP ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    tdl_test_skips++;
}

/* 1 when the test was started as its part `name` (argv[1] == name). */
static inline int tdl_test_part(int argc, char **argv, const char *name) {
    return argc > 1 && strcmp(argv[1], name) == 0;
}

/* Print the summary line and return the process exit code. */
static inline int tdl_test_done(const char *name) {
    if (tdl_test_skips)
        printf("%s: %d checks, %d failed, %d skipped\n", name, tdl_test_checks,
               tdl_test_failures, tdl_test_skips);
    else
        printf("%s: %d checks, %d failed\n", name, tdl_test_checks, tdl_test_failures);
    if (tdl_test_failures) return 1;
    if (tdl_test_skips) return TDL_TEST_SKIP;
    return tdl_test_checks > 0 ? 0 : 1;
}

#endif /* TDL_TEST_H */
