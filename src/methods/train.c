/* train.c: the authors' training loop for the predictor (train.h): one Adam
 * step per (batch, t), StepLR per epoch, non-finite steps skipped; optional
 * step budget (max_steps) and periodic optimiser resets (adam_reset). The
 * baselines of spec section 6 plug into it: KL-DRO as a loss kind, the
 * augmentations as a transformation of the training data, W-DRO as a
 * transformation of each step's batch (the Frank-Wolfe attack, wdro.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/noise.h"
#include "tdl/train.h"
#include "tdl/wdro.h"

const char *tdl_train_loss_name(tdl_train_loss l) {
    return l == TDL_TRAIN_MSE ? "mse" : l == TDL_TRAIN_KLDRO ? "kl-dro" : "dfl";
}

tdl_status tdl_train_loss_parse(const char *name, tdl_train_loss *l) {
    if (strcmp(name, "mse") == 0) *l = TDL_TRAIN_MSE;
    else if (strcmp(name, "dfl") == 0) *l = TDL_TRAIN_DFL;
    else if (strcmp(name, "kl-dro") == 0) *l = TDL_TRAIN_KLDRO;
    else return tdl_error(TDL_ERR_INVALID, "unknown loss '%s' (mse, dfl or kl-dro)", name);
    return TDL_OK;
}

static const char *const wdro_names[] = {"off", "paper", "authors"};

const char *tdl_train_wdro_name(tdl_train_wdro w) { return (unsigned)w < 3 ? wdro_names[w] : "?"; }

tdl_status tdl_train_wdro_parse(const char *name, tdl_train_wdro *w) {
    for (int i = 0; i < 3; i++)
        if (strcmp(name, wdro_names[i]) == 0) {
            *w = (tdl_train_wdro)i;
            return TDL_OK;
        }
    return tdl_error(TDL_ERR_INVALID, "unknown W-DRO variant '%s' (off, paper or authors)", name);
}

static const char *const augment_names[] = {"none", "da-gauss", "da-cutout", "da-perlin"};

const char *tdl_train_augment_name(tdl_train_augment a) {
    return (unsigned)a < 4 ? augment_names[a] : "?";
}

tdl_status tdl_train_augment_parse(const char *name, tdl_train_augment *a) {
    for (int i = 0; i < 4; i++)
        if (strcmp(name, augment_names[i]) == 0) {
            *a = (tdl_train_augment)i;
            return TDL_OK;
        }
    return tdl_error(TDL_ERR_INVALID, "unknown augmentation '%s' (none, da-gauss, da-cutout or "
                     "da-perlin)", name);
}

static tdl_status augment_check(tdl_train_augment a, double level) {
    if ((unsigned)a > TDL_AUGMENT_PERLIN)
        return tdl_error(TDL_ERR_INVALID, "unknown augmentation kind %d", (int)a);
    if (!(isfinite(level) && level >= 0))
        return tdl_error(TDL_ERR_INVALID, "noise level %g is not a finite number >= 0", level);
    if (a == TDL_AUGMENT_CUTOUT && level > 1)
        return tdl_error(TDL_ERR_INVALID, "cutout level %g is a probability (0 to 1)", level);
    return TDL_OK;
}

void tdl_train_config_default(tdl_train_config *c) {
    memset(c, 0, sizeof *c);
    c->loss = TDL_TRAIN_DFL;
    c->epochs = 100;
    c->lr = 1e-6;
    c->batch = 64;
    c->lr_step = 10;
    c->lr_gamma = 0.05;
    c->seed = 1;
    c->rule = TDL_PROVISION_EXACT;
    tdl_provision_defaults(&c->pp);
    c->kl_eps = TDL_TRAIN_KL_EPS;
    c->augment = TDL_AUGMENT_NONE;
    c->noise_level = TDL_TRAIN_NOISE_LEVEL;
    c->noise_seed = 1;
    c->wdro = TDL_TRAIN_WDRO_OFF;
    c->w_eps = TDL_TRAIN_W_EPS;
    c->fw_iters = TDL_TRAIN_FW_ITERS;
}

tdl_status tdl_train_config_check(const tdl_train_config *c) {
    if (c->epochs < 1) return tdl_error(TDL_ERR_INVALID, "epochs %d < 1", c->epochs);
    if (!(isfinite(c->lr) && c->lr > 0))
        return tdl_error(TDL_ERR_INVALID, "learning rate %g is not a finite number > 0", c->lr);
    if (c->batch < 1) return tdl_error(TDL_ERR_INVALID, "batch %d < 1", c->batch);
    if (c->lr_step < 1) return tdl_error(TDL_ERR_INVALID, "StepLR step %d < 1", c->lr_step);
    if (!(isfinite(c->lr_gamma) && c->lr_gamma > 0))
        return tdl_error(TDL_ERR_INVALID, "StepLR gamma %g is not a finite number > 0",
                         c->lr_gamma);
    if (c->max_steps < 0)
        return tdl_error(TDL_ERR_INVALID, "max_steps %lld < 0 (0 = no limit)",
                         (long long)c->max_steps);
    if (c->adam_reset < 0)
        return tdl_error(TDL_ERR_INVALID, "adam_reset %lld < 0 (0 = never)",
                         (long long)c->adam_reset);
    if (c->loss != TDL_TRAIN_MSE && c->loss != TDL_TRAIN_DFL && c->loss != TDL_TRAIN_KLDRO)
        return tdl_error(TDL_ERR_INVALID, "unknown loss kind %d", (int)c->loss);
    if (!(isfinite(c->kl_eps) && c->kl_eps > 0))
        return tdl_error(TDL_ERR_INVALID, "KL-DRO radius %g is not a finite number > 0",
                         c->kl_eps);
    if (c->kl_regret != 0 && c->kl_regret != 1)
        return tdl_error(TDL_ERR_INVALID, "KL-DRO kl_regret %d: 0 (losses) or 1 (regrets)",
                         c->kl_regret);
    TDL_TRY(augment_check(c->augment, c->noise_level));
    if ((unsigned)c->wdro > TDL_TRAIN_WDRO_AUTHORS)
        return tdl_error(TDL_ERR_INVALID, "unknown W-DRO variant %d", (int)c->wdro);
    if (!(isfinite(c->w_eps) && c->w_eps > 0))
        return tdl_error(TDL_ERR_INVALID, "W-DRO budget %g is not a finite number > 0", c->w_eps);
    if (c->fw_iters < 1)
        return tdl_error(TDL_ERR_INVALID, "W-DRO needs at least 1 Frank-Wolfe iteration, got %d",
                         c->fw_iters);
    if (c->wdro != TDL_TRAIN_WDRO_OFF &&
        (c->loss != TDL_TRAIN_DFL || c->augment != TDL_AUGMENT_NONE))
        return tdl_error(TDL_ERR_INVALID, "W-DRO trains with the DFL loss on the training rows "
                         "(loss %s, augmentation %s given)", tdl_train_loss_name(c->loss),
                         tdl_train_augment_name(c->augment));
    return tdl_provision_check(&c->pp);
}

tdl_status tdl_train_data_prepare(tdl_train_data *d, const tdl_series *raw) {
    memset(d, 0, sizeof *d);
    size_t all = tdl_rows_count(raw->n), ntrain, ntest;
    if (all == 0)
        return tdl_error(TDL_ERR_INVALID, "the training series has %zu values, fewer than one "
                         "row of %d", raw->n, TDL_ROW_LEN);
    tdl_rows_split(all, &ntrain, &ntest);
    if (ntrain == 0)
        return tdl_error(TDL_ERR_INVALID, "the training series has %zu rows of %d: no row left "
                         "for training after the 70/30 split", all, TDL_ROW_LEN);
    tdl_series z = {0};
    TDL_TRY(tdl_series_slice(&z, raw, 0, raw->n));
    tdl_status s = tdl_series_normalize(&z, &d->range);
    if (s != TDL_OK) {
        tdl_series_free(&z);
        return tdl_error_context(s, "normalising the training series");
    }
    float *rows = malloc(all * TDL_ROW_LEN * sizeof *rows);
    if (!rows) {
        tdl_series_free(&z);
        return tdl_error(TDL_ERR_NOMEM, "training rows (%zu)", all);
    }
    tdl_series_rows(rows, z.v, z.n);
    tdl_series_free(&z);
    d->rows = rows; /* the first ntrain rows are the training rows */
    d->R = ntrain;
    d->rows_all = all;
    return TDL_OK;
}

tdl_status tdl_train_data_augment(tdl_train_data *d, tdl_train_augment kind, double level,
                                  uint64_t seed) {
    TDL_TRY(augment_check(kind, level));
    if (kind == TDL_AUGMENT_NONE) return TDL_OK;
    size_t n = d->R * TDL_ROW_LEN;
    float *rows = malloc(2 * n * sizeof *rows);
    double *x = malloc(n * sizeof *x);
    if (!rows || !x) {
        free(rows);
        free(x);
        return tdl_error(TDL_ERR_NOMEM, "augmented training rows (%zu)", 2 * d->R);
    }
    for (size_t i = 0; i < n; i++) x[i] = d->rows[i];
    tdl_rng r;
    tdl_rng_init(&r, seed, 2);
    tdl_status s = TDL_OK;
    if (kind == TDL_AUGMENT_GAUSS) tdl_noise_gaussian(x, n, level, &r);
    else if (kind == TDL_AUGMENT_CUTOUT) tdl_noise_cutout(x, n, level, &r);
    else {
        tdl_perlin_params pp = tdl_perlin_defaults();
        pp.amplitude = level;
        s = tdl_noise_perlin(x, n, &pp, &r);
    }
    if (s != TDL_OK) {
        free(rows);
        free(x);
        return tdl_error_context(s, "%s noise", tdl_train_augment_name(kind));
    }
    memcpy(rows, d->rows, n * sizeof *rows);
    for (size_t i = 0; i < n; i++) rows[n + i] = (float)x[i];
    free(x);
    free(d->rows);
    d->rows = rows;
    d->R *= 2;
    d->rows_all = d->R;
    return TDL_OK;
}

void tdl_train_data_free(tdl_train_data *d) {
    if (!d) return;
    free(d->rows);
    memset(d, 0, sizeof *d);
}

tdl_status tdl_trainer_init(tdl_trainer *t, tdl_predictor *p, const tdl_train_config *cfg) {
    memset(t, 0, sizeof *t);
    TDL_TRY(tdl_train_config_check(cfg));
    t->cfg = *cfg;
    t->pred = p;
    tdl_adam_init(&t->adam, cfg->lr);
    tdl_steplr_init(&t->sched, cfg->lr_step, cfg->lr_gamma);
    tdl_rng_init(&t->rng, cfg->seed, 1);
    size_t B = (size_t)cfg->batch;
    TDL_TRY(tdl_predictor_cache_init(&t->cache, &p->cfg, cfg->batch));
    t->x = malloc(B * (size_t)p->cfg.T * sizeof(float));
    t->y = malloc(B * sizeof(float));
    t->yhat = malloc(B * sizeof(float));
    t->dy = malloc(B * sizeof(float));
    if (!t->x || !t->y || !t->yhat || !t->dy) {
        tdl_trainer_free(t);
        return tdl_error(TDL_ERR_NOMEM, "trainer buffers (batch %d)", cfg->batch);
    }
    if (cfg->loss == TDL_TRAIN_KLDRO && !(t->kwork = malloc(2 * B * sizeof *t->kwork))) {
        tdl_trainer_free(t);
        return tdl_error(TDL_ERR_NOMEM, "KL-DRO buffers (batch %d)", cfg->batch);
    }
    if (cfg->wdro != TDL_TRAIN_WDRO_OFF) { /* the attack's buffers, once */
        tdl_status s = tdl_wdro_work_init(&t->wdro_work, &p->cfg, cfg->batch);
        t->xadv = malloc(B * (size_t)p->cfg.T * sizeof(float));
        if (s != TDL_OK || !t->xadv) {
            tdl_trainer_free(t);
            return tdl_error(TDL_ERR_NOMEM, "W-DRO buffers (batch %d)", cfg->batch);
        }
    }
    return TDL_OK;
}

void tdl_trainer_free(tdl_trainer *t) {
    if (!t) return;
    tdl_predictor_cache_free(t->cache);
    free(t->x);
    free(t->y);
    free(t->yhat);
    free(t->dy);
    free(t->kwork);
    t->kwork = NULL;
    tdl_wdro_work_free(t->wdro_work);
    free(t->xadv);
    t->cache = NULL;
    t->wdro_work = NULL;
    t->x = t->y = t->yhat = t->dy = t->xadv = NULL;
}

void tdl_trainer_reset_optimizer(tdl_trainer *t) {
    tdl_params *p = &t->pred->params;
    memset(p->m, 0, p->total * sizeof *p->m);
    memset(p->v, 0, p->total * sizeof *p->v);
    t->adam.t = 0;
    t->adam.lr = t->cfg.lr;
    t->sched.epoch = 0;
}

int64_t tdl_trainer_attempted(const tdl_trainer *t) { return t->steps + t->skipped; }

int tdl_trainer_done(const tdl_trainer *t) {
    return t->cfg.max_steps > 0 ? tdl_trainer_attempted(t) >= t->cfg.max_steps
                                : t->epoch >= t->cfg.epochs;
}

int64_t tdl_train_steps_per_epoch(size_t R, int batch) {
    return batch < 1 ? 0 : (int64_t)(R / (size_t)batch) * TDL_WINDOWS_PER_ROW;
}

tdl_status tdl_trainer_epoch(tdl_trainer *t, const tdl_train_data *d, tdl_epoch_stats *st) {
    const int B = t->cfg.batch;
    TDL_ASSERT(t->pred->cfg.T == TDL_WINDOW_IN, "predictor T=%d, the windows have %d inputs",
               t->pred->cfg.T, TDL_WINDOW_IN);
    size_t nb = d->R / (size_t)B;
    if (nb == 0)
        return tdl_error(TDL_ERR_INVALID, "%zu training rows, fewer than one batch of %d "
                         "(the last incomplete batch is dropped)", d->R, B);
    /* pos: steps attempted in the run so far (the position of the next
     * step); end: the position this epoch stops at. */
    const int64_t K = t->cfg.adam_reset, max = t->cfg.max_steps;
    int64_t pos = tdl_trainer_attempted(t);
    int64_t end = pos + tdl_train_steps_per_epoch(d->R, B);
    if (max > 0) {
        if (pos >= max)
            return tdl_error(TDL_ERR_INVALID, "the run is over: %lld steps attempted, "
                             "max_steps %lld", (long long)pos, (long long)max);
        if (end > max) end = max;
    }
    tdl_predictor *p = t->pred;
    double scale = d->range.max - d->range.min, offset = d->range.min;
    /* W-DRO: the attack's config on this data's range (no allocation) */
    tdl_wdro_config wc;
    if (t->cfg.wdro != TDL_TRAIN_WDRO_OFF) {
        if (!(scale > 0.0))
            return tdl_error(TDL_ERR_INVALID, "W-DRO's decision loss needs a training range of "
                             "positive width (min %g, max %g)", d->range.min, d->range.max);
        if (t->cfg.wdro == TDL_TRAIN_WDRO_AUTHORS) tdl_wdro_config_authors(&wc, scale, offset);
        else tdl_wdro_config_default(&wc, scale, offset);
        wc.eps = t->cfg.w_eps;
        wc.iters = t->cfg.fw_iters;
        wc.pp = t->cfg.pp;
        wc.rule = t->cfg.rule;
    }
    double sum = 0.0;
    int64_t taken = 0, skipped = 0;
    for (size_t b = 0; b < nb && pos < end; b++) {
        const float *rows = d->rows + b * (size_t)B * TDL_ROW_LEN;
        for (int tt = TDL_WINDOW_IN; tt < TDL_ROW_LEN && pos < end; tt++, pos++) {
            if (K > 0 && pos > 0 && pos % K == 0) tdl_trainer_reset_optimizer(t);
            tdl_windows_at(t->x, t->y, rows, (size_t)B, tt);
            const float *x = t->x;
            if (t->cfg.wdro != TDL_TRAIN_WDRO_OFF) {
                /* the batch transformation: x0 -> the attacked windows, in
                 * training mode, masks from the same stream before the step's */
                tdl_status as = tdl_wdro_attack(p, t->cache, t->wdro_work, &wc, t->x, t->y,
                                                t->xadv, B, 1, &t->rng, NULL);
                if (as == TDL_ERR_NUMERIC) { /* a non-finite input gradient */
                    skipped++;
                    continue;
                }
                if (as != TDL_OK) return as;
                x = t->xadv;
            }
            tdl_predictor_forward(p, t->cache, x, t->yhat, B, 1, &t->rng);
            double loss =
                t->cfg.loss == TDL_TRAIN_MSE
                    ? tdl_predictor_mse_loss(t->yhat, t->y, t->dy, B)
                : t->cfg.loss == TDL_TRAIN_KLDRO
                    ? tdl_predictor_kldro_loss(&t->cfg.pp, t->cfg.rule, scale, offset,
                                               t->cfg.kl_eps, t->cfg.kl_regret, t->yhat, t->y,
                                               t->dy, t->kwork, B, NULL)
                    : tdl_predictor_dfl_loss(&t->cfg.pp, t->cfg.rule, scale, offset, t->yhat,
                                             t->y, t->dy, B);
            if (!isfinite(loss)) {
                skipped++;
                continue;
            }
            tdl_params_zero_grad(&p->params);
            tdl_predictor_backward(p, t->cache, t->dy, B);
            if (!tdl_params_grads_finite(&p->params)) {
                skipped++;
                continue;
            }
            tdl_adam_step(&t->adam, &p->params);
            sum += loss;
            taken++;
        }
    }
    tdl_steplr_step(&t->sched, &t->adam);
    t->epoch++;
    t->steps += taken;
    t->skipped += skipped;
    if (st) {
        st->loss = taken > 0 ? sum / (double)taken : NAN;
        st->steps = taken;
        st->skipped = skipped;
    }
    return TDL_OK;
}
