/* cmd_info.c: `tdl info`: what this build is and what it runs on. */
#include <getopt.h>
#include <jansson.h>
#include <omp.h>
#include <stdio.h>

#include "cli.h"
#include "tdl/threads.h"

static const char info_usage[] =
    "usage: tdl info [--json]\n"
    "  Print the version, the BLAS kernels in use, the thread count and the CPU's\n"
    "  AVX-512 support.\n"
    "  --json   one JSON object instead of text\n";

int tdl_cmd_info(int argc, char **argv) {
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int json = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'h': fputs(info_usage, stdout); return TDL_EXIT_OK;
        default:
            return tdl_cli_usage_error(info_usage, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return tdl_cli_usage_error(info_usage, "unexpected argument '%s'", argv[optind]);
    const char *core = tdl_threads_blas_core();
    int avx512 = tdl_threads_cpu_has_avx512();
    if (json) {
        json_t *o = json_object();
        tdl_cli_json_set(o, "version", tdl_cli_json_text(TDL_VERSION));
        tdl_cli_json_set(o, "blas_core", tdl_cli_json_text(core));
        tdl_cli_json_set(o, "threads", tdl_cli_json_integer(tdl_threads_count()));
        tdl_cli_json_set(o, "cores", tdl_cli_json_integer(omp_get_num_procs()));
        tdl_cli_json_set(o, "avx512", tdl_cli_json_bool(avx512));
        return tdl_cli_json_print(o, 10, 0);
    } else {
        printf("tdl %s\n", TDL_VERSION);
        printf("blas kernels: OpenBLAS %s%s\n", core,
               avx512 && !tdl_threads_blas_uses_avx512() ? " (AVX-512 available but not used)" : "");
        printf("threads: %d of %d cores\n", tdl_threads_count(), omp_get_num_procs());
        printf("avx512: %s\n", avx512 ? "yes" : "no");
    }
    return TDL_EXIT_OK;
}
