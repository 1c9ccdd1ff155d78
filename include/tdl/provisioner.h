/*
 * provisioner.h: serving a trained predictor beside an inference service
 * (issue 13). One handle per stream of time slots: after each slot, push
 * the tokens it served; once the window holds T slots (7), every push gives
 * the forecast and the capacity for the next slot.
 *
 *   tdl_provisioner *pv;
 *   if (tdl_provisioner_open(&pv, "model.safetensors", NULL) != TDL_OK)
 *       fprintf(stderr, "%s\n", tdl_last_error());
 *   for each finished slot:
 *       tdl_provisioner_decision d;
 *       if (tdl_provisioner_push(pv, tokens, &d) == TDL_OK && d.ready)
 *           set the capacity of slot d.slot to d.capacity;
 *   tdl_provisioner_close(pv);
 *
 * What a decision is. The tokens y of a slot are normalised with the
 * training range, z = (y - min) / (max - min), as float (the physical
 * protocol of spec section 2: serving cannot know a stream's own range in
 * advance); the predictor runs on the last T values in inference mode;
 * forecast = relu(output) (max - min) + min tokens; capacity = the decision
 * rule applied to the forecast (provision.h). The forecast equals what
 * `tdl eval --protocol physical` computes for the same window, to float
 * rounding (predictor.h, tdl_predictor_stream).
 *
 * The range, rule and constants: the model file records them
 * (predictor.h, tdl_predictor_meta); options override each. A model file
 * that records no range (written before tdl recorded it, or a PyTorch
 * export) needs options.range, else open fails saying so. A file that is
 * not a predictor (a diffusion model, a checkpoint, a corrupt file) is
 * refused with the loader's message.
 *
 * Threads and memory: open allocates everything a handle needs (a packed
 * copy of the weights, about 0.5 MB at the paper's sizes, and the state of
 * the T windows in flight); push allocates nothing and touches no global
 * state (no OpenMP, no BLAS, no thread count), so several handles are used
 * from several threads at once. One handle must not be used by two threads
 * at the same time. Errors: a tdl_status and the thread's message
 * (tdl_last_error()); the library never exits.
 */
#ifndef TDL_PROVISIONER_H
#define TDL_PROVISIONER_H

#include <stddef.h>
#include <stdint.h>

#include "tdl/predictor.h"
#include "tdl/provision.h"
#include "tdl/series.h"
#include "tdl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tdl_provisioner tdl_provisioner;

/* How to serve. Zero-initialised (or tdl_provisioner_options_default) =
 * everything from the model file: its range, its rule and constants (when
 * it records none: the exact rule and the authors' constants). */
typedef struct tdl_provisioner_options {
    int rule_given;          /* 1: use rule below instead of the model's */
    tdl_provision_rule rule;
    int pp_given;            /* 1: use pp below instead of the model's constants */
    tdl_provision_params pp;
    int range_given;         /* 1: use range below instead of the model's */
    tdl_range range;         /* tokens, finite, max > min */
} tdl_provisioner_options;

void tdl_provisioner_options_default(tdl_provisioner_options *o);

/* What a handle serves with. */
typedef struct tdl_provisioner_info {
    int window;               /* T: slots pushed before the first decision */
    tdl_range range;          /* the training range in use */
    tdl_provision_rule rule;  /* the rule in use */
    tdl_provision_params pp;  /* the constants in use */
    tdl_predictor_meta model; /* what the model file records */
} tdl_provisioner_info;

/* Open a handle on the predictor in model_path (opt NULL = defaults).
 * TDL_ERR_IO / FORMAT / SHAPE from the loader (a missing, corrupt or
 * non-predictor file), TDL_ERR_INVALID for a range that is missing or bad
 * or constants that fail tdl_provision_check, TDL_ERR_NOMEM. */
tdl_status tdl_provisioner_open(tdl_provisioner **out, const char *model_path,
                                const tdl_provisioner_options *opt);

/* The same on a predictor already in memory (copied: p may be freed after). */
tdl_status tdl_provisioner_open_predictor(tdl_provisioner **out, const tdl_predictor *p,
                                          const tdl_provisioner_options *opt);

/* NULL-safe. */
void tdl_provisioner_close(tdl_provisioner *p);

void tdl_provisioner_get_info(const tdl_provisioner *p, tdl_provisioner_info *out);

/* The decision for the next slot. */
typedef struct tdl_provisioner_decision {
    int ready;        /* 0 while fewer than T slots have been pushed: no decision yet */
    int64_t slot;     /* the slot it is for: the number of slots pushed so far (0-based index) */
    double forecast;  /* its forecast workload, tokens */
    double capacity;  /* the capacity to provision for it, tokens */
} tdl_provisioner_decision;

/* Push the tokens of the slot that just finished (finite, >= 0) and write
 * the decision for the next slot to *next (may be NULL; next->ready is 0
 * until T slots were pushed). TDL_ERR_INVALID for a negative, NaN or
 * infinite value or one whose normalised value overflows a float: nothing
 * changes (the window does not move). TDL_ERR_NUMERIC when the forecast
 * is not finite (a model with non-finite weights): the slot was pushed, no
 * decision is ready. Allocates nothing. */
tdl_status tdl_provisioner_push(tdl_provisioner *p, double tokens, tdl_provisioner_decision *next);

/* The last decision (ready 0 when there is none). */
void tdl_provisioner_next(const tdl_provisioner *p, tdl_provisioner_decision *out);

/* Forget the slots pushed (a new stream); the model and options stay. */
void tdl_provisioner_reset(tdl_provisioner *p);

/* ---- backtest: a provisioner replayed over a recorded series ---- */

/* Which slots are decided and scored.
 *   ALL         every slot once the window is full: slots T .. n-1 (what a
 *               live service gets).
 *   EVAL        the instances `tdl eval` scores on a test series: its first
 *               100,000 values in rows of 28 (the tail dropped), positions
 *               T..27 of each row. With the physical protocol and the same
 *               range and rule, the normalised regret equals tdl eval's
 *               pooled regret to float rounding.
 *   EVAL_TRAIN  the same for the training series itself: the rows of its
 *               30% test split (tdl eval's split for its training source).
 * The stream runs over every value either way (a window never spans the
 * slots it should not: within a row the windows are the row's own). */
typedef enum tdl_backtest_slots {
    TDL_BACKTEST_ALL = 0,
    TDL_BACKTEST_EVAL,
    TDL_BACKTEST_EVAL_TRAIN
} tdl_backtest_slots;

/* "all" / "eval" / "eval-train". */
const char *tdl_backtest_slots_name(tdl_backtest_slots s);

/* One scored slot. */
typedef struct tdl_backtest_slot {
    int64_t slot;            /* index in the series */
    double actual;           /* its workload, tokens */
    double forecast;         /* tokens */
    double capacity;         /* the rule on the forecast, tokens */
    double loss;             /* L(capacity, actual), spec section 1 */
    double oracle_capacity;  /* the rule on the actual workload */
    double oracle_loss;      /* L(oracle_capacity, actual) */
} tdl_backtest_slot;

/* Totals over the scored slots of one provisioning policy (the model's
 * decisions, or the oracle's). Tokens: workload y, capacity x. Cost units
 * (spec section 1, normalised by n()): cost = c_act min(n(x), n(y)) +
 * c_idle max(n(x) - n(y), 0), utility = s(min(n(x)/n(y), 1)) n(y), loss L =
 * (1 - eta) cost - eta utility (the objective; lower is better). */
typedef struct tdl_backtest_totals {
    double capacity;        /* sum x */
    double served;          /* sum min(x, y) */
    double unserved;        /* sum max(y - x, 0): tokens under-provisioned */
    double idle;            /* sum max(x - y, 0): tokens over-provisioned */
    int64_t under_slots;    /* slots with x < y */
    double mean_over;       /* idle / slots: mean over-provisioning, tokens per slot */
    double cost, utility, loss; /* sums in cost units */
} tdl_backtest_totals;

typedef struct tdl_backtest_result {
    tdl_backtest_slots which;
    size_t values;           /* values of the series */
    size_t slots;            /* slots scored */
    double workload;         /* sum y over them, tokens */
    tdl_backtest_totals model, oracle;
    double regret;           /* model.loss - oracle.loss (cost units, >= 0 for the exact rule) */
    double regret_normalised; /* regret / -oracle.loss: tdl eval's pooled form */
} tdl_backtest_result;

/* Replay the provisioner over tokens (n values, in order, from a reset
 * state; it is reset again at the end): decide every slot, score those of
 * `which`. slots (n) may be NULL, else receives the scored slots in order
 * (result->slots of them). TDL_ERR_INVALID for a bad value (naming its
 * index), no slot to score (a series shorter than the window or a row) or,
 * for EVAL/EVAL_TRAIN, a window T of 28 or more; TDL_ERR_NUMERIC for a
 * non-finite forecast or an oracle loss that does not sum below zero (every
 * workload at or below a_min: the normalised regret is undefined). */
tdl_status tdl_provisioner_backtest(tdl_provisioner *p, const double *tokens, size_t n,
                                    tdl_backtest_slots which, tdl_backtest_slot *slots,
                                    tdl_backtest_result *result);

#ifdef __cplusplus
}
#endif
#endif /* TDL_PROVISIONER_H */
