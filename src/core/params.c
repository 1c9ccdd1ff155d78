/* params.c: the parameter table and its safetensors save/load. */
#include "tdl/params.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tdl_params_init(tdl_params *p) { memset(p, 0, sizeof *p); }

tdl_status tdl_params_add(tdl_params *p, const char *name, int ndim, const int64_t *shape,
                          int trainable) {
    TDL_ASSERT(p->mem == NULL, "tdl_params_add after tdl_params_alloc");
    size_t len = strlen(name);
    /* Room for the "adam.m." prefix of checkpoints. */
    if (len == 0 || len + 8 >= TDL_PARAM_NAME_MAX)
        return tdl_error(TDL_ERR_INVALID, "parameter name '%s' is empty or too long", name);
    if (tdl_params_find(p, name) >= 0)
        return tdl_error(TDL_ERR_INVALID, "parameter '%s' added twice", name);
    if (ndim < 0 || ndim > TDL_PARAM_MAX_DIMS)
        return tdl_error(TDL_ERR_INVALID, "parameter '%s': %d dimensions", name, ndim);
    size_t numel = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] <= 0 || (size_t)shape[d] > ((size_t)1 << 40) / numel)
            return tdl_error(TDL_ERR_INVALID, "parameter '%s': bad dimension %lld", name,
                             (long long)shape[d]);
        numel *= (size_t)shape[d];
    }
    if (p->count == p->cap) {
        int cap = p->cap ? 2 * p->cap : 32;
        tdl_param *items = realloc(p->items, (size_t)cap * sizeof *items);
        if (!items) return tdl_error(TDL_ERR_NOMEM, "out of memory");
        p->items = items;
        p->cap = cap;
    }
    tdl_param *t = &p->items[p->count++];
    memset(t, 0, sizeof *t);
    memcpy(t->name, name, len + 1);
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++) t->shape[d] = shape[d];
    t->numel = numel;
    t->offset = p->total;
    t->trainable = trainable != 0;
    /* Keep every tensor 16-float (64-byte) aligned inside the buffer. */
    p->total += (numel + 15) / 16 * 16;
    return TDL_OK;
}

tdl_status tdl_params_alloc(tdl_params *p) {
    TDL_ASSERT(p->mem == NULL, "tdl_params_alloc called twice");
    size_t total = p->total ? p->total : 16;
    /* 64-byte alignment; total is a multiple of 16 floats so all four are aligned. */
    p->mem = aligned_alloc(64, 4 * total * sizeof(float));
    if (!p->mem)
        return tdl_error(TDL_ERR_NOMEM, "out of memory for %zu parameters", p->total);
    memset(p->mem, 0, 4 * total * sizeof(float));
    p->param = p->mem;
    p->grad = p->mem + total;
    p->m = p->mem + 2 * total;
    p->v = p->mem + 3 * total;
    return TDL_OK;
}

int tdl_params_find(const tdl_params *p, const char *name) {
    for (int i = 0; i < p->count; i++)
        if (strcmp(p->items[i].name, name) == 0) return i;
    return -1;
}

float *tdl_params_data(const tdl_params *p, const char *name) {
    int i = tdl_params_find(p, name);
    TDL_ASSERT(i >= 0 && p->mem, "no parameter '%s' (or table not allocated)", name);
    return p->param + p->items[i].offset;
}

float *tdl_params_gradient(const tdl_params *p, const char *name) {
    int i = tdl_params_find(p, name);
    TDL_ASSERT(i >= 0 && p->mem, "no parameter '%s' (or table not allocated)", name);
    return p->grad + p->items[i].offset;
}

size_t tdl_params_trainable(const tdl_params *p) {
    size_t n = 0;
    for (int i = 0; i < p->count; i++)
        if (p->items[i].trainable) n += p->items[i].numel;
    return n;
}

void tdl_params_zero_grad(tdl_params *p) {
    if (p->grad) memset(p->grad, 0, p->total * sizeof(float));
}

/* 1 when every gradient of the trainable tensors is finite. g - g is 0 for
 * a finite g and NaN for an infinity or a NaN, and a sum with a NaN term is
 * NaN in any order: one vector reduction instead of a test per element. */
int tdl_params_grads_finite(const tdl_params *p) {
    for (int i = 0; i < p->count; i++) {
        if (!p->items[i].trainable) continue;
        const float *g = p->grad + p->items[i].offset;
        const size_t n = p->items[i].numel;
        float acc = 0.0f;
        #pragma omp simd reduction(+ : acc)
        for (size_t k = 0; k < n; k++) acc += g[k] - g[k];
        if (acc != 0.0f) return 0;
    }
    return 1;
}

void tdl_params_free(tdl_params *p) {
    if (!p) return;
    free(p->items);
    free(p->mem);
    memset(p, 0, sizeof *p);
}

static const char *const moment_prefix[2] = {"adam.m.", "adam.v."};

tdl_status tdl_params_save(const tdl_params *p, const char *path, const char *const *meta,
                           int n_meta, int optimizer) {
    TDL_ASSERT(p->mem, "tdl_params_save before tdl_params_alloc");
    int n = p->count * (optimizer ? 3 : 1);
    tdl_st_entry *e = calloc((size_t)(n ? n : 1), sizeof *e);
    char(*names)[TDL_PARAM_NAME_MAX + 8] = calloc((size_t)(n ? n : 1), sizeof *names);
    if (!e || !names) {
        free(e);
        free(names);
        return tdl_error(TDL_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < p->count; i++) {
        const tdl_param *t = &p->items[i];
        e[i] = (tdl_st_entry){t->name, t->ndim, t->shape, p->param + t->offset};
        if (!optimizer) continue;
        for (int k = 0; k < 2; k++) {
            int j = p->count * (1 + k) + i;
            snprintf(names[j], sizeof names[j], "%s%s", moment_prefix[k], t->name);
            e[j] = (tdl_st_entry){names[j], t->ndim, t->shape,
                                  (k == 0 ? p->m : p->v) + t->offset};
        }
    }
    /* Metadata: tdl_format first, then the caller's pairs. */
    const char **m = calloc((size_t)(2 * n_meta + 2), sizeof *m);
    tdl_status s;
    if (!m) {
        s = tdl_error(TDL_ERR_NOMEM, "out of memory");
    } else {
        char version[16];
        snprintf(version, sizeof version, "%d", TDL_FORMAT_VERSION);
        int k = 0;
        m[k++] = "tdl_format";
        m[k++] = version;
        for (int i = 0; i < n_meta; i++) {
            if (strcmp(meta[2 * i], "tdl_format") == 0) continue;
            m[k++] = meta[2 * i];
            m[k++] = meta[2 * i + 1];
        }
        s = tdl_safetensors_write(path, e, n, m, k / 2);
    }
    free(m);
    free(e);
    free(names);
    return s;
}

/* TDL_ERR_NUMERIC naming `name` and the first value of x (n) that is not
 * finite, with the count of such values. */
static tdl_status check_finite(const char *name, const float *x, size_t n) {
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]) && bad++ == 0) first = i;
    if (!bad) return TDL_OK;
    return tdl_error(TDL_ERR_NUMERIC, "tensor '%s' holds %zu value%s that %s not finite (%g at "
                     "index %zu): the run that wrote it diverged, or the file is corrupt",
                     name, bad, bad == 1 ? "" : "s", bad == 1 ? "is" : "are", (double)x[first],
                     first);
}

tdl_status tdl_params_check_finite(const tdl_params *p) {
    TDL_ASSERT(p->mem, "tdl_params_check_finite before tdl_params_alloc");
    for (int i = 0; i < p->count; i++)
        TDL_TRY(check_finite(p->items[i].name, p->param + p->items[i].offset, p->items[i].numel));
    return TDL_OK;
}

tdl_status tdl_params_load_from(tdl_params *p, const tdl_safetensors *st, int optimizer) {
    TDL_ASSERT(p->mem, "tdl_params_load before tdl_params_alloc");
    const char *format = tdl_safetensors_meta(st, "tdl_format");
    char version[16];
    snprintf(version, sizeof version, "%d", TDL_FORMAT_VERSION);
    if (format && strcmp(format, version) != 0)
        return tdl_error(TDL_ERR_UNSUPPORTED, "model file format %.32s, this tdl reads format %s "
                         "(written by another tdl version?)", format, version);
    int expected = p->count * (optimizer ? 3 : 1);
    for (int i = 0; i < p->count; i++) {
        const tdl_param *t = &p->items[i];
        TDL_TRY(tdl_safetensors_get(st, t->name, p->param + t->offset, t->ndim, t->shape));
        TDL_TRY(check_finite(t->name, p->param + t->offset, t->numel));
        if (!optimizer) continue;
        for (int k = 0; k < 2; k++) {
            char name[TDL_PARAM_NAME_MAX + 8];
            snprintf(name, sizeof name, "%s%s", moment_prefix[k], t->name);
            float *dst = (k == 0 ? p->m : p->v) + t->offset;
            TDL_TRY(tdl_safetensors_get(st, name, dst, t->ndim, t->shape));
            TDL_TRY(check_finite(name, dst, t->numel));
        }
    }
    if (st->count != expected) {
        /* Every expected tensor was found, so some file tensor is unknown. */
        for (int i = 0; i < st->count; i++) {
            const char *name = st->tensors[i].name;
            int known = tdl_params_find(p, name) >= 0;
            for (int k = 0; optimizer && !known && k < 2; k++) {
                size_t pl = strlen(moment_prefix[k]);
                known = strncmp(name, moment_prefix[k], pl) == 0 &&
                        tdl_params_find(p, name + pl) >= 0;
            }
            if (!known)
                return tdl_error(TDL_ERR_SHAPE, "unexpected tensor '%s' (the file holds %d "
                                 "tensors, the model %d)", name, st->count, expected);
        }
    }
    return TDL_OK;
}

tdl_status tdl_params_load(tdl_params *p, const char *path, int optimizer) {
    tdl_safetensors st;
    TDL_TRY(tdl_safetensors_read(&st, path));
    tdl_status s = tdl_params_load_from(p, &st, optimizer);
    tdl_safetensors_free(&st);
    if (s != TDL_OK) return tdl_error_context(s, "%s", path);
    return TDL_OK;
}
