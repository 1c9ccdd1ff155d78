/*
 * wdro.h: the attack of the Wasserstein-DRO baseline (spec section 6; Staib
 * and Jegelka's Frank-Wolfe), on a batch of the predictor's input windows.
 *
 * Given the clean windows x0 (B, T) and their targets t (B), the attack looks
 * for the x inside the ball {x : ||x - x0||_2 <= eps} (the norm of the WHOLE
 * batch's displacement, p = q = 2) and the box [0, 1] that maximises the
 * batch's loss:
 *
 *   x_0 = x0
 *   for k = 0 .. K-1:
 *     g_k = dLoss/dx at x_k             (tdl_predictor_backward_input)
 *     d_k = eps * g_k / ||g_k||_2       (the maximiser of <g_k, d> over
 *                                        ||d||_2 <= eps: sample i gets
 *                                        eps ||g_i|| / ||g|| of the budget)
 *     c   = 2 / (k + 2)
 *     x_{k+1} = clip((1 - c) x_k + c (x0 + d_k), 0, 1)
 *   x = x_K
 *
 * Loss is the batch MEAN of the per-instance losses (tdl_predictor_dfl_loss
 * or tdl_predictor_mse_loss, as the training step uses): a positive scale of
 * the loss does not change d_k, so mean or sum attack alike. Every iterate
 * is a convex combination of points of the ball, and clipping to [0, 1]
 * moves no coordinate away from x0's when x0 lies in [0, 1]: x stays in the
 * ball and the box. Where g_k = 0 (e.g. every DFL output clipped by relu)
 * d_k = 0, the ball's centre.
 *
 * The authors' code differs in two ways, both behind a flag only to explain
 * gaps to Table I (tdl_wdro_config_authors): the step moves towards
 * x_k + d_k (drift: the ball moves with every iterate, so x may end up to
 * eps * sum_k c_k from x0) and the attacked loss is the squared error.
 */
#ifndef TDL_WDRO_H
#define TDL_WDRO_H

#include <stddef.h>

#include "tdl/predictor.h"
#include "tdl/provision.h"
#include "tdl/rng.h"
#include "tdl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tdl_wdro_loss {
    TDL_WDRO_LOSS_DFL = 0, /* the decision loss (the paper) */
    TDL_WDRO_LOSS_MSE      /* squared error (the authors' code) */
} tdl_wdro_loss;

typedef struct tdl_wdro_config {
    double eps;         /* budget: l2 norm of the whole batch's displacement (2) */
    int iters;          /* Frank-Wolfe iterations K (15) */
    int drift;          /* 0: towards x0 + d_k (the paper); 1: towards x_k + d_k (authors) */
    tdl_wdro_loss loss; /* the attacked objective */
    /* the decision loss (TDL_WDRO_LOSS_DFL): problem, rule and the training
     * range, tokens(v) = v * scale + offset (tdl_predictor_dfl_loss) */
    tdl_provision_params pp;
    tdl_provision_rule rule;
    double scale, offset;
} tdl_wdro_config;

/* The paper's attack: eps 2, K 15, the ball around x0, the decision loss
 * with the authors' constants and the exact rule, on the range (scale, offset). */
void tdl_wdro_config_default(tdl_wdro_config *c, double scale, double offset);
/* The authors' code: the same with drift = 1 and the squared error. */
void tdl_wdro_config_authors(tdl_wdro_config *c, double scale, double offset);

/* Buffers of the attack for up to B rows, allocated once (no allocation per
 * call): the gradient and the direction (B, T), outputs and dy (B). */
typedef struct tdl_wdro_work tdl_wdro_work;
tdl_status tdl_wdro_work_init(tdl_wdro_work **w, const tdl_predictor_config *cfg, int B);
void tdl_wdro_work_free(tdl_wdro_work *w); /* NULL-safe */

/* The linear maximiser over the l2 ball (p = q = 2): d (n) = eps * g / ||g||_2
 * (norm accumulated in double), d = 0 when g = 0. Returns ||g||_2 (NaN or
 * infinite when g is; d is then not meaningful). d may alias g. */
double tdl_wdro_direction(float *d, const float *g, size_t n, double eps);

typedef struct tdl_wdro_stats {
    double loss_clean; /* the loss at x0 (the first iterate's forward pass) */
    double loss_last;  /* the loss at x_{K-1}, the last iterate whose gradient was taken */
    double dist;       /* ||x - x0||_2 of the result */
} tdl_wdro_stats;

/* Run the attack: x (B, T) = x_K from the clean windows x0 (B, T) and the
 * targets t (B) (normalised units). The predictor runs K forward and K
 * input-gradient passes through cache c (built for at least B rows); its
 * parameter gradients are not touched. train != 0 runs them with dropout,
 * fresh masks from rng at every pass (rng advances), as a model in training
 * mode would; train == 0 is inference (rng unused, may be NULL). st may be
 * NULL. x must not alias x0.
 * Errors: TDL_ERR_INVALID for eps <= 0 or not finite, K < 1, B outside
 * [1, the work's rows], an unknown loss, or scale <= 0 with the decision
 * loss; TDL_ERR_NUMERIC when a gradient is not finite (x is then x0, the
 * clean batch). */
tdl_status tdl_wdro_attack(tdl_predictor *p, tdl_predictor_cache *c, tdl_wdro_work *w,
                           const tdl_wdro_config *cfg, const float *x0, const float *t, float *x,
                           int B, int train, tdl_rng *rng, tdl_wdro_stats *st);

#ifdef __cplusplus
}
#endif
#endif /* TDL_WDRO_H */
