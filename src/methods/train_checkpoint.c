/* train_checkpoint.c: a trainer's state as one safetensors file (train.h):
 * the predictor's values and Adam moments plus the loop's counters, RNG
 * position and config (max_steps and adam_reset included) as metadata,
 * written atomically. Keys added later (steps, max_steps, adam_reset) are
 * optional on reading, so older checkpoints still resume. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/safetensors.h"
#include "tdl/train.h"

#define CKPT_KIND "tdl-train-checkpoint"

enum { N_META = 31, VAL_CHARS = 64 };

tdl_status tdl_trainer_checkpoint_save(const tdl_trainer *t, const char *path,
                                       const char *train_source, const tdl_train_data *d) {
    char v[N_META][VAL_CHARS];
    const char *meta[2 * N_META];
    int n = 0;
#define PUT(key, ...)                                   \
    do {                                                \
        snprintf(v[n], VAL_CHARS, __VA_ARGS__);         \
        meta[2 * n] = (key);                            \
        meta[2 * n + 1] = v[n];                         \
        n++;                                            \
    } while (0)
    const tdl_predictor_config *pc = &t->pred->cfg;
    const tdl_train_config *c = &t->cfg;
    PUT("kind", "%s", CKPT_KIND);
    PUT("epoch", "%d", t->epoch);
    PUT("adam_t", "%" PRId64, t->adam.t);
    PUT("lr", "%.17g", t->adam.lr);
    PUT("steplr_epoch", "%" PRId64, t->sched.epoch);
    PUT("steps", "%" PRId64, t->steps);
    PUT("skipped", "%" PRId64, t->skipped);
    tdl_rng_format(&t->rng, v[n]);
    meta[2 * n] = "rng";
    meta[2 * n + 1] = v[n];
    n++;
    PUT("loss", "%s", tdl_train_loss_name(c->loss));
    PUT("epochs", "%d", c->epochs);
    PUT("max_steps", "%" PRId64, c->max_steps);
    PUT("adam_reset", "%" PRId64, c->adam_reset);
    PUT("lr0", "%.17g", c->lr);
    PUT("batch", "%d", c->batch);
    PUT("lr_step", "%d", c->lr_step);
    PUT("lr_gamma", "%.17g", c->lr_gamma);
    PUT("seed", "%" PRIu64, c->seed);
    PUT("rule", "%s", tdl_provision_rule_name(c->rule));
    PUT("eta", "%.17g", c->pp.eta);
    PUT("A", "%.17g", c->pp.A);
    PUT("B", "%.17g", c->pp.B);
    PUT("a_min", "%.17g", c->pp.a_min);
    PUT("a_max", "%.17g", c->pp.a_max);
    PUT("P_idle", "%.17g", c->pp.P_idle);
    PUT("P_act", "%.17g", c->pp.P_act);
    PUT("T", "%d", pc->T);
    PUT("H1", "%d", pc->H1);
    PUT("H2", "%d", pc->H2);
    PUT("F", "%d", pc->F);
    PUT("dropout", "%.9g", (double)pc->dropout);
    PUT("train_min", "%.17g", d->range.min);
#undef PUT
    /* Two more pairs that do not fit the fixed-size values. */
    const char *all[2 * N_META + 6];
    memcpy(all, meta, sizeof(const char *) * 2 * (size_t)n);
    char maxv[VAL_CHARS], rowsv[VAL_CHARS];
    snprintf(maxv, sizeof maxv, "%.17g", d->range.max);
    snprintf(rowsv, sizeof rowsv, "%zu", d->R);
    all[2 * n] = "train_max"; all[2 * n + 1] = maxv;
    all[2 * n + 2] = "train_rows"; all[2 * n + 3] = rowsv;
    all[2 * n + 4] = "train_source"; all[2 * n + 5] = train_source ? train_source : "";
    TDL_ASSERT(n <= N_META, "checkpoint metadata overflow (%d)", n);
    return tdl_params_save(&t->pred->params, path, all, n + 3, 1);
}

/* Required metadata of a checkpoint (safetensors.h names the file in errors). */
static tdl_status meta_get(const tdl_safetensors *st, const char *path, const char *key,
                           const char **out) {
    return tdl_safetensors_meta_req(st, path, "tdl training checkpoint", key, out);
}

static tdl_status meta_double(const tdl_safetensors *st, const char *path, const char *key,
                              double *out) {
    return tdl_safetensors_meta_double(st, path, "tdl training checkpoint", key, out);
}

static tdl_status meta_i64(const tdl_safetensors *st, const char *path, const char *key,
                           int64_t lo, int64_t hi, int64_t *out) {
    return tdl_safetensors_meta_i64(st, path, "tdl training checkpoint", key, lo, hi, out);
}

/* Metadata added after the first checkpoints: def when the key is absent. */
static tdl_status meta_i64_opt(const tdl_safetensors *st, const char *path, const char *key,
                               int64_t lo, int64_t hi, int64_t def, int64_t *out) {
    if (!tdl_safetensors_meta(st, key)) {
        *out = def;
        return TDL_OK;
    }
    return meta_i64(st, path, key, lo, hi, out);
}

static tdl_status read_info(const tdl_safetensors *st, const char *path, tdl_checkpoint_info *in) {
    const char *s;
    int64_t x;
    double f;
    memset(in, 0, sizeof *in);
    TDL_TRY(meta_get(st, path, "kind", &s));
    if (strcmp(s, CKPT_KIND) != 0)
        return tdl_error(TDL_ERR_FORMAT, "%s: kind '%s' is not a training checkpoint", path, s);
    tdl_train_config *c = &in->cfg;
    tdl_train_config_default(c);
    TDL_TRY(meta_i64(st, path, "epoch", 0, INT32_MAX, &x)); in->epoch = (int)x;
    TDL_TRY(meta_i64(st, path, "adam_t", 0, INT64_MAX, &in->adam_t));
    TDL_TRY(meta_double(st, path, "lr", &in->lr));
    TDL_TRY(meta_i64(st, path, "steplr_epoch", 0, INT64_MAX, &in->sched_epoch));
    TDL_TRY(meta_i64_opt(st, path, "steps", 0, INT64_MAX, in->adam_t, &in->steps));
    TDL_TRY(meta_i64(st, path, "skipped", 0, INT64_MAX, &in->skipped));
    if (in->steps < in->adam_t || in->steps > INT64_MAX - in->skipped)
        return tdl_error(TDL_ERR_FORMAT, "%s: steps %" PRId64 " inconsistent with adam_t %" PRId64
                         " and skipped %" PRId64, path, in->steps, in->adam_t, in->skipped);
    TDL_TRY(meta_get(st, path, "rng", &s));
    if (tdl_rng_parse(&in->rng, s) != TDL_OK)
        return tdl_error(TDL_ERR_FORMAT, "%s: bad RNG state '%s'", path, s);
    TDL_TRY(meta_get(st, path, "loss", &s));
    if (tdl_train_loss_parse(s, &c->loss) != TDL_OK)
        return tdl_error(TDL_ERR_FORMAT, "%s: bad loss '%s'", path, s);
    TDL_TRY(meta_i64(st, path, "epochs", 1, INT32_MAX, &x)); c->epochs = (int)x;
    TDL_TRY(meta_i64_opt(st, path, "max_steps", 0, INT64_MAX, 0, &c->max_steps));
    TDL_TRY(meta_i64_opt(st, path, "adam_reset", 0, INT64_MAX, 0, &c->adam_reset));
    TDL_TRY(meta_double(st, path, "lr0", &c->lr));
    TDL_TRY(meta_i64(st, path, "batch", 1, INT32_MAX, &x)); c->batch = (int)x;
    TDL_TRY(meta_i64(st, path, "lr_step", 1, INT32_MAX, &x)); c->lr_step = (int)x;
    TDL_TRY(meta_double(st, path, "lr_gamma", &c->lr_gamma));
    TDL_TRY(meta_get(st, path, "seed", &s));
    {
        char *end;
        errno = 0;
        unsigned long long u = strtoull(s, &end, 10);
        if (errno || end == s || *end || s[0] == '-')
            return tdl_error(TDL_ERR_FORMAT, "%s: bad seed '%s'", path, s);
        c->seed = (uint64_t)u;
    }
    TDL_TRY(meta_get(st, path, "rule", &s));
    if (tdl_provision_rule_parse(s, &c->rule) != TDL_OK)
        return tdl_error(TDL_ERR_FORMAT, "%s: bad rule '%s'", path, s);
    TDL_TRY(meta_double(st, path, "eta", &c->pp.eta));
    TDL_TRY(meta_double(st, path, "A", &c->pp.A));
    TDL_TRY(meta_double(st, path, "B", &c->pp.B));
    TDL_TRY(meta_double(st, path, "a_min", &c->pp.a_min));
    TDL_TRY(meta_double(st, path, "a_max", &c->pp.a_max));
    TDL_TRY(meta_double(st, path, "P_idle", &c->pp.P_idle));
    TDL_TRY(meta_double(st, path, "P_act", &c->pp.P_act));
    if (tdl_train_config_check(c) != TDL_OK)
        return tdl_error_context(TDL_ERR_FORMAT, "%s: bad training config", path);
    TDL_TRY(meta_i64(st, path, "T", 1, 1 << 20, &x)); in->pcfg.T = (int)x;
    TDL_TRY(meta_i64(st, path, "H1", 1, 1 << 20, &x)); in->pcfg.H1 = (int)x;
    TDL_TRY(meta_i64(st, path, "H2", 1, 1 << 20, &x)); in->pcfg.H2 = (int)x;
    TDL_TRY(meta_i64(st, path, "F", 1, 1 << 20, &x)); in->pcfg.F = (int)x;
    TDL_TRY(meta_double(st, path, "dropout", &f));
    if (!(f >= 0 && f < 1)) return tdl_error(TDL_ERR_FORMAT, "%s: bad dropout %g", path, f);
    in->pcfg.dropout = (float)f;
    TDL_TRY(meta_double(st, path, "train_min", &in->range.min));
    TDL_TRY(meta_double(st, path, "train_max", &in->range.max));
    TDL_TRY(meta_i64(st, path, "train_rows", 0, INT64_MAX, &x)); in->rows = (size_t)x;
    TDL_TRY(meta_get(st, path, "train_source", &s));
    if (strlen(s) >= sizeof in->train_source)
        return tdl_error(TDL_ERR_FORMAT, "%s: training source name too long", path);
    strcpy(in->train_source, s);
    return TDL_OK;
}

tdl_status tdl_checkpoint_read_info(const char *path, tdl_checkpoint_info *info) {
    tdl_safetensors st;
    TDL_TRY(tdl_safetensors_read(&st, path));
    tdl_status s = read_info(&st, path, info);
    tdl_safetensors_free(&st);
    return s;
}

tdl_status tdl_trainer_resume(tdl_trainer *t, tdl_predictor *p, const char *path,
                              tdl_checkpoint_info *info) {
    tdl_safetensors st;
    memset(t, 0, sizeof *t);
    TDL_TRY(tdl_safetensors_read(&st, path));
    tdl_status s = read_info(&st, path, info);
    if (s == TDL_OK) s = tdl_predictor_init(p, &info->pcfg, info->cfg.seed);
    if (s == TDL_OK) {
        s = tdl_params_load_from(&p->params, &st, 1);
        if (s != TDL_OK) tdl_error_context(s, "%s", path);
    }
    tdl_safetensors_free(&st);
    if (s != TDL_OK) return s;
    TDL_TRY(tdl_trainer_init(t, p, &info->cfg));
    t->epoch = info->epoch;
    t->adam.t = info->adam_t;
    t->adam.lr = info->lr;
    t->sched.epoch = info->sched_epoch;
    t->steps = info->steps;
    t->skipped = info->skipped;
    t->rng = info->rng;
    return TDL_OK;
}
