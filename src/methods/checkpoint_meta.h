/* checkpoint_meta.h: the metadata pairs of the training checkpoints
 * (private to src/methods): a list of (key, value) strings built with
 * printf formats, and the provisioning constants written and read the same
 * way by every checkpoint that carries a decision rule. */
#ifndef TDL_CHECKPOINT_META_H
#define TDL_CHECKPOINT_META_H

#include "tdl/provision.h"
#include "tdl/safetensors.h"
#include "tdl/status.h"

enum { TDL_META_MAX = 72, TDL_META_CHARS = 64 };

typedef struct tdl_meta_list {
    char v[TDL_META_MAX][TDL_META_CHARS]; /* the formatted values */
    const char *kv[2 * TDL_META_MAX];     /* key, value, key, value ... */
    int n;                                /* pairs */
} tdl_meta_list;

/* Append key = printf(fmt, ...) (at most TDL_META_CHARS - 1 characters; the
 * list holds TDL_META_MAX pairs: both are asserted). */
void tdl_meta_put(tdl_meta_list *m, const char *key, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Append a pair whose value is a string the caller keeps alive (any length). */
void tdl_meta_put_ref(tdl_meta_list *m, const char *key, const char *value);

/* "rule", "eta", "A", "B", "a_min", "a_max", "P_idle", "P_act". */
void tdl_meta_put_provision(tdl_meta_list *m, tdl_provision_rule rule,
                            const tdl_provision_params *pp);
tdl_status tdl_meta_get_provision(const tdl_safetensors *st, const char *path, const char *what,
                                  tdl_provision_rule *rule, tdl_provision_params *pp);

#endif
