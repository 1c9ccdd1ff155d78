/*
 * predictor.h: the workload predictor of spec section 3 (the authors'
 * DeepLSTM), shared by every method:
 *
 *   x (B, T, 1) -> LSTM(1 -> H1) -> LayerNorm(H1) at every step -> Dropout(p)
 *     -> LSTM(H1 -> H2) -> LayerNorm(H2) -> Dropout(p) -> last step
 *     -> Linear(H2 -> F) -> GELU (erf) -> Linear(F -> 1) -> y (B)
 *
 * with T = 7, H1 = 128, H2 = 64, F = 32, p = 0.3 by default. Parameters are
 * named as the PyTorch state_dict (lstm1.weight_ih_l0, norm1.weight, ...,
 * fc2.bias: ../shared/spec/predictor-params.txt), so a model file moves
 * between tdl and PyTorch unchanged. Inputs and outputs are in normalised
 * units (the training series' min-max range).
 */
#ifndef TDL_PREDICTOR_H
#define TDL_PREDICTOR_H

#include <stddef.h>
#include <stdint.h>

#include "tdl/params.h"
#include "tdl/provision.h"
#include "tdl/rng.h"
#include "tdl/series.h"
#include "tdl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tdl_predictor_config {
    int T;         /* input steps (7) */
    int H1, H2;    /* LSTM hidden sizes (128, 64) */
    int F;         /* hidden width of the head (32) */
    float dropout; /* drop probability in training (0.3) */
} tdl_predictor_config;

/* The paper's sizes. */
void tdl_predictor_config_default(tdl_predictor_config *c);

/* What serving a model needs besides its weights and sizes, kept in the
 * model file's metadata so that the file is self-contained: the training
 * series' range (inputs are normalised with it, forecasts mapped back to
 * tokens with it), the protocol's row length, the method that trained it and
 * the decision rule and constants it was trained for. The window is cfg.T.
 * Each part is optional: a file written before these keys existed, or a
 * PyTorch export, loads with has_range = 0, row_len = 0, method "" and
 * has_rule = 0, and the caller must get the range elsewhere (--train or
 * --range). Metadata keys: train_min, train_max, train_source, row_len,
 * method, and rule, eta, A, B, a_min, a_max, P_idle, P_act (the names the
 * training checkpoints use). */
enum { TDL_PREDICTOR_METHOD_CHARS = 32, TDL_PREDICTOR_SOURCE_CHARS = 1024 };

typedef struct tdl_predictor_meta {
    int has_range;          /* range below is known */
    tdl_range range;        /* the training series' min and max, tokens (max > min) */
    int row_len;            /* slots per row of the training protocol (28); 0 unknown */
    char method[TDL_PREDICTOR_METHOD_CHARS];          /* "dfl", "mse", "3dl", ...; "" unknown */
    char train_source[TDL_PREDICTOR_SOURCE_CHARS];    /* the SOURCE as given; "" unknown */
    int has_rule;                   /* rule and pp below are known */
    tdl_provision_rule rule;        /* the decision rule the model was trained for */
    tdl_provision_params pp;        /* and its constants (passed tdl_provision_check) */
} tdl_predictor_meta;

typedef struct tdl_predictor {
    tdl_predictor_config cfg;
    tdl_params params; /* values, gradients and Adam moments, PyTorch names */
    tdl_predictor_meta meta; /* written by tdl_predictor_save, read by _load; zeroed by _init */
} tdl_predictor;

/* Build the table and initialise it with PyTorch's default distributions
 * from seed: LSTM and Linear weights and biases U(-1/sqrt(fan), 1/sqrt(fan))
 * (fan = hidden size for LSTM, in-features for Linear), LayerNorm 1 and 0. */
tdl_status tdl_predictor_init(tdl_predictor *p, const tdl_predictor_config *cfg, uint64_t seed);

/* NULL-safe. */
void tdl_predictor_free(tdl_predictor *p);

/* Weights from / to a safetensors file (exact names and shapes; the config
 * and p->meta are stored in the metadata and checked on load: a key that is
 * present must parse and be valid, e.g. train_min < train_max, both finite,
 * and the rule's constants must pass tdl_provision_check; TDL_ERR_FORMAT
 * names the file and the key otherwise). */
tdl_status tdl_predictor_load(tdl_predictor *p, const char *path);
tdl_status tdl_predictor_save(const tdl_predictor *p, const char *path);

/* Record where a trained model comes from (p->meta, saved with it): the
 * method's name, the training SOURCE, its range, the row length
 * TDL_ROW_LEN, the rule and constants. TDL_ERR_INVALID for a range that is
 * not finite with max > min, constants that fail tdl_provision_check, or a
 * method or source longer than the fields hold. */
tdl_status tdl_predictor_set_origin(tdl_predictor *p, const char *method, const char *source,
                                    tdl_range range, tdl_provision_rule rule,
                                    const tdl_provision_params *pp);

/* Activations of one forward pass for up to B rows, kept for backward;
 * owned by the caller, allocated once (no allocation per step). */
typedef struct tdl_predictor_cache tdl_predictor_cache;
tdl_status tdl_predictor_cache_init(tdl_predictor_cache **c, const tdl_predictor_config *cfg,
                                    int B);
void tdl_predictor_cache_free(tdl_predictor_cache *c);

/* y (B) = predictor(x (B, T, 1)). train != 0 applies dropout with masks
 * drawn from rng (which advances); train == 0 is inference (rng unused). */
void tdl_predictor_forward(tdl_predictor *p, tdl_predictor_cache *c, const float *x, float *y,
                           int B, int train, tdl_rng *rng);

/* Given dy (B) = dLoss/dy for the last forward, ADD the parameter gradients
 * into p->params.grad (the caller zeroes them). */
void tdl_predictor_backward(tdl_predictor *p, tdl_predictor_cache *c, const float *dy, int B);

/* The gradient with respect to the inputs: given dy (B) = dLoss/dy for the
 * last forward, WRITE dx (B, T, 1) = dLoss/dx (overwritten, not added), through
 * the same dropout masks in training mode. With params != 0 the parameter
 * gradients are also ADDED into p->params.grad, as tdl_predictor_backward
 * does (equal up to float32 summation order); with params == 0 p->params.grad
 * is not touched and the weight-gradient products are skipped (what an attack
 * on the inputs needs, e.g. W-DRO: include/tdl/wdro.h). tdl_predictor_backward
 * itself never computes dx. */
void tdl_predictor_backward_input(tdl_predictor *p, tdl_predictor_cache *c, const float *dy,
                                  float *dx, int B, int params);

/* Streaming inference for serving: one series, one value at a time. After
 * each value x (normalised units) the predictor's output (inference mode)
 * on the window of the last T values, as tdl_predictor_forward on that
 * window would give it, to float rounding (the products are summed in
 * another order than OpenBLAS's). The T windows in flight are kept and
 * advanced together, so a value costs one window's work with the weights
 * read once (predictor_stream.c). The stream holds a packed copy of
 * the weights (the predictor may be freed after init) and every buffer it
 * needs: push allocates nothing, uses no OpenMP, no BLAS and no global
 * state, so several streams run on several threads at once (one thread per
 * stream at a time). */
typedef struct tdl_predictor_stream tdl_predictor_stream;
tdl_status tdl_predictor_stream_init(tdl_predictor_stream **s, const tdl_predictor *p);
void tdl_predictor_stream_free(tdl_predictor_stream *s); /* NULL-safe */
/* Forget every value pushed (a new series). */
void tdl_predictor_stream_reset(tdl_predictor_stream *s);
/* Push x; once T values have been pushed since the reset, write *y (the raw
 * output, normalised units, before relu) and return 1, else return 0. */
int tdl_predictor_stream_push(tdl_predictor_stream *s, float x, float *y);
/* Values pushed since the reset. */
int64_t tdl_predictor_stream_pushed(const tdl_predictor_stream *s);

/* Losses on a batch of outputs y (B) against targets t (B), both normalised;
 * each returns the mean loss and writes dy (B) = dLoss/dy.
 *   MSE: mean (y - t)^2.
 *   DFL: mean L(x*(tokens(relu(y))), tokens(t)), tokens(v) = v * scale + offset
 *        (the training range), x* the decision rule; dy from
 *        tdl_provision_grad (zero where relu clips). */
double tdl_predictor_mse_loss(const float *y, const float *t, float *dy, int B);
double tdl_predictor_dfl_loss(const tdl_provision_params *pp, tdl_provision_rule rule,
                              double scale, double offset, const float *y, const float *t,
                              float *dy, int B);

/* KL-DRO (Hu and Hong; spec section 6): the worst-case mean of the losses
 * l (n) over the distributions q on the n instances with KL(q || uniform)
 * <= eps (eps > 0), through the dual
 *   F(alpha) = alpha ln mean_i exp(l_i / alpha) + alpha eps,
 * minimised over alpha > 0 (log-sum-exp shifted by max l, so losses of any
 * magnitude are safe). F is convex and F'(alpha) = eps - KL(q_alpha ||
 * uniform) with q_alpha = softmax(l / alpha); the search bisects that
 * derivative's root on log alpha (bracket grown by factors of 2 from the
 * loss spread, stopped at a relative width 1e-12), so F is found to about
 * 1e-12 relative. A search and not a learned alpha: a learned alpha needs
 * its own rate and lags the batch, the search gives each batch its own
 * optimum for ~100 cheap passes over n numbers.
 * Writes the tilted weights w (n) = q_alpha* (the maximising distribution;
 * they sum to 1) and *alpha_out = alpha* (may be NULL). Limits: when eps >=
 * ln(n/k), k the number of maxima (or all losses equal), the optimum is
 * alpha -> 0: F = max l (the mean when all are equal), w uniform on the
 * maxima, *alpha_out = 0. A non-finite loss: NaN, *alpha_out NaN. */
double tdl_kldro_dual(const double *l, int n, double eps, double *w, double *alpha_out);

/* The KL-DRO training loss: l_i = the DFL per-instance loss
 * L(x*(tokens(relu(y_i))), tokens(t_i)) (as tdl_predictor_dfl_loss), the
 * value F(alpha*) of tdl_kldro_dual, and by the envelope theorem dy_i =
 * w_i dl_i/dy_i (w the tilted weights; zero where relu clips). With w_i =
 * 1/B this would be the DFL gradient. regret != 0 tilts the per-instance
 * regrets instead, l_i - L(oracle(t_i), t_i): the same gradient per
 * instance (the oracle's loss does not depend on y_i), other weights (the
 * losses alone rank the instances by workload, since the utility grows
 * with it, and the worst case over a wide ball sits on the smallest
 * workloads; the regrets rank them by the decision's error). NaN when a
 * loss is not finite (the trainer skips the step). work (2B) is the
 * caller's scratch (allocated once: nothing is allocated per step). */
double tdl_predictor_kldro_loss(const tdl_provision_params *pp, tdl_provision_rule rule,
                                double scale, double offset, double eps, int regret,
                                const float *y, const float *t, float *dy, double *work, int B,
                                double *alpha_out);

#ifdef __cplusplus
}
#endif
#endif /* TDL_PREDICTOR_H */
