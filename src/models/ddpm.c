/* ddpm.c: the DDPM model (ddpm.h): config, UNet + schedule, model files and
 * the work buffers. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/ddpm.h"

#define DDPM_KIND "tdl-ddpm"

tdl_status tdl_ddpm_config_preset(tdl_ddpm_config *c, const char *name) {
    memset(c, 0, sizeof *c);
    TDL_TRY(tdl_unet_config_preset(&c->unet, name));
    c->beta_1 = TDL_DDPM_BETA_1;
    c->beta_T = TDL_DDPM_BETA_T;
    return TDL_OK;
}

tdl_status tdl_ddpm_config_check(const tdl_ddpm_config *c) {
    TDL_TRY(tdl_unet_config_check(&c->unet));
    if (!(isfinite(c->beta_1) && isfinite(c->beta_T) && c->beta_1 > 0 &&
          c->beta_1 <= c->beta_T && c->beta_T < 1))
        return tdl_error(TDL_ERR_INVALID, "betas %g .. %g: need 0 < beta_1 <= beta_T < 1",
                         c->beta_1, c->beta_T);
    return TDL_OK;
}

tdl_status tdl_ddpm_init(tdl_ddpm *d, const tdl_ddpm_config *cfg, uint64_t seed) {
    memset(d, 0, sizeof *d);
    TDL_TRY(tdl_ddpm_config_check(cfg));
    d->cfg = *cfg;
    TDL_TRY(tdl_ddpm_schedule_init(&d->sched, cfg->unet.T, cfg->beta_1, cfg->beta_T));
    tdl_status s = tdl_unet_init(&d->unet, &cfg->unet, seed);
    if (s != TDL_OK) tdl_ddpm_schedule_free(&d->sched);
    return s;
}

void tdl_ddpm_free(tdl_ddpm *d) {
    if (!d) return;
    tdl_unet_free(&d->unet);
    tdl_ddpm_schedule_free(&d->sched);
}

size_t tdl_ddpm_image_size(const tdl_ddpm *d) {
    return (size_t)d->cfg.unet.image * (size_t)d->cfg.unet.image;
}

enum { OWN_META = 5, NUM_CHARS = 40 };

tdl_status tdl_ddpm_save(const tdl_ddpm *d, const char *path, const char *const *meta, int n_meta,
                         int optimizer) {
    char unet[TDL_UNET_CONFIG_CHARS], b1[NUM_CHARS], bT[NUM_CHARS], T[NUM_CHARS];
    tdl_unet_config_format(&d->cfg.unet, unet);
    snprintf(b1, sizeof b1, "%.17g", d->cfg.beta_1);
    snprintf(bT, sizeof bT, "%.17g", d->cfg.beta_T);
    snprintf(T, sizeof T, "%d", d->cfg.unet.T);
    const char **all = malloc(sizeof *all * 2 * (size_t)(OWN_META + n_meta));
    if (!all) return tdl_error(TDL_ERR_NOMEM, "metadata of %s", path);
    const char *own[2 * OWN_META] = {"kind", DDPM_KIND, "unet", unet, "beta_1", b1,
                                     "beta_T", bT, "T", T};
    memcpy(all, own, sizeof own);
    if (n_meta > 0) memcpy(all + 2 * OWN_META, meta, sizeof *all * 2 * (size_t)n_meta);
    tdl_status s = tdl_params_save(&d->unet.params, path, all, OWN_META + n_meta, optimizer);
    free(all);
    return s;
}

static tdl_status meta_beta(const tdl_safetensors *st, const char *path, const char *key,
                            double *out) {
    const char *v = tdl_safetensors_meta(st, key);
    if (!v) return tdl_error(TDL_ERR_FORMAT, "%s: metadata has \"unet\" but no \"%s\"", path, key);
    char *end;
    errno = 0;
    *out = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(*out))
        return tdl_error(TDL_ERR_FORMAT, "%s: metadata \"%s\" = '%s' is not a number", path, key,
                         v);
    return TDL_OK;
}

tdl_status tdl_ddpm_config_read(const tdl_safetensors *st, const char *path, tdl_ddpm_config *c,
                                int *found) {
    memset(c, 0, sizeof *c);
    *found = 0;
    const char *u = tdl_safetensors_meta(st, "unet");
    if (!u) return TDL_OK;
    const char *kind = tdl_safetensors_meta(st, "kind");
    if (kind && strcmp(kind, DDPM_KIND) != 0)
        return tdl_error(TDL_ERR_FORMAT, "%s: kind '%s' is not a diffusion model", path, kind);
    if (tdl_unet_config_parse(&c->unet, u) != TDL_OK)
        return tdl_error_context(TDL_ERR_FORMAT, "%s: metadata \"unet\"", path);
    TDL_TRY(meta_beta(st, path, "beta_1", &c->beta_1));
    TDL_TRY(meta_beta(st, path, "beta_T", &c->beta_T));
    if (tdl_ddpm_config_check(c) != TDL_OK)
        return tdl_error_context(TDL_ERR_FORMAT, "%s: the stated config", path);
    *found = 1;
    return TDL_OK;
}

tdl_status tdl_ddpm_load_from(tdl_ddpm *d, const tdl_safetensors *st, const char *path,
                              const tdl_ddpm_config *fallback, int optimizer) {
    memset(d, 0, sizeof *d);
    tdl_ddpm_config c;
    int found;
    TDL_TRY(tdl_ddpm_config_read(st, path, &c, &found));
    if (!found) {
        if (!fallback)
            return tdl_error(TDL_ERR_INVALID, "%s states no diffusion config (a PyTorch "
                             "state_dict export?): give the config explicitly", path);
        c = *fallback;
    }
    TDL_TRY(tdl_ddpm_init(d, &c, 0));
    tdl_status s = tdl_params_load_from(&d->unet.params, st, optimizer);
    if (s != TDL_OK) {
        tdl_error_context(s, "%s", path);
        tdl_ddpm_free(d);
        memset(d, 0, sizeof *d); /* safe to free again */
    }
    return s;
}

tdl_status tdl_ddpm_load(tdl_ddpm *d, const char *path, const tdl_ddpm_config *fallback) {
    tdl_safetensors st;
    memset(d, 0, sizeof *d);
    TDL_TRY(tdl_safetensors_read(&st, path));
    /* A training checkpoint holds Adam's moments too: load them along. */
    int moments = 0;
    for (int i = 0; i < st.count && !moments; i++)
        moments = strncmp(st.tensors[i].name, "adam.m.", 7) == 0;
    tdl_status s = tdl_ddpm_load_from(d, &st, path, fallback, moments);
    tdl_safetensors_free(&st);
    return s;
}

int tdl_ddpm_grad_chunk(const tdl_ddpm *d) {
    size_t bytes;
    if (tdl_unet_cache_measure(&bytes, &d->unet, TDL_DDPM_GRAD_CHUNK_MAX, 1) != TDL_OK)
        return TDL_DDPM_GRAD_CHUNK;
    return bytes <= TDL_DDPM_GRAD_CACHE_BUDGET ? TDL_DDPM_GRAD_CHUNK_MAX : TDL_DDPM_GRAD_CHUNK;
}

tdl_status tdl_ddpm_work_init(tdl_ddpm_work *w, const tdl_ddpm *d, int B, int grad) {
    memset(w, 0, sizeof *w);
    if (B < 1) return tdl_error(TDL_ERR_INVALID, "batch %d < 1", B);
    size_t n = (size_t)B * tdl_ddpm_image_size(d);
    w->B = B;
    w->grad = grad;
    if (grad) {
        const int chunk = tdl_ddpm_grad_chunk(d);
        w->chunk = B > chunk ? chunk : B;
    } else {
        w->chunk = B;
    }
    w->t = malloc((size_t)B * sizeof *w->t);
    w->eps = malloc(n * sizeof(float));
    w->xt = malloc(n * sizeof(float));
    w->eps_hat = malloc(n * sizeof(float));
    if (grad) w->deps = malloc(n * sizeof(float));
    if (!w->t || !w->eps || !w->xt || !w->eps_hat || (grad && !w->deps)) {
        tdl_ddpm_work_free(w);
        return tdl_error(TDL_ERR_NOMEM, "diffusion buffers for %d images", B);
    }
    tdl_status s = tdl_unet_cache_init(&w->cache, &d->unet, w->chunk, grad);
    if (s != TDL_OK) tdl_ddpm_work_free(w);
    return s;
}

void tdl_ddpm_work_free(tdl_ddpm_work *w) {
    if (!w) return;
    tdl_unet_cache_free(w->cache);
    free(w->t);
    free(w->eps);
    free(w->xt);
    free(w->eps_hat);
    free(w->deps);
    memset(w, 0, sizeof *w);
}
