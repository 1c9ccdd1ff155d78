/* series_period.c: detection of an exactly repeating series.
 *
 * The smallest p with v[i] == v[i + p] for all i < n - p is n - pi[n-1],
 * where pi is the prefix function (Knuth-Morris-Pratt) of the values: the
 * longest proper prefix that is also a suffix has length n - p exactly when
 * p is a period. O(n) comparisons. Any larger period is longer than the
 * smallest, so if the smallest has fewer than two full repeats none has. */
#include <stdlib.h>

#include "tdl/series.h"

tdl_status tdl_series_period(const tdl_series *s, size_t *period) {
    TDL_ASSERT(s && period, "NULL argument");
    *period = 0;
    size_t n = s->n;
    if (n < 2) return TDL_OK;
    size_t *pi = malloc(n * sizeof *pi);
    if (!pi) return tdl_error(TDL_ERR_NOMEM, "out of memory for the period of %zu values", n);
    const double *v = s->v;
    pi[0] = 0;
    for (size_t i = 1; i < n; i++) {
        size_t k = pi[i - 1];
        while (k > 0 && !(v[i] == v[k])) k = pi[k - 1];
        if (v[i] == v[k]) k++;
        pi[i] = k;
    }
    size_t p = n - pi[n - 1];
    free(pi);
    if (p < n && 2 * p <= n) *period = p;
    return TDL_OK;
}
