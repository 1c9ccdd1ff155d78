/*
 * train.h: the authors' training loop for the predictor (spec sections 2-3).
 *
 *   for each epoch:
 *     for each batch of `batch` training rows, in order (the last incomplete
 *     batch dropped, as the authors' loaders; no shuffling):
 *       for t = 7..27:                                   (21 steps per batch)
 *         x = rows[b][t-7 .. t-1] (B, 7); W-DRO: x = tdl_wdro_attack(x) (wdro.h)
 *         y = predictor(x) (B), dropout on
 *         loss = MSE(y, rows[b][t]) or DFL(y, rows[b][t])
 *         a non-finite loss or gradient: the step is skipped and counted
 *         else one Adam step (PyTorch-exact)
 *     StepLR: lr *= gamma every lr_step epochs
 *
 * Two controls for 3D-Learning's fairness baseline (DFL continued on the
 * real rows for as many predictor steps as a 3D-L run takes, with its
 * fresh-Adam schedule): max_steps ends the run after that many attempted
 * steps (taken or skipped), possibly inside an epoch, and adam_reset gives
 * the optimiser a fresh start (tdl_trainer_reset_optimizer) every K attempted
 * steps. Both 0 (the defaults) is the loop above, unchanged.
 *
 * Training data: the training series normalised by its own min-max range,
 * rows of 28 (tail dropped), the first 70% of the rows (the ordered split of
 * spec section 2). The same rule holds for any training source, not only 23V.
 *
 * Dropout masks come from one tdl_rng stream (seed, stream 1) whose position
 * is part of the trainer's state, so a checkpoint taken after an epoch and
 * resumed gives bit-identical weights to an uninterrupted run (same seed and
 * thread count).
 */
#ifndef TDL_TRAIN_H
#define TDL_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "tdl/adam.h"
#include "tdl/predictor.h"
#include "tdl/provision.h"
#include "tdl/rng.h"
#include "tdl/series.h"
#include "tdl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tdl_train_loss {
    TDL_TRAIN_MSE = 0, /* mean squared error in normalised units */
    TDL_TRAIN_DFL,     /* decision-focused: mean provisioning loss (tdl_predictor_dfl_loss) */
    TDL_TRAIN_KLDRO    /* KL-DRO: worst case of the DFL losses over a KL ball of radius
                          kl_eps around the batch (tdl_predictor_kldro_loss) */
} tdl_train_loss;

/* "mse" / "dfl" / "kl-dro". (3D-Learning's --objective takes only dfl and
 * mse: its CLI rejects kl-dro.) */
const char *tdl_train_loss_name(tdl_train_loss l);
tdl_status tdl_train_loss_parse(const char *name, tdl_train_loss *l);

/* Data augmentation (spec section 6): the training rows plus one noisy copy
 * (tdl_train_data_augment). */
typedef enum tdl_train_augment {
    TDL_AUGMENT_NONE = 0,
    TDL_AUGMENT_GAUSS,  /* + N(0, level^2), clipped to [0, 1] */
    TDL_AUGMENT_CUTOUT, /* each value 0 with probability level */
    TDL_AUGMENT_PERLIN  /* + 8-octave Perlin noise, peak level x the range */
} tdl_train_augment;

/* "none" / "da-gauss" / "da-cutout" / "da-perlin". */
const char *tdl_train_augment_name(tdl_train_augment a);
tdl_status tdl_train_augment_parse(const char *name, tdl_train_augment *a);

/* W-DRO (spec section 6): before each step the step's windows x0 (B, 7)
 * are replaced by tdl_wdro_attack's perturbed windows (wdro.h), then the
 * ordinary step runs on them; a batch transformation inside the one loop. */
typedef enum tdl_train_wdro {
    TDL_TRAIN_WDRO_OFF = 0, /* no attack */
    TDL_TRAIN_WDRO_PAPER,   /* tdl_wdro_config_default: ball around x0, decision loss */
    TDL_TRAIN_WDRO_AUTHORS  /* tdl_wdro_config_authors: drifting ball, squared error */
} tdl_train_wdro;

/* "off" / "paper" / "authors". */
const char *tdl_train_wdro_name(tdl_train_wdro w);
tdl_status tdl_train_wdro_parse(const char *name, tdl_train_wdro *w);

/* KL-DRO's, W-DRO's and the augmentations' defaults (spec section 6; W-DRO
 * uses the same lr and epochs as KL-DRO). */
#define TDL_TRAIN_W_EPS 2.0
#define TDL_TRAIN_FW_ITERS 15
#define TDL_TRAIN_KL_EPS 2.0
#define TDL_TRAIN_KLDRO_LR 2e-5
#define TDL_TRAIN_KLDRO_EPOCHS 100
#define TDL_TRAIN_NOISE_LEVEL 0.05

typedef struct tdl_train_config {
    tdl_train_loss loss;
    int epochs;          /* total epochs (100); ignored when max_steps > 0 */
    double lr;           /* initial learning rate (1e-6) */
    int batch;           /* rows per batch (64) */
    int lr_step;         /* StepLR step size in epochs (10) */
    double lr_gamma;     /* StepLR factor (0.05) */
    uint64_t seed;       /* initialisation and dropout masks */
    tdl_provision_rule rule;   /* decision rule of the DFL loss (exact) */
    tdl_provision_params pp;   /* provisioning constants (the authors') */
    /* Run length in steps instead of epochs: 0 (default) = no limit, the
     * epochs decide. N > 0: the run ends as soon as N steps have been
     * attempted in the whole run (taken + skipped), possibly inside an epoch;
     * `epochs` is then ignored and the run goes on for as many epochs as it
     * needs. A partial last epoch counts as a completed epoch (t->epoch) and
     * StepLR steps after it as after any epoch. */
    int64_t max_steps;
    /* Fresh optimiser every K attempted steps: 0 (default) = never. K > 0:
     * tdl_trainer_reset_optimizer before the step at every position that is
     * a positive multiple of K, position = steps attempted so far in the
     * whole run (taken + skipped; position 0 is fresh already). A reset
     * also puts the rate back to lr and StepLR's count to 0, so StepLR
     * decays only when lr_step epoch ends fall between two resets. No reset
     * happens at the end of a run (the step it would precede is not taken). */
    int64_t adam_reset;
    /* KL-DRO's radius (loss TDL_TRAIN_KLDRO; > 0, default 2) and what it
     * tilts: 0 (default, the spec) the per-instance decision losses, 1 the
     * per-instance regrets (tdl_predictor_kldro_loss). */
    double kl_eps;
    int kl_regret;
    /* Augmentation the caller applied to the training data (the loop does
     * not read these; the checkpoint stores them so that a resume rebuilds
     * the same rows): kind (default none), level (>= 0; cutout <= 1;
     * default 0.05) and the noise seed (default 1). */
    tdl_train_augment augment;
    double noise_level;
    uint64_t noise_seed;
    /* W-DRO (default off): the attack's variant, its budget w_eps (> 0,
     * default 2) and Frank-Wolfe iterations fw_iters (>= 1, default 15).
     * On, it needs the DFL loss and no augmentation. The attack runs in
     * training mode (dropout on, as the authors' PyTorch model in train mode
     * does), its masks drawn from the trainer's one RNG stream (seed, 1)
     * before the step's own: K attack passes then the step, so the saved
     * position covers it and a resume stays bit-identical. An attack whose
     * input gradient is not finite makes the step skipped and counted. */
    tdl_train_wdro wdro;
    double w_eps;
    int fw_iters;
} tdl_train_config;

/* The paper's settings: DFL, 100 epochs, lr 1e-6, batch 64, StepLR 10 and
 * 0.05, seed 1, the exact rule, the authors' constants. */
void tdl_train_config_default(tdl_train_config *c);

/* Check ranges (epochs >= 1, lr > 0 finite, batch >= 1, max_steps >= 0,
 * adam_reset >= 0, kl_eps > 0 finite, the noise level, ...). */
tdl_status tdl_train_config_check(const tdl_train_config *c);

/* The normalised training rows of a raw series. */
typedef struct tdl_train_data {
    float *rows;      /* (R, 28) the first 70% of the rows, normalised */
    size_t R;         /* training rows */
    size_t rows_all;  /* rows of the whole series */
    tdl_range range;  /* the series' own range (tokens) */
} tdl_train_data;

/* Own min-max, rows of 28, first 70% (tdl_rows_split). Fails when the series
 * has fewer than 28 values or no training row. */
tdl_status tdl_train_data_prepare(tdl_train_data *d, const tdl_series *raw);
void tdl_train_data_free(tdl_train_data *d);

/* Data augmentation as a transformation of the data, so that the loop is
 * unchanged: the R training rows become 2R, the R original rows first, then
 * one noisy copy of them in the same order (the DFL loop then trains on the
 * union; the rows after the training rows are dropped, rows_all becomes
 * 2R). The noise acts on the training rows laid end to end (the training
 * part of the series, normalised units), drawn from tdl_rng (seed, stream
 * 2): GAUSS tdl_noise_gaussian (sigma = level, clipped to [0, 1]), CUTOUT
 * tdl_noise_cutout (p = level), PERLIN tdl_noise_perlin (tdl_perlin_defaults
 * with amplitude = level: 8 octaves, peak level x the training values'
 * range). NONE leaves d unchanged. TDL_ERR_INVALID for a bad level (< 0,
 * not finite, cutout > 1), TDL_ERR_NOMEM. */
tdl_status tdl_train_data_augment(tdl_train_data *d, tdl_train_augment kind, double level,
                                  uint64_t seed);

typedef struct tdl_trainer {
    tdl_train_config cfg;
    tdl_predictor *pred;   /* not owned */
    tdl_adam adam;
    tdl_steplr sched;
    tdl_rng rng;           /* dropout masks */
    int epoch;             /* completed epochs (a partial last one included) */
    int64_t steps;         /* Adam steps taken in the whole run (== adam.t
                              until an optimiser reset) */
    int64_t skipped;       /* steps skipped for a non-finite loss or gradient */
    tdl_predictor_cache *cache;
    float *x, *y, *yhat, *dy; /* (B, 7), (B), (B), (B) */
    double *kwork;            /* (2B) KL-DRO's losses and weights (kl-dro only) */
    struct tdl_wdro_work *wdro_work; /* W-DRO only: the attack's buffers */
    float *xadv;                     /* W-DRO only: (B, 7) the attacked windows */
} tdl_trainer;

/* Set up a fresh trainer for predictor p (already initialised or loaded). */
tdl_status tdl_trainer_init(tdl_trainer *t, tdl_predictor *p, const tdl_train_config *cfg);
/* NULL-safe; does not free the predictor. */
void tdl_trainer_free(tdl_trainer *t);

/* A fresh optimiser for the next steps: Adam's moments zeroed, its step
 * count 0, the rate back to cfg.lr and StepLR's epoch count 0 (3D-Learning
 * trains the predictor with a fresh Adam each outer epoch). The trainer's
 * own counters (epoch, steps, skipped) and RNG go on. */
void tdl_trainer_reset_optimizer(tdl_trainer *t);

/* Steps of one epoch on R rows: 21 per full batch. */
int64_t tdl_train_steps_per_epoch(size_t R, int batch);

typedef struct tdl_epoch_stats {
    double loss;     /* mean loss over the steps taken in the epoch (NaN if none) */
    int64_t steps;   /* steps taken */
    int64_t skipped; /* steps skipped */
} tdl_epoch_stats;

/* Steps attempted so far in the whole run: steps + skipped (the position
 * that cfg.max_steps and cfg.adam_reset count). */
int64_t tdl_trainer_attempted(const tdl_trainer *t);

/* 1 when the run is over: with cfg.max_steps > 0, max_steps steps attempted;
 * else cfg.epochs epochs completed. */
int tdl_trainer_done(const tdl_trainer *t);

/* Run one epoch (epoch number t->epoch + 1) and advance the scheduler. With
 * cfg.max_steps > 0 the epoch stops early once max_steps steps have been
 * attempted in the whole run (it still counts as an epoch and StepLR still
 * steps); with cfg.adam_reset = K > 0 the optimiser is reset before each
 * step at a positive multiple of K. Fails (TDL_ERR_INVALID) when d has fewer
 * rows than one batch or when max_steps steps have already been attempted.
 * Without max_steps, cfg.epochs is not enforced here: the caller loops
 * while !tdl_trainer_done(t). */
tdl_status tdl_trainer_epoch(tdl_trainer *t, const tdl_train_data *d, tdl_epoch_stats *st);

/* Checkpoint: the predictor's values and Adam moments (tdl_params_save with
 * the optimiser) and metadata: epoch, Adam step count, lr, StepLR epoch,
 * RNG state, steps taken and skipped in the run, the config (predictor and
 * training, max_steps, adam_reset, kl_eps, kl_on, the augmentation and W-DRO's
 * variant, w_eps and fw_iters included),
 * the training source and its range, written atomically. Checkpoints from
 * before max_steps, adam_reset, steps, kl_eps, kl_on, the augmentation and
 * W-DRO existed read as 0, 0, adam_t, 2, losses, none and off. */
tdl_status tdl_trainer_checkpoint_save(const tdl_trainer *t, const char *path,
                                       const char *train_source, const tdl_train_data *d);

/* What a checkpoint says besides the tensors. */
typedef struct tdl_checkpoint_info {
    tdl_predictor_config pcfg;
    tdl_train_config cfg;
    int epoch;
    int64_t adam_t;
    double lr;
    int64_t sched_epoch;
    int64_t steps;    /* Adam steps taken in the run (adam_t until a reset) */
    int64_t skipped;
    tdl_rng rng;
    char train_source[1024];
    tdl_range range;
    size_t rows;
} tdl_checkpoint_info;

/* Read a checkpoint's metadata (errors name the file and key). */
tdl_status tdl_checkpoint_read_info(const char *path, tdl_checkpoint_info *info);

/* Restore a trainer from a checkpoint: *p is initialised from the stored
 * predictor config and loaded (values and moments), t is set up with the
 * stored config and state. The caller frees both. */
tdl_status tdl_trainer_resume(tdl_trainer *t, tdl_predictor *p, const char *path,
                              tdl_checkpoint_info *info);

#ifdef __cplusplus
}
#endif
#endif /* TDL_TRAIN_H */
