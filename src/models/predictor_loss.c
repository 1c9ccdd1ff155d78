/* predictor_loss.c: the two training losses on a batch of predictor outputs
 * (normalised units): MSE, and the decision-focused loss of spec section 1
 * (the provisioning loss of the decision the forecast leads to). */
#include "tdl/predictor.h"

// mean (y - t)^2 over B; dy (B) = 2 (y - t) / B
double tdl_predictor_mse_loss(const float *y, const float *t, float *dy, int B) {
    TDL_ASSERT(y && t && dy && B >= 1, "predictor_mse_loss: bad arguments");
    double sum = 0.0;
    for (int i = 0; i < B; i++) {
        double d = (double)y[i] - (double)t[i];
        sum += d * d;
        dy[i] = (float)(2.0 * d / B);
    }
    return sum / B;
}

// mean L(decide(relu(y) * scale + offset), t * scale + offset) over B;
// dy (B) = relu'(y) * tdl_provision_grad / B, zero where relu clips (y <= 0)
double tdl_predictor_dfl_loss(const tdl_provision_params *pp, tdl_provision_rule rule,
                              double scale, double offset, const float *y, const float *t,
                              float *dy, int B) {
    TDL_ASSERT(pp && y && t && dy && B >= 1 && scale > 0.0, "predictor_dfl_loss: bad arguments");
    double sum = 0.0;
    for (int i = 0; i < B; i++) {
        double yn = y[i] > 0.0f ? (double)y[i] : 0.0; /* relu; NaN stays NaN below */
        if (y[i] != y[i]) yn = y[i];
        double target = (double)t[i] * scale + offset;
        double x = tdl_provision_decide(pp, rule, yn * scale + offset);
        sum += tdl_provision_loss(pp, x, target);
        dy[i] = y[i] > 0.0f
                    ? (float)(tdl_provision_grad(pp, rule, yn, target, scale, offset) / B)
                    : 0.0f;
    }
    return sum / B;
}
