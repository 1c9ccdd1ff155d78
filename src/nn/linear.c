/* linear.c: fully connected layer, out = inp @ weight^T + bias (torch.nn.Linear). */
#include <cblas.h>

#include "tdl/nn.h"
#include "tdl/status.h"

// out (N, OC), inp (N, C), weight (OC, C), bias (OC) or NULL
void tdl_linear_forward(float *out, const float *inp, const float *weight, const float *bias,
                        int N, int C, int OC) {
    TDL_ASSERT(out && inp && weight, "linear_forward: NULL tensor");
    TDL_ASSERT(N > 0 && C > 0 && OC > 0, "linear_forward: bad dims N=%d C=%d OC=%d", N, C, OC);
    float beta = 0.0f;
    if (bias) {
        #pragma omp parallel for if ((long)N * OC > 32768)
        for (int n = 0; n < N; n++) {
            float *o = out + (size_t)n * OC;
            for (int k = 0; k < OC; k++) o[k] = bias[k];
        }
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, C, 1.0f, inp, C, weight, C, beta,
                out, OC);
}

// dinp (N, C), dweight (OC, C), dbias (OC), dout (N, OC), inp (N, C), weight (OC, C)
void tdl_linear_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                         const float *inp, const float *weight, int N, int C, int OC) {
    TDL_ASSERT(dout && inp && weight, "linear_backward: NULL tensor");
    TDL_ASSERT(N > 0 && C > 0 && OC > 0, "linear_backward: bad dims N=%d C=%d OC=%d", N, C, OC);
    if (dinp)  // dinp += dout @ weight
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, OC, 1.0f, dout, OC, weight, C,
                    1.0f, dinp, C);
    if (dweight)  // dweight += dout^T @ inp
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, N, 1.0f, dout, OC, inp, C,
                    1.0f, dweight, C);
    if (dbias) {
        // column sums; each thread owns a block of columns, rows summed in order
        const int CB = 64;
        int nblocks = (OC + CB - 1) / CB;
        #pragma omp parallel for if ((long)N * OC > 32768)
        for (int blk = 0; blk < nblocks; blk++) {
            int k0 = blk * CB, k1 = k0 + CB < OC ? k0 + CB : OC;
            float acc[64];
            for (int k = k0; k < k1; k++) acc[k - k0] = 0.0f;
            for (int n = 0; n < N; n++) {
                const float *d = dout + (size_t)n * OC;
                #pragma omp simd
                for (int k = k0; k < k1; k++) acc[k - k0] += d[k];
            }
            for (int k = k0; k < k1; k++) dbias[k] += acc[k - k0];
        }
    }
}
