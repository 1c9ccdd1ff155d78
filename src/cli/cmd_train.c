/* cmd_train.c: `tdl train`: train the predictor with the authors' loop
 * (train.h), MSE or decision-focused, or a baseline of spec section 6
 * through the same loop (KL-DRO as its loss, the augmentations as a
 * transformation of the training rows, W-DRO as a transformation of each
 * step's batch), with checkpoints and --resume. */
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
#include "tdl/source.h"
#include "tdl/threads.h"
#include "tdl/train.h"

/* the help in two literals (C99 guarantees 4095 characters per literal),
 * joined once in tdl_cmd_train */
static const char train_usage_a[] =
    "usage: tdl train [--method dfl|mse|kl-dro|w-dro|da-gauss|da-cutout|da-perlin]\n"
    "                 [--kl-eps E] [--kl-on loss|regret] [--w-eps E] [--fw-iters K] [--compat authors]\n"
    "                 [--noise-level L] [--noise-seed S]\n"
    "                 [--train SOURCE] [--epochs N | --steps N]\n"
    "                 [--adam-reset K] [--lr R] [--batch B] [--lr-step K]\n"
    "                 [--lr-gamma G] [--seed S] [--init MODEL]\n"
    "                 [--checkpoint-every N] [--resume] [--json] -o MODEL.safetensors\n"
    "  Train the workload predictor (spec section 3) with the authors' loop: for\n"
    "  each batch of B training rows (in order, the last incomplete batch\n"
    "  dropped) and each step t = 7..27, one Adam step on the windows\n"
    "  x[t-7..t-1] -> x[t]; StepLR after each epoch; a step with a non-finite\n"
    "  loss or gradient is skipped and counted. Training rows: SOURCE normalised\n"
    "  by its own range, rows of 28, the first 70% of the rows.\n"
    "  --method M          dfl (default: decision-focused, exact rule), mse, or a\n"
    "                      baseline of spec section 6 (the same loop):\n"
    "    kl-dro            KL-DRO (Hu and Hong): each step's loss is the worst\n"
    "                      case of the batch's DFL losses over the distributions\n"
    "                      within KL <= E of the batch (the dual, min over alpha\n"
    "                      found per step by bisection), gradient = the DFL\n"
    "                      gradients weighted by the tilted distribution;\n"
    "                      defaults lr 2e-5 and 100 epochs unless --lr/--epochs\n"
    "    w-dro             W-DRO (Staib and Jegelka): before each step the batch's\n"
    "                      windows x0 are replaced by a Frank-Wolfe attack's (K\n"
    "                      iterations, step 2/(k+2), inside ||x - x0||_2 <= E for\n"
    "                      the whole batch, values in [0, 1], the decision loss\n"
    "                      attacked, dropout on), then the DFL step on them;\n"
    "                      defaults lr 2e-5 and 100 epochs unless --lr/--epochs\n"
    "    da-gauss          DFL on the training rows plus one noisy copy (after\n"
    "    da-cutout         them): Gaussian N(0, L^2) clipped to [0, 1]; Cutout\n"
    "    da-perlin         (each value 0 with probability L); Perlin (8 octaves,\n"
    "                      peak L x the range); in normalised units\n"
    ;
static const char train_usage_b[] =
    "  --kl-eps E          KL-DRO's radius, > 0 (default 2)\n"
    "  --kl-on loss|regret what KL-DRO tilts: the per-instance decision losses\n"
    "                      (default, the spec) or the per-instance regrets (the\n"
    "                      losses rank instances by workload, so a wide ball\n"
    "                      weights the smallest workloads and the forecasts\n"
    "                      fall to 0; the regrets rank them by the error)\n"
    "  --w-eps E           W-DRO's budget, > 0 (default 2)\n"
    "  --fw-iters K        W-DRO's Frank-Wolfe iterations, >= 1 (default 15)\n"
    "  --compat authors    W-DRO as the authors' code: the ball drifts with each\n"
    "                      iterate and the squared error is attacked (only to\n"
    "                      explain gaps to Table I; default: paper)\n"
    "  --noise-level L     the augmentation's level, >= 0 (cutout: <= 1);\n"
    "                      default 0.05\n"
    "  --noise-seed S      the noise's seed (default: --seed)\n"
    "  --train SOURCE      a CSV file or synth:PROFILE (default " TDL_SOURCE_DEFAULT ")\n"
    "  --epochs N          epochs (default 100)\n"
    "  --steps N           run length in steps instead of epochs: stop as soon as\n"
    "                      N steps have been attempted (taken or skipped), inside\n"
    "                      an epoch if need be, and run as many epochs as that\n"
    "                      takes (a partial last epoch counts as one and StepLR\n"
    "                      steps after it); not with --epochs\n"
    "  --adam-reset K      a fresh Adam (moments and step count zeroed, the rate\n"
    "                      back to --lr, StepLR's count to 0) before every step\n"
    "                      whose position in the run (steps attempted before it)\n"
    "                      is a multiple of K > 0 (default: never)\n"
    "  --steps and --adam-reset make the 3D-Learning control: DFL continued on the\n"
    "  real rows for as many steps as a 3D-L run, with its fresh-Adam schedule\n"
    "  (tdl train --method dfl --init DFL_MODEL --steps N --adam-reset K --lr 1e-6).\n"
    "  --lr R              initial learning rate (default 1e-6)\n"
    "  --batch B           rows per batch (default 64)\n"
    "  --lr-step K         StepLR: multiply the rate by G every K epochs\n"
    "  --lr-gamma G        (default K = 10, G = 0.05)\n"
    "  The defaults are the paper's settings (100 epochs, lr 1e-6, batch 64,\n"
    "  StepLR 10 and 0.05).\n"
    "  --seed S            initialisation and dropout masks (default 1)\n"
    "  --init MODEL        start from these weights instead of a fresh init\n"
    "  --checkpoint-every N  write MODEL.ckpt.safetensors (weights, Adam state,\n"
    "                      RNG, epoch, config) every N epochs and at the end\n"
    "                      (default 1); a killed run loses at most the epoch\n"
    "                      in progress\n"
    "  --resume            continue from MODEL.ckpt.safetensors (its config; only\n"
    "                      the run's length may change: --epochs N replaces it by\n"
    "                      N epochs, --steps N by N steps): the final weights\n"
    "                      equal an uninterrupted run's bit for bit (same\n"
    "                      --threads)\n"
    "  --json              print a summary object on stdout at the end\n"
    "  -o MODEL            the trained weights (safetensors, PyTorch names)\n";

int tdl_cmd_train(int argc, char **argv) {
    static char train_usage[sizeof train_usage_a + sizeof train_usage_b];
    if (!train_usage[0]) {
        memcpy(train_usage, train_usage_a, sizeof train_usage_a);
        strcat(train_usage, train_usage_b);
    }
    /* --method 3dl has its own options (cmd_train_3dl.c) */
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "--method") == 0 && i + 1 < argc && strcmp(argv[i + 1], "3dl") == 0) ||
            strcmp(argv[i], "--method=3dl") == 0)
            return tdl_cmd_train_3dl(argc, argv);
    }
    enum { O_LRSTEP = 256, O_LRGAMMA, O_INIT, O_CKEVERY, O_RESUME, O_KLEPS, O_NLEVEL, O_NSEED,
           O_WEPS, O_FWITERS, O_COMPAT, O_KLON };
    static const struct option opts[] = {
        {"method", required_argument, NULL, 'm'},   {"train", required_argument, NULL, 'T'},
        {"epochs", required_argument, NULL, 'e'},   {"lr", required_argument, NULL, 'l'},
        {"batch", required_argument, NULL, 'b'},    {"lr-step", required_argument, NULL, O_LRSTEP},
        {"lr-gamma", required_argument, NULL, O_LRGAMMA},
        {"seed", required_argument, NULL, 's'},     {"init", required_argument, NULL, O_INIT},
        {"checkpoint-every", required_argument, NULL, O_CKEVERY},
        {"resume", no_argument, NULL, O_RESUME},    {"json", no_argument, NULL, 'j'},
        {"steps", required_argument, NULL, 'S'},
        {"adam-reset", required_argument, NULL, 'A'},
        {"kl-eps", required_argument, NULL, O_KLEPS},
        {"kl-on", required_argument, NULL, O_KLON},
        {"noise-level", required_argument, NULL, O_NLEVEL},
        {"noise-seed", required_argument, NULL, O_NSEED},
        {"w-eps", required_argument, NULL, O_WEPS},
        {"fw-iters", required_argument, NULL, O_FWITERS},
        {"compat", required_argument, NULL, O_COMPAT},
        {"output", required_argument, NULL, 'o'},   {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    tdl_train_config cfg;
    tdl_train_config_default(&cfg);
    const char *source = NULL, *init = NULL, *out = NULL;
    long lv, every = 1, epochs_opt = 0, steps_opt = 0;
    double dv;
    int json = 0, resume = 0, config_given = 0, c;
    int lr_given = 0, kleps_given = 0, level_given = 0, nseed_given = 0;
    int wdro = 0, weps_given = 0, fw_given = 0, compat_authors = -1;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            cfg.augment = TDL_AUGMENT_NONE;
            cfg.loss = TDL_TRAIN_DFL;
            wdro = strcmp(optarg, "w-dro") == 0; /* W-DRO: DFL on attacked windows */
            if (!wdro &&
                (strncmp(optarg, "da-", 3) == 0 ? tdl_train_augment_parse(optarg, &cfg.augment)
                                                : tdl_train_loss_parse(optarg, &cfg.loss)))
                return tdl_cli_usage_error(train_usage, "--method '%s': dfl, mse, kl-dro, "
                                           "w-dro, da-gauss, da-cutout or da-perlin", optarg);
            config_given = 1;
            break;
        case O_KLEPS:
            if (tdl_cli_parse_double(train_usage, "--kl-eps", optarg, 0.0, 1e6, &cfg.kl_eps))
                return TDL_EXIT_USAGE;
            if (!(cfg.kl_eps > 0))
                return tdl_cli_usage_error(train_usage, "--kl-eps %s: the radius must be > 0",
                                           optarg);
            kleps_given = config_given = 1;
            break;
        case O_KLON:
            if (strcmp(optarg, "loss") != 0 && strcmp(optarg, "regret") != 0)
                return tdl_cli_usage_error(train_usage, "--kl-on '%s': loss or regret", optarg);
            cfg.kl_regret = strcmp(optarg, "regret") == 0;
            kleps_given = config_given = 1;
            break;
        case O_WEPS:
            if (tdl_cli_parse_double(train_usage, "--w-eps", optarg, 0.0, 1e6, &cfg.w_eps))
                return TDL_EXIT_USAGE;
            if (!(cfg.w_eps > 0))
                return tdl_cli_usage_error(train_usage, "--w-eps %s: the budget must be > 0",
                                           optarg);
            weps_given = config_given = 1;
            break;
        case O_FWITERS:
            if (tdl_cli_parse_long(train_usage, "--fw-iters", optarg, 1, 1000000, &lv))
                return TDL_EXIT_USAGE;
            cfg.fw_iters = (int)lv;
            fw_given = config_given = 1;
            break;
        case O_COMPAT:
            if (strcmp(optarg, "authors") == 0) compat_authors = 1;
            else if (strcmp(optarg, "paper") == 0) compat_authors = 0;
            else
                return tdl_cli_usage_error(train_usage, "--compat %s: authors or paper", optarg);
            config_given = 1;
            break;
        case O_NLEVEL:
            if (tdl_cli_parse_double(train_usage, "--noise-level", optarg, 0.0, 1e3,
                                     &cfg.noise_level))
                return TDL_EXIT_USAGE;
            level_given = config_given = 1;
            break;
        case O_NSEED:
            if (tdl_cli_parse_long(train_usage, "--noise-seed", optarg, 0, 2147483647L, &lv))
                return TDL_EXIT_USAGE;
            cfg.noise_seed = (uint64_t)lv;
            nseed_given = config_given = 1;
            break;
        case 'T': source = optarg; break;
        case 'e':
            if (tdl_cli_parse_long(train_usage, "--epochs", optarg, 1, 1000000, &epochs_opt))
                return TDL_EXIT_USAGE;
            cfg.epochs = (int)epochs_opt;
            break;
        case 'l':
            if (tdl_cli_parse_double(train_usage, "--lr", optarg, 1e-30, 1e3, &cfg.lr))
                return TDL_EXIT_USAGE;
            lr_given = config_given = 1;
            break;
        case 'b':
            if (tdl_cli_parse_long(train_usage, "--batch", optarg, 1, 1 << 20, &lv))
                return TDL_EXIT_USAGE;
            cfg.batch = (int)lv;
            config_given = 1;
            break;
        case O_LRSTEP:
            if (tdl_cli_parse_long(train_usage, "--lr-step", optarg, 1, 1000000, &lv))
                return TDL_EXIT_USAGE;
            cfg.lr_step = (int)lv;
            config_given = 1;
            break;
        case O_LRGAMMA:
            if (tdl_cli_parse_double(train_usage, "--lr-gamma", optarg, 1e-30, 1e3, &dv))
                return TDL_EXIT_USAGE;
            cfg.lr_gamma = dv;
            config_given = 1;
            break;
        case 's':
            if (tdl_cli_parse_long(train_usage, "--seed", optarg, 0, 2147483647L, &lv))
                return TDL_EXIT_USAGE;
            cfg.seed = (uint64_t)lv;
            config_given = 1;
            break;
        case O_INIT: init = optarg; config_given = 1; break;
        case O_CKEVERY:
            if (tdl_cli_parse_long(train_usage, "--checkpoint-every", optarg, 1, 1000000, &every))
                return TDL_EXIT_USAGE;
            break;
        case 'S':
            if (tdl_cli_parse_long(train_usage, "--steps", optarg, 1, 1000000000L, &steps_opt))
                return TDL_EXIT_USAGE;
            cfg.max_steps = steps_opt;
            break;
        case 'A':
            if (tdl_cli_parse_long(train_usage, "--adam-reset", optarg, 1, 1000000000L, &lv))
                return TDL_EXIT_USAGE;
            cfg.adam_reset = lv;
            config_given = 1;
            break;
        case O_RESUME: resume = 1; break;
        case 'j': json = 1; break;
        case 'o': out = optarg; break;
        case 'h': fputs(train_usage, stdout); return TDL_EXIT_OK;
        case ':':
            return tdl_cli_usage_error(train_usage, "%s needs a value", argv[optind - 1]);
        default:
            return tdl_cli_usage_error(train_usage, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return tdl_cli_usage_error(train_usage, "unexpected argument '%s'", argv[optind]);
    if (!out) return tdl_cli_usage_error(train_usage, "-o MODEL.safetensors is required");
    if (epochs_opt && steps_opt)
        return tdl_cli_usage_error(train_usage, "--epochs and --steps both set the run's length "
                                   "(give one)");
    if (kleps_given && cfg.loss != TDL_TRAIN_KLDRO)
        return tdl_cli_usage_error(train_usage, "--kl-eps and --kl-on are for --method kl-dro");
    if ((weps_given || fw_given || compat_authors >= 0) && !wdro)
        return tdl_cli_usage_error(train_usage, "--w-eps, --fw-iters and --compat are for "
                                   "--method w-dro");
    if (wdro)
        cfg.wdro = compat_authors == 1 ? TDL_TRAIN_WDRO_AUTHORS : TDL_TRAIN_WDRO_PAPER;
    if ((level_given || nseed_given) && cfg.augment == TDL_AUGMENT_NONE)
        return tdl_cli_usage_error(train_usage, "--noise-level and --noise-seed are for --method "
                                   "da-gauss, da-cutout or da-perlin");
    if (cfg.augment == TDL_AUGMENT_CUTOUT && cfg.noise_level > 1)
        return tdl_cli_usage_error(train_usage, "--noise-level %g: cutout's level is a "
                                   "probability (0 to 1)", cfg.noise_level);
    /* the spec's KL-DRO and W-DRO settings (section 6) unless given */
    if (cfg.loss == TDL_TRAIN_KLDRO || cfg.wdro != TDL_TRAIN_WDRO_OFF) {
        if (!lr_given) cfg.lr = TDL_TRAIN_KLDRO_LR;
        if (!epochs_opt) cfg.epochs = TDL_TRAIN_KLDRO_EPOCHS;
    }
    if (cfg.augment != TDL_AUGMENT_NONE && !nseed_given) cfg.noise_seed = cfg.seed;
    if (resume && config_given)
        return tdl_cli_usage_error(train_usage, "--resume takes the config from the checkpoint "
                                   "(only --epochs or --steps, --checkpoint-every and --train "
                                   "may be given)");

    char *ckpt = tdl_cli_sibling_path(out, ".ckpt.safetensors");
    if (!ckpt) return tdl_cli_fail("out of memory", "checkpoint path");
    tdl_predictor pred;
    memset(&pred, 0, sizeof pred);
    tdl_trainer tr;
    memset(&tr, 0, sizeof tr);
    tdl_train_data data;
    memset(&data, 0, sizeof data);
    tdl_series raw = {0};
    int rc = TDL_EXIT_FAIL, resumed_from = 0;
    char what[1200];
    tdl_file_lock lock = {-1, NULL, -1};
    /* before any work: the outputs can be written, none is an input, and no
     * other run writes the same model and checkpoint */
    const tdl_cli_file outs[2] = {{"-o", out}, {"the checkpoint", ckpt}};
    tdl_cli_file ins[2] = {{"--train", source}, {"--init", init}};
    if ((rc = tdl_cli_check_files(train_usage, outs, 2, ins, 2, 1)) != 0 ||
        (rc = tdl_cli_lock_output(&lock, out)) != 0)
        goto done;
    rc = TDL_EXIT_FAIL;

    if (resume) {
        static tdl_checkpoint_info info;
        if (access(ckpt, F_OK) != 0) {
            snprintf(what, sizeof what, "no checkpoint %s to resume from", ckpt);
            rc = tdl_cli_fail(what, "run without --resume to start");
            goto done;
        }
        if (tdl_trainer_resume(&tr, &pred, ckpt, &info) != TDL_OK) {
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
        ins[0].path = source; /* the checkpoint's training source, not an output either */
        if ((rc = tdl_cli_check_files(train_usage, outs, 2, ins, 1, 1)) != 0) goto done;
        rc = TDL_EXIT_FAIL;
        if (epochs_opt) {
            tr.cfg.epochs = (int)epochs_opt;
            tr.cfg.max_steps = 0;
        }
        if (steps_opt) tr.cfg.max_steps = steps_opt;
        cfg = tr.cfg;
        resumed_from = tr.epoch;
        if (tdl_cli_load_source(source, NULL, &raw) != TDL_OK ||
            tdl_train_data_prepare(&data, &raw) != TDL_OK ||
            tdl_train_data_augment(&data, cfg.augment, cfg.noise_level, cfg.noise_seed) !=
                TDL_OK) {
            snprintf(what, sizeof what, "training data %s: %s", source, tdl_last_error());
            rc = tdl_cli_fail(what, "the checkpoint's training source must still be readable");
            goto done;
        }
        if (data.range.min != info.range.min || data.range.max != info.range.max ||
            data.R != info.rows) {
            snprintf(what, sizeof what, "training data %s changed since the checkpoint (range or "
                     "rows differ)", source);
            rc = tdl_cli_fail(what, "resume with the same data");
            goto done;
        }
    } else {
        if (!source) source = TDL_SOURCE_DEFAULT;
        if (tdl_cli_load_source(source, NULL, &raw) != TDL_OK ||
            tdl_train_data_prepare(&data, &raw) != TDL_OK ||
            tdl_train_data_augment(&data, cfg.augment, cfg.noise_level, cfg.noise_seed) !=
                TDL_OK) {
            snprintf(what, sizeof what, "training data %s: %s", source, tdl_last_error());
            rc = tdl_cli_fail(what, "a CSV with a ContextTokens column or synth:PROFILE");
            goto done;
        }
        tdl_predictor_config pc;
        tdl_predictor_config_default(&pc);
        /* --init: the file's weights and config (tdl_predictor_load builds p) */
        if ((init ? tdl_predictor_load(&pred, init) : tdl_predictor_init(&pred, &pc, cfg.seed)) !=
            TDL_OK) {
            rc = tdl_cli_fail(tdl_last_error(), "--init takes a predictor model file");
            goto done;
        }
        if (tdl_trainer_init(&tr, &pred, &cfg) != TDL_OK) {
            rc = tdl_cli_fail(tdl_last_error(), "check the options");
            goto done;
        }
    }
    if (cfg.loss != TDL_TRAIN_MSE && tdl_train_data_targets_above(&data, cfg.pp.a_min) == 0)
        fprintf(stderr, "tdl: warning: every training target of %s is at or below a_min = %g "
                "tokens: the decision loss is flat there (a_min is optimal whatever the "
                "forecast), so its gradient is 0 and %s training will not move the predictor\n",
                source, cfg.pp.a_min, cfg.wdro != TDL_TRAIN_WDRO_OFF ? "W-DRO"
                                      : tdl_train_loss_name(cfg.loss));
    if (data.R < (size_t)cfg.batch) {
        snprintf(what, sizeof what, "%s has %zu training rows, fewer than one batch of %d",
                 source, data.R, cfg.batch);
        rc = tdl_cli_fail(what, "use a longer series or a smaller --batch");
        goto done;
    }

    int64_t per_epoch = tdl_train_steps_per_epoch(data.R, cfg.batch);
    int tty = isatty(2);
    double t0 = tdl_cli_now();
    tdl_epoch_stats es = {NAN, 0, 0};
    int e0 = tr.epoch;
    int64_t a0 = tdl_trainer_attempted(&tr);
    char length[96], reset[64] = "", extra[128] = "";
    const char *method = cfg.augment != TDL_AUGMENT_NONE ? tdl_train_augment_name(cfg.augment)
                         : cfg.wdro != TDL_TRAIN_WDRO_OFF ? "w-dro"
                                                          : tdl_train_loss_name(cfg.loss);
    if (cfg.loss == TDL_TRAIN_KLDRO)
        snprintf(extra, sizeof extra, " (KL radius %g over the %s)", cfg.kl_eps,
                 cfg.kl_regret ? "regrets" : "losses");
    if (cfg.wdro != TDL_TRAIN_WDRO_OFF)
        snprintf(extra, sizeof extra, " (budget %g, %d Frank-Wolfe iterations, %s)", cfg.w_eps,
                 cfg.fw_iters, cfg.wdro == TDL_TRAIN_WDRO_AUTHORS
                                   ? "compat authors: drifting ball, squared error"
                                   : "ball around x0, decision loss");
    if (cfg.augment != TDL_AUGMENT_NONE)
        snprintf(extra, sizeof extra, " (rows + a noisy copy, level %g, noise seed %" PRIu64 ")",
                 cfg.noise_level, cfg.noise_seed);
    if (cfg.max_steps > 0) /* the epochs the run ends after (each from batch 0) */
        snprintf(length, sizeof length, "steps %" PRId64 " (%" PRId64 " epoch(s))", cfg.max_steps,
                 tr.epoch + (a0 < cfg.max_steps ? (cfg.max_steps - a0 + per_epoch - 1) / per_epoch
                                                : 0));
    else
        snprintf(length, sizeof length, "epochs %d", cfg.epochs);
    if (cfg.adam_reset > 0)
        snprintf(reset, sizeof reset, ", fresh Adam every %" PRId64 " steps", cfg.adam_reset);
    if (!json || tty)
        fprintf(stderr, "train: %s%s on %s (%zu rows, %" PRId64 " steps/epoch), %s%s, lr %g, "
                "batch %d, StepLR %d x %g, seed %" PRIu64 ", %d thread(s)%s\n",
                method, extra, source, data.R, per_epoch, length, reset, cfg.lr,
                cfg.batch, cfg.lr_step, cfg.lr_gamma, cfg.seed, tdl_threads_count(),
                resumed_from ? " (resumed)" : "");
    if (resumed_from)
        fprintf(stderr, "train: resuming after epoch %d from %s\n", resumed_from, ckpt);
    while (!tdl_trainer_done(&tr)) {
        if (tdl_trainer_epoch(&tr, &data, &es) != TDL_OK) {
            rc = tdl_cli_fail(tdl_last_error(), "training stopped");
            goto done;
        }
        double el = tdl_cli_now() - t0;
        int doneep = tr.epoch - e0;
        int64_t att = tdl_trainer_attempted(&tr);
        double rate = el > 0 ? (double)(att - a0) / el : 0.0;
        /* progress: epochs of the run, or steps attempted of the budget
         * (fields two spaces apart on the bar, one on a pipe) */
        const char *sp = tty ? "  " : " ";
        char eta[32], prog[80];
        if (cfg.max_steps > 0) {
            tdl_cli_format_eta(eta, sizeof eta, rate > 0 ? (double)(cfg.max_steps - att) / rate : 0.0);
            snprintf(prog, sizeof prog, "epoch %d%ssteps %" PRId64 "/%" PRId64, tr.epoch, sp,
                     att, cfg.max_steps);
        } else {
            tdl_cli_format_eta(eta, sizeof eta, el / doneep * (cfg.epochs - tr.epoch));
            snprintf(prog, sizeof prog, "epoch %d/%d%ssteps %" PRId64, tr.epoch, cfg.epochs, sp,
                     tr.steps);
        }
        if (tty)
            fprintf(stderr, "\r%s  loss %.6g  %.0f steps/s  ETA %s   ", prog, es.loss, rate, eta);
        else
            fprintf(stderr, "%s loss %.6g skipped %" PRId64 " rate %.0f steps/s ETA %s\n", prog,
                    es.loss, es.skipped, rate, eta);
        if (tr.epoch % every == 0 || tdl_trainer_done(&tr)) {
            if (tdl_trainer_checkpoint_save(&tr, ckpt, source, &data) != TDL_OK) {
                if (tty) fputc('\n', stderr);
                rc = tdl_cli_fail(tdl_last_error(), "checkpoint not written");
                goto done;
            }
        }
    }
    if (tty) fputc('\n', stderr);
    /* the model file carries what serving it needs (range, method, rule) */
    if (tdl_predictor_set_origin(&pred, method, source, data.range, cfg.rule, &cfg.pp) != TDL_OK ||
        tdl_predictor_save(&pred, out) != TDL_OK) {
        rc = tdl_cli_fail(tdl_last_error(), "model not written");
        goto done;
    }
    double secs = tdl_cli_now() - t0;
    if (json) {
        /* final_loss: the last epoch's mean loss; null when no epoch ran here
         * (a resume of a finished run) or no step of it was taken */
        json_t *o = json_object();
        tdl_cli_json_set(o, "method", tdl_cli_json_text(method));
        tdl_cli_json_set(o, "train", tdl_cli_json_text(source));
        tdl_cli_json_set(o, "train_rows", tdl_cli_json_integer((long long)data.R));
        tdl_cli_json_set(o, "epochs", tdl_cli_json_integer(tr.epoch));
        tdl_cli_json_set(o, "resumed_from_epoch", tdl_cli_json_integer(resumed_from));
        tdl_cli_json_set(o, "steps", tdl_cli_json_integer(tr.steps));
        tdl_cli_json_set(o, "skipped", tdl_cli_json_integer(tr.skipped));
        tdl_cli_json_set(o, "max_steps", tdl_cli_json_integer(cfg.max_steps));
        tdl_cli_json_set(o, "adam_reset", tdl_cli_json_integer(cfg.adam_reset));
        tdl_cli_json_set(o, "final_loss", tdl_cli_json_number(es.loss));
        tdl_cli_json_set(o, "lr_initial", tdl_cli_json_number(cfg.lr));
        tdl_cli_json_set(o, "lr_final", tdl_cli_json_number(tr.adam.lr));
        tdl_cli_json_set(o, "batch", tdl_cli_json_integer(cfg.batch));
        tdl_cli_json_set(o, "lr_step", tdl_cli_json_integer(cfg.lr_step));
        tdl_cli_json_set(o, "lr_gamma", tdl_cli_json_number(cfg.lr_gamma));
        tdl_cli_json_set(o, "seed", tdl_cli_json_integer((long long)cfg.seed));
        tdl_cli_json_set(o, "threads", tdl_cli_json_integer(tdl_threads_count()));
        tdl_cli_json_set(o, "seconds", tdl_cli_json_number(secs));
        tdl_cli_json_set(o, "model", tdl_cli_json_text(out));
        tdl_cli_json_set(o, "checkpoint", tdl_cli_json_text(ckpt));
        tdl_cli_json_set(o, "loss", tdl_cli_json_text(tdl_train_loss_name(cfg.loss)));
        tdl_cli_json_set(o, "kl_eps", tdl_cli_json_number(cfg.kl_eps));
        tdl_cli_json_set(o, "kl_on", tdl_cli_json_text(cfg.kl_regret ? "regret" : "loss"));
        tdl_cli_json_set(o, "augment", tdl_cli_json_text(tdl_train_augment_name(cfg.augment)));
        tdl_cli_json_set(o, "noise_level", tdl_cli_json_number(cfg.noise_level));
        tdl_cli_json_set(o, "noise_seed", tdl_cli_json_integer((long long)cfg.noise_seed));
        tdl_cli_json_set(o, "w_eps", tdl_cli_json_number(cfg.w_eps));
        tdl_cli_json_set(o, "fw_iters", tdl_cli_json_integer(cfg.fw_iters));
        tdl_cli_json_set(o, "compat", cfg.wdro == TDL_TRAIN_WDRO_OFF
                                          ? tdl_cli_json_null()
                                          : tdl_cli_json_text(tdl_train_wdro_name(cfg.wdro)));
        rc = tdl_cli_json_print(o, 10, 0);
        goto done;
    }
    fprintf(stderr, "train: wrote %s (%d epochs, %" PRId64 " steps, %" PRId64 " skipped, %.1f s)\n",
            out, tr.epoch, tr.steps, tr.skipped, secs);
    rc = TDL_EXIT_OK;
done:
    tdl_trainer_free(&tr);
    tdl_predictor_free(&pred);
    tdl_train_data_free(&data);
    tdl_series_free(&raw);
    tdl_file_lock_release(&lock);
    free(ckpt);
    return rc;
}
