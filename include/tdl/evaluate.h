/*
 * evaluate.h: a predictor's MSE and normalised regret on a test series
 * (spec sections 1-2), in inference mode (no dropout) unless the
 * authors' mode (dropout on, tdl_eval_options) is asked for.
 *
 * Protocols (spec section 2):
 *   authors   the test series (at most its first 100,000 values) normalised
 *             by its own range; forecasts and targets mapped to tokens with
 *             the TRAINING range (the authors' per-set rescaling, Table I).
 *   physical  the test values normalised with the training range (values
 *             outside it fall outside [0, 1]); tokens are the true tokens.
 * A test series that is the training series itself uses its 30% test split
 * (normalised by its own range, which is the training range: both
 * protocols agree there).
 *
 * Every row gives 21 instances (t = 7..27). Forecast tokens are
 * relu(output) mapped to tokens. Regret is reported pooled over all
 * instances and in the authors' per-(batch, step) form: batches of `batch`
 * rows in order, the last incomplete batch dropped (the authors' loaders),
 * one group per (batch, t); with fewer rows than a batch, one group of all
 * rows per step.
 */
#ifndef TDL_EVALUATE_H
#define TDL_EVALUATE_H

#include <stddef.h>
#include <stdint.h>

#include "tdl/noise.h"
#include "tdl/predictor.h"
#include "tdl/provision.h"
#include "tdl/series.h"
#include "tdl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tdl_eval_protocol {
    TDL_PROTOCOL_AUTHORS = 0,
    TDL_PROTOCOL_PHYSICAL
} tdl_eval_protocol;

const char *tdl_eval_protocol_name(tdl_eval_protocol p);
tdl_status tdl_eval_protocol_parse(const char *name, tdl_eval_protocol *p);

/* The normalised test rows of a raw test series. is_train != 0: raw is the
 * training series itself (its test split is used). *rows (R, 28) is
 * allocated (free()); fails when there is no full row of 28, and
 * (TDL_ERR_INVALID) when a series normalised by its own range (the training
 * series, or a test series under the authors' protocol) is constant. */
tdl_status tdl_eval_rows(float **rows, size_t *R, const tdl_series *raw, int is_train,
                         tdl_range train_range, tdl_eval_protocol protocol);

/* tdl_eval_rows with the test values corrupted (noise.h, Fig. 2): after the
 * normalisation above, the values that make the rows (the R * 28 values of
 * the test split when is_train, else the first R * 28 used values) go
 * through tdl_series_corrupt(c, seed) before they become rows. c NULL: no
 * corruption, exactly tdl_eval_rows. Under the physical protocol the
 * Gaussian corruption clips to [0, 1] like the generator, so values outside
 * the training range end at its edge. */
tdl_status tdl_eval_rows_corrupt(float **rows, size_t *R, const tdl_series *raw, int is_train,
                                 tdl_range train_range, tdl_eval_protocol protocol,
                                 const tdl_corrupt_spec *c, uint64_t seed);

typedef struct tdl_eval_result {
    size_t rows;            /* test rows */
    size_t instances;       /* 21 per row */
    double mse;             /* mean (output - target)^2, normalised units */
    double regret_pooled;   /* tdl_provision_regret_pooled over all instances */
    double regret_grouped;  /* tdl_provision_regret_grouped, the authors' form */
} tdl_eval_result;

/* How the predictor runs during evaluation. Zero-initialised = inference
 * mode (spec section 3, the default).
 *   dropout != 0: the forward runs in training mode with the model's
 *     dropout p (dropout on), as the authors' evaluation does (it never
 *     leaves training mode, so Table I's regrets carry dropout noise). Kept
 *     only to explain gaps to Table I.
 *   seed: the masks' Philox key. The masks for step t (7..27) come from
 *     stream t - 7 of seed; the rows go through the predictor in fixed
 *     chunks of TDL_EVAL_CHUNK and a chunk starting at row r0 draws from
 *     position r0 * (T H1 + H2). So the numbers are a function of (seed,
 *     rows) and the thread count (as in inference mode), do not depend on
 *     other test sets, and a row's masks depend only on its index, except
 *     that in the last, shorter chunk the second layer's masks also depend
 *     on that chunk's length (the predictor draws them after the first
 *     layer's for the whole chunk). */
typedef struct tdl_eval_options {
    int dropout;   /* 0 = inference (default), 1 = the authors' mode */
    uint64_t seed; /* dropout masks (used only with dropout) */
    /* NULL (default), or (R, 21): the forecasts in tokens (relu(output)
     * mapped with the training range), row by row, t = 7..27, for comparing
     * with the serving path (`tdl eval --forecasts`). */
    double *forecasts;
} tdl_eval_options;

enum { TDL_EVAL_CHUNK = 256 }; /* rows per predictor pass */

/* Evaluate p on rows (R, 28) (normalised as tdl_eval_rows made them).
 * train_range maps forecasts and targets to tokens under the authors'
 * protocol; under the physical protocol it is also the range the rows were
 * normalised with, so the same mapping gives the true tokens. Fails
 * (TDL_ERR_INVALID) for a train_range of zero width (tdl_range_check) and
 * (TDL_ERR_NUMERIC) when a forecast is not finite: relu would make NaN or
 * -inf a 0 and the regret plausible. */
tdl_status tdl_evaluate(tdl_predictor *p, const float *rows, size_t R, tdl_range train_range,
                        const tdl_provision_params *pp, tdl_provision_rule rule, int batch,
                        tdl_eval_result *out);

/* tdl_evaluate with options (NULL = inference mode, as tdl_evaluate). */
tdl_status tdl_evaluate_opts(tdl_predictor *p, const float *rows, size_t R,
                             tdl_range train_range, const tdl_provision_params *pp,
                             tdl_provision_rule rule, int batch, const tdl_eval_options *opt,
                             tdl_eval_result *out);

#ifdef __cplusplus
}
#endif
#endif /* TDL_EVALUATE_H */
