/* series.c: the series type and the data protocol of spec section 2. */
#include "tdl/series.h"

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
