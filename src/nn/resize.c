/* resize.c: nearest-neighbour x2 upsampling and bilinear resizing with
 * half-pixel centres, as F.interpolate(scale_factor=2, mode="nearest") and
 * F.interpolate(size=(OH, OW), mode="bilinear", align_corners=False).
 * Every (b, c) plane is independent: OpenMP over planes, so backward never
 * has two threads writing the same element. */
#include <omp.h>

#include "tdl/nn.h"
#include "tdl/status.h"

// out (B, C, 2H, 2W), inp (B, C, H, W): out[.., y, x] = inp[.., y/2, x/2].
void tdl_upsample2x_forward(float *out, const float *inp, int B, int C, int H, int W) {
    TDL_ASSERT(out && inp, "NULL argument");
    TDL_ASSERT(B > 0 && C > 0 && H > 0 && W > 0, "bad shape B=%d C=%d H=%d W=%d", B, C, H, W);
    const int OW = 2 * W;
#pragma omp parallel for schedule(static)
    for (int bc = 0; bc < B * C; bc++) {
        const float *x = inp + (size_t)bc * H * W;
        float *y = out + (size_t)bc * 4 * H * W;
        for (int h = 0; h < H; h++) {
            float *y0 = y + (size_t)(2 * h) * OW, *y1 = y0 + OW;
            for (int w = 0; w < W; w++) {
                const float v = x[(size_t)h * W + w];
                y0[2 * w] = v;
                y0[2 * w + 1] = v;
                y1[2 * w] = v;
                y1[2 * w + 1] = v;
            }
        }
    }
}

// dinp (B, C, H, W) += the sum of each 2x2 block of dout (B, C, 2H, 2W).
void tdl_upsample2x_backward(float *dinp, const float *dout, int B, int C, int H, int W) {
    TDL_ASSERT(dinp && dout, "NULL argument");
    TDL_ASSERT(B > 0 && C > 0 && H > 0 && W > 0, "bad shape B=%d C=%d H=%d W=%d", B, C, H, W);
    const int OW = 2 * W;
#pragma omp parallel for schedule(static)
    for (int bc = 0; bc < B * C; bc++) {
        float *dx = dinp + (size_t)bc * H * W;
        const float *dy = dout + (size_t)bc * 4 * H * W;
        for (int h = 0; h < H; h++) {
            const float *d0 = dy + (size_t)(2 * h) * OW, *d1 = d0 + OW;
            for (int w = 0; w < W; w++)
                dx[(size_t)h * W + w] += (d0[2 * w] + d0[2 * w + 1]) + (d1[2 * w] + d1[2 * w + 1]);
        }
    }
}

// Source taps of output index o along an axis of n_in inputs and n_out
// outputs: PyTorch's src = max(0, (o + 0.5) * n_in / n_out - 0.5), computed
// in float; lower tap floor(src), upper min(lower + 1, n_in - 1), weight frac.
static void bilinear_taps(int o, int n_in, int n_out, int *i0, int *i1, float *l1) {
    const float scale = (float)n_in / (float)n_out;
    float src = scale * ((float)o + 0.5f) - 0.5f;
    if (src < 0.0f) src = 0.0f;
    int lo = (int)src;
    if (lo > n_in - 1) lo = n_in - 1;
    *i0 = lo;
    *i1 = lo < n_in - 1 ? lo + 1 : lo;
    *l1 = src - (float)lo;
}

// out (B, C, OH, OW), inp (B, C, H, W).
void tdl_bilinear_forward(float *out, const float *inp, int B, int C, int H, int W, int OH,
                          int OW) {
    TDL_ASSERT(out && inp, "NULL argument");
    TDL_ASSERT(B > 0 && C > 0 && H > 0 && W > 0 && OH > 0 && OW > 0,
               "bad shape B=%d C=%d H=%d W=%d OH=%d OW=%d", B, C, H, W, OH, OW);
#pragma omp parallel for schedule(static)
    for (int bc = 0; bc < B * C; bc++) {
        const float *x = inp + (size_t)bc * H * W;
        float *y = out + (size_t)bc * OH * OW;
        for (int oh = 0; oh < OH; oh++) {
            int h0, h1;
            float lh;
            bilinear_taps(oh, H, OH, &h0, &h1, &lh);
            const float *r0 = x + (size_t)h0 * W, *r1 = x + (size_t)h1 * W;
            for (int ow = 0; ow < OW; ow++) {
                int w0, w1;
                float lw;
                bilinear_taps(ow, W, OW, &w0, &w1, &lw);
                y[(size_t)oh * OW + ow] = (1.0f - lh) * ((1.0f - lw) * r0[w0] + lw * r0[w1]) +
                                          lh * ((1.0f - lw) * r1[w0] + lw * r1[w1]);
            }
        }
    }
}

// dinp (B, C, H, W) += bilinear^T dout (B, C, OH, OW).
void tdl_bilinear_backward(float *dinp, const float *dout, int B, int C, int H, int W, int OH,
                           int OW) {
    TDL_ASSERT(dinp && dout, "NULL argument");
    TDL_ASSERT(B > 0 && C > 0 && H > 0 && W > 0 && OH > 0 && OW > 0,
               "bad shape B=%d C=%d H=%d W=%d OH=%d OW=%d", B, C, H, W, OH, OW);
#pragma omp parallel for schedule(static)
    for (int bc = 0; bc < B * C; bc++) {
        float *dx = dinp + (size_t)bc * H * W;
        const float *dy = dout + (size_t)bc * OH * OW;
        for (int oh = 0; oh < OH; oh++) {
            int h0, h1;
            float lh;
            bilinear_taps(oh, H, OH, &h0, &h1, &lh);
            float *r0 = dx + (size_t)h0 * W, *r1 = dx + (size_t)h1 * W;
            for (int ow = 0; ow < OW; ow++) {
                int w0, w1;
                float lw;
                bilinear_taps(ow, W, OW, &w0, &w1, &lw);
                const float g = dy[(size_t)oh * OW + ow];
                r0[w0] += (1.0f - lh) * (1.0f - lw) * g;
                r0[w1] += (1.0f - lh) * lw * g;
                r1[w0] += lh * (1.0f - lw) * g;
                r1[w1] += lh * lw * g;
            }
        }
    }
}
