/* cmd_diffusion.c: `tdl diffusion SUBCOMMAND`: the DDPM workload generator
 * (spec section 4): train, sample, eps, quality; and the model loading the
 * subcommands share. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "tdl/ddpm.h"

static const char diffusion_usage[] =
    "usage: tdl diffusion SUBCOMMAND [ARGS...]\n"
    "  The DDPM of spec section 4: a UNet noise predictor with a linear beta\n"
    "  schedule, trained on 1x28x28 images of 28 consecutive rows of 28 slots.\n"
    "subcommands:\n"
    "  train    pre-train a diffusion model on a workload series (presets paper,\n"
    "           small, tiny and NAME-t100), with checkpoints and --resume\n"
    "  sample   generate workload images (rows of 28, normalised units) with a\n"
    "           seed, optionally keeping the last K states of each trajectory\n"
    "  eps      the network's noise prediction for given images and step t\n"
    "  quality  compare generated workload values with a real series\n"
    "`tdl diffusion SUBCOMMAND --help` for each.\n";

int tdl_cmd_diffusion(int argc, char **argv) {
    if (argc < 2) return tdl_cli_usage_error(diffusion_usage, "no diffusion subcommand given");
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        fputs(diffusion_usage, stdout);
        return TDL_EXIT_OK;
    }
    if (strcmp(name, "train") == 0) return tdl_cmd_diffusion_train(argc - 1, argv + 1);
    if (strcmp(name, "sample") == 0) return tdl_cmd_diffusion_sample(argc - 1, argv + 1);
    if (strcmp(name, "eps") == 0) return tdl_cmd_diffusion_eps(argc - 1, argv + 1);
    if (strcmp(name, "quality") == 0) return tdl_cmd_diffusion_quality(argc - 1, argv + 1);
    return tdl_cli_usage_error(diffusion_usage, "unknown diffusion subcommand '%s'", name);
}

int tdl_cli_diffusion_load(struct tdl_ddpm *d, const char *path, const char *preset,
                           const char *usage) {
    tdl_ddpm_config pc;
    if (preset && tdl_ddpm_config_preset(&pc, preset) != TDL_OK)
        return tdl_cli_usage_error(usage, "--preset: %s", tdl_last_error());
    tdl_status s = tdl_ddpm_load(d, path, preset ? &pc : NULL);
    if (s == TDL_OK) return 0;
    const char *hint = s == TDL_ERR_INVALID ? "give --preset NAME with the export's config"
                       : s == TDL_ERR_SHAPE ? "the file's tensors do not fit the config"
                       : s == TDL_ERR_IO    ? "check the path"
                                            : "a model written by `tdl diffusion train`";
    return tdl_cli_fail(tdl_last_error(), hint);
}
