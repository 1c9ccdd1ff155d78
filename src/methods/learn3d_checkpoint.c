/* learn3d_checkpoint.c: 3D-Learning's whole state after an outer epoch as
 * one safetensors file (learn3d.h): the predictor, theta and theta0 with
 * their Adam moments, Z0 with its theta0 residuals, and as metadata mu, the
 * counters, both RNG positions and the config. Written atomically. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/learn3d.h"
#include "checkpoint_meta.h"
#include "learn3d_internal.h"

#define CKPT_KIND "tdl-3dl-checkpoint"
#define WHAT "3D-Learning checkpoint"

typedef struct entries {
    tdl_st_entry *e;
    char **names;
    int64_t *shapes; /* (cap, 3) */
    int n, cap;
} entries;

static int add(entries *E, const char *prefix, const char *name, int ndim, const int64_t *shape,
               const float *data) {
    if (E->n == E->cap) return -1;
    size_t len = strlen(prefix) + strlen(name) + 1;
    char *s = malloc(len);
    if (!s) return -1;
    snprintf(s, len, "%s%s", prefix, name);
    E->names[E->n] = s;
    E->e[E->n].name = s;
    E->e[E->n].ndim = ndim;
    E->e[E->n].shape = shape;
    E->e[E->n].data = data;
    E->n++;
    return 0;
}

/* values and moments of a table: PREFIX<name>, PREFIXadam.m.<name>, PREFIXadam.v.<name> */
static int add_params(entries *E, const char *prefix, const tdl_params *P, int moments) {
    char pm[64], pv[64];
    snprintf(pm, sizeof pm, "%sadam.m.", prefix);
    snprintf(pv, sizeof pv, "%sadam.v.", prefix);
    for (int i = 0; i < P->count; i++) {
        const tdl_param *it = &P->items[i];
        if (add(E, prefix, it->name, it->ndim, it->shape, P->param + it->offset)) return -1;
        if (moments && it->trainable &&
            (add(E, pm, it->name, it->ndim, it->shape, P->m + it->offset) ||
             add(E, pv, it->name, it->ndim, it->shape, P->v + it->offset)))
            return -1;
    }
    return 0;
}

static void entries_free(entries *E) {
    for (int i = 0; i < E->n; i++) free(E->names[i]);
    free(E->names);
    free(E->e);
    memset(E, 0, sizeof *E);
}

tdl_status tdl_3dl_checkpoint_save(const tdl_3dl *s, const char *path, const char *const *meta,
                                   int n_meta) {
    const tdl_params *PP = &s->pred->params, *PT = &s->theta->unet.params;
    entries E = {0};
    E.cap = 3 * PP->count + 4 * PT->count + 3;
    E.e = calloc((size_t)E.cap, sizeof *E.e);
    E.names = calloc((size_t)E.cap, sizeof *E.names);
    if (!E.e || !E.names) {
        entries_free(&E);
        return tdl_error(TDL_ERR_NOMEM, "checkpoint table");
    }
    const tdl_3dl_z0 *z = &s->z0;
    int64_t sh_states[3] = {z->N, (int64_t)z->K + 1, (int64_t)z->D};
    int64_t sh_resid[3] = {z->N, s->plan.n, (int64_t)z->D};
    int64_t sh_images[2] = {z->N, (int64_t)z->D};
    /* theta0 shares theta's table: its values come from s->theta0 */
    int bad = add_params(&E, "pred.", PP, 1) || add_params(&E, "theta.", PT, 1);
    for (int i = 0; i < PT->count && !bad; i++) {
        const tdl_param *it = &PT->items[i];
        bad = add(&E, "theta0.", it->name, it->ndim, it->shape, s->theta0 + it->offset);
    }
    bad = bad || add(&E, "", "z0.states", 3, sh_states, z->states) ||
          add(&E, "", "z0.resid0", 3, sh_resid, z->resid0) ||
          add(&E, "", "z0.images", 2, sh_images, z->images);
    if (bad) {
        entries_free(&E);
        return tdl_error(TDL_ERR_NOMEM, "checkpoint table");
    }

    tdl_meta_list m;
    m.n = 0;
    const tdl_3dl_config *c = &s->cfg;
    char unet[TDL_UNET_CONFIG_CHARS], rng[TDL_RNG_STATE_CHARS], prng[TDL_RNG_STATE_CHARS];
    tdl_unet_config_format(&s->theta->cfg.unet, unet);
    tdl_rng_format(&s->rng, rng);
    tdl_rng_format(&s->trainer.rng, prng);
    tdl_meta_put(&m, "kind", "%s", CKPT_KIND);
    tdl_meta_put(&m, "epoch", "%d", s->epoch);
    tdl_meta_put(&m, "mu", "%.17g", s->mu);
    tdl_meta_put(&m, "inner_iter", "%" PRId64, s->inner_iter);
    tdl_meta_put(&m, "inner_skipped", "%" PRId64, s->inner_skipped);
    tdl_meta_put(&m, "diff_adam_t", "%" PRId64, s->adam.t);
    tdl_meta_put(&m, "diff_adam_lr", "%.17g", s->adam.lr);
    tdl_meta_put(&m, "diff_sched_epoch", "%" PRId64, s->sched.epoch);
    tdl_meta_put_ref(&m, "rng", rng);
    tdl_meta_put(&m, "pred_epoch", "%d", s->trainer.epoch);
    tdl_meta_put(&m, "pred_steps", "%" PRId64, s->trainer.steps);
    tdl_meta_put(&m, "pred_skipped", "%" PRId64, s->trainer.skipped);
    tdl_meta_put(&m, "pred_adam_t", "%" PRId64, s->trainer.adam.t);
    tdl_meta_put(&m, "pred_adam_lr", "%.17g", s->trainer.adam.lr);
    tdl_meta_put(&m, "pred_sched_epoch", "%" PRId64, s->trainer.sched.epoch);
    tdl_meta_put_ref(&m, "pred_rng", prng);
    tdl_meta_put(&m, "outer", "%d", c->outer);
    tdl_meta_put(&m, "inner", "%d", c->inner);
    tdl_meta_put(&m, "z0_batches", "%d", c->z0_batches);
    tdl_meta_put(&m, "z0_images", "%d", c->z0_images);
    tdl_meta_put(&m, "tprime", "%d", c->tprime);
    tdl_meta_put(&m, "kappa", "%.17g", c->kappa);
    tdl_meta_put(&m, "budget", "%.17g", c->budget);
    tdl_meta_put(&m, "mu0", "%.17g", c->mu0);
    tdl_meta_put(&m, "eta_mu", "%.17g", c->eta_mu);
    tdl_meta_put(&m, "diff_lr", "%.17g", c->diff_lr);
    tdl_meta_put(&m, "diff_lr_step", "%d", c->diff_lr_step);
    tdl_meta_put(&m, "diff_lr_gamma", "%.17g", c->diff_lr_gamma);
    tdl_meta_put(&m, "schedule_once", "%d", c->schedule_once);
    tdl_meta_put(&m, "j_batch", "%d", c->j_batch);
    tdl_meta_put(&m, "pred_lr", "%.17g", c->pred_lr);
    tdl_meta_put(&m, "pred_batch", "%d", c->pred_batch);
    tdl_meta_put(&m, "pred_epochs", "%d", c->pred_epochs);
    tdl_meta_put(&m, "s_images", "%d", c->s_images);
    tdl_meta_put(&m, "objective", "%s", tdl_train_loss_name(c->objective));
    tdl_meta_put(&m, "adversary", "%d", c->adversary);
    tdl_meta_put(&m, "compat", "%d", c->compat);
    tdl_meta_put(&m, "seed", "%" PRIu64, c->seed);
    tdl_meta_put_provision(&m, c->rule, &c->pp);
    tdl_meta_put(&m, "train_min", "%.17g", s->train_range.min);
    tdl_meta_put(&m, "train_max", "%.17g", s->train_range.max);
    tdl_meta_put_ref(&m, "unet", unet);
    for (int i = 0; i < n_meta; i++) tdl_meta_put_ref(&m, meta[2 * i], meta[2 * i + 1]);
    tdl_status st = tdl_safetensors_write(path, E.e, E.n, m.kv, m.n);
    entries_free(&E);
    return st;
}

/* ---- reading ---- */

static tdl_status mreq(const tdl_safetensors *st, const char *path, const char *key,
                       const char **out) {
    return tdl_safetensors_meta_req(st, path, WHAT, key, out);
}
static tdl_status mdbl(const tdl_safetensors *st, const char *path, const char *key, double *out) {
    return tdl_safetensors_meta_double(st, path, WHAT, key, out);
}
static tdl_status mint(const tdl_safetensors *st, const char *path, const char *key, int64_t lo,
                       int64_t hi, int64_t *out) {
    return tdl_safetensors_meta_i64(st, path, WHAT, key, lo, hi, out);
}
static tdl_status mi(const tdl_safetensors *st, const char *path, const char *key, int lo, int hi,
                     int *out) {
    int64_t x;
    TDL_TRY(mint(st, path, key, lo, hi, &x));
    *out = (int)x;
    return TDL_OK;
}

tdl_status tdl_3dl_checkpoint_config(const tdl_safetensors *st, const char *path,
                                     tdl_3dl_config *c, tdl_range *train_range) {
    const char *s;
    tdl_3dl_config_default(c);
    TDL_TRY(mreq(st, path, "kind", &s));
    if (strcmp(s, CKPT_KIND) != 0)
        return tdl_error(TDL_ERR_FORMAT, "%s: kind '%s' is not a %s", path, s, WHAT);
    TDL_TRY(mi(st, path, "outer", 1, INT32_MAX, &c->outer));
    TDL_TRY(mi(st, path, "inner", 0, INT32_MAX, &c->inner));
    TDL_TRY(mi(st, path, "z0_batches", 1, INT32_MAX, &c->z0_batches));
    TDL_TRY(mi(st, path, "z0_images", 1, INT32_MAX, &c->z0_images));
    TDL_TRY(mi(st, path, "tprime", 2, TDL_3DL_MAX_TPRIME, &c->tprime));
    TDL_TRY(mdbl(st, path, "kappa", &c->kappa));
    TDL_TRY(mdbl(st, path, "budget", &c->budget));
    TDL_TRY(mdbl(st, path, "mu0", &c->mu0));
    TDL_TRY(mdbl(st, path, "eta_mu", &c->eta_mu));
    TDL_TRY(mdbl(st, path, "diff_lr", &c->diff_lr));
    TDL_TRY(mi(st, path, "diff_lr_step", 1, INT32_MAX, &c->diff_lr_step));
    TDL_TRY(mdbl(st, path, "diff_lr_gamma", &c->diff_lr_gamma));
    TDL_TRY(mi(st, path, "schedule_once", 0, 1, &c->schedule_once));
    TDL_TRY(mi(st, path, "j_batch", 1, INT32_MAX, &c->j_batch));
    TDL_TRY(mdbl(st, path, "pred_lr", &c->pred_lr));
    TDL_TRY(mi(st, path, "pred_batch", 1, INT32_MAX, &c->pred_batch));
    TDL_TRY(mi(st, path, "pred_epochs", 0, INT32_MAX, &c->pred_epochs));
    TDL_TRY(mi(st, path, "s_images", 1, INT32_MAX, &c->s_images));
    TDL_TRY(mreq(st, path, "objective", &s));
    if (tdl_train_loss_parse(s, &c->objective) != TDL_OK)
        return tdl_error(TDL_ERR_FORMAT, "%s: bad objective '%s'", path, s);
    TDL_TRY(mi(st, path, "adversary", 0, 1, &c->adversary));
    TDL_TRY(mi(st, path, "compat", 0, 1, &c->compat));
    int64_t seed;
    TDL_TRY(mint(st, path, "seed", 0, INT64_MAX, &seed));
    c->seed = (uint64_t)seed;
    TDL_TRY(tdl_meta_get_provision(st, path, WHAT, &c->rule, &c->pp));
    TDL_TRY(mdbl(st, path, "train_min", &train_range->min));
    TDL_TRY(mdbl(st, path, "train_max", &train_range->max));
    if (tdl_3dl_config_check(c, NULL) != TDL_OK)
        return tdl_error_context(TDL_ERR_FORMAT, "%s: the stated config", path);
    return TDL_OK;
}

/* Values (and trainable moments) of a table from PREFIX<name> tensors. */
static tdl_status get_params(const tdl_safetensors *st, const char *path, const char *prefix,
                             tdl_params *P, float *values, int moments) {
    char name[TDL_PARAM_NAME_MAX + 64];
    for (int i = 0; i < P->count; i++) {
        const tdl_param *it = &P->items[i];
        snprintf(name, sizeof name, "%s%s", prefix, it->name);
        tdl_status s = tdl_safetensors_get(st, name, values + it->offset, it->ndim, it->shape);
        if (s == TDL_OK && moments && it->trainable) {
            snprintf(name, sizeof name, "%sadam.m.%s", prefix, it->name);
            s = tdl_safetensors_get(st, name, P->m + it->offset, it->ndim, it->shape);
            if (s == TDL_OK) {
                snprintf(name, sizeof name, "%sadam.v.%s", prefix, it->name);
                s = tdl_safetensors_get(st, name, P->v + it->offset, it->ndim, it->shape);
            }
        }
        if (s != TDL_OK) return tdl_error_context(s, "%s", path);
    }
    return TDL_OK;
}

tdl_status tdl_3dl_resume(tdl_3dl *s, const char *path, tdl_predictor *p, tdl_ddpm *theta,
                          const tdl_diffusion_data *real) {
    tdl_safetensors st;
    memset(s, 0, sizeof *s);
    TDL_TRY(tdl_safetensors_read(&st, path));
    tdl_3dl_config c;
    tdl_range range;
    const char *u;
    char given[TDL_UNET_CONFIG_CHARS];
    tdl_unet_config_format(&theta->cfg.unet, given);
    tdl_status r = tdl_3dl_checkpoint_config(&st, path, &c, &range);
    if (r == TDL_OK) r = mreq(&st, path, "unet", &u);
    if (r == TDL_OK && strcmp(u, given) != 0)
        r = tdl_error(TDL_ERR_SHAPE, "%s: its diffusion network (%s) is not the one given (%s)",
                      path, u, given);
    if (r == TDL_OK) r = tdl_3dl_setup_for_resume(s, &c, p, range, theta, real);
    if (r != TDL_OK) {
        tdl_safetensors_free(&st);
        return r;
    }
    const tdl_3dl_z0 *z = &s->z0;
    int64_t sh_states[3] = {z->N, (int64_t)z->K + 1, (int64_t)z->D};
    int64_t sh_resid[3] = {z->N, s->plan.n, (int64_t)z->D};
    int64_t sh_images[2] = {z->N, (int64_t)z->D};
    r = get_params(&st, path, "pred.", &p->params, p->params.param, 1);
    if (r == TDL_OK) r = get_params(&st, path, "theta.", &theta->unet.params,
                                    theta->unet.params.param, 1);
    if (r == TDL_OK) r = get_params(&st, path, "theta0.", &theta->unet.params, s->theta0, 0);
    if (r == TDL_OK) r = tdl_safetensors_get(&st, "z0.states", z->states, 3, sh_states);
    if (r == TDL_OK) r = tdl_safetensors_get(&st, "z0.resid0", z->resid0, 3, sh_resid);
    if (r == TDL_OK) r = tdl_safetensors_get(&st, "z0.images", z->images, 2, sh_images);
    const char *v;
    int64_t x;
#define I64(key, lo, hi, dst) if (r == TDL_OK) { r = mint(&st, path, key, lo, hi, &x); dst = x; }
#define DBL(key, dst) if (r == TDL_OK) r = mdbl(&st, path, key, &dst);
    I64("epoch", 0, c.outer, s->epoch);
    DBL("mu", s->mu);
    I64("inner_iter", 0, INT64_MAX, s->inner_iter);
    I64("inner_skipped", 0, INT64_MAX, s->inner_skipped);
    I64("diff_adam_t", 0, INT64_MAX, s->adam.t);
    DBL("diff_adam_lr", s->adam.lr);
    I64("diff_sched_epoch", 0, INT64_MAX, s->sched.epoch);
    I64("pred_epoch", 0, INT32_MAX, s->trainer.epoch);
    I64("pred_steps", 0, INT64_MAX, s->trainer.steps);
    I64("pred_skipped", 0, INT64_MAX, s->trainer.skipped);
    I64("pred_adam_t", 0, INT64_MAX, s->trainer.adam.t);
    DBL("pred_adam_lr", s->trainer.adam.lr);
    I64("pred_sched_epoch", 0, INT64_MAX, s->trainer.sched.epoch);
#undef I64
#undef DBL
    if (r == TDL_OK) r = mreq(&st, path, "rng", &v);
    if (r == TDL_OK && tdl_rng_parse(&s->rng, v) != TDL_OK)
        r = tdl_error(TDL_ERR_FORMAT, "%s: bad RNG state '%s'", path, v);
    if (r == TDL_OK) r = mreq(&st, path, "pred_rng", &v);
    if (r == TDL_OK && tdl_rng_parse(&s->trainer.rng, v) != TDL_OK)
        r = tdl_error(TDL_ERR_FORMAT, "%s: bad RNG state '%s'", path, v);
    tdl_safetensors_free(&st);
    if (r != TDL_OK) tdl_3dl_free(s);
    return r;
}
