/*
 * series.h: a workload series (one value per time slot) and the data
 * protocol of spec section 2 built on it.
 */
#ifndef TDL_SERIES_H
#define TDL_SERIES_H

#include <stddef.h>

#include "tdl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One numeric series: tokens per slot, or values normalised to [0, 1]. */
typedef struct tdl_series {
    double *v;   /* (n) */
    size_t n;
} tdl_series;

/* Allocate n zeroed values. */
tdl_status tdl_series_alloc(tdl_series *s, size_t n);

/* NULL-safe; leaves *s empty. */
void tdl_series_free(tdl_series *s);

#ifdef __cplusplus
}
#endif
#endif /* TDL_SERIES_H */
