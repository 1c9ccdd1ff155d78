/* conv2d.c: 2-D convolution (NCHW, square odd kernel K, stride S, zero
 * padding P) as im2col + one cblas_sgemm per image, and the dispatch of
 * tdl_conv2d_*: 3x3 stride-1 padding-1 convolutions with one output channel
 * go to a direct sum (conv2d_oc1.c), those with at least 4 input
 * channels to Winograd F(2x2, 3x3) or F(4x4, 3x3) (conv2d_winograd.c,
 * 1.3-1.9x faster at the UNet's shapes), unless the environment sets TDL_CONV_IM2COL=1 (read
 * once; for A/B benchmarks and tests). dbias is computed here for both.
 *
 * Per image b, with CK = C*K*K and Q = OH*OW output positions:
 *   col_b (CK, Q)    col_b[(c*K + ki)*K + kj, oh*OW + ow] = inp[b, c, oh*S - P + ki, ow*S - P + kj]
 *   out_b (OC, Q)  = weight (OC, CK) @ col_b + bias
 * Backward:
 *   dweight       += sum_b dout_b @ col_b^T       (per-thread partial sums)
 *   dcol_b (CK, Q) = weight^T @ dout_b, then col2im adds it into dinp_b
 *   dbias[oc]     += sum_{b, q} dout_b[oc, q]   (rows in float lanes, summed in double)
 * Images are spread over OpenMP threads; the sgemm inside a parallel region
 * runs on its calling thread. With fewer images than threads the loop runs
 * serially and each sgemm uses the whole team. A 1x1 kernel with stride 1
 * and no padding skips im2col: inp_b is already the column matrix.
 *
 * Thread count dependence: the forward pass and dinp are bit-identical for
 * any thread count (each image is one sgemm on one slice); dweight sums the
 * per-thread partials in thread order, so it varies only in summation order.
 */
#include <cblas.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "conv2d_winograd.h"
#include "tdl/nn.h"
#include "tdl/status.h"

static void check_shape(const tdl_conv2d_shape *s) {
    TDL_ASSERT(s != NULL, "NULL shape");
    TDL_ASSERT(s->B > 0 && s->C > 0 && s->H > 0 && s->W > 0 && s->OC > 0 && s->K > 0 &&
                   s->S > 0 && s->P >= 0,
               "bad conv2d shape B=%d C=%d H=%d W=%d OC=%d K=%d S=%d P=%d", s->B, s->C, s->H,
               s->W, s->OC, s->K, s->S, s->P);
    TDL_ASSERT(s->H + 2 * s->P >= s->K && s->W + 2 * s->P >= s->K,
               "kernel %d larger than padded input %dx%d", s->K, s->H, s->W);
}

int tdl_conv2d_out_h(const tdl_conv2d_shape *s) {
    check_shape(s);
    return (s->H + 2 * s->P - s->K) / s->S + 1;
}

int tdl_conv2d_out_w(const tdl_conv2d_shape *s) {
    check_shape(s);
    return (s->W + 2 * s->P - s->K) / s->S + 1;
}

static int is_pointwise(const tdl_conv2d_shape *s) { return s->K == 1 && s->S == 1 && s->P == 0; }

// Number of image slots (threads working on separate images) for `threads`.
static int conv_slots(const tdl_conv2d_shape *s, int threads) {
    if (threads < 1) threads = 1;
    return s->B < threads ? 1 : threads;
}

// Floats of one slot: the column matrix (none for 1x1) and a dweight partial.
static size_t slot_floats(const tdl_conv2d_shape *s) {
    const size_t CK = (size_t)s->C * s->K * s->K;
    const size_t Q = (size_t)tdl_conv2d_out_h(s) * tdl_conv2d_out_w(s);
    return (is_pointwise(s) ? 0 : CK * Q) + (size_t)s->OC * CK;
}

size_t conv2d_im2col_work_floats(const tdl_conv2d_shape *s, int threads) {
    check_shape(s);
    return (size_t)conv_slots(s, threads) * slot_floats(s);
}

// Valid output columns [*lo, *hi) for kernel column kj: 0 <= ow*S - P + kj < W.
static void valid_range(int n_in, int n_out, int S, int P, int k, int *lo, int *hi) {
    int a = P - k; // need ow*S >= a
    int l = a <= 0 ? 0 : (a + S - 1) / S;
    int bnd = n_in - 1 + P - k; // need ow*S <= bnd
    int h = bnd < 0 ? 0 : bnd / S + 1;
    if (l > n_out) l = n_out;
    if (h > n_out) h = n_out;
    if (h < l) h = l;
    *lo = l;
    *hi = h;
}

// col (C*K*K, OH*OW) from one image x (C, H, W).
static void im2col(float *col, const float *x, const tdl_conv2d_shape *s, int OH, int OW) {
    const int C = s->C, H = s->H, W = s->W, K = s->K, S = s->S, P = s->P;
    for (int c = 0; c < C; c++) {
        const float *xc = x + (size_t)c * H * W;
        for (int ki = 0; ki < K; ki++) {
            for (int kj = 0; kj < K; kj++) {
                float *row = col + ((size_t)(c * K + ki) * K + kj) * OH * OW;
                int lo, hi;
                valid_range(W, OW, S, P, kj, &lo, &hi);
                for (int oh = 0; oh < OH; oh++) {
                    float *r = row + (size_t)oh * OW;
                    const int ih = oh * S - P + ki;
                    if (ih < 0 || ih >= H) {
                        memset(r, 0, (size_t)OW * sizeof(float));
                        continue;
                    }
                    const float *xr = xc + (size_t)ih * W - P + kj; // xr[ow*S] is inp[ih, ow*S-P+kj]
                    for (int ow = 0; ow < lo; ow++) r[ow] = 0.0f;
                    if (S == 1) {
                        if (hi > lo) memcpy(r + lo, xr + lo, (size_t)(hi - lo) * sizeof(float));
                    } else {
                        for (int ow = lo; ow < hi; ow++) r[ow] = xr[(size_t)ow * S];
                    }
                    for (int ow = hi; ow < OW; ow++) r[ow] = 0.0f;
                }
            }
        }
    }
}

// dx (C, H, W) += col2im(dcol (C*K*K, OH*OW)).
static void col2im_add(float *dx, const float *dcol, const tdl_conv2d_shape *s, int OH, int OW) {
    const int C = s->C, H = s->H, W = s->W, K = s->K, S = s->S, P = s->P;
    for (int c = 0; c < C; c++) {
        float *dxc = dx + (size_t)c * H * W;
        for (int ki = 0; ki < K; ki++) {
            for (int kj = 0; kj < K; kj++) {
                const float *row = dcol + ((size_t)(c * K + ki) * K + kj) * OH * OW;
                int lo, hi;
                valid_range(W, OW, S, P, kj, &lo, &hi);
                for (int oh = 0; oh < OH; oh++) {
                    const int ih = oh * S - P + ki;
                    if (ih < 0 || ih >= H) continue;
                    const float *r = row + (size_t)oh * OW;
                    float *dxr = dxc + (size_t)ih * W - P + kj;
                    if (S == 1) {
                        for (int ow = lo; ow < hi; ow++) dxr[ow] += r[ow];
                    } else {
                        for (int ow = lo; ow < hi; ow++) dxr[(size_t)ow * S] += r[ow];
                    }
                }
            }
        }
    }
}

// out (B, OC, OH, OW), inp (B, C, H, W), weight (OC, C, K, K), bias (OC) or NULL,
// work: conv2d_im2col_work_floats(s, omp_get_max_threads()) floats.
void conv2d_im2col_forward(float *out, const float *inp, const float *weight, const float *bias,
                        const tdl_conv2d_shape *s, float *work) {
    TDL_ASSERT(out && inp && weight, "NULL argument");
    check_shape(s);
    const int OH = tdl_conv2d_out_h(s), OW = tdl_conv2d_out_w(s);
    const int B = s->B, C = s->C, H = s->H, W = s->W, OC = s->OC;
    const int CK = C * s->K * s->K, Q = OH * OW;
    const int pointwise = is_pointwise(s);
    TDL_ASSERT(pointwise || work, "conv2d needs a workspace");
    const int slots = conv_slots(s, omp_get_max_threads());
    const size_t slot = slot_floats(s);
#pragma omp parallel for schedule(static) num_threads(slots) if (slots > 1)
    for (int b = 0; b < B; b++) {
        const float *x = inp + (size_t)b * C * H * W;
        float *y = out + (size_t)b * OC * Q;
        const float *col = x;
        if (!pointwise) {
            float *mycol = work + (size_t)omp_get_thread_num() * slot;
            im2col(mycol, x, s, OH, OW);
            col = mycol;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, OC, Q, CK, 1.0f, weight, CK, col,
                    Q, 0.0f, y, Q);
        if (bias) {
            for (int oc = 0; oc < OC; oc++) {
                float *yr = y + (size_t)oc * Q;
                const float bb = bias[oc];
                for (int q = 0; q < Q; q++) yr[q] += bb;
            }
        }
    }
}

// dinp (B, C, H, W), dweight (OC, C, K, K), each may be NULL;
// dout (B, OC, OH, OW), inp (B, C, H, W), weight (OC, C, K, K).
void conv2d_im2col_backward(float *dinp, float *dweight, const float *dout, const float *inp,
                            const float *weight, const tdl_conv2d_shape *s, float *work) {
    TDL_ASSERT(dout && inp && weight, "NULL argument");
    check_shape(s);
    const int OH = tdl_conv2d_out_h(s), OW = tdl_conv2d_out_w(s);
    const int B = s->B, C = s->C, H = s->H, W = s->W, OC = s->OC;
    const int CK = C * s->K * s->K, Q = OH * OW;
    const int pointwise = is_pointwise(s);
    TDL_ASSERT(work || (pointwise && !dweight), "conv2d needs a workspace");
    const int slots = conv_slots(s, omp_get_max_threads());
    const size_t slot = slot_floats(s);
    const size_t colsz = pointwise ? 0 : (size_t)CK * Q;

    if (!dinp && !dweight) return;

    // Slot t handles images [t*B/slots, (t+1)*B/slots): a fixed split, so the
    // dweight partials depend only on the slot count.
#pragma omp parallel num_threads(slots) if (slots > 1)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        const int b0 = (int)((long)B * t / nt), b1 = (int)((long)B * (t + 1) / nt);
        float *col = work ? work + (size_t)t * slot : NULL;
        float *dw = work ? work + (size_t)t * slot + colsz : NULL; // (OC, CK)
        for (int b = b0; b < b1; b++) {
            const float *x = inp + (size_t)b * C * H * W;
            const float *dy = dout + (size_t)b * OC * Q;
            if (dweight) {
                const float *cb = x;
                if (!pointwise) {
                    im2col(col, x, s, OH, OW);
                    cb = col;
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, OC, CK, Q, 1.0f, dy, Q, cb,
                            Q, b == b0 ? 0.0f : 1.0f, dw, CK);
            }
            if (dinp) {
                float *dx = dinp + (size_t)b * C * H * W;
                if (pointwise) {
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, CK, Q, OC, 1.0f, weight,
                                CK, dy, Q, 1.0f, dx, Q);
                } else {
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, CK, Q, OC, 1.0f, weight,
                                CK, dy, Q, 0.0f, col, Q);
                    col2im_add(dx, col, s, OH, OW);
                }
            }
        }
        if (dweight && b1 == b0) memset(dw, 0, (size_t)OC * CK * sizeof(float));
#pragma omp barrier
        // Reduce the partials in slot order; threads split the weight elements.
        if (dweight) {
            const size_t n = (size_t)OC * CK;
            const size_t i0 = n * t / nt, i1 = n * (t + 1) / nt;
            for (size_t i = i0; i < i1; i++) {
                float acc = 0.0f;
                for (int u = 0; u < nt; u++) acc += work[(size_t)u * slot + colsz + i];
                dweight[i] += acc;
            }
        }
    }
}

// dbias (OC) += sum over b, q of dout (B, OC, Q): each row summed in eight
// float lanes (vectorisable), the rows added in double in image order.
static void dbias_add(float *dbias, const float *dout, int B, int OC, int Q) {
#pragma omp parallel for schedule(static)
    for (int oc = 0; oc < OC; oc++) {
        double acc = 0.0;
        for (int b = 0; b < B; b++) {
            const float *d = dout + ((size_t)b * OC + oc) * Q; // (Q)
            float lane[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
            int q = 0;
            for (; q + 8 <= Q; q += 8)
                for (int l = 0; l < 8; l++) lane[l] += d[q + l];
            float rest = 0.0f;
            for (; q < Q; q++) rest += d[q];
            acc += (double)(((lane[0] + lane[4]) + (lane[1] + lane[5])) +
                            ((lane[2] + lane[6]) + (lane[3] + lane[7])) + rest);
        }
        dbias[oc] += (float)acc;
    }
}

/* ------------------------------------------------------------ dispatch */

// TDL_CONV_IM2COL set (and not "0") forces the im2col path; read once.
static int force_im2col(void) {
    static atomic_int flag = -1;
    int f = atomic_load(&flag);
    if (f < 0) {
        const char *e = getenv("TDL_CONV_IM2COL");
        f = e != NULL && e[0] != '\0' && strcmp(e, "0") != 0;
        atomic_store(&flag, f);
    }
    return f;
}

// Winograd for 3x3 stride-1 "same" convolutions where it is faster than
// im2col (bench_conv2d): not for fewer than 4 input channels (the head conv,
// C = 1: im2col is 2.5x faster; the tail, OC = 1, gains). F(4x4, 3x3) where it
// beats F(2x2, 3x3): large images with at least 96 channels in and out
// together (the paper preset's 28x28 level, C = 128: 20% faster; the small
// preset's 28x28 up blocks, C = 64 or 96 -> 32 or 64: forward 5-15%, backward
// 30-35% faster); at 14x14 and 7x7 its tiles cover 16x16 and 8x8, and with
// C = OC = 32 or a single output channel (the tail) its heavier transforms
// cost more than it saves.
// A single output channel (the tail, C -> 1) goes to the direct sum
// (conv2d_oc1.c) instead: 3-4x faster than F(2x2, 3x3) and im2col there.
// Returns 0 (im2col), 1 (direct, OC 1), 2 or 4 (the output tile size).
static int winograd_tile(const tdl_conv2d_shape *s) {
    if (!conv2d_wino_supports(s) || force_im2col()) return 0;
    if (s->OC == 1) return 1;
    if (s->C < 4) return 0;
    return s->H >= 24 && s->W >= 24 && s->OC >= 32 && s->C + s->OC >= 96 ? 4 : 2;
}

size_t tdl_conv2d_work_floats(const tdl_conv2d_shape *s, int threads) {
    check_shape(s);
    switch (winograd_tile(s)) {
    case 1: return conv2d_oc1_work_floats(s, threads);
    case 2: return conv2d_wino_work_floats(s, threads);
    case 4: return conv2d_wino4_work_floats(s, threads);
    default: return conv2d_im2col_work_floats(s, threads);
    }
}

void tdl_conv2d_forward(float *out, const float *inp, const float *weight, const float *bias,
                        const tdl_conv2d_shape *s, float *work) {
    check_shape(s);
    switch (winograd_tile(s)) {
    case 1: conv2d_oc1_forward(out, inp, weight, bias, s, work); break;
    case 2: conv2d_wino_forward(out, inp, weight, bias, s, work); break;
    case 4: conv2d_wino4_forward(out, inp, weight, bias, s, work); break;
    default: conv2d_im2col_forward(out, inp, weight, bias, s, work);
    }
}

void tdl_conv2d_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                         const float *inp, const float *weight, const tdl_conv2d_shape *s,
                         float *work) {
    TDL_ASSERT(dout && inp && weight, "NULL argument");
    check_shape(s);
    if (dbias) dbias_add(dbias, dout, s->B, s->OC, tdl_conv2d_out_h(s) * tdl_conv2d_out_w(s));
    if (!dinp && !dweight) return;
    switch (winograd_tile(s)) {
    case 1: conv2d_oc1_backward(dinp, dweight, dout, inp, weight, s, work); break;
    case 2: conv2d_wino_backward(dinp, dweight, dout, inp, weight, s, work); break;
    case 4: conv2d_wino4_backward(dinp, dweight, dout, inp, weight, s, work); break;
    default: conv2d_im2col_backward(dinp, dweight, dout, inp, weight, s, work);
    }
}
