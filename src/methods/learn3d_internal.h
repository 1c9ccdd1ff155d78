/* learn3d_internal.h: what the 3D-Learning files share (learn3d.h is the
 * public side). */
#ifndef TDL_LEARN3D_INTERNAL_H
#define TDL_LEARN3D_INTERNAL_H

#include "tdl/learn3d.h"

/* eps_theta of every planned transition of Z0 images [c0, c0 + cb) into the
 * work's per-transition buffers and caches (inference mode). */
void tdl_3dl_ratio_forward(tdl_ddpm *d, tdl_3dl_work *w, const tdl_3dl_plan *plan,
                           const tdl_3dl_z0 *z, int c0, int cb);
/* eps (D) of transition j, image b of the last ratio_forward chunk. */
const float *tdl_3dl_work_eps(const tdl_3dl_work *w, int j, int b);
/* res (D) = x_out - m(x_in, eps, label) for transition j of Z0 image n (res
 * may equal eps). */
void tdl_3dl_residual(const tdl_ddpm *d, const tdl_3dl_plan *plan, const tdl_3dl_z0 *z, int j,
                      int n, const float *eps, float *res);
/* Bytes of the work's network caches. */
size_t tdl_3dl_work_bytes(const tdl_3dl_work *w);

/* Z0's buffers for N images of K + 1 states and ntr residuals each. */
tdl_status tdl_3dl_z0_alloc(tdl_3dl_z0 *z, int N, int K, size_t D, int ntr);
/* z->resid0 from z->states under d's current parameters, chunked as the
 * inner pass (per Z0 batch of z0_images). */
void tdl_3dl_z0_residuals(tdl_3dl_z0 *z, tdl_ddpm *d, tdl_3dl_work *w, const tdl_3dl_plan *plan,
                          int z0_images);
/* The state without Z0's contents (resume fills them). */
tdl_status tdl_3dl_setup_for_resume(tdl_3dl *s, const tdl_3dl_config *cfg, tdl_predictor *p,
                                    tdl_range train_range, tdl_ddpm *theta,
                                    const tdl_diffusion_data *real);
/* The sampler seed of Z0 (label 0) and of outer epoch e's S_theta (label e). */
uint64_t tdl_3dl_sampler_seed(uint64_t seed, uint64_t label);
/* One inner epoch: every Z0 batch once, then the dual step and StepLR. */
tdl_status tdl_3dl_inner_epoch(tdl_3dl *s, tdl_3dl_inner_stats *sum, int64_t *skipped,
                               tdl_3dl_progress progress, void *arg, int64_t *done,
                               int64_t total);

#endif
