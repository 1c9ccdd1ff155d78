/* checkpoint_meta.c: metadata pairs of the training checkpoints
 * (checkpoint_meta.h). */
#include <stdarg.h>
#include <stdio.h>

#include "checkpoint_meta.h"

void tdl_meta_put(tdl_meta_list *m, const char *key, const char *fmt, ...) {
    TDL_ASSERT(m->n < TDL_META_MAX, "checkpoint metadata overflow (%d pairs)", m->n);
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(m->v[m->n], TDL_META_CHARS, fmt, ap);
    va_end(ap);
    TDL_ASSERT(len >= 0 && len < TDL_META_CHARS, "metadata %s too long (%d)", key, len);
    tdl_meta_put_ref(m, key, m->v[m->n]);
}

void tdl_meta_put_ref(tdl_meta_list *m, const char *key, const char *value) {
    TDL_ASSERT(m->n < TDL_META_MAX, "checkpoint metadata overflow (%d pairs)", m->n);
    m->kv[2 * m->n] = key;
    m->kv[2 * m->n + 1] = value;
    m->n++;
}

void tdl_meta_put_provision(tdl_meta_list *m, tdl_provision_rule rule,
                            const tdl_provision_params *pp) {
    tdl_meta_put(m, "rule", "%s", tdl_provision_rule_name(rule));
    tdl_meta_put(m, "eta", "%.17g", pp->eta);
    tdl_meta_put(m, "A", "%.17g", pp->A);
    tdl_meta_put(m, "B", "%.17g", pp->B);
    tdl_meta_put(m, "a_min", "%.17g", pp->a_min);
    tdl_meta_put(m, "a_max", "%.17g", pp->a_max);
    tdl_meta_put(m, "P_idle", "%.17g", pp->P_idle);
    tdl_meta_put(m, "P_act", "%.17g", pp->P_act);
}

tdl_status tdl_meta_get_provision(const tdl_safetensors *st, const char *path, const char *what,
                                  tdl_provision_rule *rule, tdl_provision_params *pp) {
    const char *s;
    TDL_TRY(tdl_safetensors_meta_req(st, path, what, "rule", &s));
    if (tdl_provision_rule_parse(s, rule) != TDL_OK)
        return tdl_error(TDL_ERR_FORMAT, "%s: bad rule '%s'", path, s);
    TDL_TRY(tdl_safetensors_meta_double(st, path, what, "eta", &pp->eta));
    TDL_TRY(tdl_safetensors_meta_double(st, path, what, "A", &pp->A));
    TDL_TRY(tdl_safetensors_meta_double(st, path, what, "B", &pp->B));
    TDL_TRY(tdl_safetensors_meta_double(st, path, what, "a_min", &pp->a_min));
    TDL_TRY(tdl_safetensors_meta_double(st, path, what, "a_max", &pp->a_max));
    TDL_TRY(tdl_safetensors_meta_double(st, path, what, "P_idle", &pp->P_idle));
    TDL_TRY(tdl_safetensors_meta_double(st, path, what, "P_act", &pp->P_act));
    return TDL_OK;
}
