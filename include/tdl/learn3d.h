/*
 * learn3d.h: 3D-Learning (spec section 5): the predictor w trained against
 * the worst-case workload distribution inside the parameter space of the
 * DDPM theta, under a budget on the score-matching loss J:
 *
 *   min_w max_theta E_{P_theta}[regret of w]  s.t.  J(theta; S0) <= epsilon
 *
 *   Z0: z0_batches x z0_images images sampled from theta0 with the inputs of
 *       their last T' reverse steps and the final sample kept (T' + 1 states).
 *   outer epoch e = 1..outer:
 *     1. L_row = the predictor's mean loss (regret for dfl, squared error for
 *        mse) over the 21 instances of every Z0 row (the Z0 images as one
 *        series, normalised by its own range, rows of 28; forecasts and
 *        targets mapped to tokens with the TRAINING range); inference mode;
 *        held fixed.
 *     2. inner epochs 1..inner, each over the Z0 batches i:
 *          for every stored transition x_t -> x_{t-1} of sampler step t with
 *          sigma_t > 0 (t = T'-1 .. 1) and every row (28 values) of every
 *          image of batch i:
 *            log r_row = - sum_t sum_row (|x_{t-1} - m_theta(x_t, t)|^2
 *                                       - |x_{t-1} - m_theta0(x_t, t)|^2) / (2 sigma_t^2)
 *          PPO = mean_rows min(r L_row, clip(r, 1 - kappa, 1 + kappa) L_row),
 *                each row paired with its OWN L_row;
 *          J   = mean (eps_theta(x_t, t) - eps)^2 on j_batch real training
 *                images (iteration k of the run: images k*B .. mod n), t
 *                uniform in [0, T'), dropout on as in pre-training;
 *          one Adam step on theta for mu * J - PPO.
 *        after each inner epoch: mu = max(0, mu + eta_mu (mean J - epsilon));
 *        the rate is multiplied by diff_lr_gamma every diff_lr_step inner
 *        epochs, restarting from diff_lr at each outer epoch (default) or
 *        running once over the whole run (schedule_once: the authors' code).
 *     3. S_theta: s_images images sampled from theta (full reverse process),
 *        as one series normalised by its own range, rows of 28.
 *     4. pred_epochs epochs of the predictor on S_theta with a fresh Adam
 *        (pred_lr) and the objective's loss (train.h's loop).
 *
 * The ratio is evaluated in inference mode (no dropout), the mode the
 * sampler ran in, so with theta == theta0 every ratio is exactly 1. The PPO
 * gradient reaches theta through eps_theta(x_t, t) of every stored transition:
 *   d log r_row / d eps_theta = - c_t (x_{t-1} - m_theta(x_t, t)) / sigma_t^2
 *   (c_t = beta_t / (sqrt(1 - abar_t) sqrt(alpha_t)), per value of the row),
 * then the UNet's backward, chunk by chunk: a chunk's images keep one grad
 * cache per transition, so memory is bounded by the chunk, never by the run.
 *
 * --compat authors (compat = 1) reproduces the authors' code for comparison:
 * (a) the ratio of image b, row k of batch i is paired with the loss of Z0
 * row (i * 28 + k) * z0_images + b (their transposed index); (b) the
 * transition of sampler step s (s = 0 .. T'-2) is evaluated at s + 1 (network
 * timestep, mean coefficients and sigma); (c) mu is not kept >= 0; and one
 * rate schedule for the whole run.
 */
#ifndef TDL_LEARN3D_H
#define TDL_LEARN3D_H

#include <stddef.h>
#include <stdint.h>

#include "tdl/adam.h"
#include "tdl/ddpm.h"
#include "tdl/diffusion_train.h"
#include "tdl/predictor.h"
#include "tdl/provision.h"
#include "tdl/rng.h"
#include "tdl/status.h"
#include "tdl/train.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tdl_3dl_config {
    int outer;            /* outer epochs E (15) */
    int inner;            /* inner epochs per outer epoch (10) */
    int z0_batches;       /* trajectory batches in Z0 (4) */
    int z0_images;        /* images per Z0 batch (64) */
    int tprime;           /* T': transitions kept and J's t range (10) */
    double kappa;         /* PPO clip (0.4) */
    double budget;        /* epsilon, the bound on J (0.03) */
    double mu0;           /* initial dual variable (1) */
    double eta_mu;        /* dual step (0.01) */
    double diff_lr;       /* diffusion Adam rate (1e-6) */
    int diff_lr_step;     /* inner epochs between rate decays (2) */
    double diff_lr_gamma; /* decay factor (0.05) */
    int schedule_once;    /* 1: one rate schedule for the whole run (authors); 0: restart each outer epoch */
    int j_batch;          /* real images per J batch (64) */
    double pred_lr;       /* predictor Adam rate on S_theta (1e-6) */
    int pred_batch;       /* rows per predictor batch (64) */
    int pred_epochs;      /* predictor epochs on S_theta per outer epoch (1) */
    int s_images;         /* S_theta images per outer epoch (64) */
    tdl_train_loss objective; /* dfl (default) or mse: L_row and the predictor's loss (Fig. 3) */
    int adversary;        /* 1: the inner maximisation; 0: theta stays theta0 (control) */
    int compat;           /* 1: the authors' defects (a), (b), (c) and schedule_once */
    uint64_t seed;        /* Z0, J's t and eps, dropout, S_theta, predictor dropout */
    tdl_provision_rule rule;  /* decision rule of the regret (exact) */
    tdl_provision_params pp;  /* provisioning constants (the authors') */
} tdl_3dl_config;

/* The spec's constants (outer 15, inner 10, Z0 4 x 64, T' 10, kappa 0.4,
 * epsilon 0.03, mu0 1, eta_mu 0.01, diffusion lr 1e-6 with StepLR 2 / 0.05
 * restarting each outer epoch, J batch 64, predictor lr 1e-6, batch 64, one
 * epoch, S_theta 64 images, dfl, adversary on, no compat, seed 1). */
void tdl_3dl_config_default(tdl_3dl_config *c);

/* Ranges, and against the diffusion model: 2 <= T' <= T, budget > 0, ...
 * TDL_ERR_INVALID naming the field. */
tdl_status tdl_3dl_config_check(const tdl_3dl_config *c, const tdl_ddpm_config *mc);

/* The stored transitions of a Z0 image: transition j goes from state in[j]
 * to state in[j] + 1 and is evaluated at timestep label[j]. */
enum { TDL_3DL_MAX_TPRIME = 1024 };
typedef struct tdl_3dl_plan {
    int n;                          /* transitions (T' - 1) */
    int in[TDL_3DL_MAX_TPRIME];     /* index of the input state in the trajectory */
    int label[TDL_3DL_MAX_TPRIME];  /* timestep the ratio evaluates */
} tdl_3dl_plan;

/* Correct: in = k, label = T'-1-k for k = 0 .. T'-2 (the sampler's step;
 * step 0 has sigma 0 and is left out). compat: in = k, label = T'-k for
 * k = 1 .. T'-1 (defect b). */
void tdl_3dl_plan_make(tdl_3dl_plan *p, int tprime, int compat);

/* The reference set: images sampled from theta0 with their trajectories. */
typedef struct tdl_3dl_z0 {
    int N;          /* images (z0_batches * z0_images) */
    int K;          /* T' */
    size_t D;       /* values per image (784) */
    float *states;  /* (N, K + 1, D) inputs of steps K-1 .. 0, then the sample */
    float *resid0;  /* (N, n, D) x_out - m_theta0(x_in, label) per planned transition */
    float *images;  /* (N, D) the final samples */
} tdl_3dl_z0;

typedef struct tdl_3dl_work tdl_3dl_work;

/* Sample Z0 (z0_batches * z0_images images, K = T') from theta0 (d) with the
 * sampler seed, using the inference buffers sw, and keep the plan's
 * residuals under theta0 computed through w exactly as the inner pass will
 * (so equal parameters give ratios of exactly 1). `progress` as
 * tdl_ddpm_sample's. */
tdl_status tdl_3dl_z0_make(tdl_3dl_z0 *z, tdl_ddpm *d, tdl_ddpm_work *sw, tdl_3dl_work *w,
                           const tdl_3dl_plan *plan, int z0_batches, int z0_images, int K,
                           uint64_t seed, tdl_ddpm_progress progress, void *arg);
/* NULL-safe. */
void tdl_3dl_z0_free(tdl_3dl_z0 *z);

/* L (N * 28): the predictor's mean loss over the 21 instances of every row
 * of `images` (N, 784) taken as one series, normalised by its own range,
 * rows in order (image n, row r -> n * 28 + r); forecasts and targets in
 * tokens with train_range; inference mode. objective dfl: the regret of
 * the decision rule; mse: the squared error in normalised units. */
tdl_status tdl_3dl_row_losses(tdl_predictor *p, const float *images, int N, size_t D,
                              tdl_range train_range, tdl_train_loss objective,
                              tdl_provision_rule rule, const tdl_provision_params *pp,
                              double *L);

/* The inner objective on one Z0 batch (images b0 .. b0 + nb - 1) and one J
 * batch, and its gradient. */
typedef struct tdl_3dl_inner_stats {
    double objective;  /* mu * J - PPO (what Adam minimises) */
    double J;          /* score-matching loss of the J batch */
    double ppo;        /* the PPO term */
    double r_min, r_max, r_sum; /* over the batch's rows */
    int64_t rows;      /* rows of the batch */
    int64_t clipped;   /* rows whose PPO gradient the clip zeroed */
} tdl_3dl_inner_stats;

/* Work buffers of the inner step, allocated once: per chunk of images one
 * grad cache per planned transition (the chunk fits 384 MB of caches), and
 * J's batch. */
tdl_status tdl_3dl_work_init(tdl_3dl_work **w, const tdl_ddpm *d, const tdl_3dl_plan *plan,
                             int z0_images, int j_batch);
void tdl_3dl_work_free(tdl_3dl_work *w);
/* Images per chunk of the ratio pass (for the memory report and bench). */
int tdl_3dl_work_chunk(const tdl_3dl_work *w);

/* Write into d->unet.params.grad (zeroed first) the gradient of mu * J - PPO: J on x0 (jB, D) with the given t (jB) and eps (jB, D)
 * (dropout on when j_train != 0, masks from rng); PPO over Z0 images
 * [b0, b0 + nb) of z with their row losses L (z->N * 28) paired as the plan
 * and `compat` say (compat pairs with z0_images rows per group). kappa: the
 * clip. A non-finite J or ratio returns TDL_ERR_NUMERIC with partial
 * gradients (discard them). */
tdl_status tdl_3dl_inner_grad(tdl_ddpm *d, tdl_3dl_work *w, const tdl_3dl_plan *plan,
                              const tdl_3dl_z0 *z, const double *L, int b0, int nb,
                              int z0_images, int compat, double kappa, double mu,
                              const float *x0, const int *t, const float *eps, int jB,
                              int j_train, tdl_rng *rng, tdl_3dl_inner_stats *st);

/* What one outer epoch reports. */
typedef struct tdl_3dl_epoch_stats {
    int epoch;            /* 1-based */
    double mu;            /* after the epoch's dual steps */
    double J;             /* mean J of the last inner epoch */
    double r_min, r_mean, r_max; /* ratios of the last inner epoch */
    double clipped;       /* fraction of rows clipped in the last inner epoch */
    double ppo;           /* mean PPO term of the last inner epoch */
    double dist;          /* |theta - theta0| / |theta0| */
    double loss_z0;       /* mean L_row on Z0 at the epoch's start */
    double loss_s;        /* mean L_row on S_theta before the predictor's epoch */
    double train_loss;    /* the predictor's mean training loss on S_theta */
    int64_t inner_skipped;/* inner steps skipped (non-finite) */
    int64_t pred_steps;   /* predictor steps taken */
    double diff_lr;       /* the diffusion rate at the epoch's end */
    double seconds;       /* wall time of the epoch */
    double sec_regret, sec_inner, sec_sample, sec_pred; /* by phase */
} tdl_3dl_epoch_stats;

/* The whole method's state. */
typedef struct tdl_3dl {
    tdl_3dl_config cfg;
    tdl_3dl_plan plan;
    tdl_predictor *pred;      /* not owned */
    tdl_ddpm *theta;          /* not owned: starts as theta0, moved by the inner loop */
    float *theta0;            /* (P) a copy of theta0's values */
    tdl_3dl_z0 z0;
    const tdl_diffusion_data *real; /* not owned: J's images */
    tdl_range train_range;    /* the predictor's training range (tokens) */
    tdl_adam adam;            /* theta's optimiser (moments in theta->unet.params) */
    tdl_steplr sched;
    tdl_trainer trainer;      /* the predictor's loop (fresh Adam each outer epoch) */
    tdl_rng rng;              /* J's t, eps and dropout (stream 3) */
    double mu;
    int epoch;                /* completed outer epochs */
    int64_t inner_iter;       /* inner iterations taken (J batch index) */
    int64_t inner_skipped;
    double *L;                /* (z0.N * 28) row losses of the current epoch */
    tdl_3dl_work *work;
    tdl_ddpm_work sample_work;/* inference buffers for sampling */
    float *x0;                /* (j_batch, D) J's real images */
    int *jt;                  /* (j_batch) J's timesteps */
    float *jeps;              /* (j_batch, D) J's noise */
    float *s_images;          /* (s_images, D) */
    double *Ls;               /* (s_images * 28) */
    tdl_train_data sdata;     /* S_theta's rows */
} tdl_3dl;

/* Set up from a pre-trained predictor p (its training range train_range),
 * the pre-trained diffusion model theta (theta0 = its current values) and
 * the real training images, and sample Z0 (`progress` as tdl_ddpm_sample's).
 * p and theta are trained in place; s keeps pointers to them and to real. */
tdl_status tdl_3dl_init(tdl_3dl *s, const tdl_3dl_config *cfg, tdl_predictor *p,
                        tdl_range train_range, tdl_ddpm *theta,
                        const tdl_diffusion_data *real, tdl_ddpm_progress progress, void *arg);
/* NULL-safe; frees what it owns (not p, theta, real). */
void tdl_3dl_free(tdl_3dl *s);

/* Progress inside an outer epoch: phase name, units done and total. */
typedef void (*tdl_3dl_progress)(void *arg, const char *phase, int64_t done, int64_t total);

/* Run outer epoch s->epoch + 1. */
tdl_status tdl_3dl_epoch(tdl_3dl *s, tdl_3dl_epoch_stats *st, tdl_3dl_progress progress,
                         void *arg);

/* Predictor steps one outer epoch takes (for the DFL control). */
int64_t tdl_3dl_pred_steps_per_epoch(const tdl_3dl_config *c);

/* |theta - theta0| / |theta0| over the trainable values. */
double tdl_3dl_distance(const tdl_3dl *s);

/* Checkpoint after an outer epoch: predictor and its Adam, theta and its
 * Adam, theta0, Z0 (states and residuals), mu, counters, RNG positions and
 * the config, atomically. */
tdl_status tdl_3dl_checkpoint_save(const tdl_3dl *s, const char *path, const char *const *meta,
                                   int n_meta);
/* The config and the predictor's training range a checkpoint states. */
tdl_status tdl_3dl_checkpoint_config(const tdl_safetensors *st, const char *path,
                                     tdl_3dl_config *c, tdl_range *train_range);

/* Restore s from a checkpoint (its config and training range) into p and
 * theta, already built with the checkpoint's predictor and network
 * configs; real must be the same training images. */
tdl_status tdl_3dl_resume(tdl_3dl *s, const char *path, tdl_predictor *p, tdl_ddpm *theta,
                          const tdl_diffusion_data *real);

#ifdef __cplusplus
}
#endif
#endif /* TDL_LEARN3D_H */
