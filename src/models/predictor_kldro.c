/* predictor_kldro.c: the KL-DRO loss of Hu and Hong (spec section 6) on a
 * batch of predictor outputs: the worst-case mean decision loss over the
 * distributions P with KL(P || P0) <= eps, P0 uniform on the batch, through
 * its dual
 *   F(alpha) = alpha ln mean_i exp(l_i / alpha) + alpha eps,  alpha > 0,
 * minimised per batch by a 1-D search (predictor.h). */
#include <math.h>

#include "tdl/predictor.h"

/* q = softmax(beta l) (shift by the max m); returns KL(q || uniform) =
 * sum q_i ln(n q_i), and *lse = ln mean_i exp(beta (l_i - m)). */
static double tilt(const double *l, int n, double m, double beta, double *q, double *lse) {
    double z = 0.0;
    for (int i = 0; i < n; i++) {
        q[i] = exp(beta * (l[i] - m)); /* in (0, 1], the max term is 1 */
        z += q[i];
    }
    double kl = 0.0;
    for (int i = 0; i < n; i++) {
        q[i] /= z;
        if (q[i] > 0.0) kl += q[i] * log((double)n * q[i]);
    }
    *lse = log(z / n);
    return kl < 0.0 ? 0.0 : kl;
}

double tdl_kldro_dual(const double *l, int n, double eps, double *w, double *alpha_out) {
    TDL_ASSERT(l && w && n >= 1 && eps > 0.0, "kldro_dual: bad arguments");
    double m = l[0], lo = l[0], sum = 0.0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(l[i])) {
            if (alpha_out) *alpha_out = NAN;
            return NAN;
        }
        if (l[i] > m) m = l[i];
        if (l[i] < lo) lo = l[i];
        sum += l[i];
    }
    double d = m - lo; /* spread */
    int k = 0;         /* maxima */
    for (int i = 0; i < n; i++) k += l[i] == m;
    /* alpha -> 0 (beta -> inf): q -> uniform on the k maxima, KL -> ln(n/k),
     * F -> m. When eps >= ln(n/k) the ball holds that distribution and the
     * worst case is the max (F' = eps - KL > 0 for every alpha). */
    if (d == 0.0 || eps >= log((double)n / k)) {
        for (int i = 0; i < n; i++) w[i] = l[i] == m ? 1.0 / k : 0.0;
        if (alpha_out) *alpha_out = 0.0;
        return d == 0.0 ? sum / n : m;
    }
    /* F'(alpha) = eps - KL(q_alpha || uniform), KL decreasing in alpha from
     * ln(n/k) to 0: bisect KL(beta) = eps on log beta, beta = 1 / alpha,
     * from the bracket [2^-j, 2^j] / d grown until it holds the root. */
    double lse, blo = 1.0 / d, bhi = 1.0 / d;
    for (int j = 0; j < 1100 && tilt(l, n, m, blo, w, &lse) > eps; j++) blo *= 0.5;
    for (int j = 0; j < 1100 && tilt(l, n, m, bhi, w, &lse) < eps; j++) bhi *= 2.0;
    /* tolerance: bhi / blo <= 1 + 1e-12 (at most ~100 halvings of the log
     * interval); F is flat at its minimum, so F's error is second order */
    for (int it = 0; it < 200 && bhi > blo * (1.0 + 1e-12); it++) {
        double mid = sqrt(blo * bhi);
        if (tilt(l, n, m, mid, w, &lse) < eps) blo = mid;
        else bhi = mid;
    }
    double beta = sqrt(blo * bhi);
    tilt(l, n, m, beta, w, &lse);
    double alpha = 1.0 / beta;
    if (alpha_out) *alpha_out = alpha;
    /* alpha ln mean exp(l / alpha) = m + alpha lse */
    return m + alpha * lse + alpha * eps;
}

// F(alpha*) over the per-instance DFL losses l_i (or regrets: l_i minus the
// oracle's loss, a constant in y_i); dy_i = w_i relu'(y_i) tdl_provision_grad_i
// (the envelope theorem: alpha* is not differentiated)
double tdl_predictor_kldro_loss(const tdl_provision_params *pp, tdl_provision_rule rule,
                                double scale, double offset, double eps, int regret,
                                const float *y, const float *t, float *dy, double *work, int B,
                                double *alpha_out) {
    TDL_ASSERT(pp && y && t && dy && work && B >= 1 && scale > 0.0 && eps > 0.0,
               "predictor_kldro_loss: bad arguments");
    double *l = work, *w = work + B; /* (B) losses, (B) tilted weights */
    for (int i = 0; i < B; i++) {
        double yn = y[i] > 0.0f ? (double)y[i] : 0.0; /* relu; NaN stays NaN below */
        if (y[i] != y[i]) yn = y[i];
        double target = (double)t[i] * scale + offset;
        l[i] = tdl_provision_loss(pp, tdl_provision_decide(pp, rule, yn * scale + offset), target);
        if (regret) l[i] -= tdl_provision_loss(pp, tdl_provision_oracle(pp, rule, target), target);
    }
    double F = tdl_kldro_dual(l, B, eps, w, alpha_out);
    for (int i = 0; i < B; i++) {
        double yn = y[i] > 0.0f ? (double)y[i] : 0.0;
        double target = (double)t[i] * scale + offset;
        dy[i] = isfinite(F) && y[i] > 0.0f && w[i] > 0.0
                    ? (float)(w[i] * tdl_provision_grad(pp, rule, yn, target, scale, offset))
                    : 0.0f;
    }
    return F;
}
