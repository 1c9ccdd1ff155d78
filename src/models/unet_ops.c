/* unet_ops.c: the UNet's whole-tensor zeroing and residual adds, spread over
 * the OpenMP threads in fixed chunks (element-wise, so the results do not
 * depend on the thread count). Tensors below UNET_OPS_PAR_MIN floats stay on
 * the calling thread: waking a passive team costs more than they take. */
#include <string.h>

#include "unet_plan.h"

#define UNET_OPS_PAR_MIN 65536 /* floats */
#define UNET_OPS_CHUNK 16384   /* floats per task */

// x (n) = 0
void unet_zero(float *x, size_t n) {
    const long chunks = (long)((n + UNET_OPS_CHUNK - 1) / UNET_OPS_CHUNK);
#pragma omp parallel for schedule(static) if (n >= UNET_OPS_PAR_MIN)
    for (long k = 0; k < chunks; k++) {
        const size_t i0 = (size_t)k * UNET_OPS_CHUNK;
        const size_t m = n - i0 < UNET_OPS_CHUNK ? n - i0 : UNET_OPS_CHUNK;
        memset(x + i0, 0, m * sizeof *x);
    }
}

// y (n) += x (n)
void unet_add(float *restrict y, const float *restrict x, size_t n) {
    const long chunks = (long)((n + UNET_OPS_CHUNK - 1) / UNET_OPS_CHUNK);
#pragma omp parallel for schedule(static) if (n >= UNET_OPS_PAR_MIN)
    for (long k = 0; k < chunks; k++) {
        const size_t i0 = (size_t)k * UNET_OPS_CHUNK;
        const size_t m = n - i0 < UNET_OPS_CHUNK ? n - i0 : UNET_OPS_CHUNK;
        float *restrict yc = y + i0;
        const float *restrict xc = x + i0;
#pragma omp simd
        for (size_t i = 0; i < m; i++) yc[i] += xc[i];
    }
}
