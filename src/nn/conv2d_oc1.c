/* conv2d_oc1.c: 3x3 convolution, stride 1, padding 1, NCHW, with ONE output
 * channel (the UNet's tail, C -> 1) as a direct sum. Winograd's products have
 * a single row there and im2col's sgemm a single output row, so both spend
 * their time on transforms or copies; the direct sum does 9 multiply-adds per
 * input value in long unit-stride loops.
 *
 * Per image, the input is copied into a zero-bordered buffer with padded row
 * width Wp = W + 2: pad_c (H + 2, Wp), pad_c[(h + 1) Wp + w + 1] = inp[b, c, h, w].
 * On the flat grid i = oh Wp + ow (columns ow = W, W + 1 are junk and dropped):
 *   out[b, 0, oh, ow] = bias + sum_c sum_ki (w_ki0 p[i] + w_ki1 p[i + 1] + w_ki2 p[i + 2]),
 *                       p = pad_c + ki Wp,
 * summed over c and ki in that order (float). Backward, with dout copied the
 * same way into dpad (H + 2, Wp) and d = dpad + Wp + 1 (d[i] = dout[oh, ow],
 * zero in the junk columns):
 *   dinp[b, c, ih, iw] += sum_ki (w_ki2 q[j] + w_ki1 q[j + 1] + w_ki0 q[j + 2]),
 *                         q = dpad + (2 - ki) Wp, j = ih Wp + iw,
 *   dweight[c, ki, kj] += sum_b sum_i d[i] pad_c[i + ki Wp + kj]  (16 float lanes per image).
 * Images are split over the OpenMP threads in fixed ranges; forward and dinp
 * are per image, so they do not depend on the thread count; dweight sums the
 * per-thread partials in thread order (summation order only).
 */
#include <omp.h>
#include <string.h>

#include "conv2d_winograd.h"
#include "tdl/status.h"

#define LANES 16

/* Compiled for AVX-512, AVX2 and the baseline (no contraction into FMA in
 * ISO C mode: the same results in every version). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(TDL_NO_CLONES)
#define OC1_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define OC1_CLONES
#endif

/* Threads that take images: all of them, or one when the batch is smaller. */
static int oc1_slots(const tdl_conv2d_shape *s, int threads) {
    if (threads < 1) threads = 1;
    return s->B < threads ? 1 : threads;
}

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

/* Floats of one padded plane (H + 2, Wp) plus two readable floats after it. */
static size_t plane_floats(const tdl_conv2d_shape *s) {
    return round16((size_t)(s->H + 2) * (s->W + 2) + 2);
}

/* One slot: pad (C planes), dpad (one plane), acc (H Wp), a dweight partial (C, 9). */
static size_t slot_floats(const tdl_conv2d_shape *s) {
    const size_t pl = plane_floats(s);
    return (size_t)s->C * pl + pl + round16((size_t)s->H * (s->W + 2)) + round16((size_t)s->C * 9);
}

int conv2d_oc1_supports(const tdl_conv2d_shape *s) { return conv2d_wino_supports(s) && s->OC == 1; }

size_t conv2d_oc1_work_floats(const tdl_conv2d_shape *s, int threads) {
    TDL_ASSERT(conv2d_oc1_supports(s), "conv2d_oc1 needs OC 1, K 3, S 1, P 1");
    return (size_t)oc1_slots(s, threads) * slot_floats(s);
}

typedef struct {
    float *pad, *dpad, *acc, *dw;
} oc1_slot;

static oc1_slot slot_at(float *work, const tdl_conv2d_shape *s, int t) {
    const size_t pl = plane_floats(s);
    oc1_slot w;
    w.pad = work + (size_t)t * slot_floats(s);
    w.dpad = w.pad + (size_t)s->C * pl;
    w.acc = w.dpad + pl;
    w.dw = w.acc + round16((size_t)s->H * (s->W + 2));
    return w;
}

/* The planes' interiors from x (n, H, W); their borders stay zero. */
static void fill_planes(float *pad, const float *x, int n, int H, int W, size_t pl) {
    const int Wp = W + 2;
    for (int c = 0; c < n; c++)
        for (int h = 0; h < H; h++)
            memcpy(pad + c * pl + (size_t)(h + 1) * Wp + 1, x + ((size_t)c * H + h) * W,
                   (size_t)W * sizeof(float));
}

/* acc[i] += (a p[i] + b p[i + 1]) + c p[i + 2], n elements. */
OC1_CLONES
static void row3(float *restrict acc, const float *restrict p, float a, float b, float c, int n) {
    for (int i = 0; i < n; i++) acc[i] += (a * p[i] + b * p[i + 1]) + c * p[i + 2];
}

/* g[kj] += sum_i d[i] p[i + kj] for kj = 0, 1, 2, n elements: 16 float lanes
 * each, the lanes summed pairwise, then added to g. */
OC1_CLONES
static void dot3(float *restrict g, const float *restrict d, const float *restrict p, int n) {
    float l0[LANES] = {0.0f}, l1[LANES] = {0.0f}, l2[LANES] = {0.0f};
    int i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) {
            l0[l] += d[i + l] * p[i + l];
            l1[l] += d[i + l] * p[i + l + 1];
            l2[l] += d[i + l] * p[i + l + 2];
        }
    for (; i < n; i++) { /* the rest into lane 0 */
        l0[0] += d[i] * p[i];
        l1[0] += d[i] * p[i + 1];
        l2[0] += d[i] * p[i + 2];
    }
    for (int w = LANES / 2; w >= 1; w /= 2)
        for (int l = 0; l < w; l++) {
            l0[l] += l0[l + w];
            l1[l] += l1[l + w];
            l2[l] += l2[l + w];
        }
    g[0] += l0[0];
    g[1] += l1[0];
    g[2] += l2[0];
}

void conv2d_oc1_forward(float *out, const float *inp, const float *weight, const float *bias,
                        const tdl_conv2d_shape *s, float *work) {
    TDL_ASSERT(out && inp && weight && work, "NULL argument");
    TDL_ASSERT(conv2d_oc1_supports(s), "conv2d_oc1 needs OC 1, K 3, S 1, P 1");
    const int B = s->B, C = s->C, H = s->H, W = s->W, Wp = W + 2, n = H * Wp;
    const size_t pl = plane_floats(s);
    const int slots = oc1_slots(s, omp_get_max_threads());
    const float bb = bias ? bias[0] : 0.0f;
#pragma omp parallel num_threads(slots) if (slots > 1)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        const oc1_slot w = slot_at(work, s, t);
        memset(w.pad, 0, (size_t)C * pl * sizeof(float));
        const int b0 = (int)((long)B * t / nt), b1 = (int)((long)B * (t + 1) / nt);
        for (int b = b0; b < b1; b++) {
            fill_planes(w.pad, inp + (size_t)b * C * H * W, C, H, W, pl); /* (C, H + 2, Wp) */
            memset(w.acc, 0, (size_t)n * sizeof(float));                 /* (H, Wp) */
            for (int c = 0; c < C; c++)
                for (int ki = 0; ki < 3; ki++) {
                    const float *g = weight + (size_t)c * 9 + 3 * ki;
                    row3(w.acc, w.pad + c * pl + (size_t)ki * Wp, g[0], g[1], g[2], n);
                }
            float *y = out + (size_t)b * H * W; /* (H, W) */
            for (int oh = 0; oh < H; oh++)
                for (int ow = 0; ow < W; ow++) y[oh * W + ow] = w.acc[oh * Wp + ow] + bb;
        }
    }
}

void conv2d_oc1_backward(float *dinp, float *dweight, const float *dout, const float *inp,
                         const float *weight, const tdl_conv2d_shape *s, float *work) {
    TDL_ASSERT(dout && inp && weight && work, "NULL argument");
    TDL_ASSERT(conv2d_oc1_supports(s), "conv2d_oc1 needs OC 1, K 3, S 1, P 1");
    if (!dinp && !dweight) return;
    const int B = s->B, C = s->C, H = s->H, W = s->W, Wp = W + 2, n = H * Wp;
    const size_t pl = plane_floats(s);
    const int slots = oc1_slots(s, omp_get_max_threads());
#pragma omp parallel num_threads(slots) if (slots > 1)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        const oc1_slot w = slot_at(work, s, t);
        memset(w.dpad, 0, pl * sizeof(float));
        if (dweight) {
            memset(w.pad, 0, (size_t)C * pl * sizeof(float));
            memset(w.dw, 0, (size_t)C * 9 * sizeof(float));
        }
        const int b0 = (int)((long)B * t / nt), b1 = (int)((long)B * (t + 1) / nt);
        for (int b = b0; b < b1; b++) {
            fill_planes(w.dpad, dout + (size_t)b * H * W, 1, H, W, pl); /* (H + 2, Wp) */
            if (dweight) {
                fill_planes(w.pad, inp + (size_t)b * C * H * W, C, H, W, pl);
                const float *d = w.dpad + Wp + 1; /* d[oh Wp + ow] = dout[b, 0, oh, ow] */
                for (int c = 0; c < C; c++)
                    for (int ki = 0; ki < 3; ki++)
                        dot3(w.dw + (size_t)c * 9 + 3 * ki, d, w.pad + c * pl + (size_t)ki * Wp, n);
            }
            if (dinp) {
                for (int c = 0; c < C; c++) {
                    memset(w.acc, 0, (size_t)n * sizeof(float));
                    for (int ki = 0; ki < 3; ki++) {
                        const float *g = weight + (size_t)c * 9 + 3 * ki;
                        row3(w.acc, w.dpad + (size_t)(2 - ki) * Wp, g[2], g[1], g[0], n);
                    }
                    float *dx = dinp + ((size_t)b * C + c) * H * W; /* (H, W) */
                    for (int ih = 0; ih < H; ih++)
                        for (int iw = 0; iw < W; iw++) dx[ih * W + iw] += w.acc[ih * Wp + iw];
                }
            }
        }
        if (dweight) {
#pragma omp barrier
            /* the partials in slot order; threads split the weight elements */
            const int e0 = C * 9 * t / nt, e1 = C * 9 * (t + 1) / nt;
            for (int e = e0; e < e1; e++) {
                float acc = 0.0f;
                for (int u = 0; u < nt; u++) acc += slot_at(work, s, u).dw[e];
                dweight[e] += acc;
            }
        }
    }
}
