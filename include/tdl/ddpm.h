/*
 * ddpm.h: the denoising diffusion model of spec section 4: a linear beta
 * schedule around the UNet of unet.h (the noise predictor).
 *
 * Indices are 0-based as in the authors' code: step t in [0, T) has
 *   beta_t    = linspace(beta_1, beta_T, T)[t]       (torch.linspace, double)
 *   alpha_t   = 1 - beta_t
 *   abar_t    = alpha_0 alpha_1 ... alpha_t          (cumulative product, double)
 *   sigma_t   = sqrt((1 - abar_{t-1}) / (1 - abar_t) beta_t),  abar_{-1} = 1
 * so sigma_0 = 0 and the last reverse step is deterministic.
 *
 *   forward (noising):  x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps
 *   loss:               mean (net(x_t, t) - eps)^2, t ~ U{t_lo .. t_hi-1}, eps ~ N(0, I)
 *   reverse step t:     x' = (x_t - beta_t / sqrt(1 - abar_t) eps_hat) / sqrt(alpha_t)
 *                            + sigma_t z                (z = 0 at t = 0)
 *   sampling:           x ~ N(0, I); reverse steps t = T-1 .. 0; no clipping.
 *
 * Images are (B, 1, S, S) float with D = S * S values each (S = 28).
 *
 * Random numbers of the sampler are positional: image i of a call draws from
 * stream i of the seed, its initial x at block 0 and the z of reverse step t
 * at block T - t, so an image does not depend on the batch it was computed
 * in (the network works per image in inference).
 */
#ifndef TDL_DDPM_H
#define TDL_DDPM_H

#include <stddef.h>
#include <stdint.h>

#include "tdl/rng.h"
#include "tdl/safetensors.h"
#include "tdl/status.h"
#include "tdl/unet.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The schedule's defaults (the paper's). */
#define TDL_DDPM_BETA_1 0.05
#define TDL_DDPM_BETA_T 0.1

typedef struct tdl_ddpm_schedule {
    int T;
    double beta_1, beta_T;
    double *beta;  /* (T) */
    double *alpha; /* (T) */
    double *abar;  /* (T) */
    double *sigma; /* (T) sigma[0] = 0 */
} tdl_ddpm_schedule;

/* T >= 1, 0 < beta_1 <= beta_T < 1 (finite), else TDL_ERR_INVALID. */
tdl_status tdl_ddpm_schedule_init(tdl_ddpm_schedule *s, int T, double beta_1, double beta_T);
/* NULL-safe. */
void tdl_ddpm_schedule_free(tdl_ddpm_schedule *s);

/* xt (B, D) = sqrt(abar_t[b]) x0 + sqrt(1 - abar_t[b]) eps, per image b; the
 * two factors are rounded to float first, as the PyTorch reference. */
void tdl_ddpm_q_sample(const tdl_ddpm_schedule *s, float *xt, const float *x0, const int *t,
                       const float *eps, int B, size_t D);

/* The reverse step's mean on n values (what 3D-Learning's log-ratio needs):
 * out = (xt - beta_t / sqrt(1 - abar_t) eps_hat) / sqrt(alpha_t). out may
 * equal xt or eps_hat. */
void tdl_ddpm_mean(const tdl_ddpm_schedule *s, float *out, const float *xt, const float *eps_hat,
                   int t, size_t n);

/* One reverse step on n values: out = mean(xt, eps_hat, t) + sigma_t z, with
 * z ignored (may be NULL) at t = 0. out may equal xt. */
void tdl_ddpm_reverse_step(const tdl_ddpm_schedule *s, float *out, const float *xt,
                           const float *eps_hat, int t, const float *z, size_t n);

/* The whole model's configuration. */
typedef struct tdl_ddpm_config {
    tdl_unet_config unet; /* unet.T is the number of diffusion steps */
    double beta_1, beta_T;
} tdl_ddpm_config;

/* A UNet preset (tdl_unet_config_preset: paper, small, tiny, NAME-t100) with
 * the default betas. */
tdl_status tdl_ddpm_config_preset(tdl_ddpm_config *c, const char *name);
tdl_status tdl_ddpm_config_check(const tdl_ddpm_config *c);

typedef struct tdl_ddpm {
    tdl_ddpm_config cfg;
    tdl_unet unet;
    tdl_ddpm_schedule sched;
} tdl_ddpm;

/* The UNet initialised from seed (the authors' initialisation) and the schedule. */
tdl_status tdl_ddpm_init(tdl_ddpm *d, const tdl_ddpm_config *cfg, uint64_t seed);
/* NULL-safe. */
void tdl_ddpm_free(tdl_ddpm *d);

/* Values per image (S * S). */
size_t tdl_ddpm_image_size(const tdl_ddpm *d);

/* Model file: the UNet's tensors (PyTorch names) and metadata kind =
 * "tdl-ddpm", "unet" (tdl_unet_config_format), "beta_1", "beta_T", "T", plus
 * the caller's pairs (meta[2i], meta[2i+1]); with optimizer != 0 also Adam's
 * moments. Atomic. */
tdl_status tdl_ddpm_save(const tdl_ddpm *d, const char *path, const char *const *meta, int n_meta,
                         int optimizer);

/* The configuration a file states in its metadata ("unet", "beta_1",
 * "beta_T"): *found = 0 when the file has no "unet" key (a PyTorch
 * state_dict export), TDL_ERR_FORMAT when a value is malformed. */
tdl_status tdl_ddpm_config_read(const tdl_safetensors *st, const char *path, tdl_ddpm_config *c,
                                int *found);

/* Build *d from an opened file: its own config when it states one, else
 * `fallback` (a PyTorch export needs it; NULL: TDL_ERR_INVALID saying so).
 * Tensors must match the config exactly (names and shapes). */
tdl_status tdl_ddpm_load_from(tdl_ddpm *d, const tdl_safetensors *st, const char *path,
                              const tdl_ddpm_config *fallback, int optimizer);
/* The same from a path; a training checkpoint (with Adam's moments) loads too. */
tdl_status tdl_ddpm_load(tdl_ddpm *d, const char *path, const tdl_ddpm_config *fallback);

/* Buffers for batches of up to B images: the UNet cache (with gradients when
 * grad != 0) and the DDPM's own arrays. Allocated once. A gradient work runs
 * the network on chunks of at most tdl_ddpm_grad_chunk(d) images (forward then
 * backward per chunk, gradients accumulated): the UNet couples no images, so
 * the result equals one pass over the batch up to float summation order, and
 * the activations kept for backward are those of one chunk, not of B images. */
enum {
    TDL_DDPM_GRAD_CHUNK = 16,     /* images per chunk ... */
    TDL_DDPM_GRAD_CHUNK_MAX = 32, /* ... or this many when their grad cache fits: */
};
#define TDL_DDPM_GRAD_CACHE_BUDGET ((size_t)256 << 20) /* bytes */
/* The chunk a gradient work of d uses for batches at least as large:
 * TDL_DDPM_GRAD_CHUNK_MAX when a grad cache of that many images takes at most
 * TDL_DDPM_GRAD_CACHE_BUDGET bytes (the small and tiny presets: fewer, longer
 * passes are faster), else TDL_DDPM_GRAD_CHUNK (the paper preset). */
int tdl_ddpm_grad_chunk(const tdl_ddpm *d);
typedef struct tdl_ddpm_work {
    int B;                 /* capacity in images */
    int grad;
    int chunk;             /* images per network pass: the cache's capacity */
    tdl_unet_cache *cache;
    int *t;                /* (B) */
    float *eps;            /* (B, D) noise (loss) or z (sampling) */
    float *xt;             /* (B, D) network input */
    float *eps_hat;        /* (B, D) network output */
    float *deps;           /* (B, D) dLoss/deps_hat (grad only) */
} tdl_ddpm_work;

tdl_status tdl_ddpm_work_init(tdl_ddpm_work *w, const tdl_ddpm *d, int B, int grad);
/* NULL-safe. */
void tdl_ddpm_work_free(tdl_ddpm_work *w);

/* The loss for given t (B) and eps (B, D) on x0 (B, D): x_t, eps_hat =
 * net(x_t, t) (dropout on when train != 0, masks from rng), loss = mean
 * (eps_hat - eps)^2 accumulated in double. When the work has gradients,
 * backward ADDS dLoss/dparams into d->unet.params.grad (the caller zeroes
 * them), chunk by chunk; a chunk with a non-finite loss stops the pass and
 * the non-finite loss is returned (the gradients are then partial: discard
 * them, as the trainer does when it skips the step).
 * B <= w->B; every t in [0, T). */
double tdl_ddpm_loss_given(tdl_ddpm *d, tdl_ddpm_work *w, const float *x0, const int *t,
                           const float *eps, int B, int train, tdl_rng *rng);

/* The training loss: t[b] uniform in [t_lo, t_hi) (tdl_rng_below), then eps
 * (B x D normals), both from rng, which also draws the dropout masks (train
 * != 0); then as tdl_ddpm_loss_given. The drawn t and eps stay in w->t and
 * w->eps. 0 <= t_lo < t_hi <= T. */
double tdl_ddpm_loss(tdl_ddpm *d, tdl_ddpm_work *w, const float *x0, int B, int t_lo, int t_hi,
                     int train, tdl_rng *rng);

/* Sample N images (N, D) into out from seed, in chunks of at most w->B.
 * Trajectory retention (traj != NULL, 0 <= K <= T): traj (N, K + 1, D)
 * receives, per image, the inputs x_t of the last K reverse steps (t = K-1
 * down to 0) followed by the final sample, and traj_t (K + 1) their labels
 * K-1, ..., 0, -1 (-1: the output of step 0). Nothing else of the trajectory
 * is stored. `progress`, when not NULL, is called after every reverse step of
 * every chunk with (arg, steps done, total steps). */
typedef void (*tdl_ddpm_progress)(void *arg, int64_t done, int64_t total);
tdl_status tdl_ddpm_sample(tdl_ddpm *d, tdl_ddpm_work *w, uint64_t seed, int N, float *out, int K,
                           float *traj, int *traj_t, tdl_ddpm_progress progress, void *arg);

#ifdef __cplusplus
}
#endif
#endif /* TDL_DDPM_H */
