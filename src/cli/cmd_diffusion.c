/* cmd_diffusion.c: `tdl diffusion SUBCOMMAND`: the DDPM workload generator.
 * TEMPORARY (branch qbench): dispatches only `quality` so that it can be
 * tested here; the full dispatcher (train, sample, eps, quality) comes from
 * the ddpm branch and replaces this file at merge. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char diffusion_usage[] =
    "usage: tdl diffusion SUBCOMMAND [ARGS...]\n"
    "  quality  compare generated workload values with a real series\n"
    "`tdl diffusion SUBCOMMAND --help` for each.\n";

int tdl_cmd_diffusion(int argc, char **argv) {
    if (argc < 2) return tdl_cli_usage_error(diffusion_usage, "no diffusion subcommand given");
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        fputs(diffusion_usage, stdout);
        return TDL_EXIT_OK;
    }
    if (strcmp(name, "quality") == 0) return tdl_cmd_diffusion_quality(argc - 1, argv + 1);
    return tdl_cli_usage_error(diffusion_usage, "unknown diffusion subcommand '%s'", name);
}
