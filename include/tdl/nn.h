/*
 * nn.h: the kernels every tdl model is built from.
 *
 * Conventions (llm.c style):
 *   - plain functions on raw float arrays with explicit dimensions; row-major;
 *     images are NCHW: (B, C, H, W). Single letters: B batch, T steps,
 *     C channels or features, OC output channels, H hidden size (LSTM) or
 *     height (images), W width, N rows or positions, G groups.
 *   - forward stores what backward needs in caller-owned caches (an argument
 *     named like `mean`, `gates`); nothing is kept in globals.
 *   - backward ADDS into every gradient it is given (the caller zeroes them);
 *     a gradient pointer may be NULL when that gradient is not wanted.
 *   - the input and output of a kernel never alias unless stated.
 *   - kernels parallelise outer loops with OpenMP and call cblas_sgemm; the
 *     result does not depend on the thread count except for the summation
 *     order of weight gradients reduced across threads (see each kernel).
 */
#ifndef TDL_NN_H
#define TDL_NN_H

#include <math.h>
#include <stddef.h>

#include "tdl/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- linear */
/* out (N, OC) = inp (N, C) @ weight^T + bias;  weight (OC, C), bias (OC) or NULL. */
void tdl_linear_forward(float *out, const float *inp, const float *weight, const float *bias,
                        int N, int C, int OC);
/* dinp (N, C), dweight (OC, C), dbias (OC); dout (N, OC). */
void tdl_linear_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                         const float *inp, const float *weight, int N, int C, int OC);

/* ------------------------------------------------------------------ lstm */
/* One LSTM layer over a whole sequence, batch first, zero initial state, as
 * torch.nn.LSTM(C, H, batch_first=True): gate blocks of H rows in the order
 * input, forget, cell, output:
 *   a_t = x_t @ w_ih^T + b_ih + h_{t-1} @ w_hh^T + b_hh      (B, 4H)
 *   i = sigmoid(a_i)  f = sigmoid(a_f)  g = tanh(a_g)  o = sigmoid(a_o)
 *   c_t = f * c_{t-1} + i * g        h_t = o * tanh(c_t)
 * inp (B, T, C); w_ih (4H, C); w_hh (4H, H); b_ih, b_hh (4H).
 * Outputs: h (B, T, H) every hidden state; caches c (B, T, H) cell states, tc
 * (B, T, H) tanh(c) and gates (B, T, 4H) the activated gates (i, f, g, o). */
void tdl_lstm_forward(float *h, float *c, float *tc, float *gates, const float *inp,
                      const float *w_ih, const float *w_hh, const float *b_ih, const float *b_hh,
                      int B, int T, int C, int H);
/* The cell update of tdl_lstm_forward for M independent rows, on the calling
 * thread (no OpenMP, no BLAS), with the same arithmetic as one step of
 * tdl_lstm_forward (streaming inference uses it to agree with the batch
 * pass): gates (M, 4H) pre-activations in, activated gates (i, f, g, o) out;
 * c_prev (M, H) the previous cell states (may equal c: updated in place);
 * c, tc (M, H) c_t and tanh(c_t), h (M, H) h_t out. */
void tdl_lstm_cells_forward(float *gates, const float *c_prev, float *c, float *tc, float *h,
                            int M, int H);
/* Floats of scratch tdl_lstm_backward needs. */
size_t tdl_lstm_scratch_floats(int B, int T, int C, int H);
/* Backpropagation through time. dh (B, T, H) is the gradient of the loss with
 * respect to every hidden state (zero where a step's output is unused).
 * Adds into dinp (B, T, C), dw_ih (4H, C), dw_hh (4H, H), db_ih, db_hh (4H).
 * scratch: tdl_lstm_scratch_floats(B, T, C, H) floats. */
void tdl_lstm_backward(float *dinp, float *dw_ih, float *dw_hh, float *db_ih, float *db_hh,
                       const float *dh, const float *inp, const float *h, const float *c,
                       const float *tc, const float *gates, const float *w_ih, const float *w_hh,
                       float *scratch, int B, int T, int C, int H);

/* ------------------------------------------------------------- layernorm */
/* Normalise each row of inp (N, C) over C: out = (x - mean) * rstd * weight + bias,
 * rstd = 1 / sqrt(var + eps) with the biased variance. Caches mean, rstd (N). */
void tdl_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                           const float *weight, const float *bias, int N, int C, float eps);
/* One row of tdl_layernorm_forward on the calling thread (no OpenMP), the
 * same arithmetic: out (C), *mean, *rstd. */
void tdl_layernorm_forward_row(float *out, float *mean, float *rstd, const float *inp,
                               const float *weight, const float *bias, int C, float eps);
void tdl_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                            const float *inp, const float *weight, const float *mean,
                            const float *rstd, int N, int C);

/* ------------------------------------------------------------- groupnorm */
/* inp (B, C, S) with S = H*W spatial positions, G groups of C/G channels
 * (torch.nn.GroupNorm(G, C)): statistics over (C/G, S) per (b, g), then a
 * per-channel affine weight, bias (C). Caches mean, rstd (B, G). */
void tdl_groupnorm_forward(float *out, float *mean, float *rstd, const float *inp,
                           const float *weight, const float *bias, int B, int C, int S, int G,
                           float eps);
void tdl_groupnorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                            const float *inp, const float *weight, const float *mean,
                            const float *rstd, int B, int C, int S, int G);

/* ----------------------------------------------------------- activations */
/* GELU of one value, the expression of tdl_gelu_forward: x/2 erfc(-x / sqrt 2). */
static inline float tdl_gelu_value(float x) {
    return 0.5f * x * erfcf(-x * 0.70710678118654752440f);
}
/* GELU, erf form: out = x/2 (1 + erf(x / sqrt 2)). out may alias inp. (N) */
void tdl_gelu_forward(float *out, const float *inp, size_t N);
void tdl_gelu_backward(float *dinp, const float *dout, const float *inp, size_t N);
/* ReLU: out = max(x, 0); derivative 0 at x <= 0. out may alias inp. (N) */
void tdl_relu_forward(float *out, const float *inp, size_t N);
void tdl_relu_backward(float *dinp, const float *dout, const float *inp, size_t N);

/* --------------------------------------------------------------- dropout */
/* Inverted dropout with drop probability p in [0, 1): mask[i] = 0 with
 * probability p, else 1 / (1 - p). mask[i] depends only on the rng's (seed,
 * stream, position) and i, not on the thread count; r advances by N. (N) */
void tdl_dropout_mask(float *mask, size_t N, float p, tdl_rng *r);
/* out = inp * mask. out may alias inp. */
void tdl_dropout_forward(float *out, const float *inp, const float *mask, size_t N);
void tdl_dropout_backward(float *dinp, const float *dout, const float *mask, size_t N);

/* ---------------------------------------------------------------- conv2d */
/* 2-D convolution, NCHW, square kernel K (1 or 3, any odd K works), stride S,
 * zero padding P, as torch.nn.Conv2d(C, OC, K, S, P):
 * inp (B, C, H, W) -> out (B, OC, OH, OW), OH = (H + 2P - K) / S + 1 (same for W);
 * weight (OC, C, K, K), bias (OC) or NULL. */
typedef struct tdl_conv2d_shape {
    int B, C, H, W;  /* input */
    int OC, K, S, P; /* output channels, kernel size, stride, padding */
} tdl_conv2d_shape;
int tdl_conv2d_out_h(const tdl_conv2d_shape *s);
int tdl_conv2d_out_w(const tdl_conv2d_shape *s);
/* Floats of workspace forward and backward need with `threads` threads. */
size_t tdl_conv2d_work_floats(const tdl_conv2d_shape *s, int threads);
void tdl_conv2d_forward(float *out, const float *inp, const float *weight, const float *bias,
                        const tdl_conv2d_shape *s, float *work);
/* dinp (B, C, H, W), dweight (OC, C, K, K), dbias (OC); dout (B, OC, OH, OW). */
void tdl_conv2d_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                         const float *inp, const float *weight, const tdl_conv2d_shape *s,
                         float *work);

/* ---------------------------------------------------------------- resize */
/* Nearest-neighbour x2 upsampling: inp (B, C, H, W) -> out (B, C, 2H, 2W). */
void tdl_upsample2x_forward(float *out, const float *inp, int B, int C, int H, int W);
void tdl_upsample2x_backward(float *dinp, const float *dout, int B, int C, int H, int W);
/* Bilinear resize with half-pixel centres (F.interpolate(mode="bilinear",
 * align_corners=False), size given): inp (B, C, H, W) -> out (B, C, OH, OW). */
void tdl_bilinear_forward(float *out, const float *inp, int B, int C, int H, int W, int OH,
                          int OW);
void tdl_bilinear_backward(float *dinp, const float *dout, int B, int C, int H, int W, int OH,
                           int OW);

/* ------------------------------------------------------------- attention */
/* Single-head self-attention over the N = H*W positions of a feature map, in
 * the channel-major layout a 1x1 convolution produces: q, k, v (B, C, N),
 *   att (B, N, N) = softmax_j(q_i . k_j / sqrt(C)),   out (B, C, N): out[:, i] = sum_j att[i, j] v[:, j].
 * The UNet's attention block is GroupNorm -> 1x1 q, k, v -> this -> 1x1 proj
 * -> residual. Caches att. */
void tdl_attention_forward(float *out, float *att, const float *q, const float *k,
                           const float *v, int B, int C, int N);
/* Floats of scratch tdl_attention_backward needs with `threads` threads. */
size_t tdl_attention_scratch_floats(int B, int C, int N, int threads);
void tdl_attention_backward(float *dq, float *dk, float *dv, const float *dout,
                            const float *q, const float *k, const float *v, const float *att,
                            float *scratch, int B, int C, int N);

/* ---------------------------------------------------------------- concat */
/* Channel concatenation: a (B, C1, S), b (B, C2, S) -> out (B, C1 + C2, S). */
void tdl_concat_forward(float *out, const float *a, const float *b, int B, int C1, int C2, int S);
void tdl_concat_backward(float *da, float *db, const float *dout, int B, int C1, int C2, int S);

/* ------------------------------------------------------------------- mse */
/* Mean squared error over N values, accumulated in double. */
float tdl_mse_forward(const float *pred, const float *target, size_t N);
/* dpred += dloss * 2 (pred - target) / N. */
void tdl_mse_backward(float *dpred, const float *pred, const float *target, size_t N,
                      float dloss);

#ifdef __cplusplus
}
#endif
#endif /* TDL_NN_H */
