/* diffusion_train.c: the DDPM's pre-training loop (diffusion_train.h): tiled
 * training images, one Adam step per iteration, non-finite steps skipped. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/diffusion_train.h"
#include "tdl/train.h"

typedef struct preset {
    const char *name;
    int64_t iters;
    int batch;
    double lr;
} preset;

/* paper: the paper's schedule. small and tiny: measured (2 threads), the
 * loss falls from 1 to about 0.02 within 60 iterations at these rates (tiny:
 * lr 1e-3, batch 32; small: lr 5e-4, batch 64) and keeps falling slowly
 * (tiny-t100 on 23V: 0.024 at 60, 0.008 at 200; the W1 of 16 samples to 23V
 * 0.20 at 60, 0.09 at 200). tiny runs 150 (0.29 s per iteration on an idle
 * machine: about 45 s), small 500 (about 3 s per iteration before the UNet's
 * speed work). */
static const preset presets[] = {
    {"paper", 7000, 64, 1e-4},
    {"small", 500, 64, 5e-4},
    {"tiny", 150, 32, 1e-3},
};

tdl_status tdl_diffusion_preset(const char *name, tdl_ddpm_config *mc,
                                tdl_diffusion_train_config *tc) {
    TDL_TRY(tdl_ddpm_config_preset(mc, name));
    size_t len = strcspn(name, "-");
    for (size_t i = 0; i < sizeof presets / sizeof *presets; i++) {
        if (strlen(presets[i].name) != len || strncmp(presets[i].name, name, len) != 0) continue;
        memset(tc, 0, sizeof *tc);
        tc->iters = presets[i].iters;
        tc->batch = presets[i].batch;
        tc->lr = presets[i].lr;
        tc->seed = 1;
        tc->t_lo = 0;
        tc->t_hi = mc->unet.T;
        return TDL_OK;
    }
    return tdl_error(TDL_ERR_INVALID, "unknown preset '%s' (paper, small, tiny, NAME-t100)", name);
}

tdl_status tdl_diffusion_train_config_check(const tdl_diffusion_train_config *c,
                                            const tdl_ddpm_config *mc) {
    if (c->iters < 1) return tdl_error(TDL_ERR_INVALID, "iterations %lld < 1", (long long)c->iters);
    if (c->batch < 1) return tdl_error(TDL_ERR_INVALID, "batch %d < 1", c->batch);
    if (!(isfinite(c->lr) && c->lr > 0))
        return tdl_error(TDL_ERR_INVALID, "learning rate %g is not a finite number > 0", c->lr);
    if (!(0 <= c->t_lo && c->t_lo < c->t_hi && c->t_hi <= mc->unet.T))
        return tdl_error(TDL_ERR_INVALID, "t range [%d, %d) is not inside [0, T = %d)", c->t_lo,
                         c->t_hi, mc->unet.T);
    return TDL_OK;
}

tdl_status tdl_diffusion_data_prepare(tdl_diffusion_data *d, const tdl_series *raw) {
    memset(d, 0, sizeof *d);
    tdl_train_data td;
    TDL_TRY(tdl_train_data_prepare(&td, raw));
    size_t n = tdl_images_count(td.R);
    d->images = malloc(n * TDL_IMAGE_SIDE * TDL_IMAGE_SIDE * sizeof(float));
    if (!d->images) {
        tdl_train_data_free(&td);
        return tdl_error(TDL_ERR_NOMEM, "%zu training images", n);
    }
    tdl_images_from_rows(d->images, n, td.rows, td.R);
    d->n = n;
    d->rows = td.R;
    d->range = td.range;
    tdl_train_data_free(&td);
    return TDL_OK;
}

void tdl_diffusion_data_free(tdl_diffusion_data *d) {
    if (!d) return;
    free(d->images);
    memset(d, 0, sizeof *d);
}

void tdl_diffusion_batch(float *x0, const tdl_diffusion_data *d, int64_t k, int B) {
    const size_t D = TDL_IMAGE_SIDE * TDL_IMAGE_SIDE;
    TDL_ASSERT(d->n >= 1 && k >= 0 && B >= 1, "batch %lld of %d from %zu images", (long long)k,
               B, d->n);
    uint64_t first = ((uint64_t)k % d->n) * ((uint64_t)B % d->n) % d->n; /* k B mod n */
    for (int b = 0; b < B; b++)
        memcpy(x0 + (size_t)b * D, d->images + ((first + (uint64_t)b) % d->n) * D,
               D * sizeof(float));
}

tdl_status tdl_diffusion_trainer_init(tdl_diffusion_trainer *t, tdl_ddpm *m,
                                      const tdl_diffusion_train_config *cfg) {
    memset(t, 0, sizeof *t);
    TDL_TRY(tdl_diffusion_train_config_check(cfg, &m->cfg));
    TDL_ASSERT(tdl_ddpm_image_size(m) == TDL_IMAGE_SIDE * TDL_IMAGE_SIDE,
               "the training images are %dx%d, the model's %dx%d", TDL_IMAGE_SIDE,
               TDL_IMAGE_SIDE, m->cfg.unet.image, m->cfg.unet.image);
    t->cfg = *cfg;
    t->model = m;
    t->loss = NAN;
    tdl_adam_init(&t->adam, cfg->lr);
    tdl_rng_init(&t->rng, cfg->seed, 1);
    TDL_TRY(tdl_ddpm_work_init(&t->work, m, cfg->batch, 1));
    t->x0 = malloc((size_t)cfg->batch * tdl_ddpm_image_size(m) * sizeof(float));
    if (!t->x0) {
        tdl_diffusion_trainer_free(t);
        return tdl_error(TDL_ERR_NOMEM, "training batch of %d images", cfg->batch);
    }
    return TDL_OK;
}

void tdl_diffusion_trainer_free(tdl_diffusion_trainer *t) {
    if (!t) return;
    tdl_ddpm_work_free(&t->work);
    free(t->x0);
    t->x0 = NULL;
}

void tdl_diffusion_trainer_step(tdl_diffusion_trainer *t, const tdl_diffusion_data *d,
                                double *loss) {
    const int B = t->cfg.batch;
    tdl_params *p = &t->model->unet.params;
    tdl_diffusion_batch(t->x0, d, t->iter, B);                        /* (B, 784) */
    tdl_params_zero_grad(p);
    double l = tdl_ddpm_loss(t->model, &t->work, t->x0, B, t->cfg.t_lo, t->cfg.t_hi, 1, &t->rng);
    t->iter++;
    if (loss) *loss = l;
    if (!isfinite(l) || !tdl_params_grads_finite(p)) {
        t->skipped++;
        return;
    }
    tdl_adam_step(&t->adam, p);
    t->loss = l;
}
