/*
 * adam.h: Adam and StepLR with PyTorch's exact semantics (torch.optim.Adam,
 * torch.optim.lr_scheduler.StepLR, single-tensor path):
 *
 *   t += 1
 *   g  = grad + weight_decay * p           (only when weight_decay != 0)
 *   m  = beta1 m + (1 - beta1) g
 *   v  = beta2 v + (1 - beta2) g^2
 *   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 *
 * eps is added after the square root. StepLR multiplies the rate by gamma
 * each time its epoch counter reaches a multiple of step_size.
 */
#ifndef TDL_ADAM_H
#define TDL_ADAM_H

#include <stdint.h>

#include "tdl/params.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tdl_adam {
    double lr;
    double beta1, beta2, eps, weight_decay;
    int64_t t; /* steps taken */
} tdl_adam;

/* lr as given; beta 0.9/0.999, eps 1e-8, no weight decay (PyTorch defaults). */
void tdl_adam_init(tdl_adam *a, double lr);

/* One step over every trainable tensor of p, from p->grad. Does not zero the
 * gradients. Scalars are computed in double, tensors in float. */
void tdl_adam_step(tdl_adam *a, tdl_params *p);

typedef struct tdl_steplr {
    int step_size;  /* epochs between decays, >= 1 */
    double gamma;   /* factor per decay */
    int64_t epoch;  /* epochs counted so far */
} tdl_steplr;

void tdl_steplr_init(tdl_steplr *s, int step_size, double gamma);

/* Count one finished epoch and decay a->lr when due (call once per epoch,
 * after the epoch's optimiser steps, as PyTorch's scheduler.step()). */
void tdl_steplr_step(tdl_steplr *s, tdl_adam *a);

#ifdef __cplusplus
}
#endif
#endif /* TDL_ADAM_H */
