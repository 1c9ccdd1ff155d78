/*
 * diffusion_train.h: pre-training the DDPM (spec section 4).
 *
 *   images: the training rows (the training series normalised by its own
 *     min-max range, rows of 28, the first 70% of the rows: the predictor's
 *     training rows, tdl_train_data_prepare), grouped 28 at a time into
 *     1x28x28 images (tdl_images_from_rows: a last partial group is completed
 *     from the start). n images.
 *   iteration k (0-based) uses the images k*B .. k*B+B-1 modulo n (the
 *     images tiled in order to fill the iterations, no shuffling);
 *   loss: tdl_ddpm_loss with t in [t_lo, t_hi), dropout on;
 *   a non-finite loss or gradient: the Adam step is skipped and counted;
 *   else one Adam step (PyTorch-exact).
 *
 * The random numbers (t, eps, dropout masks) come from one tdl_rng stream
 * (seed, stream 1) whose position is part of the trainer's state, so a
 * checkpoint taken after any iteration and resumed gives bit-identical
 * weights to an uninterrupted run (same seed and thread count).
 */
#ifndef TDL_DIFFUSION_TRAIN_H
#define TDL_DIFFUSION_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "tdl/adam.h"
#include "tdl/ddpm.h"
#include "tdl/rng.h"
#include "tdl/series.h"
#include "tdl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tdl_diffusion_train_config {
    int64_t iters;  /* Adam iterations (paper 7000) */
    int batch;      /* images per iteration (64) */
    double lr;      /* Adam learning rate (1e-4) */
    uint64_t seed;  /* initialisation, t, eps and dropout */
    int t_lo, t_hi; /* t drawn from [t_lo, t_hi); pre-training [0, T) */
} tdl_diffusion_train_config;

/* Presets of the model and its training, by name: "paper" (the paper's UNet,
 * 7000 iterations, batch 64, lr 1e-4), "small" (500 iterations, batch 64,
 * lr 5e-4), "tiny" (150 iterations, batch 32, lr 1e-3: a demo under a
 * minute); each also as NAME-t100 (T = 100, same betas). t in [0, T). */
tdl_status tdl_diffusion_preset(const char *name, tdl_ddpm_config *mc,
                                tdl_diffusion_train_config *tc);

/* Check ranges against a model config (iters >= 1, batch >= 1, lr > 0
 * finite, 0 <= t_lo < t_hi <= T). */
tdl_status tdl_diffusion_train_config_check(const tdl_diffusion_train_config *c,
                                            const tdl_ddpm_config *mc);

/* The training images of a raw series. */
typedef struct tdl_diffusion_data {
    float *images;   /* (n, 1, 28, 28) normalised */
    size_t n;        /* images */
    size_t rows;     /* training rows they come from */
    tdl_range range; /* the series' own range (tokens) */
} tdl_diffusion_data;

tdl_status tdl_diffusion_data_prepare(tdl_diffusion_data *d, const tdl_series *raw);
/* NULL-safe. */
void tdl_diffusion_data_free(tdl_diffusion_data *d);

/* The x0 of iteration k: images (k*B + b) mod n, b < B, into x0 (B, 784). */
void tdl_diffusion_batch(float *x0, const tdl_diffusion_data *d, int64_t k, int B);

typedef struct tdl_diffusion_trainer {
    tdl_diffusion_train_config cfg;
    tdl_ddpm *model;      /* not owned */
    tdl_adam adam;
    tdl_rng rng;          /* t, eps, dropout */
    int64_t iter;         /* completed iterations (taken or skipped) */
    int64_t skipped;      /* iterations skipped for a non-finite loss or gradient */
    double loss;          /* the last finite loss (NaN before the first) */
    tdl_ddpm_work work;   /* with gradients */
    float *x0;            /* (B, 784) */
} tdl_diffusion_trainer;

/* A fresh trainer for model m (initialised or loaded). */
tdl_status tdl_diffusion_trainer_init(tdl_diffusion_trainer *t, tdl_ddpm *m,
                                      const tdl_diffusion_train_config *cfg);
/* NULL-safe; does not free the model. */
void tdl_diffusion_trainer_free(tdl_diffusion_trainer *t);

/* One iteration (number t->iter). *loss (may be NULL) receives its loss,
 * possibly non-finite (then the step was skipped). d->n >= 1. */
void tdl_diffusion_trainer_step(tdl_diffusion_trainer *t, const tdl_diffusion_data *d,
                                double *loss);

/* Checkpoint: the model's values and Adam moments and metadata (the model's
 * config, the training config, iteration, Adam step count, RNG state,
 * skipped count, last loss, the training source, its range and rows),
 * atomically. */
tdl_status tdl_diffusion_checkpoint_save(const tdl_diffusion_trainer *t, const char *path,
                                         const char *train_source, const tdl_diffusion_data *d);

/* What a checkpoint says besides the tensors. */
typedef struct tdl_diffusion_checkpoint_info {
    tdl_ddpm_config mcfg;
    tdl_diffusion_train_config cfg;
    int64_t iter, adam_t, skipped;
    double loss;
    tdl_rng rng;
    char train_source[1024];
    tdl_range range;
    size_t rows;
} tdl_diffusion_checkpoint_info;

/* Restore: *m built from the stored config and loaded (values and moments),
 * t set up with the stored config and state. The caller frees both. */
tdl_status tdl_diffusion_trainer_resume(tdl_diffusion_trainer *t, tdl_ddpm *m, const char *path,
                                        tdl_diffusion_checkpoint_info *info);

/* The final model file: tdl_ddpm_save with the training summary (source,
 * range, rows, iterations, seed) as metadata. */
tdl_status tdl_diffusion_model_save(const tdl_diffusion_trainer *t, const char *path,
                                    const char *train_source, const tdl_diffusion_data *d);

#ifdef __cplusplus
}
#endif
#endif /* TDL_DIFFUSION_TRAIN_H */
