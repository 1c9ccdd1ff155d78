/* bench_common.h: timing helpers shared by the programs in bench/. */
#ifndef TDL_BENCH_COMMON_H
#define TDL_BENCH_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline float *bench_floats(size_t n, unsigned seed) {
    float *p = malloc((n ? n : 1) * sizeof(float));
    if (!p) { fprintf(stderr, "bench: out of memory\n"); exit(1); }
    unsigned s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (float)((s >> 8) & 0xffff) / 65536.0f - 0.5f;
    }
    return p;
}

/* Run fn(ctx) repeatedly: `reps` timed rounds of at least min_s seconds each
 * (after one warm-up call); returns the best seconds per call. */
static inline double bench_best(void (*fn)(void *), void *ctx, int reps, double min_s) {
    fn(ctx);
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        int calls = 0;
        double t0 = bench_now(), t;
        do {
            fn(ctx);
            calls++;
            t = bench_now() - t0;
        } while (t < min_s);
        if (t / calls < best) best = t / calls;
    }
    return best;
}

#endif
