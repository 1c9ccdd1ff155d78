/* series.c: the series type: allocation, slices and concatenation. */
#include "tdl/series.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

tdl_status tdl_series_alloc(tdl_series *s, size_t n) {
    s->n = 0;
    s->v = calloc(n ? n : 1, sizeof *s->v);
    if (!s->v) return tdl_error(TDL_ERR_NOMEM, "out of memory for a series of %zu values", n);
    s->n = n;
    return TDL_OK;
}

void tdl_series_free(tdl_series *s) {
    if (!s) return;
    free(s->v);
    memset(s, 0, sizeof *s);
}

tdl_status tdl_series_slice(tdl_series *out, const tdl_series *s, size_t begin, size_t end) {
    TDL_ASSERT(out && s, "NULL series");
    if (begin > end || end > s->n)
        return tdl_error(TDL_ERR_INVALID, "slice [%zu, %zu) outside a series of %zu values", begin,
                         end, s->n);
    TDL_TRY(tdl_series_alloc(out, end - begin));
    if (end > begin) memcpy(out->v, s->v + begin, (end - begin) * sizeof *out->v);
    return TDL_OK;
}

tdl_status tdl_series_concat(tdl_series *out, const tdl_series *parts, size_t k) {
    TDL_ASSERT(out && parts && k >= 1, "concat needs at least one series");
    size_t n = 0;
    for (size_t i = 0; i < k; i++) {
        if (parts[i].n > SIZE_MAX / sizeof(double) - n)
            return tdl_error(TDL_ERR_INVALID, "concatenated series too long");
        n += parts[i].n;
    }
    TDL_TRY(tdl_series_alloc(out, n));
    size_t at = 0;
    for (size_t i = 0; i < k; i++) {
        if (parts[i].n) memcpy(out->v + at, parts[i].v, parts[i].n * sizeof *out->v);
        at += parts[i].n;
    }
    return TDL_OK;
}
