/* test_noise_corrupt.c: corrupted test series (noise.h, Fig. 2): the
 * "KIND:LEVEL" parser and its range checks, the statistics of each kind on
 * a long series (Cutout's zeroed fraction, the Gaussian change's std,
 * Perlin's peak and std relative to the range), the documented stream,
 * determinism per seed, level 0 as the identity, and tdl_eval_rows_corrupt
 * (NULL = tdl_eval_rows; otherwise only the test values are corrupted). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/evaluate.h"
#include "tdl/noise.h"
#include "tdl_test.h"

enum { N = 200000 };

static double x[N], y[N], z[N];

static void fill_const(double *v) {
    for (size_t i = 0; i < N; i++) v[i] = 0.5;
}

/* a sawtooth over [0, 1]: range 1, so Perlin's peak is the level itself */
static void fill_saw(double *v) {
    for (size_t i = 0; i < N; i++) v[i] = (double)(i % 1000) / 999.0;
}

static size_t count_differ(const double *a, const double *b) {
    size_t k = 0;
    for (size_t i = 0; i < N; i++) k += a[i] != b[i];
    return k;
}

static void test_parse(void) {
    tdl_corrupt_spec c;
    TDL_CHECK(tdl_corrupt_parse("cutout:0.005", &c) == TDL_OK && c.kind == TDL_CORRUPT_CUTOUT &&
                  c.level == 0.005, "cutout:0.005");
    TDL_CHECK(tdl_corrupt_parse("perlin:0.05", &c) == TDL_OK && c.kind == TDL_CORRUPT_PERLIN &&
                  c.level == 0.05, "perlin:0.05");
    TDL_CHECK(tdl_corrupt_parse("gauss:0.1", &c) == TDL_OK && c.kind == TDL_CORRUPT_GAUSS &&
                  c.level == 0.1, "gauss:0.1");
    TDL_CHECK(tdl_corrupt_parse("cutout:1", &c) == TDL_OK && tdl_corrupt_parse("gauss:3", &c) ==
                  TDL_OK && tdl_corrupt_parse("perlin:0", &c) == TDL_OK, "edges accepted");
    for (int k = 0; k < 3; k++) {
        tdl_corrupt_kind back;
        TDL_CHECK(tdl_corrupt_kind_parse(tdl_corrupt_kind_name((tdl_corrupt_kind)k), &back) ==
                      TDL_OK && (int)back == k, "kind %d name round trip", k);
    }
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"salt:0.1", "unknown corruption kind 'salt'"},
        {"gauss", "has no level"},
        {"gauss:", "has no level"},
        {"gauss:abc", "is not a number"},
        {"gauss:0.1x", "is not a number"},
        {"cutout:1.5", "outside [0, 1]"},
        {"cutout:-0.1", "outside [0, 1]"},
        {"perlin:-0.05", "is negative"},
        {"gauss:-1", "is negative"},
        {"gauss:nan", "not a finite number"},
        {"perlin:inf", "not a finite number"},
        {":0.1", "unknown corruption kind ''"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        c.kind = TDL_CORRUPT_GAUSS;
        c.level = 0.25;
        tdl_status s = tdl_corrupt_parse(bad[i].text, &c);
        TDL_CHECK(s == TDL_ERR_INVALID && strstr(tdl_last_error(), bad[i].msg) &&
                      c.kind == TDL_CORRUPT_GAUSS && c.level == 0.25,
                  "'%s': status %d, message '%s' (want '%s'), spec untouched", bad[i].text, (int)s,
                  tdl_last_error(), bad[i].msg);
    }
    tdl_corrupt_spec neg = {TDL_CORRUPT_GAUSS, -0.1};
    TDL_CHECK(tdl_series_corrupt(x, 10, &neg, 1) == TDL_ERR_INVALID, "negative sigma corrupts");
    printf("ok   KIND:LEVEL parsing: 3 kinds, %zu bad inputs rejected\n", sizeof bad / sizeof *bad);
}

static void test_cutout(void) {
    const double levels[] = {0.005, 0.05};
    for (int k = 0; k < 2; k++) {
        double p = levels[k];
        fill_const(x);
        tdl_corrupt_spec c = {TDL_CORRUPT_CUTOUT, p};
        TDL_CHECK(tdl_series_corrupt(x, N, &c, 11) == TDL_OK, "cutout");
        size_t zeros = 0, other = 0;
        for (size_t i = 0; i < N; i++) {
            zeros += x[i] == 0.0;
            other += x[i] != 0.0 && x[i] != 0.5;
        }
        double frac = (double)zeros / N, se = sqrt(p * (1 - p) / N);
        TDL_CHECK(fabs(frac - p) < 5 * se && other == 0, "cutout %g: zeroed %.5f (5 sigma %.5f)",
                  p, frac, 5 * se);
        printf("ok   cutout:%g on %d values: %.5f zeroed (binomial 5 sigma %.5f)\n", p, N, frac,
               5 * se);
    }
}

static void test_gauss(void) {
    const double levels[] = {0.1, 0.05};
    for (int k = 0; k < 2; k++) {
        double sigma = levels[k];
        fill_const(x);
        tdl_corrupt_spec c = {TDL_CORRUPT_GAUSS, sigma};
        TDL_CHECK(tdl_series_corrupt(x, N, &c, 12) == TDL_OK, "gauss");
        /* 0.5 +- 5 sigma stays inside [0, 1] for sigma 0.1: (almost) no
         * clipping, so the change is N(0, sigma^2); clipped values skipped */
        double s1 = 0, s2 = 0;
        size_t m = 0;
        for (size_t i = 0; i < N; i++) {
            if (x[i] <= 0.0 || x[i] >= 1.0) continue;
            double d = x[i] - 0.5;
            s1 += d;
            s2 += d * d;
            m++;
        }
        double mean = s1 / (double)m, sd = sqrt(s2 / (double)m - mean * mean);
        /* std of a sample std: sigma / sqrt(2 m) */
        double tol = 5 * sigma / sqrt(2.0 * (double)m);
        TDL_CHECK(m > N - 5 && fabs(mean) < 5 * sigma / sqrt((double)m) && fabs(sd - sigma) < tol,
                  "gauss %g: %zu unclipped, mean %g, std %g (tolerance %g)", sigma, m, mean, sd,
                  tol);
        printf("ok   gauss:%g at 0.5: change mean %.2e std %.5f (want %g +- %.5f)\n", sigma, mean,
               sd, sigma, tol);
    }
    /* results stay in [0, 1] (the generator clips) */
    for (size_t i = 0; i < N; i++) x[i] = i % 2 ? 0.0 : 1.0;
    tdl_corrupt_spec c = {TDL_CORRUPT_GAUSS, 0.1};
    tdl_series_corrupt(x, N, &c, 13);
    size_t out = 0;
    for (size_t i = 0; i < N; i++) out += x[i] < 0.0 || x[i] > 1.0;
    TDL_CHECK(out == 0, "gauss: %zu values outside [0, 1]", out);
}

static void test_perlin(void) {
    const double levels[] = {0.05, 0.2};
    for (int k = 0; k < 2; k++) {
        double a = levels[k];
        fill_saw(x);
        fill_saw(y);
        for (size_t i = 0; i < N; i++) y[i] = 0.25 + 0.5 * y[i]; /* range 0.5 */
        memcpy(z, y, sizeof z);
        tdl_corrupt_spec c = {TDL_CORRUPT_PERLIN, a};
        TDL_CHECK(tdl_series_corrupt(x, N, &c, 14) == TDL_OK, "perlin");
        TDL_CHECK(tdl_series_corrupt(y, N, &c, 14) == TDL_OK, "perlin");
        double peak = 0, s1 = 0, s2 = 0, peak_half = 0;
        for (size_t i = 0; i < N; i++) {
            double d = x[i] - (double)(i % 1000) / 999.0;
            peak = fmax(peak, fabs(d));
            s1 += d;
            s2 += d * d;
            /* the same draws on a range of 0.5: exactly half the change */
            peak_half = fmax(peak_half, fabs((y[i] - z[i]) - 0.5 * d));
        }
        double mean = s1 / N, sd = sqrt(s2 / N - mean * mean);
        /* the noise lies in [-1, 1] (times level * range 1); over 200,000
         * values of 8 octaves its std is 0.159..0.169 times the level and
         * its peak 0.58..0.75 times (measured over seeds 1..40): the bands
         * [0.12, 0.22] and (0.4, 1] times the level */
        TDL_CHECK(peak <= a * (1 + 1e-12) && peak > 0.4 * a, "perlin %g: peak %g", a, peak);
        TDL_CHECK(sd > 0.12 * a && sd < 0.22 * a, "perlin %g: std %g outside [%g, %g]", a, sd,
                  0.12 * a, 0.22 * a);
        TDL_CHECK(peak_half < 1e-12, "perlin %g on range 0.5 is not half the change: %g", a,
                  peak_half);
        printf("ok   perlin:%g on a range of 1: peak change %.5f <= %g, std %.5f in [%.4f, %.4f]\n",
               a, peak, a, sd, 0.12 * a, 0.22 * a);
    }
}

/* The draws are the generators' on tdl_rng_init(seed, TDL_CORRUPT_STREAM). */
static void test_stream_and_seed(void) {
    const tdl_corrupt_spec specs[] = {
        {TDL_CORRUPT_CUTOUT, 0.05}, {TDL_CORRUPT_PERLIN, 0.05}, {TDL_CORRUPT_GAUSS, 0.1}};
    for (int k = 0; k < 3; k++) {
        const tdl_corrupt_spec *c = &specs[k];
        const char *name = tdl_corrupt_kind_name(c->kind);
        fill_saw(x);
        fill_saw(y);
        tdl_series_corrupt(x, N, c, 21);
        tdl_rng r;
        tdl_rng_init(&r, 21, TDL_CORRUPT_STREAM);
        if (c->kind == TDL_CORRUPT_CUTOUT) tdl_noise_cutout(y, N, c->level, &r);
        else if (c->kind == TDL_CORRUPT_GAUSS) tdl_noise_gaussian(y, N, c->level, &r);
        else {
            tdl_perlin_params p = tdl_perlin_defaults();
            p.amplitude = c->level;
            TDL_CHECK(p.octaves == 8, "the spec's 8 octaves");
            tdl_noise_perlin(y, N, &p, &r);
        }
        TDL_CHECK(memcmp(x, y, sizeof x) == 0, "%s: not the documented stream", name);
        fill_saw(y);
        tdl_series_corrupt(y, N, c, 21);
        TDL_CHECK(memcmp(x, y, sizeof x) == 0, "%s: seed 21 twice differs", name);
        fill_saw(y);
        tdl_series_corrupt(y, N, c, 22);
        fill_saw(z);
        size_t changed21 = count_differ(x, z), differ = count_differ(x, y);
        TDL_CHECK(differ > changed21 / 2, "%s: seeds 21 and 22 differ at %zu of %zu changed values",
                  name, differ, changed21);
        /* level 0: unchanged (the Gaussian is not even clipped) */
        for (size_t i = 0; i < N; i++) y[i] = z[i] = 1.5 * (double)(i % 1000) / 999.0 - 0.25;
        tdl_corrupt_spec zero = {c->kind, 0.0};
        TDL_CHECK(tdl_series_corrupt(y, N, &zero, 21) == TDL_OK &&
                      memcmp(y, z, sizeof y) == 0, "%s: level 0 changed the series", name);
        printf("ok   %s: the documented stream, same seed same, seed 22 differs at %zu of %zu "
               "changed values, level 0 the identity\n", name, differ, changed21);
    }
}

static void test_eval_rows(void) {
    const size_t n = 28 * 50 + 5;
    tdl_series raw = {NULL, 0};
    TDL_CHECK(tdl_series_alloc(&raw, n) == TDL_OK, "alloc");
    for (size_t i = 0; i < n; i++) raw.v[i] = 1000.0 + 500.0 * sin(0.3 * (double)i) + (double)(i % 7);
    tdl_range train = {800.0, 1600.0};
    tdl_corrupt_spec c = {TDL_CORRUPT_GAUSS, 0.1};
    for (int is_train = 0; is_train < 2; is_train++) {
        for (int prot = 0; prot < 2; prot++) {
            float *a = NULL, *b = NULL, *d = NULL;
            size_t Ra = 0, Rb = 0, Rd = 0;
            TDL_CHECK(tdl_eval_rows(&a, &Ra, &raw, is_train, train, (tdl_eval_protocol)prot) ==
                          TDL_OK, "rows");
            TDL_CHECK(tdl_eval_rows_corrupt(&b, &Rb, &raw, is_train, train,
                                            (tdl_eval_protocol)prot, NULL, 5) == TDL_OK,
                      "rows, no corruption");
            TDL_CHECK(Ra == Rb && memcmp(a, b, Ra * 28 * sizeof *a) == 0,
                      "NULL corruption differs from tdl_eval_rows");
            TDL_CHECK(tdl_eval_rows_corrupt(&d, &Rd, &raw, is_train, train,
                                            (tdl_eval_protocol)prot, &c, 5) == TDL_OK,
                      "rows, corrupted");
            /* by hand: normalise as the protocol says, corrupt the row values */
            tdl_series s = {NULL, 0};
            tdl_series_slice(&s, &raw, 0, n);
            tdl_range own;
            if (is_train || prot == TDL_PROTOCOL_AUTHORS) tdl_series_normalize(&s, &own);
            else tdl_normalize(s.v, s.v, s.n, train);
            size_t first = 0;
            if (is_train) {
                size_t ntr, nte;
                tdl_rows_split(tdl_rows_count(n), &ntr, &nte);
                first = ntr;
            }
            tdl_series_corrupt(s.v + first * 28, Rd * 28, &c, 5);
            float *e = malloc(Rd * 28 * sizeof *e);
            tdl_series_rows(e, s.v + first * 28, Rd * 28);
            TDL_CHECK(Rd == Ra && memcmp(d, e, Rd * 28 * sizeof *d) == 0,
                      "corrupted rows (train %d, protocol %d) differ from the hand-made ones",
                      is_train, prot);
            TDL_CHECK(memcmp(d, a, Rd * 28 * sizeof *d) != 0, "corruption changed nothing");
            free(a);
            free(b);
            free(d);
            free(e);
            tdl_series_free(&s);
        }
    }
    tdl_corrupt_spec bad = {TDL_CORRUPT_CUTOUT, 2.0};
    float *r = NULL;
    size_t R = 0;
    TDL_CHECK(tdl_eval_rows_corrupt(&r, &R, &raw, 0, train, TDL_PROTOCOL_AUTHORS, &bad, 1) ==
                  TDL_ERR_INVALID && r == NULL, "bad corruption accepted by eval rows");
    tdl_series_free(&raw);
    printf("ok   tdl_eval_rows_corrupt: NULL = tdl_eval_rows; corrupted = by hand (both "
           "protocols, the 30%% split)\n");
}

int main(void) {
    test_parse();
    test_cutout();
    test_gauss();
    test_perlin();
    test_stream_and_seed();
    test_eval_rows();
    return tdl_test_done("test_noise_corrupt");
}
