/* cmd_diffusion_eps.c: `tdl diffusion eps`: the network's noise prediction
 * eps(x, t) for given images, for debugging and for checking a model against
 * PyTorch. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tdl/ddpm.h"
#include "tdl/safetensors.h"

static const char eps_usage[] =
    "usage: tdl diffusion eps --model MODEL --x X.safetensors --t T [--preset P]\n"
    "                         -o E.safetensors\n"
    "  Evaluate the noise predictor (inference: no dropout) on images x at step t\n"
    "  and write eps_hat.\n"
    "  --model MODEL       a model written by `tdl diffusion train` (or a PyTorch\n"
    "                      state_dict export with --preset)\n"
    "  --x X               a safetensors file with tensor \"x\" (or a single tensor)\n"
    "                      of shape (B, 1, S, S), S the model's image side (28)\n"
    "  --t T               the step, in [0, T) of the model, for every image\n"
    "  --preset P          the config of a bare PyTorch export\n"
    "  -o E                safetensors with tensor \"eps\" (B, 1, S, S)\n";

int tdl_cmd_diffusion_eps(int argc, char **argv) {
    enum { O_PRESET = 256 };
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'}, {"x", required_argument, NULL, 'x'},
        {"t", required_argument, NULL, 't'},     {"preset", required_argument, NULL, O_PRESET},
        {"output", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *model_path = NULL, *x_path = NULL, *out = NULL, *preset = NULL, *t_text = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'x': x_path = optarg; break;
        case 't': t_text = optarg; break;
        case O_PRESET: preset = optarg; break;
        case 'o': out = optarg; break;
        case 'h': fputs(eps_usage, stdout); return TDL_EXIT_OK;
        case ':':
            return tdl_cli_usage_error(eps_usage, "%s needs a value", argv[optind - 1]);
        default:
            return tdl_cli_usage_error(eps_usage, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return tdl_cli_usage_error(eps_usage, "unexpected argument '%s'", argv[optind]);
    if (!model_path) return tdl_cli_usage_error(eps_usage, "--model MODEL is required");
    if (!x_path) return tdl_cli_usage_error(eps_usage, "--x X.safetensors is required");
    if (!t_text) return tdl_cli_usage_error(eps_usage, "--t T is required");
    if (!out) return tdl_cli_usage_error(eps_usage, "-o E.safetensors is required");
    long t;
    if (tdl_cli_parse_long(eps_usage, "--t", t_text, 0, 1000000, &t)) return TDL_EXIT_USAGE;
    const tdl_cli_file outs[1] = {{"-o", out}};
    const tdl_cli_file ins[2] = {{"--model", model_path}, {"--x", x_path}};
    int frc = tdl_cli_check_files(eps_usage, outs, 1, ins, 2, 0);
    if (frc) return frc;

    tdl_ddpm model;
    memset(&model, 0, sizeof model);
    int rc = tdl_cli_diffusion_load(&model, model_path, preset, eps_usage);
    if (rc) return rc;
    rc = TDL_EXIT_FAIL;
    tdl_safetensors st;
    memset(&st, 0, sizeof st);
    tdl_ddpm_work w;
    memset(&w, 0, sizeof w);
    float *x = NULL;
    int *ts = NULL;
    char what[1400];
    if (t >= model.cfg.unet.T) {
        snprintf(what, sizeof what, "--t %ld is outside the model's steps [0, %d)", t,
                 model.cfg.unet.T);
        rc = tdl_cli_fail(what, "a smaller t");
        goto done;
    }
    if (tdl_safetensors_read(&st, x_path) != TDL_OK) {
        rc = tdl_cli_fail(tdl_last_error(), "--x takes a safetensors file with tensor \"x\"");
        goto done;
    }
    const tdl_st_tensor *xt = tdl_safetensors_find(&st, "x");
    if (!xt && st.count == 1) xt = &st.tensors[0];
    if (!xt) {
        snprintf(what, sizeof what, "%s has %d tensors and none is called \"x\"", x_path, st.count);
        rc = tdl_cli_fail(what, "name the input tensor \"x\"");
        goto done;
    }
    const int64_t S = model.cfg.unet.image;
    if (xt->ndim != 4 || xt->shape[0] < 1 || xt->shape[0] > 65536 || xt->shape[1] != 1 ||
        xt->shape[2] != S || xt->shape[3] != S) {
        snprintf(what, sizeof what, "%s: tensor \"%s\" has %d dimensions%s, the model takes "
                 "(B, 1, %" PRId64 ", %" PRId64 ")", x_path, xt->name, xt->ndim,
                 xt->ndim == 4 ? " of another shape" : "", S, S);
        rc = tdl_cli_fail(what, "images of the model's size, B from 1 to 65536");
        goto done;
    }
    int B = (int)xt->shape[0];
    x = malloc(xt->numel * sizeof(float));
    ts = malloc((size_t)B * sizeof(int));
    if (!x || !ts) {
        rc = tdl_cli_fail("out of memory", "fewer images");
        goto done;
    }
    tdl_safetensors_copy(&st, xt, x);
    for (int b = 0; b < B; b++) ts[b] = (int)t;
    if (tdl_ddpm_work_init(&w, &model, B, 0) != TDL_OK) {
        rc = tdl_cli_fail(tdl_last_error(), "fewer images");
        goto done;
    }
    tdl_unet_forward(&model.unet, w.cache, x, ts, w.eps_hat, B, 0, NULL);
    int64_t shape[4] = {B, 1, S, S};
    tdl_st_entry e = {"eps", 4, shape, w.eps_hat};
    char tv[32];
    snprintf(tv, sizeof tv, "%ld", t);
    const char *meta[] = {"kind", "tdl-ddpm-eps", "model", model_path, "t", tv};
    if (tdl_safetensors_write(out, &e, 1, meta, 3) != TDL_OK) {
        rc = tdl_cli_fail(tdl_last_error(), "output not written");
        goto done;
    }
    rc = TDL_EXIT_OK;
done:
    free(x);
    free(ts);
    tdl_ddpm_work_free(&w);
    tdl_safetensors_free(&st);
    tdl_ddpm_free(&model);
    return rc;
}
