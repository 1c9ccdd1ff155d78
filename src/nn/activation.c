/* activation.c: element-wise GELU (exact erf form) and ReLU.
 * GELU's Phi(x) = (1 + erf(x / sqrt 2)) / 2 is computed as erfc(-x / sqrt 2) / 2,
 * which does not cancel for x << 0 (torch's float formula loses up to
 * ~|x| 2^-25 there). */
#include <math.h>

#include "tdl/nn.h"
#include "tdl/status.h"

#define TDL_INV_SQRT2 0.70710678118654752440f
#define TDL_INV_SQRT_2PI 0.39894228040143267794f
#define TDL_ACT_PAR_MIN 16384 /* below this many elements a thread team costs more than it saves */

// out (N), inp (N); out may alias inp
void tdl_gelu_forward(float *out, const float *inp, size_t N) {
    TDL_ASSERT(out && inp, "gelu_forward: NULL tensor");
    long n = (long)N;
    #pragma omp parallel for if (n > TDL_ACT_PAR_MIN)
    for (long i = 0; i < n; i++) {
        out[i] = tdl_gelu_value(inp[i]);
    }
}

// dinp (N) += dout * gelu'(inp);  gelu'(x) = Phi(x) + x phi(x)
void tdl_gelu_backward(float *dinp, const float *dout, const float *inp, size_t N) {
    TDL_ASSERT(dinp && dout && inp, "gelu_backward: NULL tensor");
    long n = (long)N;
    #pragma omp parallel for if (n > TDL_ACT_PAR_MIN)
    for (long i = 0; i < n; i++) {
        float x = inp[i];
        float cdf = 0.5f * erfcf(-x * TDL_INV_SQRT2);
        float pdf = TDL_INV_SQRT_2PI * expf(-0.5f * x * x);
        dinp[i] += dout[i] * (cdf + x * pdf);
    }
}

// out (N), inp (N); out may alias inp
void tdl_relu_forward(float *out, const float *inp, size_t N) {
    TDL_ASSERT(out && inp, "relu_forward: NULL tensor");
    long n = (long)N;
    #pragma omp parallel for if (n > TDL_ACT_PAR_MIN)
    for (long i = 0; i < n; i++) out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

// dinp (N) += dout where inp > 0
void tdl_relu_backward(float *dinp, const float *dout, const float *inp, size_t N) {
    TDL_ASSERT(dinp && dout && inp, "relu_backward: NULL tensor");
    long n = (long)N;
    #pragma omp parallel for if (n > TDL_ACT_PAR_MIN)
    for (long i = 0; i < n; i++) dinp[i] += inp[i] > 0.0f ? dout[i] : 0.0f;
}
