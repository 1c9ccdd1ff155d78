/* learn3d_inner.c: 3D-Learning's inner objective mu * J - PPO on one batch
 * of Z0 trajectories and one batch of real images, and its gradient into the
 * UNet (learn3d.h). No autograd graph: the ratio pass runs the network on
 * every stored transition of a chunk of images, keeping one grad cache per
 * transition, computes the rows' ratios, then backpropagates
 * d(-PPO)/d eps_theta through each transition's cache. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/learn3d.h"
#include "tdl/series.h"
#include "learn3d_internal.h"

/* Bytes the ratio pass's grad caches may take (one per transition per chunk). */
#define RATIO_CACHE_BUDGET ((size_t)384 << 20)

struct tdl_3dl_work {
    int chunk;               /* images per ratio chunk */
    int ntr;                 /* planned transitions */
    size_t D;                /* values per image */
    tdl_unet_cache **cache;  /* (ntr) grad caches of chunk images */
    int *tl;                 /* (ntr, chunk) timestep labels */
    float *xin;              /* (ntr, chunk, D) transition inputs */
    float *eps;              /* (ntr, chunk, D) eps_theta(x_in, label), then the residual */
    float *deps;             /* (chunk, D) d objective / d eps */
    double *logr;            /* (chunk * 28) log-ratio per row */
    double *g;               /* (chunk * 28) d objective / d log r per row */
    tdl_ddpm_work jw;        /* J's batch, with gradients */
};

tdl_status tdl_3dl_work_init(tdl_3dl_work **out, const tdl_ddpm *d, const tdl_3dl_plan *plan,
                             int z0_images, int j_batch) {
    *out = NULL;
    if (plan->n < 1) return tdl_error(TDL_ERR_INVALID, "no transition to evaluate (T' < 2)");
    tdl_3dl_work *w = calloc(1, sizeof *w);
    if (!w) return tdl_error(TDL_ERR_NOMEM, "3D-Learning work");
    size_t per_image;
    tdl_status s = tdl_unet_cache_measure(&per_image, &d->unet, 1, 1);
    if (s != TDL_OK) {
        free(w);
        return s;
    }
    size_t fit = RATIO_CACHE_BUDGET / ((size_t)plan->n * (per_image ? per_image : 1));
    int chunk = fit < 1 ? 1 : fit > (size_t)z0_images ? z0_images : (int)fit;
    if (chunk > 2 && chunk % 2) chunk--; /* an even count splits over two threads */
    w->chunk = chunk;
    w->ntr = plan->n;
    w->D = tdl_ddpm_image_size(d);
    const size_t nc = (size_t)w->ntr * (size_t)chunk;
    w->cache = calloc((size_t)w->ntr, sizeof *w->cache);
    w->tl = malloc(nc * sizeof *w->tl);
    w->xin = malloc(nc * w->D * sizeof *w->xin);
    w->eps = malloc(nc * w->D * sizeof *w->eps);
    w->deps = malloc((size_t)chunk * w->D * sizeof *w->deps);
    w->logr = malloc((size_t)chunk * TDL_IMAGE_SIDE * sizeof *w->logr);
    w->g = malloc((size_t)chunk * TDL_IMAGE_SIDE * sizeof *w->g);
    if (!w->cache || !w->tl || !w->xin || !w->eps || !w->deps || !w->logr || !w->g) {
        tdl_3dl_work_free(w);
        return tdl_error(TDL_ERR_NOMEM, "3D-Learning buffers (%d transitions x %d images)",
                         plan->n, chunk);
    }
    for (int j = 0; j < w->ntr; j++) {
        s = tdl_unet_cache_init(&w->cache[j], &d->unet, chunk, 1);
        if (s != TDL_OK) {
            tdl_3dl_work_free(w);
            return s;
        }
        for (int b = 0; b < chunk; b++) w->tl[(size_t)j * (size_t)chunk + (size_t)b] = plan->label[j];
    }
    s = tdl_ddpm_work_init(&w->jw, d, j_batch, 1);
    if (s != TDL_OK) {
        tdl_3dl_work_free(w);
        return s;
    }
    *out = w;
    return TDL_OK;
}

void tdl_3dl_work_free(tdl_3dl_work *w) {
    if (!w) return;
    if (w->cache)
        for (int j = 0; j < w->ntr; j++) tdl_unet_cache_free(w->cache[j]);
    free(w->cache);
    free(w->tl);
    free(w->xin);
    free(w->eps);
    free(w->deps);
    free(w->logr);
    free(w->g);
    tdl_ddpm_work_free(&w->jw);
    free(w);
}

int tdl_3dl_work_chunk(const tdl_3dl_work *w) { return w->chunk; }

size_t tdl_3dl_work_bytes(const tdl_3dl_work *w) {
    size_t n = 0;
    for (int j = 0; j < w->ntr; j++) n += tdl_unet_cache_bytes(w->cache[j]);
    n += tdl_unet_cache_bytes(w->jw.cache);
    return n;
}

/* eps (ntr, cb, D) = eps_theta(x_in, label) of every planned transition of
 * Z0 images [c0, c0 + cb), in inference mode, each transition through its
 * own cache (kept for backward). The Z0 residuals under theta0 are made by
 * this same function, so equal parameters give equal bits. */
void tdl_3dl_ratio_forward(tdl_ddpm *d, tdl_3dl_work *w, const tdl_3dl_plan *plan,
                           const tdl_3dl_z0 *z, int c0, int cb) {
    TDL_ASSERT(cb >= 1 && cb <= w->chunk, "chunk %d outside [1, %d]", cb, w->chunk);
    const size_t D = w->D, S = (size_t)z->K + 1, C = (size_t)w->chunk;
    for (int j = 0; j < plan->n; j++) {
        float *xin = w->xin + (size_t)j * C * D;                 /* (cb, D) */
        for (int b = 0; b < cb; b++)
            memcpy(xin + (size_t)b * D, z->states + ((size_t)(c0 + b) * S + (size_t)plan->in[j]) * D,
                   D * sizeof(float));
        tdl_unet_forward(&d->unet, w->cache[j], xin, w->tl + (size_t)j * C,
                         w->eps + (size_t)j * C * D, cb, 0, NULL);
    }
}

/* res (D) = x_out - m(x_in, eps, label) for transition j of image n; res may
 * equal eps (element by element). */
void tdl_3dl_residual(const tdl_ddpm *d, const tdl_3dl_plan *plan, const tdl_3dl_z0 *z, int j,
                      int n, const float *eps, float *res) {
    const size_t D = z->D, S = (size_t)z->K + 1;
    const float *xin = z->states + ((size_t)n * S + (size_t)plan->in[j]) * D;
    const float *xout = xin + D;
    tdl_ddpm_mean(&d->sched, res, xin, eps, plan->label[j], D);
    for (size_t i = 0; i < D; i++) res[i] = xout[i] - res[i];
}

tdl_status tdl_3dl_inner_grad(tdl_ddpm *d, tdl_3dl_work *w, const tdl_3dl_plan *plan,
                              const tdl_3dl_z0 *z, const double *L, int b0, int nb,
                              int z0_images, int compat, double kappa, double mu,
                              const float *x0, const int *t, const float *eps, int jB,
                              int j_train, tdl_rng *rng, tdl_3dl_inner_stats *st) {
    TDL_ASSERT(b0 >= 0 && nb >= 1 && b0 + nb <= z->N, "images [%d, %d) outside Z0 (%d)", b0,
               b0 + nb, z->N);
    TDL_ASSERT(plan->n == w->ntr, "plan of %d transitions, work of %d", plan->n, w->ntr);
    const size_t D = w->D, C = (size_t)w->chunk;
    const int RW = TDL_IMAGE_SIDE;           /* rows per image, values per row */
    tdl_params *P = &d->unet.params;
    memset(st, 0, sizeof *st);
    st->r_min = INFINITY;
    st->r_max = -INFINITY;
    tdl_params_zero_grad(P);

    /* mu * J: J's gradient, then scaled (the PPO part is added after). */
    double J = tdl_ddpm_loss_given(d, &w->jw, x0, t, eps, jB, j_train, rng);
    st->J = J;
    if (!isfinite(J)) return tdl_error(TDL_ERR_NUMERIC, "score-matching loss J is %g", J);
    const float fmu = (float)mu;
    for (size_t i = 0; i < P->total; i++) P->grad[i] *= fmu;

    /* - PPO, chunk by chunk. PPO = (1 / R) sum_rows min(r L, clip(r) L). */
    const double R = (double)nb * RW, lo = 1.0 - kappa, hi = 1.0 + kappa;
    double ppo = 0.0;
    for (int c0 = b0; c0 < b0 + nb; c0 += w->chunk) {
        int cb = b0 + nb - c0 < w->chunk ? b0 + nb - c0 : w->chunk;
        tdl_3dl_ratio_forward(d, w, plan, z, c0, cb);
        /* log r per row: - sum_j sum_row (res^2 - res0^2) / (2 sigma^2) */
        memset(w->logr, 0, (size_t)cb * RW * sizeof *w->logr);
        for (int j = 0; j < plan->n; j++) {
            const double s2 = 2.0 * d->sched.sigma[plan->label[j]] * d->sched.sigma[plan->label[j]];
            for (int b = 0; b < cb; b++) {
                /* the residual replaces eps_theta in its buffer: the backward needs only it */
                float *res = w->eps + ((size_t)j * C + (size_t)b) * D;
                tdl_3dl_residual(d, plan, z, j, c0 + b, res, res);
                const float *res0 = z->resid0 + ((size_t)(c0 + b) * (size_t)plan->n + (size_t)j) * D;
                for (int r = 0; r < RW; r++) {
                    double acc = 0.0;
                    for (int k = 0; k < RW; k++) {
                        double a = res[r * RW + k], a0 = res0[r * RW + k];
                        acc += (a - a0) * (a + a0);
                    }
                    w->logr[b * RW + r] -= acc / s2;
                }
            }
        }
        /* ratios, the PPO term and d objective / d log r = - r dPPO/dr */
        for (int b = 0; b < cb; b++) {
            int n = c0 + b;
            for (int r = 0; r < RW; r++) {
                size_t li;
                if (compat) {                /* defect (a): the transposed index */
                    int i = n / z0_images, bb = n % z0_images;
                    li = ((size_t)i * RW + (size_t)r) * (size_t)z0_images + (size_t)bb;
                } else {
                    li = (size_t)n * RW + (size_t)r;
                }
                double lr = w->logr[b * RW + r], ratio = exp(lr), l = L[li];
                if (!isfinite(ratio)) {
                    st->ppo = ppo;
                    return tdl_error(TDL_ERR_NUMERIC, "likelihood ratio of Z0 image %d row %d "
                                     "is %g (log %g)", n, r, ratio, lr);
                }
                double cr = ratio < lo ? lo : ratio > hi ? hi : ratio;
                double un = ratio * l, cl = cr * l;
                int clipped = cl < un && (ratio < lo || ratio > hi);
                ppo += (clipped ? cl : un) / R;
                w->g[b * RW + r] = clipped ? 0.0 : -ratio * l / R;
                st->clipped += clipped;
                st->r_sum += ratio;
                if (ratio < st->r_min) st->r_min = ratio;
                if (ratio > st->r_max) st->r_max = ratio;
            }
        }
        /* deps_j = g_row * d log r / d eps = g_row * (-c res / sigma^2), then backward */
        for (int j = 0; j < plan->n; j++) {
            const int tj = plan->label[j];
            const double sig = d->sched.sigma[tj];
            const double c = d->sched.beta[tj] / (sqrt(1.0 - d->sched.abar[tj]) *
                                                  sqrt(d->sched.alpha[tj]));
            const double k = -c / (sig * sig);
            int any = 0;
            for (int b = 0; b < cb; b++) {
                float *dep = w->deps + (size_t)b * D;
                const float *res = w->eps + ((size_t)j * C + (size_t)b) * D;
                for (int r = 0; r < RW; r++) {
                    double gk = w->g[b * RW + r] * k;
                    any |= gk != 0.0;
                    for (int q = 0; q < RW; q++) dep[r * RW + q] = (float)(gk * res[r * RW + q]);
                }
            }
            if (!any) continue; /* every row clipped or with zero loss: no gradient */
            tdl_unet_backward(&d->unet, w->cache[j], w->deps, NULL, cb);
        }
    }
    st->ppo = ppo;
    st->rows = (int64_t)nb * RW;
    st->objective = mu * J - ppo;
    return TDL_OK;
}

const float *tdl_3dl_work_eps(const tdl_3dl_work *w, int j, int b) {
    return w->eps + ((size_t)j * (size_t)w->chunk + (size_t)b) * w->D;
}
