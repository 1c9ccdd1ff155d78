/* cmd_diffusion_train.c: `tdl diffusion train`: pre-train the DDPM
 * (diffusion_train.h) from a preset with every field overridable, with
 * checkpoints, --resume and a progress bar. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "tdl/atomic_file.h"
#include "tdl/diffusion_train.h"
#include "tdl/source.h"
#include "tdl/threads.h"

static const char dtrain_usage[] =
    "usage: tdl diffusion train [--train SOURCE] [--preset P] [--iters N] [--batch B]\n"
    "                           [--lr R] [--seed S] [--ch N] [--ch-mult 1,2,2]\n"
    "                           [--attn 1] [--res-blocks N] [--dropout P]\n"
    "                           [--groups G] [--T N] [--beta1 X] [--betaT X]\n"
    "                           [--checkpoint-every N] [--resume] [--json]\n"
    "                           -o MODEL.safetensors\n"
    "  Pre-train the diffusion model (spec section 4). Images: SOURCE normalised\n"
    "  by its own range, rows of 28, the first 70% of the rows (the predictor's\n"
    "  training rows), 28 rows per 1x28x28 image (a last partial image completed\n"
    "  from the first rows). Iteration k takes the images k*B .. k*B+B-1 modulo\n"
    "  their count (tiled in order). Each iteration: t uniform in [0, T), eps ~\n"
    "  N(0, I), loss = mean (net(x_t, t) - eps)^2, one Adam step; a non-finite\n"
    "  loss or gradient skips the step (counted).\n"
    "  --train SOURCE      a CSV file or synth:PROFILE (default " TDL_SOURCE_DEFAULT ")\n"
    "  --preset P          the network and its schedule (default small):\n"
    "                        paper  ch 128, mult 1,2,2,2, attn 1, 2 blocks, 32 groups,\n"
    "                               T 500; 7000 iterations, batch 64, lr 1e-4\n"
    "                        small  ch 32, mult 1,2,2, attn 1, 1 block, 32 groups,\n"
    "                               T 500; 500 iterations, batch 64, lr 5e-4\n"
    "                        tiny   ch 16, mult 1,2, attn 1, 1 block, 8 groups,\n"
    "                               T 500; 150 iterations, batch 32, lr 1e-3\n"
    "                      NAME-t100: the same with T = 100. Dropout 0.1, betas\n"
    "                      0.05 .. 0.1 in all. Every field can be overridden:\n"
    "  --iters N --batch B --lr R   iterations, images per iteration, Adam rate\n"
    "  --seed S            initialisation, t, eps and dropout masks (default 1)\n"
    "  --ch N              base channels\n"
    "  --ch-mult LIST      channel multiplier per level, e.g. 1,2,2 (sets the levels)\n"
    "  --attn LIST         levels with attention, e.g. 1 or 1,2 (0-based; 'none')\n"
    "  --res-blocks N      residual blocks per level\n"
    "  --dropout P         dropout in the residual blocks, in [0, 1)\n"
    "  --groups G          GroupNorm groups (divides every channel count)\n"
    "  --T N               diffusion steps\n"
    "  --beta1 X --betaT X the linear beta schedule's ends\n"
    "  --checkpoint-every N  write MODEL.ckpt.safetensors (weights, Adam state, RNG,\n"
    "                      iteration, config) every N iterations and at the end\n"
    "                      (default 100)\n"
    "  --resume            continue from MODEL.ckpt.safetensors (its config; only\n"
    "                      --iters, --checkpoint-every and --train may be given):\n"
    "                      the final model equals an uninterrupted run's bit for\n"
    "                      bit (same --threads)\n"
    "  --json              print a summary object on stdout at the end\n"
    "  -o MODEL            the trained model (safetensors, PyTorch state_dict names\n"
    "                      with the prefix backbone., config in the metadata)\n";

/* "1,2,2" -> out[0..], *count; each in [lo, hi]. 0 on success. */
static int parse_list(const char *text, int lo, int hi, int *out, int *count) {
    int n = 0;
    const char *p = text;
    if (strcmp(text, "none") == 0) {
        *count = 0;
        return 0;
    }
    for (;;) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (errno || end == p || v < lo || v > hi || n >= TDL_UNET_MAX_LEVELS) return -1;
        out[n++] = (int)v;
        if (*end == '\0') break;
        if (*end != ',') return -1;
        p = end + 1;
    }
    *count = n;
    return 0;
}

typedef struct overrides {
    int ch, levels, mult[TDL_UNET_MAX_LEVELS], attn_given, nattn, attn[TDL_UNET_MAX_LEVELS];
    int blocks, groups, T;
    double dropout, beta1, betaT;
    long iters, batch, seed;
    double lr;
} overrides;

int tdl_cmd_diffusion_train(int argc, char **argv) {
    enum { O_CH = 256, O_MULT, O_ATTN, O_BLOCKS, O_DROP, O_GROUPS, O_T, O_B1, O_BT, O_CKEVERY,
           O_RESUME, O_PRESET, O_ITERS };
    static const struct option opts[] = {
        {"train", required_argument, NULL, 'T'},     {"preset", required_argument, NULL, O_PRESET},
        {"iters", required_argument, NULL, O_ITERS}, {"batch", required_argument, NULL, 'b'},
        {"lr", required_argument, NULL, 'l'},        {"seed", required_argument, NULL, 's'},
        {"ch", required_argument, NULL, O_CH},       {"ch-mult", required_argument, NULL, O_MULT},
        {"attn", required_argument, NULL, O_ATTN},   {"res-blocks", required_argument, NULL, O_BLOCKS},
        {"dropout", required_argument, NULL, O_DROP}, {"groups", required_argument, NULL, O_GROUPS},
        {"T", required_argument, NULL, O_T},         {"beta1", required_argument, NULL, O_B1},
        {"betaT", required_argument, NULL, O_BT},
        {"checkpoint-every", required_argument, NULL, O_CKEVERY},
        {"resume", no_argument, NULL, O_RESUME},     {"json", no_argument, NULL, 'j'},
        {"output", required_argument, NULL, 'o'},    {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    overrides ov;
    memset(&ov, 0, sizeof ov);
    ov.dropout = ov.beta1 = ov.betaT = ov.lr = NAN;
    ov.seed = -1;
    const char *source = NULL, *out = NULL, *preset = "small";
    long lv, every = 100;
    int json = 0, resume = 0, config_given = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
        switch (c) {
        case 'T': source = optarg; break;
        case O_PRESET: preset = optarg; config_given = 1; break;
        case O_ITERS:
            if (tdl_cli_parse_long(dtrain_usage, "--iters", optarg, 1, 100000000L, &ov.iters))
                return TDL_EXIT_USAGE;
            break;
        case 'b':
            if (tdl_cli_parse_long(dtrain_usage, "--batch", optarg, 1, 65536, &ov.batch))
                return TDL_EXIT_USAGE;
            config_given = 1;
            break;
        case 'l':
            if (tdl_cli_parse_double(dtrain_usage, "--lr", optarg, 1e-30, 1e3, &ov.lr))
                return TDL_EXIT_USAGE;
            config_given = 1;
            break;
        case 's':
            if (tdl_cli_parse_long(dtrain_usage, "--seed", optarg, 0, 2147483647L, &ov.seed))
                return TDL_EXIT_USAGE;
            config_given = 1;
            break;
        case O_CH:
            if (tdl_cli_parse_long(dtrain_usage, "--ch", optarg, 1, 4096, &lv)) return TDL_EXIT_USAGE;
            ov.ch = (int)lv;
            config_given = 1;
            break;
        case O_MULT:
            if (parse_list(optarg, 1, 64, ov.mult, &ov.levels) || ov.levels < 1)
                return tdl_cli_usage_error(dtrain_usage, "--ch-mult '%s' is not a list of 1 to %d "
                                           "integers in [1, 64] (e.g. 1,2,2)", optarg,
                                           TDL_UNET_MAX_LEVELS);
            config_given = 1;
            break;
        case O_ATTN:
            if (parse_list(optarg, 0, TDL_UNET_MAX_LEVELS - 1, ov.attn, &ov.nattn))
                return tdl_cli_usage_error(dtrain_usage, "--attn '%s' is not a list of level "
                                           "indices (e.g. 1 or 1,2 or none)", optarg);
            ov.attn_given = 1;
            config_given = 1;
            break;
        case O_BLOCKS:
            if (tdl_cli_parse_long(dtrain_usage, "--res-blocks", optarg, 1, 64, &lv))
                return TDL_EXIT_USAGE;
            ov.blocks = (int)lv;
            config_given = 1;
            break;
        case O_DROP:
            if (tdl_cli_parse_double(dtrain_usage, "--dropout", optarg, 0, 0.999999, &ov.dropout))
                return TDL_EXIT_USAGE;
            config_given = 1;
            break;
        case O_GROUPS:
            if (tdl_cli_parse_long(dtrain_usage, "--groups", optarg, 1, 4096, &lv))
                return TDL_EXIT_USAGE;
            ov.groups = (int)lv;
            config_given = 1;
            break;
        case O_T:
            if (tdl_cli_parse_long(dtrain_usage, "--T", optarg, 1, 100000, &lv)) return TDL_EXIT_USAGE;
            ov.T = (int)lv;
            config_given = 1;
            break;
        case O_B1:
            if (tdl_cli_parse_double(dtrain_usage, "--beta1", optarg, 1e-12, 0.999999, &ov.beta1))
                return TDL_EXIT_USAGE;
            config_given = 1;
            break;
        case O_BT:
            if (tdl_cli_parse_double(dtrain_usage, "--betaT", optarg, 1e-12, 0.999999, &ov.betaT))
                return TDL_EXIT_USAGE;
            config_given = 1;
            break;
        case O_CKEVERY:
            if (tdl_cli_parse_long(dtrain_usage, "--checkpoint-every", optarg, 1, 100000000L, &every))
                return TDL_EXIT_USAGE;
            break;
        case O_RESUME: resume = 1; break;
        case 'j': json = 1; break;
        case 'o': out = optarg; break;
        case 'h': fputs(dtrain_usage, stdout); return TDL_EXIT_OK;
        case ':':
            return tdl_cli_usage_error(dtrain_usage, "%s needs a value", argv[optind - 1]);
        default:
            return tdl_cli_usage_error(dtrain_usage, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return tdl_cli_usage_error(dtrain_usage, "unexpected argument '%s'", argv[optind]);
    if (!out) return tdl_cli_usage_error(dtrain_usage, "-o MODEL.safetensors is required");
    if (resume && config_given)
        return tdl_cli_usage_error(dtrain_usage, "--resume takes the config from the checkpoint "
                                   "(only --iters, --checkpoint-every and --train may be given)");

    tdl_ddpm_config mc;
    tdl_diffusion_train_config tc;
    if (!resume) {
        if (tdl_diffusion_preset(preset, &mc, &tc) != TDL_OK)
            return tdl_cli_usage_error(dtrain_usage, "--preset: %s", tdl_last_error());
        tdl_unet_config *u = &mc.unet;
        if (ov.ch) u->ch = ov.ch;
        if (ov.levels) {
            u->levels = ov.levels;
            memset(u->ch_mult, 0, sizeof u->ch_mult);
            for (int i = 0; i < ov.levels; i++) u->ch_mult[i] = ov.mult[i];
            for (int i = ov.levels; i < TDL_UNET_MAX_LEVELS; i++) u->attn[i] = 0;
        }
        if (ov.attn_given) {
            memset(u->attn, 0, sizeof u->attn);
            for (int i = 0; i < ov.nattn; i++) {
                if (ov.attn[i] >= u->levels)
                    return tdl_cli_usage_error(dtrain_usage, "--attn: level %d, the network has "
                                               "%d levels (0 .. %d)", ov.attn[i], u->levels,
                                               u->levels - 1);
                u->attn[ov.attn[i]] = 1;
            }
        }
        if (ov.blocks) u->num_res_blocks = ov.blocks;
        if (!isnan(ov.dropout)) u->dropout = (float)ov.dropout;
        if (ov.groups) u->groups = ov.groups;
        if (ov.T) u->T = ov.T;
        if (!isnan(ov.beta1)) mc.beta_1 = ov.beta1;
        if (!isnan(ov.betaT)) mc.beta_T = ov.betaT;
        if (ov.iters) tc.iters = ov.iters;
        if (ov.batch) tc.batch = (int)ov.batch;
        if (!isnan(ov.lr)) tc.lr = ov.lr;
        if (ov.seed >= 0) tc.seed = (uint64_t)ov.seed;
        tc.t_lo = 0;
        tc.t_hi = u->T;
        if (tdl_ddpm_config_check(&mc) != TDL_OK)
            return tdl_cli_usage_error(dtrain_usage, "the network: %s", tdl_last_error());
        if (tdl_diffusion_train_config_check(&tc, &mc) != TDL_OK)
            return tdl_cli_usage_error(dtrain_usage, "training: %s", tdl_last_error());
    }

    char *ckpt = tdl_cli_sibling_path(out, ".ckpt.safetensors");
    if (!ckpt) return tdl_cli_fail("out of memory", "checkpoint path");
    tdl_ddpm model;
    memset(&model, 0, sizeof model);
    tdl_diffusion_trainer tr;
    memset(&tr, 0, sizeof tr);
    tdl_diffusion_data data;
    memset(&data, 0, sizeof data);
    tdl_series raw = {0};
    int rc = TDL_EXIT_FAIL;
    int64_t resumed_from = 0;
    char what[1400];
    static tdl_diffusion_checkpoint_info info;
    tdl_file_lock lock = {-1, NULL, -1};
    /* before any work: the outputs can be written, none is the input, and no
     * other run writes the same model and checkpoint */
    const tdl_cli_file outs[2] = {{"-o", out}, {"the checkpoint", ckpt}};
    tdl_cli_file ins[1] = {{"--train", source}};
    if ((rc = tdl_cli_check_files(dtrain_usage, outs, 2, ins, 1, 1)) != 0 ||
        (rc = tdl_cli_lock_output(&lock, out)) != 0)
        goto done;
    rc = TDL_EXIT_FAIL;

    if (resume) {
        if (access(ckpt, F_OK) != 0) {
            snprintf(what, sizeof what, "no checkpoint %s to resume from", ckpt);
            rc = tdl_cli_fail(what, "run without --resume to start");
            goto done;
        }
        if (tdl_diffusion_trainer_resume(&tr, &model, ckpt, &info) != TDL_OK) {
            rc = tdl_cli_fail(tdl_last_error(), "delete the checkpoint to start afresh");
            goto done;
        }
        if (source && strcmp(source, info.train_source) != 0) {
            snprintf(what, sizeof what, "--train %s differs from the checkpoint's %s", source,
                     info.train_source);
            rc = tdl_cli_fail(what, "resume with the same training source");
            goto done;
        }
        source = info.train_source;
        ins[0].path = source;
        if ((rc = tdl_cli_check_files(dtrain_usage, outs, 2, ins, 1, 1)) != 0) goto done;
        rc = TDL_EXIT_FAIL;
        if (ov.iters) tr.cfg.iters = ov.iters;
        mc = model.cfg;
        tc = tr.cfg;
        preset = "(checkpoint)";
        resumed_from = tr.iter;
    } else if (!source) {
        source = TDL_SOURCE_DEFAULT;
    }
    if (tdl_cli_load_source(source, NULL, &raw) != TDL_OK ||
        tdl_diffusion_data_prepare(&data, &raw) != TDL_OK) {
        snprintf(what, sizeof what, "training data %s: %s", source, tdl_last_error());
        rc = tdl_cli_fail(what, resume ? "the checkpoint's training source must still be readable"
                                       : "a CSV with a ContextTokens column or synth:PROFILE");
        goto done;
    }
    if (resume && (data.range.min != info.range.min || data.range.max != info.range.max ||
                   data.rows != info.rows)) {
        snprintf(what, sizeof what, "training data %s changed since the checkpoint (range or "
                 "rows differ)", source);
        rc = tdl_cli_fail(what, "resume with the same data");
        goto done;
    }
    if (!resume) {
        if (tdl_ddpm_init(&model, &mc, tc.seed) != TDL_OK ||
            tdl_diffusion_trainer_init(&tr, &model, &tc) != TDL_OK) {
            rc = tdl_cli_fail(tdl_last_error(), "check the options");
            goto done;
        }
    }

    int tty = isatty(2);
    char ucfg[TDL_UNET_CONFIG_CHARS];
    tdl_unet_config_format(&mc.unet, ucfg);
    if (!json || tty)
        fprintf(stderr, "diffusion train: %s on %s (%zu rows, %zu images), preset %s [%s], "
                "%zu parameters, betas %g..%g, %" PRId64 " iterations, batch %d, lr %g, seed %"
                PRIu64 ", %d thread(s)\n",
                "ddpm", source, data.rows, data.n, preset, ucfg,
                tdl_params_trainable(&model.unet.params), mc.beta_1, mc.beta_T, tc.iters, tc.batch,
                tc.lr, tc.seed, tdl_threads_count());
    if (resumed_from)
        fprintf(stderr, "diffusion train: resuming after iteration %" PRId64 " from %s\n",
                resumed_from, ckpt);
    double t0 = tdl_cli_now(), last_print = -1.0;
    int64_t k0 = tr.iter, report = tc.iters / 20 > 0 ? tc.iters / 20 : 1;
    double win_sum = 0.0, win_mean = NAN;
    int64_t win_n = 0;
    while (tr.iter < tc.iters) {
        double loss;
        tdl_diffusion_trainer_step(&tr, &data, &loss);
        if (isfinite(loss)) {
            win_sum += loss;
            win_n++;
        }
        double now = tdl_cli_now(), el = now - t0;
        double rate = el > 0 ? (double)(tr.iter - k0) / el : 0.0;
        char eta[32];
        tdl_cli_format_eta(eta, sizeof eta, rate > 0 ? (double)(tc.iters - tr.iter) / rate : 0.0);
        int last = tr.iter == tc.iters;
        if (tr.iter % report == 0 || last) {
            win_mean = win_n ? win_sum / (double)win_n : NAN;
            if (!tty)
                fprintf(stderr, "iter %" PRId64 "/%" PRId64 " loss %.6g (mean of the last %" PRId64
                        ") skipped %" PRId64 " rate %.3g it/s ETA %s\n",
                        tr.iter, tc.iters, win_mean, win_n, tr.skipped, rate, eta);
            win_sum = 0.0;
            win_n = 0;
        }
        if (tty && (now - last_print > 0.2 || last)) {
            int width = 30, fill = (int)((double)width * (double)tr.iter / (double)tc.iters);
            char bar[64];
            for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
            bar[width] = '\0';
            fprintf(stderr, "\r[%s] iter %" PRId64 "/%" PRId64 "  loss %.5f  %.2f it/s  ETA %s   ",
                    bar, tr.iter, tc.iters, loss, rate, eta);
            last_print = now;
        }
        if (tr.iter % every == 0 || last) {
            if (tdl_diffusion_checkpoint_save(&tr, ckpt, source, &data) != TDL_OK) {
                if (tty) fputc('\n', stderr);
                rc = tdl_cli_fail(tdl_last_error(), "checkpoint not written");
                goto done;
            }
        }
    }
    if (tty) fputc('\n', stderr);
    if (tdl_diffusion_model_save(&tr, out, source, &data) != TDL_OK) {
        rc = tdl_cli_fail(tdl_last_error(), "model not written");
        goto done;
    }
    double secs = tdl_cli_now() - t0;
    if (json) {
        /* final_loss and mean_loss_last: null when no iteration ran here (a
         * resume of a finished run) or none of the last window was finite */
        json_t *o = json_object();
        tdl_cli_json_set(o, "train", tdl_cli_json_text(source));
        tdl_cli_json_set(o, "preset", tdl_cli_json_text(preset));
        tdl_cli_json_set(o, "unet", tdl_cli_json_text(ucfg));
        tdl_cli_json_set(o, "parameters",
                         tdl_cli_json_integer((long long)tdl_params_trainable(&model.unet.params)));
        tdl_cli_json_set(o, "beta_1", tdl_cli_json_number(mc.beta_1));
        tdl_cli_json_set(o, "beta_T", tdl_cli_json_number(mc.beta_T));
        tdl_cli_json_set(o, "T", tdl_cli_json_integer(mc.unet.T));
        tdl_cli_json_set(o, "train_rows", tdl_cli_json_integer((long long)data.rows));
        tdl_cli_json_set(o, "images", tdl_cli_json_integer((long long)data.n));
        tdl_cli_json_set(o, "iters", tdl_cli_json_integer(tc.iters));
        tdl_cli_json_set(o, "resumed_from_iter", tdl_cli_json_integer(resumed_from));
        tdl_cli_json_set(o, "adam_steps", tdl_cli_json_integer(tr.adam.t));
        tdl_cli_json_set(o, "skipped", tdl_cli_json_integer(tr.skipped));
        tdl_cli_json_set(o, "final_loss", tdl_cli_json_number(tr.iter > k0 ? tr.loss : NAN));
        tdl_cli_json_set(o, "mean_loss_last", tdl_cli_json_number(win_mean));
        tdl_cli_json_set(o, "batch", tdl_cli_json_integer(tc.batch));
        tdl_cli_json_set(o, "lr", tdl_cli_json_number(tc.lr));
        tdl_cli_json_set(o, "seed", tdl_cli_json_integer((long long)tc.seed));
        tdl_cli_json_set(o, "threads", tdl_cli_json_integer(tdl_threads_count()));
        tdl_cli_json_set(o, "seconds", tdl_cli_json_number(secs));
        tdl_cli_json_set(o, "seconds_per_iter",
                         tdl_cli_json_number(tr.iter > k0 ? secs / (double)(tr.iter - k0) : NAN));
        tdl_cli_json_set(o, "model", tdl_cli_json_text(out));
        tdl_cli_json_set(o, "checkpoint", tdl_cli_json_text(ckpt));
        rc = tdl_cli_json_print(o, 10, 0);
        goto done;
    }
    fprintf(stderr, "diffusion train: wrote %s (%" PRId64 " iterations, %" PRId64
            " skipped, final loss %.6g, %.1f s)\n", out, tc.iters, tr.skipped, tr.loss, secs);
    rc = TDL_EXIT_OK;
done:
    tdl_diffusion_trainer_free(&tr);
    tdl_ddpm_free(&model);
    tdl_diffusion_data_free(&data);
    tdl_series_free(&raw);
    tdl_file_lock_release(&lock);
    free(ckpt);
    return rc;
}
