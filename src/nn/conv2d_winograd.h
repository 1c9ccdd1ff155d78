/* conv2d_winograd.h (private to src/nn and its tests): the two paths that
 * tdl_conv2d_forward/backward dispatch between.
 *
 * im2col: any K, S, P (conv2d.c). Winograd F(2x2, 3x3): K = 3, S = 1, P = 1
 * only (conv2d_winograd.c). The direct sum for one output channel (conv2d_oc1.c). Both take the arguments of tdl_conv2d_forward /
 * tdl_conv2d_backward (backward ADDS into dinp and dweight; dbias is handled
 * by tdl_conv2d_backward itself) and a workspace of their own *_work_floats.
 *
 * Winograd's thread count dependence: the forward pass and dinp are
 * bit-identical for any thread count (tiles are processed in fixed blocks,
 * each with single-threaded sgemms); dweight sums per-thread partials in
 * thread order, so it differs between thread counts by summation order only.
 * Against the direct sum its error is ~1e-6 relative (F(2x2, 3x3) transforms
 * have coefficients 1 and 1/2).
 */
#ifndef TDL_CONV2D_WINOGRAD_H
#define TDL_CONV2D_WINOGRAD_H

#include <stddef.h>

#include "tdl/nn.h"

size_t conv2d_im2col_work_floats(const tdl_conv2d_shape *s, int threads);
void conv2d_im2col_forward(float *out, const float *inp, const float *weight, const float *bias,
                           const tdl_conv2d_shape *s, float *work);
void conv2d_im2col_backward(float *dinp, float *dweight, const float *dout, const float *inp,
                            const float *weight, const tdl_conv2d_shape *s, float *work);

/* Whether the Winograd path can run the shape (K 3, S 1, P 1). */
int conv2d_wino_supports(const tdl_conv2d_shape *s);
size_t conv2d_wino_work_floats(const tdl_conv2d_shape *s, int threads);
void conv2d_wino_forward(float *out, const float *inp, const float *weight, const float *bias,
                         const tdl_conv2d_shape *s, float *work);
void conv2d_wino_backward(float *dinp, float *dweight, const float *dout, const float *inp,
                          const float *weight, const tdl_conv2d_shape *s, float *work);
/* The same with F(4x4, 3x3) (6x6 tiles, 36 sgemms; error ~1e-5 relative). */
size_t conv2d_wino4_work_floats(const tdl_conv2d_shape *s, int threads);
void conv2d_wino4_forward(float *out, const float *inp, const float *weight, const float *bias,
                          const tdl_conv2d_shape *s, float *work);
void conv2d_wino4_backward(float *dinp, float *dweight, const float *dout, const float *inp,
                           const float *weight, const tdl_conv2d_shape *s, float *work);

/* One output channel (OC 1, K 3, S 1, P 1) as a direct sum (conv2d_oc1.c). */
int conv2d_oc1_supports(const tdl_conv2d_shape *s);
size_t conv2d_oc1_work_floats(const tdl_conv2d_shape *s, int threads);
void conv2d_oc1_forward(float *out, const float *inp, const float *weight, const float *bias,
                        const tdl_conv2d_shape *s, float *work);
void conv2d_oc1_backward(float *dinp, float *dweight, const float *dout, const float *inp,
                         const float *weight, const tdl_conv2d_shape *s, float *work);

#endif
