/* train_checkpoint.c: a trainer's state as one safetensors file (train.h):
 * the predictor's values and Adam moments plus the loop's counters, RNG
 * position and config (max_steps and adam_reset included) as metadata,
 * written atomically. Keys added later (steps, max_steps, adam_reset, kl_eps,
 * augment, noise_level, noise_seed, wdro, w_eps, fw_iters) are optional on
 * reading, so older
 * checkpoints still resume. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/safetensors.h"
#include "tdl/train.h"
#include "checkpoint_meta.h"

#define CKPT_KIND "tdl-train-checkpoint"

tdl_status tdl_trainer_checkpoint_save(const tdl_trainer *t, const char *path,
                                       const char *train_source, const tdl_train_data *d) {
    tdl_meta_list m;
    m.n = 0;
    const tdl_predictor_config *pc = &t->pred->cfg;
    const tdl_train_config *c = &t->cfg;
    tdl_meta_put(&m, "kind", "%s", CKPT_KIND);
    tdl_meta_put(&m, "epoch", "%d", t->epoch);
    tdl_meta_put(&m, "adam_t", "%" PRId64, t->adam.t);
    tdl_meta_put(&m, "lr", "%.17g", t->adam.lr);
    tdl_meta_put(&m, "steplr_epoch", "%" PRId64, t->sched.epoch);
    tdl_meta_put(&m, "steps", "%" PRId64, t->steps);
    tdl_meta_put(&m, "skipped", "%" PRId64, t->skipped);
    char rng[TDL_RNG_STATE_CHARS];
    tdl_rng_format(&t->rng, rng);
    tdl_meta_put_ref(&m, "rng", rng);
    tdl_meta_put(&m, "loss", "%s", tdl_train_loss_name(c->loss));
    tdl_meta_put(&m, "epochs", "%d", c->epochs);
    tdl_meta_put(&m, "max_steps", "%" PRId64, c->max_steps);
    tdl_meta_put(&m, "adam_reset", "%" PRId64, c->adam_reset);
    tdl_meta_put(&m, "lr0", "%.17g", c->lr);
    tdl_meta_put(&m, "batch", "%d", c->batch);
    tdl_meta_put(&m, "lr_step", "%d", c->lr_step);
    tdl_meta_put(&m, "lr_gamma", "%.17g", c->lr_gamma);
    tdl_meta_put(&m, "seed", "%" PRIu64, c->seed);
    tdl_meta_put(&m, "kl_eps", "%.17g", c->kl_eps);
    tdl_meta_put(&m, "kl_on", "%s", c->kl_regret ? "regret" : "loss");
    tdl_meta_put(&m, "augment", "%s", tdl_train_augment_name(c->augment));
    tdl_meta_put(&m, "noise_level", "%.17g", c->noise_level);
    tdl_meta_put(&m, "noise_seed", "%" PRIu64, c->noise_seed);
    tdl_meta_put(&m, "wdro", "%s", tdl_train_wdro_name(c->wdro));
    tdl_meta_put(&m, "w_eps", "%.17g", c->w_eps);
    tdl_meta_put(&m, "fw_iters", "%d", c->fw_iters);
    tdl_meta_put_provision(&m, c->rule, &c->pp);
    tdl_meta_put(&m, "T", "%d", pc->T);
    tdl_meta_put(&m, "H1", "%d", pc->H1);
    tdl_meta_put(&m, "H2", "%d", pc->H2);
    tdl_meta_put(&m, "F", "%d", pc->F);
    tdl_meta_put(&m, "dropout", "%.9g", (double)pc->dropout);
    tdl_meta_put(&m, "train_min", "%.17g", d->range.min);
    tdl_meta_put(&m, "train_max", "%.17g", d->range.max);
    tdl_meta_put(&m, "train_rows", "%zu", d->R);
    tdl_meta_put_ref(&m, "train_source", train_source ? train_source : "");
    return tdl_params_save(&t->pred->params, path, m.kv, m.n, 1);
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

static tdl_status parse_u64(const char *path, const char *key, const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long u = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return tdl_error(TDL_ERR_FORMAT, "%s: bad %s '%s'", path, key, s);
    *out = (uint64_t)u;
    return TDL_OK;
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
    TDL_TRY(parse_u64(path, "seed", s, &c->seed));
    /* KL-DRO and the augmentation: optional (older checkpoints: defaults) */
    if (tdl_safetensors_meta(st, "kl_eps")) TDL_TRY(meta_double(st, path, "kl_eps", &c->kl_eps));
    if ((s = tdl_safetensors_meta(st, "kl_on")) != NULL) {
        if (strcmp(s, "loss") != 0 && strcmp(s, "regret") != 0)
            return tdl_error(TDL_ERR_FORMAT, "%s: bad kl_on '%s' (loss or regret)", path, s);
        c->kl_regret = strcmp(s, "regret") == 0;
    }
    if ((s = tdl_safetensors_meta(st, "augment")) != NULL &&
        tdl_train_augment_parse(s, &c->augment) != TDL_OK)
        return tdl_error(TDL_ERR_FORMAT, "%s: bad augment '%s'", path, s);
    if (tdl_safetensors_meta(st, "noise_level"))
        TDL_TRY(meta_double(st, path, "noise_level", &c->noise_level));
    if ((s = tdl_safetensors_meta(st, "noise_seed")) != NULL)
        TDL_TRY(parse_u64(path, "noise_seed", s, &c->noise_seed));
    /* W-DRO: optional (older checkpoints: off, 2, 15) */
    if ((s = tdl_safetensors_meta(st, "wdro")) != NULL &&
        tdl_train_wdro_parse(s, &c->wdro) != TDL_OK)
        return tdl_error(TDL_ERR_FORMAT, "%s: bad wdro '%s'", path, s);
    if (tdl_safetensors_meta(st, "w_eps")) TDL_TRY(meta_double(st, path, "w_eps", &c->w_eps));
    TDL_TRY(meta_i64_opt(st, path, "fw_iters", 1, INT32_MAX, TDL_TRAIN_FW_ITERS, &x));
    c->fw_iters = (int)x;
    TDL_TRY(tdl_meta_get_provision(st, path, "tdl training checkpoint", &c->rule, &c->pp));
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
