/* ddpm_loss.c: the denoising loss of the DDPM (ddpm.h) and its backward
 * into the UNet's gradients. */
#include <math.h>

#include "tdl/ddpm.h"

double tdl_ddpm_loss_given(tdl_ddpm *d, tdl_ddpm_work *w, const float *x0, const int *t,
                           const float *eps, int B, int train, tdl_rng *rng) {
    TDL_ASSERT(B >= 1 && B <= w->B, "batch %d outside [1, %d]", B, w->B);
    size_t D = tdl_ddpm_image_size(d), n = (size_t)B * D;
    tdl_ddpm_q_sample(&d->sched, w->xt, x0, t, eps, B, D);            /* (B, D) */
    /* d mean (eps_hat - eps)^2 / d eps_hat = 2 (eps_hat - eps) / n, n over the whole batch */
    float k = (float)(2.0 / (double)n);
    double sum = 0.0;
    for (int b0 = 0; b0 < B; b0 += w->chunk) {
        int nb = B - b0 < w->chunk ? B - b0 : w->chunk;
        size_t o = (size_t)b0 * D, m = (size_t)nb * D;
        tdl_unet_forward(&d->unet, w->cache, w->xt + o, t + b0, w->eps_hat + o, nb, train, rng);
        double part = 0.0;
        for (size_t i = o; i < o + m; i++) {
            double e = (double)w->eps_hat[i] - (double)eps[i];
            part += e * e;
        }
        sum += part;
        if (!isfinite(part)) return sum / (double)n;
        if (!w->grad) continue;
        for (size_t i = o; i < o + m; i++) w->deps[i] = k * (w->eps_hat[i] - eps[i]);
        tdl_unet_backward(&d->unet, w->cache, w->deps + o, NULL, nb);
    }
    return sum / (double)n;
}

double tdl_ddpm_loss(tdl_ddpm *d, tdl_ddpm_work *w, const float *x0, int B, int t_lo, int t_hi,
                     int train, tdl_rng *rng) {
    TDL_ASSERT(0 <= t_lo && t_lo < t_hi && t_hi <= d->sched.T, "t range [%d, %d) outside "
               "[0, %d)", t_lo, t_hi, d->sched.T);
    TDL_ASSERT(B >= 1 && B <= w->B, "batch %d outside [1, %d]", B, w->B);
    for (int b = 0; b < B; b++) w->t[b] = t_lo + (int)tdl_rng_below(rng, (uint32_t)(t_hi - t_lo));
    tdl_rng_fill_normal(rng, w->eps, (size_t)B * tdl_ddpm_image_size(d), 0.0f, 1.0f); /* (B, D) */
    return tdl_ddpm_loss_given(d, w, x0, w->t, w->eps, B, train, rng);
}
