/*
 * params.h: the parameter table.
 *
 * Every model keeps all of its tensors in one contiguous buffer, carved into
 * named tensors by a table of {name, shape, offset}. Gradients and Adam's two
 * moments use the same layout in three more buffers of the same size, so the
 * optimiser is one loop and a checkpoint is one table. Names are the PyTorch
 * state_dict names (../shared/spec/ *-params.txt files), so a model file written by
 * tdl opens in PyTorch and the other way round.
 *
 * Use: tdl_params_init, tdl_params_add for every tensor, tdl_params_alloc
 * (all four buffers zeroed), then tdl_params_data(p, "name") to fill weights.
 */
#ifndef TDL_PARAMS_H
#define TDL_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "tdl/safetensors.h"
#include "tdl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { TDL_PARAM_MAX_DIMS = 8, TDL_PARAM_NAME_MAX = 128 };

typedef struct tdl_param {
    char name[TDL_PARAM_NAME_MAX];
    int ndim;
    int64_t shape[TDL_PARAM_MAX_DIMS];
    size_t numel;
    size_t offset;  /* in floats, the same in param, grad, m and v */
    int trainable;  /* 0: a fixed buffer (e.g. a sinusoid table), skipped by Adam */
} tdl_param;

typedef struct tdl_params {
    tdl_param *items; /* (count) */
    int count;
    int cap;
    size_t total;     /* floats in each buffer */
    float *mem;       /* the one allocation: (4, total) */
    float *param;     /* (total) values */
    float *grad;      /* (total) gradients, same layout */
    float *m;         /* (total) Adam first moments */
    float *v;         /* (total) Adam second moments */
} tdl_params;

void tdl_params_init(tdl_params *p);

/* Append a tensor to the table (before tdl_params_alloc). Fails on a duplicate
 * or over-long name, or a bad shape. */
tdl_status tdl_params_add(tdl_params *p, const char *name, int ndim, const int64_t *shape,
                          int trainable);

/* Allocate the four buffers, zeroed. */
tdl_status tdl_params_alloc(tdl_params *p);

/* Index of name in the table, or -1. */
int tdl_params_find(const tdl_params *p, const char *name);

/* Value / gradient of tensor `name`; asserts that it exists. */
float *tdl_params_data(const tdl_params *p, const char *name);
float *tdl_params_gradient(const tdl_params *p, const char *name);

/* Number of trainable scalars. */
size_t tdl_params_trainable(const tdl_params *p);

void tdl_params_zero_grad(tdl_params *p);

/* 1 when every gradient of the trainable tensors is finite (what the
 * training loops check before an Adam step), else 0. */
int tdl_params_grads_finite(const tdl_params *p);

/* NULL-safe. */
void tdl_params_free(tdl_params *p);

/* The model-file format version tdl writes as metadata "tdl_format". */
#define TDL_FORMAT_VERSION 1

/* Save the values (and, with optimizer != 0, Adam's moments as
 * "adam.m.<name>" and "adam.v.<name>") with metadata pairs (the caller's
 * config, step, RNG state...; meta[2i] = key, meta[2i+1] = value), atomically.
 * "tdl_format" = TDL_FORMAT_VERSION is added to the metadata. */
tdl_status tdl_params_save(const tdl_params *p, const char *path, const char *const *meta,
                           int n_meta, int optimizer);

/* TDL_OK when every value is finite, else TDL_ERR_NUMERIC naming the first
 * tensor that holds a NaN or an infinity (its first such value and index). */
tdl_status tdl_params_check_finite(const tdl_params *p);

/* Load values (and moments with optimizer != 0) from an opened file: every
 * tensor of the table must be present with its exact shape, and the file
 * must hold no other tensors (TDL_ERR_SHAPE names the first mismatch). A file
 * without "tdl_format" (e.g. a PyTorch export) is accepted; one with a
 * version other than TDL_FORMAT_VERSION is refused (TDL_ERR_UNSUPPORTED).
 * A tensor (or moment) holding a NaN or an infinity is refused
 * (TDL_ERR_NUMERIC, naming it): such a model gives no usable forecast and
 * makes every training step skip. */
tdl_status tdl_params_load_from(tdl_params *p, const tdl_safetensors *st, int optimizer);

/* Read path and load it as above; messages start with the path. */
tdl_status tdl_params_load(tdl_params *p, const char *path, int optimizer);

#ifdef __cplusplus
}
#endif
#endif /* TDL_PARAMS_H */
