/* mse.c: mean squared error loss (torch.nn.functional.mse_loss, reduction "mean"). */
#include "tdl/nn.h"
#include "tdl/status.h"

// pred (N), target (N) -> mean (pred - target)^2, summed in double in index order
float tdl_mse_forward(const float *pred, const float *target, size_t N) {
    TDL_ASSERT(pred && target, "mse_forward: NULL tensor");
    TDL_ASSERT(N > 0, "mse_forward: N must be positive");
    double s = 0.0;
    for (size_t i = 0; i < N; i++) {
        double d = (double)pred[i] - (double)target[i];
        s += d * d;
    }
    return (float)(s / (double)N);
}

// dpred (N) += dloss * 2 (pred - target) / N
void tdl_mse_backward(float *dpred, const float *pred, const float *target, size_t N,
                      float dloss) {
    TDL_ASSERT(dpred && pred && target, "mse_backward: NULL tensor");
    TDL_ASSERT(N > 0, "mse_backward: N must be positive");
    float scale = (float)(2.0 * (double)dloss / (double)N);
    for (size_t i = 0; i < N; i++) dpred[i] += scale * (pred[i] - target[i]);
}
