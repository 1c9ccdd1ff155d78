/* adam.c: torch.optim.Adam (single-tensor path) and StepLR. */
/* The update loop vectorises only if sqrtf need not set errno (a vector
 * square root cannot: CMakeLists.txt compiles this file with -fno-math-errno)
 * and both sides of the weight-decay select may be evaluated: tdl reads
 * neither errno nor the floating-point exception flags, and IEEE sqrt is
 * correctly rounded either way (the same results). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include "tdl/adam.h"

#include <math.h>
#include <stddef.h>

/* Several instruction sets for the update loop, chosen at load time; the
 * results are bit-identical (no FMA contraction, the same operations in every
 * lane, correctly rounded division and square root). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(TDL_NO_CLONES)
#define ADAM_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define ADAM_CLONES
#endif

/* The per-element update, one rounding per torch operation. w, m, v (n)
 * updated in place; g (n) the gradient. */
ADAM_CLONES
static void adam_update(float *restrict w, float *restrict m, float *restrict v,
                        const float *restrict g, size_t n, float wd, float b1, float one_b1,
                        float b2, float one_b2, float bc2_sqrt, float eps, float step_size) {
    const int decay = wd != 0.0f;
    #pragma omp simd
    for (size_t k = 0; k < n; k++) {
        float gk = g[k];
        gk = decay ? gk + wd * w[k] : gk; /* torch: grad.add(param, alpha=weight_decay) */
        float mk = m[k] * b1 + gk * one_b1;
        float vk = v[k] * b2 + (gk * gk) * one_b2;
        float denom = sqrtf(vk) / bc2_sqrt + eps;
        m[k] = mk;
        v[k] = vk;
        w[k] = w[k] + (-step_size) * (mk / denom);
    }
}

/* Below this many floats one thread does a run (a fork/join costs a few
 * microseconds). The predictor's ~120k parameters (w_hh1 and the run after
 * it) take ~33 us on one thread, ~23 us on two. The update is elementwise,
 * so the split does not change any result. */
#define ADAM_PAR_MIN ((size_t)1 << 15)
#define ADAM_CHUNK ((size_t)1 << 14)

void tdl_adam_init(tdl_adam *a, double lr) {
    a->lr = lr;
    a->beta1 = 0.9;
    a->beta2 = 0.999;
    a->eps = 1e-8;
    a->weight_decay = 0.0;
    a->t = 0;
}

void tdl_adam_step(tdl_adam *a, tdl_params *p) {
    a->t++;
    /* Scalars in double as PyTorch computes them in Python floats; the tensor
     * arithmetic in float, one rounding per torch operation. */
    const double bc1 = 1.0 - pow(a->beta1, (double)a->t);
    const double bc2 = 1.0 - pow(a->beta2, (double)a->t);
    const float step_size = (float)(a->lr / bc1);
    const float bc2_sqrt = (float)sqrt(bc2);
    const float b1 = (float)a->beta1, b2 = (float)a->beta2;
    const float one_b1 = (float)(1.0 - a->beta1), one_b2 = (float)(1.0 - a->beta2);
    const float eps = (float)a->eps, wd = (float)a->weight_decay;
    /* Runs of adjacent trainable tensors are one update (the table is one
     * buffer, offsets in order): a single vector loop over most of it. */
    int i = 0;
    while (i < p->count) {
        if (!p->items[i].trainable) {
            i++;
            continue;
        }
        const size_t off = p->items[i].offset;
        size_t n = p->items[i].numel;
        int j = i + 1;
        while (j < p->count && p->items[j].trainable && p->items[j].offset == off + n)
            n += p->items[j++].numel;
        float *w = p->param + off;  /* (n) */
        const float *g = p->grad + off;
        float *m = p->m + off, *v = p->v + off;
        if (n < ADAM_PAR_MIN) {
            adam_update(w, m, v, g, n, wd, b1, one_b1, b2, one_b2, bc2_sqrt, eps, step_size);
        } else {
            const long chunks = (long)((n + ADAM_CHUNK - 1) / ADAM_CHUNK);
            #pragma omp parallel for schedule(static)
            for (long c = 0; c < chunks; c++) {
                size_t k0 = (size_t)c * ADAM_CHUNK;
                size_t len = n - k0 < ADAM_CHUNK ? n - k0 : ADAM_CHUNK;
                adam_update(w + k0, m + k0, v + k0, g + k0, len, wd, b1, one_b1, b2, one_b2,
                            bc2_sqrt, eps, step_size);
            }
        }
        i = j;
    }
}

void tdl_steplr_init(tdl_steplr *s, int step_size, double gamma) {
    TDL_ASSERT(step_size >= 1, "StepLR step_size must be >= 1");
    s->step_size = step_size;
    s->gamma = gamma;
    s->epoch = 0;
}

void tdl_steplr_step(tdl_steplr *s, tdl_adam *a) {
    s->epoch++;
    if (s->epoch % s->step_size == 0) a->lr *= s->gamma;
}
