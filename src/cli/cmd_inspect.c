/* cmd_inspect.c: `tdl inspect FILE`: list a safetensors file's tensors and
 * metadata after full validation. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "tdl/safetensors.h"

static const char inspect_usage[] =
    "usage: tdl inspect FILE.safetensors [--stats]\n"
    "  Validate a model file and list its tensors (name, shape) and metadata.\n"
    "  --stats  also the min, max and mean of every tensor, and whether it holds\n"
    "           NaN or infinite values\n";

int tdl_cmd_inspect(int argc, char **argv) {
    static const struct option opts[] = {
        {"stats", no_argument, NULL, 's'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int stats = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's': stats = 1; break;
        case 'h': fputs(inspect_usage, stdout); return TDL_EXIT_OK;
        default:
            return tdl_cli_usage_error(inspect_usage, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind != 1)
        return tdl_cli_usage_error(inspect_usage, "expected one FILE, got %d", argc - optind);
    tdl_safetensors st;
    if (tdl_safetensors_read(&st, argv[optind]) != TDL_OK)
        return tdl_cli_fail(tdl_last_error(), "is it a safetensors file written by tdl or PyTorch?");
    size_t total = 0;
    for (int i = 0; i < st.count; i++) {
        const tdl_st_tensor *t = &st.tensors[i];
        total += t->numel;
        printf("%-48s [", t->name);
        for (int d = 0; d < t->ndim; d++) printf(d ? ", %lld" : "%lld", (long long)t->shape[d]);
        printf("]");
        if (stats && t->numel > 0) {
            float *x = malloc(t->numel * sizeof(float));
            if (!x) {
                tdl_safetensors_free(&st);
                return tdl_cli_fail("out of memory", "the file is too large for this machine");
            }
            tdl_safetensors_copy(&st, t, x);
            double lo = INFINITY, hi = -INFINITY, sum = 0;
            size_t bad = 0;
            for (size_t k = 0; k < t->numel; k++) {
                if (!isfinite(x[k])) { bad++; continue; }
                if (x[k] < lo) lo = x[k];
                if (x[k] > hi) hi = x[k];
                sum += x[k];
            }
            size_t good = t->numel - bad;
            printf("  min %.6g max %.6g mean %.6g", good ? lo : NAN, good ? hi : NAN,
                   good ? sum / (double)good : NAN);
            if (bad) printf("  %zu non-finite", bad);
            free(x);
        }
        printf("\n");
    }
    printf("%d tensors, %zu values\n", st.count, total);
    for (int i = 0; i < st.meta_count; i++)
        printf("meta %s = %s\n", st.meta_keys[i], st.meta_values[i]);
    tdl_safetensors_free(&st);
    return TDL_EXIT_OK;
}
