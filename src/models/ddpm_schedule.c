/* ddpm_schedule.c: the linear beta schedule, the forward (noising) process
 * and one reverse step (ddpm.h); the network-free arithmetic of the DDPM. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/ddpm.h"

tdl_status tdl_ddpm_schedule_init(tdl_ddpm_schedule *s, int T, double beta_1, double beta_T) {
    memset(s, 0, sizeof *s);
    if (T < 1) return tdl_error(TDL_ERR_INVALID, "diffusion steps T = %d < 1", T);
    if (!(isfinite(beta_1) && isfinite(beta_T) && beta_1 > 0 && beta_1 <= beta_T && beta_T < 1))
        return tdl_error(TDL_ERR_INVALID, "betas %g .. %g: need 0 < beta_1 <= beta_T < 1", beta_1,
                         beta_T);
    double *mem = malloc(4 * (size_t)T * sizeof *mem);
    if (!mem) return tdl_error(TDL_ERR_NOMEM, "schedule of %d steps", T);
    s->T = T;
    s->beta_1 = beta_1;
    s->beta_T = beta_T;
    s->beta = mem;
    s->alpha = mem + T;
    s->abar = mem + 2 * (size_t)T;
    s->sigma = mem + 3 * (size_t)T;
    /* torch.linspace (CPU): the first half from the start, the second half
     * back from the end, so both ends are exact. */
    double step = T > 1 ? (beta_T - beta_1) / (double)(T - 1) : 0.0;
    int half = T / 2;
    for (int t = 0; t < T; t++)
        s->beta[t] = T == 1 ? beta_1
                     : t < half ? beta_1 + step * (double)t
                                : beta_T - step * (double)(T - 1 - t);
    double prod = 1.0;
    for (int t = 0; t < T; t++) {
        double prev = prod;  /* abar_{t-1}, 1 before the first step */
        s->alpha[t] = 1.0 - s->beta[t];
        prod *= s->alpha[t];
        s->abar[t] = prod;
        s->sigma[t] = sqrt((1.0 - prev) / (1.0 - prod) * s->beta[t]);
    }
    return TDL_OK;
}

void tdl_ddpm_schedule_free(tdl_ddpm_schedule *s) {
    if (!s) return;
    free(s->beta);
    memset(s, 0, sizeof *s);
}

void tdl_ddpm_q_sample(const tdl_ddpm_schedule *s, float *xt, const float *x0, const int *t,
                       const float *eps, int B, size_t D) {
    for (int b = 0; b < B; b++) {
        TDL_ASSERT(t[b] >= 0 && t[b] < s->T, "t = %d outside [0, %d)", t[b], s->T);
        float a = (float)sqrt(s->abar[t[b]]);        /* signal factor */
        float n = (float)sqrt(1.0 - s->abar[t[b]]);  /* noise factor */
        const float *x = x0 + (size_t)b * D, *e = eps + (size_t)b * D;
        float *o = xt + (size_t)b * D;
        for (size_t j = 0; j < D; j++) o[j] = a * x[j] + n * e[j];
    }
}

void tdl_ddpm_mean(const tdl_ddpm_schedule *s, float *out, const float *xt, const float *eps_hat,
                   int t, size_t n) {
    TDL_ASSERT(t >= 0 && t < s->T, "t = %d outside [0, %d)", t, s->T);
    /* Float arithmetic with float-rounded coefficients, as the PyTorch
     * reference (tensor op python-float). */
    float c = (float)(s->beta[t] / sqrt(1.0 - s->abar[t]));
    float r = (float)sqrt(s->alpha[t]);
    for (size_t j = 0; j < n; j++) out[j] = (xt[j] - c * eps_hat[j]) / r;
}

void tdl_ddpm_reverse_step(const tdl_ddpm_schedule *s, float *out, const float *xt,
                           const float *eps_hat, int t, const float *z, size_t n) {
    TDL_ASSERT(t == 0 || z, "reverse step t = %d needs z", t);
    tdl_ddpm_mean(s, out, xt, eps_hat, t, n);
    if (t == 0) return;
    float sg = (float)s->sigma[t];
    for (size_t j = 0; j < n; j++) out[j] += sg * z[j];
}
