/* adam.c: torch.optim.Adam (single-tensor path) and StepLR. */
#include "tdl/adam.h"

#include <math.h>

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
    for (int i = 0; i < p->count; i++) {
        const tdl_param *t = &p->items[i];
        if (!t->trainable) continue;
        float *w = p->param + t->offset;  /* (numel) */
        const float *g = p->grad + t->offset;
        float *m = p->m + t->offset, *v = p->v + t->offset;
        const size_t n = t->numel;
#pragma omp parallel for schedule(static) if (n > 65536)
        for (size_t k = 0; k < n; k++) {
            float gk = g[k];
            if (wd != 0.0f) gk = gk + wd * w[k];
            m[k] = m[k] * b1 + gk * one_b1;
            v[k] = v[k] * b2 + (gk * gk) * one_b2;
            float denom = sqrtf(v[k]) / bc2_sqrt + eps;
            w[k] = w[k] + (-step_size) * (m[k] / denom);
        }
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
