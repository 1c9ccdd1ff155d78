/* diffusion_train_checkpoint.c: the DDPM trainer's state as one model file
 * (diffusion_train.h): a tdl-ddpm file (so `diffusion sample` can read a
 * checkpoint) with Adam's moments and the loop's state as metadata. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/diffusion_train.h"

enum { N_META = 20, VAL_CHARS = 64 };

typedef struct meta_list {
    char v[N_META][VAL_CHARS];
    const char *kv[2 * N_META];
    int n;
} meta_list;

static void put(meta_list *m, const char *key, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void put(meta_list *m, const char *key, const char *fmt, ...) {
    TDL_ASSERT(m->n < N_META, "checkpoint metadata overflow");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->v[m->n], VAL_CHARS, fmt, ap);
    va_end(ap);
    m->kv[2 * m->n] = key;
    m->kv[2 * m->n + 1] = m->v[m->n];
    m->n++;
}

/* The training summary every file of a run carries. */
static void put_summary(meta_list *m, const tdl_diffusion_trainer *t, const tdl_diffusion_data *d) {
    const tdl_diffusion_train_config *c = &t->cfg;
    put(m, "iters", "%" PRId64, c->iters);
    put(m, "batch", "%d", c->batch);
    put(m, "lr0", "%.17g", c->lr);
    put(m, "seed", "%" PRIu64, c->seed);
    put(m, "t_lo", "%d", c->t_lo);
    put(m, "t_hi", "%d", c->t_hi);
    put(m, "train_min", "%.17g", d->range.min);
    put(m, "train_max", "%.17g", d->range.max);
    put(m, "train_rows", "%zu", d->rows);
    put(m, "skipped", "%" PRId64, t->skipped);
    put(m, "loss", "%.17g", t->loss);
}

static tdl_status save(const tdl_diffusion_trainer *t, const char *path, const char *source,
                       const tdl_diffusion_data *d, int checkpoint) {
    meta_list m;
    m.n = 0;
    put_summary(&m, t, d);
    if (checkpoint) {
        put(&m, "iter", "%" PRId64, t->iter);
        put(&m, "adam_t", "%" PRId64, t->adam.t);
        char rng[TDL_RNG_STATE_CHARS];
        tdl_rng_format(&t->rng, rng);
        put(&m, "rng", "%s", rng);
    }
    m.kv[2 * m.n] = "train_source";
    m.kv[2 * m.n + 1] = source ? source : "";
    return tdl_ddpm_save(t->model, path, m.kv, m.n + 1, checkpoint);
}

tdl_status tdl_diffusion_checkpoint_save(const tdl_diffusion_trainer *t, const char *path,
                                         const char *train_source, const tdl_diffusion_data *d) {
    return save(t, path, train_source, d, 1);
}

tdl_status tdl_diffusion_model_save(const tdl_diffusion_trainer *t, const char *path,
                                    const char *train_source, const tdl_diffusion_data *d) {
    return save(t, path, train_source, d, 0);
}

/* Required metadata of a checkpoint (safetensors.h names the file in errors). */
static tdl_status meta_get(const tdl_safetensors *st, const char *path, const char *key,
                           const char **out) {
    return tdl_safetensors_meta_req(st, path, "diffusion training checkpoint", key, out);
}

static tdl_status meta_double(const tdl_safetensors *st, const char *path, const char *key,
                              double *out) {
    return tdl_safetensors_meta_double(st, path, "diffusion training checkpoint", key, out);
}

static tdl_status meta_i64(const tdl_safetensors *st, const char *path, const char *key,
                           int64_t lo, int64_t hi, int64_t *out) {
    return tdl_safetensors_meta_i64(st, path, "diffusion training checkpoint", key, lo, hi, out);
}

static tdl_status read_info(const tdl_safetensors *st, const char *path,
                            tdl_diffusion_checkpoint_info *in) {
    const char *s;
    int64_t x;
    int found;
    memset(in, 0, sizeof *in);
    TDL_TRY(tdl_ddpm_config_read(st, path, &in->mcfg, &found));
    if (!found) return tdl_error(TDL_ERR_FORMAT, "%s: not a tdl diffusion checkpoint", path);
    tdl_diffusion_train_config *c = &in->cfg;
    TDL_TRY(meta_i64(st, path, "iters", 1, INT64_MAX, &c->iters));
    TDL_TRY(meta_i64(st, path, "batch", 1, INT32_MAX, &x)); c->batch = (int)x;
    TDL_TRY(meta_double(st, path, "lr0", &c->lr));
    TDL_TRY(meta_i64(st, path, "seed", 0, INT64_MAX, &x)); c->seed = (uint64_t)x;
    TDL_TRY(meta_i64(st, path, "t_lo", 0, INT32_MAX, &x)); c->t_lo = (int)x;
    TDL_TRY(meta_i64(st, path, "t_hi", 0, INT32_MAX, &x)); c->t_hi = (int)x;
    if (tdl_diffusion_train_config_check(c, &in->mcfg) != TDL_OK)
        return tdl_error_context(TDL_ERR_FORMAT, "%s: bad training config", path);
    TDL_TRY(meta_i64(st, path, "iter", 0, INT64_MAX, &in->iter));
    TDL_TRY(meta_i64(st, path, "adam_t", 0, INT64_MAX, &in->adam_t));
    TDL_TRY(meta_i64(st, path, "skipped", 0, INT64_MAX, &in->skipped));
    TDL_TRY(meta_double(st, path, "loss", &in->loss));
    TDL_TRY(meta_get(st, path, "rng", &s));
    if (tdl_rng_parse(&in->rng, s) != TDL_OK)
        return tdl_error(TDL_ERR_FORMAT, "%s: bad RNG state '%s'", path, s);
    TDL_TRY(meta_double(st, path, "train_min", &in->range.min));
    TDL_TRY(meta_double(st, path, "train_max", &in->range.max));
    TDL_TRY(meta_i64(st, path, "train_rows", 0, INT64_MAX, &x)); in->rows = (size_t)x;
    TDL_TRY(meta_get(st, path, "train_source", &s));
    if (strlen(s) >= sizeof in->train_source)
        return tdl_error(TDL_ERR_FORMAT, "%s: training source name too long", path);
    strcpy(in->train_source, s);
    return TDL_OK;
}

tdl_status tdl_diffusion_trainer_resume(tdl_diffusion_trainer *t, tdl_ddpm *m, const char *path,
                                        tdl_diffusion_checkpoint_info *info) {
    tdl_safetensors st;
    memset(t, 0, sizeof *t);
    memset(m, 0, sizeof *m);
    TDL_TRY(tdl_safetensors_read(&st, path));
    tdl_status s = read_info(&st, path, info);
    if (s == TDL_OK) s = tdl_ddpm_load_from(m, &st, path, NULL, 1);
    tdl_safetensors_free(&st);
    if (s != TDL_OK) return s;
    TDL_TRY(tdl_diffusion_trainer_init(t, m, &info->cfg));
    t->iter = info->iter;
    t->adam.t = info->adam_t;
    t->skipped = info->skipped;
    t->loss = info->loss;
    t->rng = info->rng;
    return TDL_OK;
}
