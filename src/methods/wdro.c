/* wdro.c: the Frank-Wolfe attack of the W-DRO baseline (include/tdl/wdro.h,
 * spec section 6) on the predictor's input windows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/wdro.h"

struct tdl_wdro_work {
    int Bmax, T;
    float *g;  /* (B, T) dLoss/dx at the current iterate */
    float *d;  /* (B, T) the direction eps * g / ||g|| */
    float *y;  /* (B) outputs */
    float *dy; /* (B) dLoss/dy */
};

static void config_common(tdl_wdro_config *c, double scale, double offset) {
    TDL_ASSERT(c, "wdro_config: NULL argument");
    memset(c, 0, sizeof *c);
    c->eps = 2.0;
    c->iters = 15;
    tdl_provision_defaults(&c->pp);
    c->rule = TDL_PROVISION_EXACT;
    c->scale = scale;
    c->offset = offset;
}

void tdl_wdro_config_default(tdl_wdro_config *c, double scale, double offset) {
    config_common(c, scale, offset);
    c->drift = 0;
    c->loss = TDL_WDRO_LOSS_DFL;
}

void tdl_wdro_config_authors(tdl_wdro_config *c, double scale, double offset) {
    config_common(c, scale, offset);
    c->drift = 1;
    c->loss = TDL_WDRO_LOSS_MSE;
}

tdl_status tdl_wdro_work_init(tdl_wdro_work **out, const tdl_predictor_config *cfg, int B) {
    TDL_ASSERT(out && cfg, "wdro_work_init: NULL argument");
    *out = NULL;
    if (B < 1 || cfg->T < 1)
        return tdl_error(TDL_ERR_INVALID, "W-DRO buffers for %d rows of %d steps", B, cfg->T);
    tdl_wdro_work *w = calloc(1, sizeof *w);
    const size_t n = (size_t)B * cfg->T;
    float *mem = calloc(2 * n + 2 * (size_t)B, sizeof(float));
    if (!w || !mem) {
        free(w);
        free(mem);
        return tdl_error(TDL_ERR_NOMEM, "out of memory for the W-DRO buffers (%d rows)", B);
    }
    w->Bmax = B;
    w->T = cfg->T;
    w->g = mem;
    w->d = w->g + n;
    w->y = w->d + n;
    w->dy = w->y + B;
    *out = w;
    return TDL_OK;
}

void tdl_wdro_work_free(tdl_wdro_work *w) {
    if (!w) return;
    free(w->g); /* the start of the one block */
    free(w);
}

// d (n) = eps * g (n) / ||g||_2; returns ||g||_2
double tdl_wdro_direction(float *d, const float *g, size_t n, double eps) {
    TDL_ASSERT(d && g, "wdro_direction: NULL argument");
    double sq = 0.0;
    for (size_t i = 0; i < n; i++) sq += (double)g[i] * g[i];
    const double norm = sqrt(sq);
    const double s = norm > 0.0 && isfinite(norm) ? eps / norm : 0.0;
    for (size_t i = 0; i < n; i++) d[i] = (float)(s * g[i]);
    return norm;
}

static double attack_loss(const tdl_wdro_config *cfg, const float *y, const float *t, float *dy,
                          int B) {
    if (cfg->loss == TDL_WDRO_LOSS_MSE) return tdl_predictor_mse_loss(y, t, dy, B);
    return tdl_predictor_dfl_loss(&cfg->pp, cfg->rule, cfg->scale, cfg->offset, y, t, dy, B);
}

tdl_status tdl_wdro_attack(tdl_predictor *p, tdl_predictor_cache *c, tdl_wdro_work *w,
                           const tdl_wdro_config *cfg, const float *x0, const float *t, float *x,
                           int B, int train, tdl_rng *rng, tdl_wdro_stats *st) {
    TDL_ASSERT(p && c && w && cfg && x0 && t && x, "wdro_attack: NULL argument");
    TDL_ASSERT(x != x0, "wdro_attack: x must not alias x0");
    TDL_ASSERT(!train || rng, "wdro_attack: training mode needs an rng");
    TDL_ASSERT(w->T == p->cfg.T, "wdro_attack: buffers built for T = %d, the predictor has %d",
               w->T, p->cfg.T);
    if (!(cfg->eps > 0.0) || !isfinite(cfg->eps))
        return tdl_error(TDL_ERR_INVALID, "W-DRO budget eps = %g: it must be positive and finite",
                         cfg->eps);
    if (cfg->iters < 1)
        return tdl_error(TDL_ERR_INVALID, "W-DRO needs at least 1 Frank-Wolfe iteration, got %d",
                         cfg->iters);
    if (B < 1 || B > w->Bmax)
        return tdl_error(TDL_ERR_INVALID, "W-DRO batch of %d rows, buffers hold 1 to %d", B,
                         w->Bmax);
    if (cfg->loss != TDL_WDRO_LOSS_DFL && cfg->loss != TDL_WDRO_LOSS_MSE)
        return tdl_error(TDL_ERR_INVALID, "W-DRO: unknown loss %d", (int)cfg->loss);
    if (cfg->loss == TDL_WDRO_LOSS_DFL && !(cfg->scale > 0.0))
        return tdl_error(TDL_ERR_INVALID, "W-DRO decision loss: range scale %g must be positive",
                         cfg->scale);
    const size_t n = (size_t)B * w->T;
    tdl_wdro_stats s = {0.0, 0.0, 0.0};
    memcpy(x, x0, n * sizeof(float));  // x_0 = x0
    for (int k = 0; k < cfg->iters; k++) {
        tdl_predictor_forward(p, c, x, w->y, B, train, rng);
        s.loss_last = attack_loss(cfg, w->y, t, w->dy, B);
        if (k == 0) s.loss_clean = s.loss_last;
        tdl_predictor_backward_input(p, c, w->dy, w->g, B, 0);  // g (B, T) = dLoss/dx at x_k
        const double gn = tdl_wdro_direction(w->d, w->g, n, cfg->eps);  // d (B, T)
        if (!isfinite(gn)) {
            memcpy(x, x0, n * sizeof(float));
            if (st) *st = s;
            return tdl_error(TDL_ERR_NUMERIC,
                             "W-DRO: the input gradient is not finite at iteration %d", k + 1);
        }
        // x_{k+1} = clip((1 - c) x_k + c (centre + d_k), 0, 1), centre x0 or x_k (drift)
        const double step = 2.0 / (k + 2.0);
        for (size_t i = 0; i < n; i++) {
            const double centre = cfg->drift ? x[i] : x0[i];
            double v = (1.0 - step) * x[i] + step * (centre + w->d[i]);
            x[i] = (float)(v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v);
        }
    }
    double sq = 0.0;
    for (size_t i = 0; i < n; i++) sq += ((double)x[i] - x0[i]) * ((double)x[i] - x0[i]);
    s.dist = sqrt(sq);
    if (st) *st = s;
    return TDL_OK;
}
