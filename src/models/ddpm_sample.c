/* ddpm_sample.c: ancestral sampling of the DDPM (ddpm.h) in chunks, with
 * positional noise per image and optional retention of the last K states. */
#include <string.h>

#include "tdl/ddpm.h"

/* x (D) ~ N(0, I): image i's block `blk` of draws (block 0: the start, block
 * T - t: the z of reverse step t). Each normal costs four words. */
static void draw(float *x, size_t D, uint64_t seed, uint64_t i, uint64_t blk) {
    tdl_rng r;
    tdl_rng_init(&r, seed, i);
    r.pos = blk * (uint64_t)D * 4u;
    tdl_rng_fill_normal(&r, x, D, 0.0f, 1.0f);
}

tdl_status tdl_ddpm_sample(tdl_ddpm *d, tdl_ddpm_work *w, uint64_t seed, int N, float *out, int K,
                           float *traj, int *traj_t, tdl_ddpm_progress progress, void *arg) {
    const int T = d->sched.T;
    const size_t D = tdl_ddpm_image_size(d);
    if (N < 1) return tdl_error(TDL_ERR_INVALID, "%d images to sample, need at least 1", N);
    if (traj && (K < 0 || K > T))
        return tdl_error(TDL_ERR_INVALID, "trajectory length K = %d outside [0, T = %d]", K, T);
    if (traj) {
        TDL_ASSERT(traj_t, "traj_t is needed with traj");
        for (int k = 0; k <= K; k++) traj_t[k] = K - 1 - k;
    }
    const size_t S = (size_t)K + 1;          /* states kept per image */
    const int64_t total = (int64_t)T * (int64_t)((N + w->chunk - 1) / w->chunk);
    int64_t done = 0;
    for (int i0 = 0; i0 < N; i0 += w->chunk) {
        int B = N - i0 < w->chunk ? N - i0 : w->chunk;
        float *x = w->xt;                    /* (B, D) the current state */
        for (int b = 0; b < B; b++) draw(x + (size_t)b * D, D, seed, (uint64_t)(i0 + b), 0);
        for (int t = T - 1; t >= 0; t--) {
            if (traj && t < K)               /* the input of step t is state K-1-t */
                for (int b = 0; b < B; b++)
                    memcpy(traj + ((size_t)(i0 + b) * S + (size_t)(K - 1 - t)) * D,
                           x + (size_t)b * D, D * sizeof(float));
            for (int b = 0; b < B; b++) w->t[b] = t;
            tdl_unet_forward(&d->unet, w->cache, x, w->t, w->eps_hat, B, 0, NULL);
            if (t > 0)
                for (int b = 0; b < B; b++)
                    draw(w->eps + (size_t)b * D, D, seed, (uint64_t)(i0 + b), (uint64_t)(T - t));
            for (int b = 0; b < B; b++)
                tdl_ddpm_reverse_step(&d->sched, x + (size_t)b * D, x + (size_t)b * D,
                                      w->eps_hat + (size_t)b * D, t,
                                      t > 0 ? w->eps + (size_t)b * D : NULL, D);
            if (progress) progress(arg, ++done, total);
        }
        memcpy(out + (size_t)i0 * D, x, (size_t)B * D * sizeof(float));
        if (traj)
            for (int b = 0; b < B; b++)
                memcpy(traj + ((size_t)(i0 + b) * S + (size_t)K) * D, x + (size_t)b * D,
                       D * sizeof(float));
    }
    return TDL_OK;
}
