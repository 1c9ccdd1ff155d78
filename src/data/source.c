/* source.c: a series from a CSV file or from the built-in synthesis. */
#include "tdl/source.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/csv.h"
#include "tdl/synth.h"

/* Parse one unsigned decimal field of a synth: spec ending at ':' or '\0'. */
static int parse_field(const char **p, unsigned long long *out) {
    char *end;
    if (**p < '0' || **p > '9') return 0;
    errno = 0;
    unsigned long long v = strtoull(*p, &end, 10);
    if (errno != 0 || (*end != ':' && *end != '\0')) return 0;
    *out = v;
    *p = end + (*end == ':');
    return 1;
}

static tdl_status load_synth(const char *spec, size_t max_values, tdl_series *out) {
    const char *rest = spec + strlen(TDL_SOURCE_SYNTH_PREFIX);
    const char *colon = strchr(rest, ':');
    size_t len = colon ? (size_t)(colon - rest) : strlen(rest);
    char name[64];
    if (len == 0 || len >= sizeof name)
        return tdl_error(TDL_ERR_INVALID, "'%s': expected synth:PROFILE[:SEED[:SLOTS]]", spec);
    memcpy(name, rest, len);
    name[len] = '\0';
    unsigned long long seed = 1, slots = TDL_SOURCE_DEFAULT_SLOTS;
    const char *p = colon ? colon + 1 : rest + len;
    if (colon && !parse_field(&p, &seed))
        return tdl_error(TDL_ERR_INVALID, "'%s': SEED must be a non-negative integer", spec);
    if (colon && *p && (!parse_field(&p, &slots) || *p))
        return tdl_error(TDL_ERR_INVALID, "'%s': SLOTS must be a positive integer and come last",
                         spec);
    if (slots == 0 || slots > TDL_SYNTH_MAX_SLOTS)
        return tdl_error(TDL_ERR_INVALID, "'%s': SLOTS must be in [1, %zu]", spec,
                         (size_t)TDL_SYNTH_MAX_SLOTS);
    if (max_values && slots > max_values) slots = max_values;
    return tdl_synth_generate(out, name, (size_t)slots, (uint64_t)seed);
}

tdl_status tdl_source_load(const char *source, const char *column, size_t max_values,
                           tdl_series *out, tdl_source_info *info) {
    out->v = NULL;
    out->n = 0;
    if (info) memset(info, 0, sizeof *info);
    if (!source || !*source) return tdl_error(TDL_ERR_INVALID, "empty series source");
    if (strncmp(source, TDL_SOURCE_SYNTH_PREFIX, strlen(TDL_SOURCE_SYNTH_PREFIX)) == 0) {
        if (info) info->synthetic = 1;
        return load_synth(source, max_values, out);
    }
    tdl_csv_options opt = {column, max_values, 0};
    tdl_csv_info ci;
    memset(&ci, 0, sizeof ci);
    TDL_TRY(tdl_csv_read_series(source, &opt, out, &ci));
    if (info) {
        info->empty_cells = ci.empty_cells;
        info->first_empty_line = ci.first_empty_line;
    }
    return TDL_OK;
}
