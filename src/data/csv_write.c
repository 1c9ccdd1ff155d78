/* csv_write.c: a series back to CSV, the format tdl's reader takes. */
#include <math.h>

#include "tdl/atomic_file.h"
#include "tdl/csv.h"

int tdl_csv_print_series(FILE *f, const char *column, const tdl_series *s) {
    if (fprintf(f, "%s\n", column ? column : "ContextTokens") < 0) return -1;
    for (size_t i = 0; i < s->n; i++) {
        const double v = s->v[i];
        /* Token counts are integers: print them as such. */
        int r = (v == floor(v) && fabs(v) < 9007199254740992.0) ? fprintf(f, "%.0f\n", v)
                                                                 : fprintf(f, "%.17g\n", v);
        if (r < 0) return -1;
    }
    return 0;
}

tdl_status tdl_csv_write_series(const char *path, const char *column, const tdl_series *s) {
    tdl_atomic_file af;
    TDL_TRY(tdl_atomic_file_open(&af, path));
    (void)tdl_csv_print_series(af.f, column, s); /* a failed write shows in the commit */
    return tdl_atomic_file_commit(&af);
}
