/* test_dropout.c: tdl_dropout_*: mask statistics, determinism (seed, stream,
 * position; thread count), p = 0, finite differences, and PyTorch parity of
 * forward/backward for torch's own mask (fixture dropout). */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/nn.h"
#include "tdl_test.h"

#define FD_H 1e-2
#define FD_ATOL 1e-5
#define FD_RTOL 1e-4
#define PT_ATOL 1e-7
#define PT_RTOL 1e-6

static void test_statistics(void) {
    const size_t N = (size_t)1 << 20;
    const float p = 0.3f;
    float *mask = tdl_test_floats(N);
    tdl_rng r;
    tdl_rng_init(&r, 42, 7);
    tdl_dropout_mask(mask, N, p, &r);
    const float scale = 1.0f / (1.0f - p);
    size_t kept = 0, other = 0;
    for (size_t i = 0; i < N; i++) {
        if (mask[i] == scale) kept++;
        else if (mask[i] != 0.0f) other++;
    }
    double frac = (double)kept / (double)N;
    /* binomial: sd = sqrt(p (1-p) / N) = 4.5e-4; allow 6 sd */
    double bound = 6.0 * sqrt(0.3 * 0.7 / (double)N);
    TDL_CHECK(other == 0, "%zu mask values are neither 0 nor 1/(1-p)", other);
    TDL_CHECK(fabs(frac - 0.7) < bound, "keep fraction %.6f, want 0.7 +- %.6f", frac, bound);
    TDL_CHECK(fabs((double)scale - 1.0 / 0.7) < 1e-6, "scale %.9g", (double)scale);
    TDL_CHECK(r.pos == N, "rng advanced to %llu, want %zu", (unsigned long long)r.pos, N);
    printf("info dropout keep fraction %.6f (want 0.7 +- %.6f), scale %.9g\n", frac, bound, (double)scale);
    /* the mean of the mask is 1 (inverted dropout keeps expectations) */
    double mean = 0.0;
    for (size_t i = 0; i < N; i++) mean += mask[i];
    mean /= (double)N;
    TDL_CHECK(fabs(mean - 1.0) < bound / 0.7, "mask mean %.6f", mean);
    free(mask);
}

static void test_determinism(void) {
    const size_t N = 100003; /* above the parallel threshold, not a multiple of 4 */
    const float p = 0.25f;
    float *a = tdl_test_floats(N), *b = tdl_test_floats(N);
    tdl_rng r1, r2;
    /* each mask entry is exactly the word at its position, from any start */
    tdl_rng_init(&r1, 9, 3);
    r1.pos = 5;
    tdl_dropout_mask(a, N, p, &r1);
    tdl_rng_init(&r2, 9, 3);
    size_t bad = 0;
    for (size_t i = 0; i < N; i++) {
        float u = (float)(tdl_rng_u32_at(&r2, 5 + i) >> 8) * (1.0f / 16777216.0f);
        float want = u < p ? 0.0f : 1.0f / (1.0f - p);
        if (a[i] != want) bad++;
    }
    TDL_CHECK(bad == 0, "%zu entries differ from tdl_rng_u32_at(r, pos + i)", bad);
    TDL_CHECK(r1.pos == 5 + N, "rng position %llu", (unsigned long long)r1.pos);
    /* two calls continue the stream: (7, N-7) == one call of N */
    tdl_rng_init(&r2, 9, 3);
    r2.pos = 5;
    tdl_dropout_mask(b, 7, p, &r2);
    tdl_dropout_mask(b + 7, N - 7, p, &r2);
    TDL_CHECK(memcmp(a, b, N * sizeof(float)) == 0, "split calls differ from one call");
    /* 1 thread vs 2 threads */
    int nt = omp_get_max_threads();
    omp_set_num_threads(1);
    tdl_rng_init(&r1, 11, 1);
    tdl_dropout_mask(a, N, p, &r1);
    omp_set_num_threads(2);
    tdl_rng_init(&r2, 11, 1);
    tdl_dropout_mask(b, N, p, &r2);
    omp_set_num_threads(nt);
    TDL_CHECK(memcmp(a, b, N * sizeof(float)) == 0, "mask depends on the thread count");
    /* another stream or seed gives another mask */
    tdl_rng_init(&r2, 11, 2);
    tdl_dropout_mask(b, N, p, &r2);
    TDL_CHECK(memcmp(a, b, N * sizeof(float)) != 0, "streams 1 and 2 give the same mask");
    tdl_rng_init(&r2, 12, 1);
    tdl_dropout_mask(b, N, p, &r2);
    TDL_CHECK(memcmp(a, b, N * sizeof(float)) != 0, "seeds 11 and 12 give the same mask");
    printf("info dropout determinism checks done (N=%zu)\n", N);
    free(a);
    free(b);
}

static void test_p0(void) {
    const size_t N = 1000;
    float *mask = tdl_test_floats(N), *x = tdl_test_uniform(N, -1, 1, 1), *y = tdl_test_floats(N);
    float *ones = tdl_test_floats(N);
    for (size_t i = 0; i < N; i++) ones[i] = 1.0f;
    tdl_rng r;
    tdl_rng_init(&r, 1, 0);
    tdl_dropout_mask(mask, N, 0.0f, &r);
    tdl_test_allclose("dropout p=0 mask is all ones", mask, ones, N, 0, 0);
    tdl_dropout_forward(y, x, mask, N);
    tdl_test_allclose("dropout p=0 is the identity", y, x, N, 0, 0);
    free(mask); free(x); free(y); free(ones);
}

typedef struct {
    float *out, *inp, *mask, *r;
    size_t N;
} drop_ctx;

static double drop_loss(void *p) {
    drop_ctx *c = p;
    tdl_dropout_forward(c->out, c->inp, c->mask, c->N);
    return tdl_test_dot(c->out, c->r, c->N);
}

static void test_fd(void) {
    const size_t N = 40;
    drop_ctx c = {tdl_test_floats(N), tdl_test_uniform(N, -1, 1, 1), tdl_test_floats(N),
                  tdl_test_uniform(N, -1, 1, 2), N};
    tdl_rng r;
    tdl_rng_init(&r, 5, 5);
    tdl_dropout_mask(c.mask, N, 0.4f, &r);
    float *d = tdl_test_floats(N);
    tdl_dropout_backward(d, c.r, c.mask, N);
    tdl_test_gradcheck("dropout dinp", drop_loss, &c, c.inp, d, N, FD_H, FD_ATOL, FD_RTOL, NULL, 0);
    float *d2 = tdl_test_uniform(N, -1, 1, 3), *want = tdl_test_floats(N);
    for (size_t i = 0; i < N; i++) want[i] = d2[i] + d[i];
    tdl_dropout_backward(d2, c.r, c.mask, N);
    tdl_test_allclose("dropout backward adds", d2, want, N, 1e-7, 1e-6);
    free(c.out); free(c.inp); free(c.mask); free(c.r); free(d); free(d2); free(want);
}

static void test_torch(void) {
    tdl_safetensors st;
    tdl_test_fixture(&st, "dropout");
    size_t n;
    float *x = tdl_test_tensor(&st, "dropout.inp", &n), *mask = tdl_test_tensor(&st, "dropout.mask", NULL);
    float *r = tdl_test_tensor(&st, "dropout.dout", NULL);
    float *y = tdl_test_floats(n), *d = tdl_test_floats(n);
    tdl_dropout_forward(y, x, mask, n);
    tdl_dropout_backward(d, r, mask, n);
    float *want = tdl_test_tensor(&st, "dropout.out", NULL);
    tdl_test_allclose("torch dropout out", y, want, n, PT_ATOL, PT_RTOL);
    free(want);
    want = tdl_test_tensor(&st, "dropout.dinp", NULL);
    tdl_test_allclose("torch dropout dinp", d, want, n, PT_ATOL, PT_RTOL);
    free(want);
    /* in place */
    tdl_dropout_forward(x, x, mask, n);
    tdl_test_allclose("dropout in place", x, y, n, 0, 0);
    free(x); free(mask); free(r); free(y); free(d);
    tdl_safetensors_free(&st);
}

int main(void) {
    test_statistics();
    test_determinism();
    test_p0();
    test_fd();
    test_torch();
    return tdl_test_done("test_dropout");
}
