/* predictor.c: the DeepLSTM predictor of spec section 3: its parameter table,
 * PyTorch's default initialisation, and the model file (load / save).
 * The forward and backward passes are in predictor_pass.c, the losses in
 * predictor_loss.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/predictor.h"
#include "tdl/safetensors.h"

void tdl_predictor_config_default(tdl_predictor_config *c) {
    c->T = 7;
    c->H1 = 128;
    c->H2 = 64;
    c->F = 32;
    c->dropout = 0.3f;
}

static tdl_status check_config(const tdl_predictor_config *c) {
    if (c->T < 1 || c->H1 < 1 || c->H2 < 1 || c->F < 1 || c->T > (1 << 20) ||
        c->H1 > (1 << 16) || c->H2 > (1 << 16) || c->F > (1 << 16))
        return tdl_error(TDL_ERR_INVALID, "predictor sizes T=%d H1=%d H2=%d F=%d must be "
                         "positive (and T <= 2^20, H1, H2, F <= 2^16)", c->T, c->H1, c->H2, c->F);
    if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
        return tdl_error(TDL_ERR_INVALID, "predictor dropout %g outside [0, 1)", (double)c->dropout);
    return TDL_OK;
}

/* One tensor of the table: PyTorch name, shape, and the bound k of its
 * U(-k, k) initialisation (0: LayerNorm, set to `fill`). */
typedef struct {
    const char *name;
    int ndim;
    int64_t shape[2];
    double bound;
    float fill;
} spec_t;

enum { N_TENSORS = 16 };

static void table(const tdl_predictor_config *c, spec_t s[N_TENSORS]) {
    const int64_t H1 = c->H1, H2 = c->H2, F = c->F;
    const double k1 = 1.0 / sqrt((double)H1), k2 = 1.0 / sqrt((double)H2),
                 kf1 = 1.0 / sqrt((double)H2), kf2 = 1.0 / sqrt((double)F);
    const spec_t t[N_TENSORS] = {
        {"lstm1.weight_ih_l0", 2, {4 * H1, 1}, k1, 0},  {"lstm1.weight_hh_l0", 2, {4 * H1, H1}, k1, 0},
        {"lstm1.bias_ih_l0", 1, {4 * H1, 0}, k1, 0},    {"lstm1.bias_hh_l0", 1, {4 * H1, 0}, k1, 0},
        {"norm1.weight", 1, {H1, 0}, 0, 1},             {"norm1.bias", 1, {H1, 0}, 0, 0},
        {"lstm2.weight_ih_l0", 2, {4 * H2, H1}, k2, 0}, {"lstm2.weight_hh_l0", 2, {4 * H2, H2}, k2, 0},
        {"lstm2.bias_ih_l0", 1, {4 * H2, 0}, k2, 0},    {"lstm2.bias_hh_l0", 1, {4 * H2, 0}, k2, 0},
        {"norm2.weight", 1, {H2, 0}, 0, 1},             {"norm2.bias", 1, {H2, 0}, 0, 0},
        {"fc1.weight", 2, {F, H2}, kf1, 0},             {"fc1.bias", 1, {F, 0}, kf1, 0},
        {"fc2.weight", 2, {1, F}, kf2, 0},              {"fc2.bias", 1, {1, 0}, kf2, 0},
    };
    memcpy(s, t, sizeof t);
}

/* The table, allocated and zeroed. */
/* On failure *p is left zeroed, so tdl_predictor_free(p) is always safe. */
static tdl_status build(tdl_predictor *p, const tdl_predictor_config *cfg) {
    memset(p, 0, sizeof *p);
    TDL_TRY(check_config(cfg));
    p->cfg = *cfg;
    tdl_params_init(&p->params);
    spec_t s[N_TENSORS];
    table(cfg, s);
    tdl_status st = TDL_OK;
    for (int i = 0; i < N_TENSORS && st == TDL_OK; i++)
        st = tdl_params_add(&p->params, s[i].name, s[i].ndim, s[i].shape, 1);
    if (st == TDL_OK) st = tdl_params_alloc(&p->params);
    if (st != TDL_OK) tdl_params_free(&p->params);
    return st;
}

tdl_status tdl_predictor_init(tdl_predictor *p, const tdl_predictor_config *cfg, uint64_t seed) {
    TDL_ASSERT(p && cfg, "predictor_init: NULL argument");
    TDL_TRY(build(p, cfg));
    spec_t s[N_TENSORS];
    table(cfg, s);
    /* Tensor i draws from stream i of the seed: each tensor's values depend
     * only on (seed, its position in the table). */
    for (int i = 0; i < N_TENSORS; i++) {
        const tdl_param *t = &p->params.items[i];
        float *x = p->params.param + t->offset;
        if (s[i].bound > 0.0) {
            tdl_rng r;
            tdl_rng_init(&r, seed, (uint64_t)i);
            tdl_rng_fill_uniform(&r, x, t->numel, (float)-s[i].bound, (float)s[i].bound);
        } else {
            for (size_t j = 0; j < t->numel; j++) x[j] = s[i].fill;
        }
    }
    return TDL_OK;
}

void tdl_predictor_free(tdl_predictor *p) {
    if (!p) return;
    tdl_params_free(&p->params);
}

static const char *const meta_keys[5] = {"T", "H1", "H2", "F", "dropout"};

/* The config a file describes: its metadata when it has the keys (a tdl
 * model), the paper's sizes otherwise (e.g. a PyTorch export). */
static tdl_status file_config(const tdl_safetensors *st, const char *path,
                              tdl_predictor_config *c) {
    tdl_predictor_config_default(c);
    int present = 0;
    for (int k = 0; k < 5; k++) present += tdl_safetensors_meta(st, meta_keys[k]) != NULL;
    if (present == 0) return TDL_OK;
    int *ints[4] = {&c->T, &c->H1, &c->H2, &c->F};
    for (int k = 0; k < 5; k++) {
        const char *v = tdl_safetensors_meta(st, meta_keys[k]);
        if (!v)
            return tdl_error(TDL_ERR_FORMAT, "%s: metadata has no predictor '%s' (it names "
                             "some of T, H1, H2, F, dropout but not all)", path, meta_keys[k]);
        char *end;
        double d = strtod(v, &end);
        if (end == v || *end != '\0' || !isfinite(d) ||
            (k < 4 && (d != floor(d) || d < 1 || d > (1 << 20))))
            return tdl_error(TDL_ERR_FORMAT, "%s: metadata %s = '%.40s' is not a valid value",
                             path, meta_keys[k], v);
        if (k < 4) *ints[k] = (int)d;
        else c->dropout = (float)d;
    }
    tdl_status s = check_config(c);
    if (s != TDL_OK) return tdl_error_context(s, "%s", path);
    return TDL_OK;
}

/* The serving metadata (predictor.h, tdl_predictor_meta): each group of
 * keys optional, but a group that is there must be whole and valid. */
static tdl_status file_meta(const tdl_safetensors *st, const char *path, tdl_predictor_meta *m) {
    static const char what[] = "tdl predictor model";
    memset(m, 0, sizeof *m);
    const char *lo = tdl_safetensors_meta(st, "train_min");
    const char *hi = tdl_safetensors_meta(st, "train_max");
    if (lo || hi) {
        TDL_TRY(tdl_safetensors_meta_double(st, path, what, "train_min", &m->range.min));
        TDL_TRY(tdl_safetensors_meta_double(st, path, what, "train_max", &m->range.max));
        if (!isfinite(m->range.min) || !isfinite(m->range.max) || !(m->range.max > m->range.min))
            return tdl_error(TDL_ERR_FORMAT, "%s: metadata train_min %.17g, train_max %.17g is "
                             "not a range (finite, max > min)", path, m->range.min, m->range.max);
        m->has_range = 1;
    }
    if (tdl_safetensors_meta(st, "row_len")) {
        int64_t v;
        TDL_TRY(tdl_safetensors_meta_i64(st, path, what, "row_len", 2, 1 << 20, &v));
        m->row_len = (int)v;
    }
    const char *s = tdl_safetensors_meta(st, "method");
    if (s) {
        if (strlen(s) >= sizeof m->method || !*s)
            return tdl_error(TDL_ERR_FORMAT, "%s: metadata method '%.40s' is empty or too long",
                             path, s);
        strcpy(m->method, s);
    }
    if ((s = tdl_safetensors_meta(st, "train_source")) != NULL) {
        if (strlen(s) >= sizeof m->train_source)
            return tdl_error(TDL_ERR_FORMAT, "%s: metadata train_source is too long", path);
        strcpy(m->train_source, s);
    }
    if ((s = tdl_safetensors_meta(st, "rule")) != NULL) {
        if (tdl_provision_rule_parse(s, &m->rule) != TDL_OK)
            return tdl_error(TDL_ERR_FORMAT, "%s: metadata rule '%.40s' is not exact or authors",
                             path, s);
        static const char *const keys[7] = {"eta", "A", "B", "a_min", "a_max", "P_idle", "P_act"};
        double *v[7] = {&m->pp.eta, &m->pp.A, &m->pp.B, &m->pp.a_min, &m->pp.a_max,
                        &m->pp.P_idle, &m->pp.P_act};
        for (int k = 0; k < 7; k++)
            TDL_TRY(tdl_safetensors_meta_double(st, path, what, keys[k], v[k]));
        if (tdl_provision_check(&m->pp) != TDL_OK)
            return tdl_error_context(TDL_ERR_FORMAT, "%s: metadata constants", path);
        m->has_rule = 1;
    }
    return TDL_OK;
}

tdl_status tdl_predictor_set_origin(tdl_predictor *p, const char *method, const char *source,
                                    tdl_range range, tdl_provision_rule rule,
                                    const tdl_provision_params *pp) {
    TDL_ASSERT(p && method && source && pp, "predictor_set_origin: NULL argument");
    if (!isfinite(range.min) || !isfinite(range.max) || !(range.max > range.min))
        return tdl_error(TDL_ERR_INVALID, "training range %g .. %g is not a range (finite, "
                         "max > min)", range.min, range.max);
    if (!*method || strlen(method) >= sizeof p->meta.method)
        return tdl_error(TDL_ERR_INVALID, "method name '%.40s' is empty or too long", method);
    if (strlen(source) >= sizeof p->meta.train_source)
        return tdl_error(TDL_ERR_INVALID, "training source name too long (%zu characters)",
                         strlen(source));
    TDL_TRY(tdl_provision_check(pp));
    tdl_predictor_meta *m = &p->meta;
    memset(m, 0, sizeof *m);
    m->has_range = 1;
    m->range = range;
    m->row_len = TDL_ROW_LEN;
    strcpy(m->method, method);
    strcpy(m->train_source, source);
    m->has_rule = 1;
    m->rule = rule;
    m->pp = *pp;
    return TDL_OK;
}

/* p is an output (not freed first; zeroed on failure). The sizes come from
 * the file's metadata, or are the paper's for a file without it (a PyTorch
 * export); every tensor must then have exactly its name and shape. */
tdl_status tdl_predictor_load(tdl_predictor *p, const char *path) {
    TDL_ASSERT(p && path, "predictor_load: NULL argument");
    memset(p, 0, sizeof *p); /* p is an output: whatever it held is not freed */
    tdl_safetensors st;
    TDL_TRY(tdl_safetensors_read(&st, path));
    tdl_predictor_config c;
    tdl_status s = file_config(&st, path, &c);
    tdl_predictor_meta meta;
    if (s == TDL_OK) s = file_meta(&st, path, &meta);
    if (s == TDL_OK) s = build(p, &c);
    if (s == TDL_OK) {
        p->meta = meta;
        s = tdl_params_load_from(&p->params, &st, 0);
        if (s != TDL_OK) {
            tdl_error_context(s, "%s", path);
            tdl_predictor_free(p);
        }
    }
    tdl_safetensors_free(&st);
    return s;
}

tdl_status tdl_predictor_save(const tdl_predictor *p, const char *path) {
    TDL_ASSERT(p && path, "predictor_save: NULL argument");
    enum { MAXM = 20 };
    char v[MAXM][32];
    const char *meta[2 * MAXM];
    int n = 0;
#define PUT(key, ...) \
    do { \
        snprintf(v[n], sizeof v[n], __VA_ARGS__); \
        meta[2 * n] = key; \
        meta[2 * n + 1] = v[n]; \
        n++; \
    } while (0)
#define PUT_REF(key, value) \
    do { \
        meta[2 * n] = key; \
        meta[2 * n + 1] = value; \
        n++; \
    } while (0)
    PUT("T", "%d", p->cfg.T);
    PUT("H1", "%d", p->cfg.H1);
    PUT("H2", "%d", p->cfg.H2);
    PUT("F", "%d", p->cfg.F);
    PUT("dropout", "%.9g", (double)p->cfg.dropout);
    PUT_REF("model", "tdl DeepLSTM predictor");
    const tdl_predictor_meta *m = &p->meta;
    if (m->has_range) {
        PUT("train_min", "%.17g", m->range.min);
        PUT("train_max", "%.17g", m->range.max);
    }
    if (m->row_len > 0) PUT("row_len", "%d", m->row_len);
    if (m->method[0]) PUT_REF("method", m->method);
    if (m->train_source[0]) PUT_REF("train_source", m->train_source);
    if (m->has_rule) {
        PUT_REF("rule", tdl_provision_rule_name(m->rule));
        PUT("eta", "%.17g", m->pp.eta);
        PUT("A", "%.17g", m->pp.A);
        PUT("B", "%.17g", m->pp.B);
        PUT("a_min", "%.17g", m->pp.a_min);
        PUT("a_max", "%.17g", m->pp.a_max);
        PUT("P_idle", "%.17g", m->pp.P_idle);
        PUT("P_act", "%.17g", m->pp.P_act);
    }
#undef PUT
#undef PUT_REF
    TDL_ASSERT(n <= MAXM, "predictor_save: %d metadata pairs", n);
    tdl_status s = tdl_params_save(&p->params, path, meta, n, 0);
    if (s != TDL_OK) return tdl_error_context(s, "saving the predictor");
    return TDL_OK;
}
