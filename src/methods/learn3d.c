/* learn3d.c: 3D-Learning's outer loop (learn3d.h): Z0 with trajectories,
 * the predictor's row losses, the inner maximisation over theta with the
 * dual step on mu, S_theta, and the predictor's epoch on it through the
 * predictor's own training loop (train.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tdl/learn3d.h"
#include "tdl/series.h"
#include "learn3d_internal.h"

void tdl_3dl_config_default(tdl_3dl_config *c) {
    memset(c, 0, sizeof *c);
    c->outer = 15;
    c->inner = 10;
    c->z0_batches = 4;
    c->z0_images = 64;
    c->tprime = 10;
    c->kappa = 0.4;
    c->budget = 0.03;
    c->mu0 = 1.0;
    c->eta_mu = 0.01;
    c->diff_lr = 1e-6;
    c->diff_lr_step = 2;
    c->diff_lr_gamma = 0.05;
    c->schedule_once = 0;
    c->j_batch = 64;
    c->pred_lr = 1e-6;
    c->pred_batch = 64;
    c->pred_epochs = 1;
    c->s_images = 64;
    c->objective = TDL_TRAIN_DFL;
    c->adversary = 1;
    c->compat = 0;
    c->seed = 1;
    c->rule = TDL_PROVISION_EXACT;
    tdl_provision_defaults(&c->pp);
}

static int pos_finite(double x) { return isfinite(x) && x > 0; }

tdl_status tdl_3dl_config_check(const tdl_3dl_config *c, const tdl_ddpm_config *mc) {
#define NEED(cond, ...) \
    do { if (!(cond)) return tdl_error(TDL_ERR_INVALID, __VA_ARGS__); } while (0)
    NEED(c->outer >= 1, "outer epochs %d < 1", c->outer);
    NEED(c->inner >= 0, "inner epochs %d < 0", c->inner);
    NEED(c->z0_batches >= 1, "Z0 batches %d < 1", c->z0_batches);
    NEED(c->z0_images >= 1, "Z0 images per batch %d < 1", c->z0_images);
    NEED(c->tprime >= 2 && c->tprime <= TDL_3DL_MAX_TPRIME,
         "T' = %d outside [2, %d] (T' - 1 transitions have sigma > 0)", c->tprime,
         TDL_3DL_MAX_TPRIME);
    if (mc)
        NEED(c->tprime <= mc->unet.T, "T' = %d exceeds the diffusion model's T = %d", c->tprime,
             mc->unet.T);
    NEED(isfinite(c->kappa) && c->kappa >= 0 && c->kappa < 1, "kappa %g outside [0, 1)", c->kappa);
    NEED(pos_finite(c->budget), "budget epsilon %g is not a finite number > 0", c->budget);
    NEED(isfinite(c->mu0) && c->mu0 >= 0, "mu0 %g is not a finite number >= 0", c->mu0);
    NEED(isfinite(c->eta_mu) && c->eta_mu >= 0, "eta_mu %g is not a finite number >= 0", c->eta_mu);
    NEED(pos_finite(c->diff_lr), "diffusion learning rate %g is not a finite number > 0",
         c->diff_lr);
    NEED(c->diff_lr_step >= 1, "diffusion StepLR step %d < 1", c->diff_lr_step);
    NEED(pos_finite(c->diff_lr_gamma), "diffusion StepLR gamma %g is not a finite number > 0",
         c->diff_lr_gamma);
    NEED(c->j_batch >= 1, "J batch %d < 1", c->j_batch);
    NEED(pos_finite(c->pred_lr), "predictor learning rate %g is not a finite number > 0",
         c->pred_lr);
    NEED(c->pred_batch >= 1, "predictor batch %d < 1", c->pred_batch);
    NEED(c->pred_epochs >= 0, "predictor epochs %d < 0", c->pred_epochs);
    NEED(c->s_images >= 1, "S_theta images %d < 1", c->s_images);
    NEED((size_t)c->s_images * TDL_IMAGE_SIDE >= (size_t)c->pred_batch,
         "S_theta's %d rows (%d images) are fewer than one predictor batch of %d",
         c->s_images * TDL_IMAGE_SIDE, c->s_images, c->pred_batch);
    NEED(c->objective == TDL_TRAIN_DFL || c->objective == TDL_TRAIN_MSE, "unknown objective %d",
         (int)c->objective);
#undef NEED
    return tdl_provision_check(&c->pp);
}

void tdl_3dl_plan_make(tdl_3dl_plan *p, int tprime, int compat) {
    TDL_ASSERT(tprime >= 2 && tprime <= TDL_3DL_MAX_TPRIME, "T' = %d", tprime);
    memset(p, 0, sizeof *p);
    p->n = tprime - 1;
    for (int j = 0; j < p->n; j++) {
        if (compat) {          /* states k = 1 .. T'-1 evaluated at T' - k (defect b) */
            p->in[j] = j + 1;
            p->label[j] = tprime - (j + 1);
        } else {               /* state k is the input of sampler step T'-1-k */
            p->in[j] = j;
            p->label[j] = tprime - 1 - j;
        }
    }
}

void tdl_3dl_z0_free(tdl_3dl_z0 *z) {
    if (!z) return;
    free(z->states);
    free(z->resid0);
    free(z->images);
    memset(z, 0, sizeof *z);
}

tdl_status tdl_3dl_z0_alloc(tdl_3dl_z0 *z, int N, int K, size_t D, int ntr) {
    memset(z, 0, sizeof *z);
    z->N = N;
    z->K = K;
    z->D = D;
    z->states = malloc((size_t)N * ((size_t)K + 1) * D * sizeof(float));
    z->resid0 = malloc((size_t)N * (size_t)ntr * D * sizeof(float));
    z->images = malloc((size_t)N * D * sizeof(float));
    if (!z->states || !z->resid0 || !z->images) {
        tdl_3dl_z0_free(z);
        return tdl_error(TDL_ERR_NOMEM, "Z0 (%d images, %d states each)", N, K + 1);
    }
    return TDL_OK;
}

void tdl_3dl_z0_residuals(tdl_3dl_z0 *z, tdl_ddpm *d, tdl_3dl_work *w, const tdl_3dl_plan *plan,
                          int z0_images) {
    const int chunk = tdl_3dl_work_chunk(w);
    for (int b0 = 0; b0 < z->N; b0 += z0_images) {           /* as the inner pass chunks */
        int nb = z->N - b0 < z0_images ? z->N - b0 : z0_images;
        for (int c0 = b0; c0 < b0 + nb; c0 += chunk) {
            int cb = b0 + nb - c0 < chunk ? b0 + nb - c0 : chunk;
            tdl_3dl_ratio_forward(d, w, plan, z, c0, cb);
            for (int j = 0; j < plan->n; j++)
                for (int b = 0; b < cb; b++)
                    tdl_3dl_residual(d, plan, z, j, c0 + b, tdl_3dl_work_eps(w, j, b),
                                     z->resid0 + ((size_t)(c0 + b) * (size_t)plan->n + (size_t)j) *
                                                     z->D);
        }
    }
}

tdl_status tdl_3dl_z0_make(tdl_3dl_z0 *z, tdl_ddpm *d, tdl_ddpm_work *sw, tdl_3dl_work *w,
                           const tdl_3dl_plan *plan, int z0_batches, int z0_images, int K,
                           uint64_t seed, tdl_ddpm_progress progress, void *arg) {
    const int N = z0_batches * z0_images;
    const size_t D = tdl_ddpm_image_size(d);
    TDL_TRY(tdl_3dl_z0_alloc(z, N, K, D, plan->n));
    int *labels = malloc(((size_t)K + 1) * sizeof *labels);
    if (!labels) {
        tdl_3dl_z0_free(z);
        return tdl_error(TDL_ERR_NOMEM, "trajectory labels");
    }
    tdl_status s = tdl_ddpm_sample(d, sw, seed, N, z->images, K, z->states, labels, progress, arg);
    free(labels);
    if (s != TDL_OK) {
        tdl_3dl_z0_free(z);
        return s;
    }
    tdl_3dl_z0_residuals(z, d, w, plan, z0_images);
    return TDL_OK;
}

/* ---- the predictor's row losses ---- */

/* rows (N * 28, 28) = the images as one series normalised by its own range. */
static tdl_status images_to_rows(float *rows, const float *images, int N, size_t D) {
    const size_t n = (size_t)N * D;
    tdl_series s = {0};
    TDL_TRY(tdl_series_alloc(&s, n));
    for (size_t i = 0; i < n; i++) s.v[i] = images[i];
    tdl_range r;
    tdl_status st = tdl_series_normalize(&s, &r);
    if (st == TDL_OK) tdl_series_rows(rows, s.v, s.n);
    tdl_series_free(&s);
    return st == TDL_OK ? TDL_OK
                        : tdl_error_context(st, "generated images (the diffusion model's samples "
                                            "diverged? a NAME-t100 preset keeps them bounded)");
}

enum { ROW_CHUNK = 64 };  /* rows per predictor pass */

tdl_status tdl_3dl_row_losses(tdl_predictor *p, const float *images, int N, size_t D,
                              tdl_range train_range, tdl_train_loss objective,
                              tdl_provision_rule rule, const tdl_provision_params *pp,
                              double *L) {
    TDL_ASSERT(D % TDL_ROW_LEN == 0, "image of %zu values is not whole rows", D);
    const size_t R = (size_t)N * D / TDL_ROW_LEN, W = TDL_WINDOWS_PER_ROW;
    const int B = (int)(ROW_CHUNK * W);
    float *rows = malloc(R * TDL_ROW_LEN * sizeof *rows);
    float *x = malloc((size_t)B * TDL_WINDOW_IN * sizeof *x);
    float *y = malloc((size_t)B * sizeof *y), *yh = malloc((size_t)B * sizeof *yh);
    tdl_predictor_cache *cache = NULL;
    tdl_status s = rows && x && y && yh ? TDL_OK : tdl_error(TDL_ERR_NOMEM, "row losses");
    if (s == TDL_OK) s = tdl_predictor_cache_init(&cache, &p->cfg, B);
    if (s == TDL_OK) s = images_to_rows(rows, images, N, D);
    const double scale = train_range.max - train_range.min, offset = train_range.min;
    for (size_t r0 = 0; s == TDL_OK && r0 < R; r0 += ROW_CHUNK) {
        size_t nr = R - r0 < ROW_CHUNK ? R - r0 : ROW_CHUNK;
        tdl_windows_all(x, y, rows + r0 * TDL_ROW_LEN, nr);     /* (nr * 21, 7), (nr * 21) */
        tdl_predictor_forward(p, cache, x, yh, (int)(nr * W), 0, NULL);
        for (size_t r = 0; r < nr; r++) {
            double acc = 0.0;
            for (size_t k = 0; k < W; k++) {
                size_t i = r * W + k;
                if (!isfinite(yh[i]) && s == TDL_OK) /* relu would make NaN a 0 */
                    s = tdl_error(TDL_ERR_NUMERIC, "the predictor's forecast for generated row "
                                  "%zu, window %zu is %g, not finite", r0 + r, k, (double)yh[i]);
                if (objective == TDL_TRAIN_MSE) {
                    double e = (double)yh[i] - (double)y[i];
                    acc += e * e;
                } else {
                    double f = yh[i] > 0.0f ? (double)yh[i] : 0.0; /* relu, as DFL */
                    acc += tdl_provision_regret(pp, rule, f * scale + offset,
                                                (double)y[i] * scale + offset);
                }
            }
            L[r0 + r] = acc / (double)W;
        }
    }
    tdl_predictor_cache_free(cache);
    free(rows);
    free(x);
    free(y);
    free(yh);
    return s;
}

static double mean_of(const double *v, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += v[i];
    return n ? s / (double)n : NAN;
}

/* ---- the method's state ---- */

int64_t tdl_3dl_pred_steps_per_epoch(const tdl_3dl_config *c) {
    return (int64_t)c->pred_epochs *
           tdl_train_steps_per_epoch((size_t)c->s_images * TDL_IMAGE_SIDE, c->pred_batch);
}

/* Seeds of the samplers: Z0 and the S_theta of each outer epoch draw from
 * their own sampler seeds (splitmix64 of the run's seed and a label). */
static uint64_t mix(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}
uint64_t tdl_3dl_sampler_seed(uint64_t seed, uint64_t label) { return mix(mix(seed) ^ label); }

/* Everything but Z0 and the trainer's state: buffers, trainer, theta0 copy. */
static tdl_status setup(tdl_3dl *s, const tdl_3dl_config *cfg, tdl_predictor *p,
                        tdl_range train_range, tdl_ddpm *theta, const tdl_diffusion_data *real) {
    memset(s, 0, sizeof *s);
    TDL_TRY(tdl_3dl_config_check(cfg, &theta->cfg));
    if (theta->cfg.unet.image != TDL_IMAGE_SIDE)
        return tdl_error(TDL_ERR_SHAPE, "the diffusion model makes %dx%d images; 3D-Learning "
                         "reads them as rows of %d (28x28)", theta->cfg.unet.image,
                         theta->cfg.unet.image, TDL_ROW_LEN);
    if (!real || real->n < 1) return tdl_error(TDL_ERR_INVALID, "no real training image for J");
    if (!(train_range.max > train_range.min))
        return tdl_error(TDL_ERR_INVALID, "training range [%g, %g] is empty", train_range.min,
                         train_range.max);
    s->cfg = *cfg;
    if (cfg->compat) s->cfg.schedule_once = 1;
    s->pred = p;
    s->theta = theta;
    s->real = real;
    s->train_range = train_range;
    tdl_3dl_plan_make(&s->plan, cfg->tprime, cfg->compat);
    const size_t D = tdl_ddpm_image_size(theta), P = theta->unet.params.total;
    s->theta0 = malloc(P * sizeof *s->theta0);
    s->x0 = malloc((size_t)cfg->j_batch * D * sizeof *s->x0);
    s->jt = malloc((size_t)cfg->j_batch * sizeof *s->jt);
    s->jeps = malloc((size_t)cfg->j_batch * D * sizeof *s->jeps);
    s->s_images = malloc((size_t)cfg->s_images * D * sizeof *s->s_images);
    s->Ls = malloc((size_t)cfg->s_images * TDL_IMAGE_SIDE * sizeof *s->Ls);
    /* zero until the first regret pass (tdl_3dl_epoch starts with one) */
    s->L = calloc((size_t)cfg->z0_batches * (size_t)cfg->z0_images * TDL_IMAGE_SIDE, sizeof *s->L);
    s->sdata.rows = malloc((size_t)cfg->s_images * D * sizeof(float));
    if (!s->theta0 || !s->x0 || !s->jt || !s->jeps || !s->s_images || !s->Ls || !s->L ||
        !s->sdata.rows) {
        tdl_3dl_free(s);
        return tdl_error(TDL_ERR_NOMEM, "3D-Learning buffers");
    }
    memcpy(s->theta0, theta->unet.params.param, P * sizeof *s->theta0);
    s->sdata.R = s->sdata.rows_all = (size_t)cfg->s_images * TDL_IMAGE_SIDE;
    s->sdata.range = train_range; /* forecasts map to tokens with the TRAINING range */
    int sb = cfg->z0_images > cfg->s_images ? cfg->z0_images : cfg->s_images;
    if (sb > 64) sb = 64;
    tdl_status st = tdl_ddpm_work_init(&s->sample_work, theta, sb, 0);
    if (st == TDL_OK) st = tdl_3dl_work_init(&s->work, theta, &s->plan, cfg->z0_images, cfg->j_batch);
    tdl_train_config tc;
    tdl_train_config_default(&tc);
    tc.loss = cfg->objective;
    tc.lr = cfg->pred_lr;
    tc.batch = cfg->pred_batch;
    tc.epochs = cfg->outer * (cfg->pred_epochs > 0 ? cfg->pred_epochs : 1);
    tc.lr_step = 1000000; /* a fresh Adam each outer epoch; no decay within */
    tc.seed = cfg->seed;
    tc.rule = cfg->rule;
    tc.pp = cfg->pp;
    if (st == TDL_OK) st = tdl_trainer_init(&s->trainer, p, &tc);
    if (st != TDL_OK) {
        tdl_3dl_free(s);
        return st;
    }
    /* theta's optimiser is fresh (a model loaded from a pre-training
     * checkpoint carries that run's moments) */
    tdl_params *T = &theta->unet.params;
    memset(T->m, 0, T->total * sizeof *T->m);
    memset(T->v, 0, T->total * sizeof *T->v);
    tdl_adam_init(&s->adam, cfg->diff_lr);
    tdl_steplr_init(&s->sched, cfg->diff_lr_step, cfg->diff_lr_gamma);
    tdl_rng_init(&s->rng, cfg->seed, 3);
    s->mu = cfg->mu0;
    return TDL_OK;
}

tdl_status tdl_3dl_init(tdl_3dl *s, const tdl_3dl_config *cfg, tdl_predictor *p,
                        tdl_range train_range, tdl_ddpm *theta, const tdl_diffusion_data *real,
                        tdl_ddpm_progress progress, void *arg) {
    TDL_TRY(setup(s, cfg, p, train_range, theta, real));
    tdl_status st = tdl_3dl_z0_make(&s->z0, theta, &s->sample_work, s->work, &s->plan,
                                    cfg->z0_batches, cfg->z0_images, cfg->tprime,
                                    tdl_3dl_sampler_seed(cfg->seed, 0), progress, arg);
    if (st != TDL_OK) tdl_3dl_free(s);
    return st;
}

tdl_status tdl_3dl_setup_for_resume(tdl_3dl *s, const tdl_3dl_config *cfg, tdl_predictor *p,
                                    tdl_range train_range, tdl_ddpm *theta,
                                    const tdl_diffusion_data *real) {
    TDL_TRY(setup(s, cfg, p, train_range, theta, real));
    tdl_status st = tdl_3dl_z0_alloc(&s->z0, cfg->z0_batches * cfg->z0_images, cfg->tprime,
                                     tdl_ddpm_image_size(theta), s->plan.n);
    if (st != TDL_OK) tdl_3dl_free(s);
    return st;
}

void tdl_3dl_free(tdl_3dl *s) {
    if (!s) return;
    free(s->theta0);
    tdl_3dl_z0_free(&s->z0);
    tdl_trainer_free(&s->trainer);
    free(s->L);
    tdl_3dl_work_free(s->work);
    tdl_ddpm_work_free(&s->sample_work);
    free(s->x0);
    free(s->jt);
    free(s->jeps);
    free(s->s_images);
    free(s->Ls);
    free(s->sdata.rows);
    memset(s, 0, sizeof *s);
}

double tdl_3dl_distance(const tdl_3dl *s) {
    const tdl_params *P = &s->theta->unet.params;
    double num = 0.0, den = 0.0;
    for (int i = 0; i < P->count; i++) {
        if (!P->items[i].trainable) continue;
        const float *a = P->param + P->items[i].offset, *b = s->theta0 + P->items[i].offset;
        for (size_t k = 0; k < P->items[i].numel; k++) {
            double d = (double)a[k] - (double)b[k];
            num += d * d;
            den += (double)b[k] * (double)b[k];
        }
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

static double seconds_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

tdl_status tdl_3dl_inner_epoch(tdl_3dl *s, tdl_3dl_inner_stats *sum, int64_t *skipped,
                               tdl_3dl_progress progress, void *arg, int64_t *done,
                               int64_t total) {
    const tdl_3dl_config *c = &s->cfg;
    tdl_ddpm *d = s->theta;
    const size_t D = tdl_ddpm_image_size(d);
    memset(sum, 0, sizeof *sum);
    sum->r_min = INFINITY;
    sum->r_max = -INFINITY;
    double Jsum = 0.0;
    int Jn = 0;
    for (int i = 0; i < c->z0_batches; i++) {
        /* J's batch: real images of iteration k, t in [0, T'), eps ~ N(0, I) */
        tdl_diffusion_batch(s->x0, s->real, s->inner_iter, c->j_batch);
        for (int b = 0; b < c->j_batch; b++)
            s->jt[b] = (int)tdl_rng_below(&s->rng, (uint32_t)c->tprime);
        tdl_rng_fill_normal(&s->rng, s->jeps, (size_t)c->j_batch * D, 0.0f, 1.0f);
        tdl_3dl_inner_stats st;
        tdl_status r = tdl_3dl_inner_grad(d, s->work, &s->plan, &s->z0, s->L, i * c->z0_images,
                                          c->z0_images, c->z0_images, c->compat, c->kappa, s->mu,
                                          s->x0, s->jt, s->jeps, c->j_batch, 1, &s->rng, &st);
        s->inner_iter++;
        if (isfinite(st.J)) {
            Jsum += st.J;
            Jn++;
        }
        if (r != TDL_OK && r != TDL_ERR_NUMERIC) return r;
        if (r == TDL_ERR_NUMERIC || !tdl_params_grads_finite(&d->unet.params)) {
            (*skipped)++;
        } else {
            tdl_adam_step(&s->adam, &d->unet.params);
            sum->ppo += st.ppo;
            sum->rows += st.rows;
            sum->clipped += st.clipped;
            sum->r_sum += st.r_sum;
            if (st.r_min < sum->r_min) sum->r_min = st.r_min;
            if (st.r_max > sum->r_max) sum->r_max = st.r_max;
            sum->objective += st.objective;
        }
        if (progress) progress(arg, "inner", ++*done, total);
    }
    sum->J = Jn ? Jsum / Jn : NAN;
    /* the dual step on the epoch's mean J (the paper's max(0, .) unless compat) */
    if (isfinite(sum->J)) {
        s->mu += c->eta_mu * (sum->J - c->budget);
        if (!c->compat && s->mu < 0) s->mu = 0;
    }
    tdl_steplr_step(&s->sched, &s->adam);
    return TDL_OK;
}

tdl_status tdl_3dl_epoch(tdl_3dl *s, tdl_3dl_epoch_stats *es, tdl_3dl_progress progress,
                         void *arg) {
    const tdl_3dl_config *c = &s->cfg;
    const size_t D = tdl_ddpm_image_size(s->theta);
    const int Nz = s->z0.N;
    memset(es, 0, sizeof *es);
    es->epoch = s->epoch + 1;
    es->r_min = es->r_mean = es->r_max = es->clipped = es->ppo = es->J = NAN;
    double t0 = seconds_now(), t;

    /* 1. the predictor's loss on every Z0 row, held fixed */
    if (progress) progress(arg, "regret", 0, 1);
    TDL_TRY(tdl_3dl_row_losses(s->pred, s->z0.images, Nz, D, s->train_range, c->objective,
                               c->rule, &c->pp, s->L));
    es->loss_z0 = mean_of(s->L, (size_t)Nz * TDL_IMAGE_SIDE);
    t = seconds_now();
    es->sec_regret = t - t0;

    /* 2. the inner maximisation over theta */
    if (c->adversary && c->inner > 0) {
        if (!c->schedule_once) {                 /* the rate restarts each outer epoch */
            s->adam.lr = c->diff_lr;
            s->sched.epoch = 0;
        }
        int64_t done = 0, total = (int64_t)c->inner * c->z0_batches;
        for (int e = 0; e < c->inner; e++) {
            tdl_3dl_inner_stats st;
            int64_t skipped = 0;
            TDL_TRY(tdl_3dl_inner_epoch(s, &st, &skipped, progress, arg, &done, total));
            s->inner_skipped += skipped;
            es->inner_skipped += skipped;
            if (e == c->inner - 1) {
                es->J = st.J;
                int64_t taken = c->z0_batches - skipped;
                es->ppo = taken > 0 ? st.ppo / (double)taken : NAN;
                es->r_min = st.rows ? st.r_min : NAN;
                es->r_max = st.rows ? st.r_max : NAN;
                es->r_mean = st.rows ? st.r_sum / (double)st.rows : NAN;
                es->clipped = st.rows ? (double)st.clipped / (double)st.rows : NAN;
            }
        }
    }
    es->mu = s->mu;
    es->diff_lr = s->adam.lr;
    es->dist = tdl_3dl_distance(s);
    double t2 = seconds_now();
    es->sec_inner = t2 - t;

    /* 3. S_theta */
    if (progress) progress(arg, "sample", 0, 1);
    TDL_TRY(tdl_ddpm_sample(s->theta, &s->sample_work,
                            tdl_3dl_sampler_seed(c->seed, (uint64_t)s->epoch + 1), c->s_images,
                            s->s_images, 0, NULL, NULL, NULL, NULL));
    TDL_TRY(tdl_3dl_row_losses(s->pred, s->s_images, c->s_images, D, s->train_range,
                               c->objective, c->rule, &c->pp, s->Ls));
    es->loss_s = mean_of(s->Ls, (size_t)c->s_images * TDL_IMAGE_SIDE);
    TDL_TRY(images_to_rows(s->sdata.rows, s->s_images, c->s_images, D));
    double t3 = seconds_now();
    es->sec_sample = t3 - t2;

    /* 4. the predictor on S_theta: a fresh Adam, the predictor's own loop */
    if (progress) progress(arg, "predictor", 0, 1);
    tdl_trainer_reset_optimizer(&s->trainer);
    double lsum = 0.0;
    int ln = 0;
    for (int e = 0; e < c->pred_epochs; e++) {
        tdl_epoch_stats ps;
        TDL_TRY(tdl_trainer_epoch(&s->trainer, &s->sdata, &ps));
        es->pred_steps += ps.steps;
        if (isfinite(ps.loss)) {
            lsum += ps.loss;
            ln++;
        }
    }
    es->train_loss = ln ? lsum / ln : NAN;
    double t4 = seconds_now();
    es->sec_pred = t4 - t3;
    es->seconds = t4 - t0;
    s->epoch++;
    return TDL_OK;
}
