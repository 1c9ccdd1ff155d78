/* main.c: `tdl`, the command line. Thin: parse, call the library, print. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tdl/threads.h"

static const char main_usage[] =
    "usage: tdl [--threads N] COMMAND [ARGS...]\n"
    "       tdl --help | --version\n"
    "\n"
    "3D-Learning for LLM capacity provisioning: workload predictors trained on the\n"
    "decision cost, robust to distribution shift through a diffusion model.\n"
    "\n"
    "commands:\n"
    "  data       workload series: `data info` describes series (period, W1), `data\n"
    "             slots` sums a request log into time slots\n"
    "  decide     the capacity to provision for a forecast; loss and regret\n"
    "  diffusion  the DDPM workload generator; `diffusion quality` compares samples\n"
    "             with a real series\n"
    "  eval       a trained predictor's MSE and regret on test workloads\n"
    "  info       the build, its BLAS kernels, threads and CPU\n"
    "  inspect    validate a .safetensors model file and list its tensors\n"
    "  provision  serve a predictor: slot tokens on stdin, the next slot's capacity\n"
    "             on stdout; --replay backtests it on a series against the oracle\n"
    "  reproduce  the paper's experiments (Table I, Figs. 2-4, controls) over seeds,\n"
    "             as one resumable grid with a report and figures\n"
    "  synth      write a synthetic token workload series (fitted profiles)\n"
    "  train      train the workload predictor (MSE or decision-focused)\n"
    "\n"
    "options:\n"
    "  --threads N   threads for OpenMP and OpenBLAS together (default: TDL_THREADS\n"
    "                from the environment, else every core)\n"
    "  --help        this text; `tdl COMMAND --help` for a command\n"
    "  --version     the version\n"
    "\n"
    "environment: TDL_THREADS (thread count), TDL_NO_AVX512 (keep OpenBLAS's own\n"
    "kernel choice), OPENBLAS_CORETYPE (force OpenBLAS kernels).\n"
    "exit status: 0 success, 1 failure (message on stderr), 2 usage error.\n";

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
} tdl_command;

static const tdl_command commands[] = {
    {"data", tdl_cmd_data},
    {"decide", tdl_cmd_decide},
    {"eval", tdl_cmd_eval},
    {"info", tdl_cmd_info},
    {"inspect", tdl_cmd_inspect},
    {"provision", tdl_cmd_provision},
    {"synth", tdl_cmd_synth},
    {"reproduce", tdl_cmd_reproduce},
    {"train", tdl_cmd_train},
    {"diffusion", tdl_cmd_diffusion},
};

int main(int argc, char **argv) {
    /* Before anything loads BLAS kernels: use AVX-512 ones when the CPU can. */
    tdl_threads_prefer_avx512(argv);
    /* an interrupted write leaves no temporary or lock file behind */
    tdl_cli_install_signal_cleanup();

    static const struct option opts[] = {
        {"threads", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    long threads = 0;
    int c;
    opterr = 0;
    /* '+': stop at the first non-option, the command. */
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            if (tdl_cli_parse_long(main_usage, "--threads", optarg, 1, TDL_THREADS_MAX, &threads))
                return TDL_EXIT_USAGE;
            break;
        case 'h': fputs(main_usage, stdout); return TDL_EXIT_OK;
        case 'V': printf("tdl %s\n", TDL_VERSION); return TDL_EXIT_OK;
        case ':':
        case '?':
        default:
            if (optopt == 't')
                return tdl_cli_usage_error(main_usage, "--threads needs a value");
            return tdl_cli_usage_error(main_usage, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) return tdl_cli_usage_error(main_usage, "no command given");
    if (tdl_threads_init((int)threads) != TDL_OK)
        return tdl_cli_usage_error(main_usage, "%s", tdl_last_error());

    const char *name = argv[optind];
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(name, commands[i].name) == 0) return commands[i].run(argc - optind, argv + optind);
    return tdl_cli_usage_error(main_usage, "unknown command '%s'", name);
}
