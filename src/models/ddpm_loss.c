/* ddpm_loss.c: the denoising loss of the DDPM (ddpm.h) and its backward
 * into the UNet's gradients. */
#include <math.h>

#include "tdl/ddpm.h"

double tdl_ddpm_loss_given(tdl_ddpm *d, tdl_ddpm_work *w, const float *x0, const int *t,
                           const float *eps, int B, int train, tdl_rng *rng) {
    TDL_ASSERT(B >= 1 && B <= w->B, "batch %d outside [1, %d]", B, w->B);
    size_t D = tdl_ddpm_image_size(d), n = (size_t)B * D;
    tdl_ddpm_q_sample(&d->sched, w->xt, x0, t, eps, B, D);            /* (B, D) */
    tdl_unet_forward(&d->unet, w->cache, w->xt, t, w->eps_hat, B, train, rng);
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = (double)w->eps_hat[i] - (double)eps[i];
        sum += e * e;
    }
    double loss = sum / (double)n;
    if (!isfinite(loss) || !w->grad) return loss;
    /* d mean (eps_hat - eps)^2 / d eps_hat = 2 (eps_hat - eps) / n */
    float k = (float)(2.0 / (double)n);
    for (size_t i = 0; i < n; i++) w->deps[i] = k * (w->eps_hat[i] - eps[i]);
    tdl_unet_backward(&d->unet, w->cache, w->deps, NULL, B);
    return loss;
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
