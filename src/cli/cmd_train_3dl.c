/* cmd_train_3dl.c: `tdl train --method 3dl`: 3D-Learning (learn3d.h) from
 * one command: the DFL predictor and the diffusion model are pre-trained
 * when not given (saved beside the output and reused on a rerun), then the
 * outer loop with a progress bar, one line and one JSON object per outer
 * epoch, a checkpoint after each, and --resume. */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "tdl/atomic_file.h"
#include "tdl/learn3d.h"
#include "tdl/source.h"
#include "tdl/threads.h"

static const char usage3[] =
    "usage: tdl train --method 3dl [--train SOURCE] [--init DFL_MODEL]\n"
    "                 [--diffusion DDPM_MODEL] [--preset cpu|paper] [CONSTANTS]\n"
    "                 [--resume] [--log RUN.jsonl] [--json] -o MODEL.safetensors\n"
    "  3D-Learning (spec section 5): the predictor trained against the worst-case\n"
    "  workload distribution inside the diffusion model's parameters, under a\n"
    "  budget on the score-matching loss J. Per outer epoch: the predictor's loss\n"
    "  on every row of Z0 (images sampled from theta0 with their trajectories),\n"
    "  the inner maximisation of PPO - mu J over theta with the dual step on mu,\n"
    "  S_theta sampled from theta, one predictor epoch on it (fresh Adam).\n"
    "  --train SOURCE      the real training series (default " TDL_SOURCE_DEFAULT ")\n"
    "  --init MODEL        the DFL-pre-trained predictor; without it one is trained\n"
    "                      with the preset's settings, saved as OUT.dfl.safetensors\n"
    "                      and reused on a rerun\n"
    "  --diffusion MODEL   the pre-trained diffusion model (theta0); without it one is\n"
    "                      trained, saved as OUT.ddpm.safetensors and reused\n"
    "  --pretrain-epochs N  DFL pre-training epochs when --init is not given (100)\n"
    "  --pretrain-iters N  diffusion pre-training iterations when --diffusion is not\n"
    "                      given (the preset's: cpu 400, paper 7000)\n"
    "  --preset P          cpu (default: diffusion tiny-t100 pre-trained 400\n"
    "                      iterations, 10 outer and 3 inner epochs; under 10\n"
    "                      minutes on 23V with 2 cores) or paper (the paper\n"
    "                      UNet pre-trained 7000 iterations, the authors' counts)\n"
    "  Constants (defaults: the spec's, the preset's where it says):\n"
    "  --outer N (15; cpu 10)  --inner N (10; cpu 3)  --z0-batches N (4)\n"
    "  --z0-images N (64)\n"
    "  --tprime N (10)  --kappa K (0.4)  --budget E (0.03)  --mu0 M (1)\n"
    "  --eta-mu E (0.01)  --diff-lr R (1e-6)  --diff-lr-step K (2)\n"
    "  --diff-lr-gamma G (0.05)  --j-batch N (64)  --pred-lr R (1e-6)\n"
    "  --pred-batch B (64)  --pred-epochs N (1)  --s-images N (64)  --seed S (1)\n"
    "  --objective dfl|mse the inner regret and the predictor's loss (Fig. 3)\n"
    "  --schedule restart|once  the diffusion rate's StepLR restarts each outer\n"
    "                      epoch (default: theta moves) or runs once for the run\n"
    "                      (the authors' code: below 1e-12 after one outer epoch)\n"
    "  --adversary on|off  off: theta stays theta0 (the control: same predictor\n"
    "                      steps on fresh theta0 samples, no inner maximisation)\n"
    "  --compat authors    the authors' defects (a) transposed ratio/regret pairing,\n"
    "                      (b) ratio at t where the sampler used t-1, (c) no\n"
    "                      max(0, .) on mu, and their single rate schedule; only to\n"
    "                      explain gaps to Table I, never the default\n"
    "  --resume            continue from OUT.ckpt.safetensors (its config): ends\n"
    "                      bit-identical to an uninterrupted run (same --threads)\n"
    "  --log FILE          append one JSON object per outer epoch\n"
    "  --json              print a summary object on stdout at the end\n"
    "  -o MODEL            the trained predictor (and OUT.theta.safetensors, the\n"
    "                      final adversarial diffusion model)\n";

typedef struct preset3 {
    const char *name;
    const char *diffusion;   /* diffusion preset */
    int64_t diff_iters;      /* its pre-training iterations */
    int dfl_epochs;          /* DFL pre-training: epochs at lr 1e-6 (the paper's) */
    int outer, inner;        /* outer and inner epochs */
} preset3;

static const preset3 PRESETS[] = {
    {"cpu", "tiny-t100", 400, 100, 10, 3},
    {"paper", "paper", 7000, 100, 15, 10},
};

/* ---- pre-training the missing pieces ---- */

static int pretrain_dfl(const char *path, const char *source, const tdl_train_data *data,
                        const preset3 *pr, uint64_t seed, const tdl_3dl_config *c) {
    tdl_predictor p;
    tdl_predictor_config pc;
    tdl_predictor_config_default(&pc);
    tdl_train_config tc;
    tdl_train_config_default(&tc);
    tc.epochs = pr->dfl_epochs;
    tc.seed = seed;
    tc.rule = c->rule;
    tc.pp = c->pp;
    tdl_trainer tr;
    memset(&tr, 0, sizeof tr);
    int rc = TDL_EXIT_FAIL;
    if (tdl_predictor_init(&p, &pc, seed) != TDL_OK || tdl_trainer_init(&tr, &p, &tc) != TDL_OK) {
        rc = tdl_cli_fail(tdl_last_error(), "pre-training the DFL predictor");
        goto out;
    }
    fprintf(stderr, "3dl: pre-training the DFL predictor (%d epochs, lr %g) -> %s\n", tc.epochs,
            tc.lr, path);
    double t0 = tdl_cli_now();
    while (tr.epoch < tc.epochs) {
        tdl_epoch_stats es;
        if (tdl_trainer_epoch(&tr, data, &es) != TDL_OK) {
            rc = tdl_cli_fail(tdl_last_error(), "pre-training the DFL predictor");
            goto out;
        }
        if (isatty(2))
            fprintf(stderr, "\r3dl: DFL epoch %d/%d  loss %.6g ", tr.epoch, tc.epochs, es.loss);
    }
    if (isatty(2)) fputc('\n', stderr);
    if (tdl_predictor_set_origin(&p, "dfl", source, data->range, tc.rule, &tc.pp) != TDL_OK ||
        tdl_predictor_save(&p, path) != TDL_OK) {
        rc = tdl_cli_fail(tdl_last_error(), "DFL predictor not written");
        goto out;
    }
    fprintf(stderr, "3dl: DFL predictor ready (%.1f s)\n", tdl_cli_now() - t0);
    rc = TDL_EXIT_OK;
out:
    tdl_trainer_free(&tr);
    tdl_predictor_free(&p);
    return rc;
}

static int pretrain_ddpm(const char *path, const char *source, const tdl_diffusion_data *data,
                         const preset3 *pr, uint64_t seed) {
    tdl_ddpm_config mc;
    tdl_diffusion_train_config tc;
    if (tdl_diffusion_preset(pr->diffusion, &mc, &tc) != TDL_OK)
        return tdl_cli_fail(tdl_last_error(), "diffusion preset");
    tc.iters = pr->diff_iters;
    tc.seed = seed;
    char *ckpt = tdl_cli_sibling_path(path, ".ckpt.safetensors");
    if (!ckpt) return tdl_cli_fail("out of memory", "checkpoint path");
    tdl_ddpm m;
    memset(&m, 0, sizeof m);
    tdl_diffusion_trainer tr;
    memset(&tr, 0, sizeof tr);
    static tdl_diffusion_checkpoint_info info;
    int rc = TDL_EXIT_FAIL;
    if (access(ckpt, F_OK) == 0) {     /* a killed pre-training goes on where it stopped */
        if (tdl_diffusion_trainer_resume(&tr, &m, ckpt, &info) != TDL_OK) {
            rc = tdl_cli_fail(tdl_last_error(), "delete the diffusion checkpoint to start afresh");
            goto out;
        }
        fprintf(stderr, "3dl: resuming the diffusion pre-training after iteration %" PRId64 "\n",
                tr.iter);
    } else if (tdl_ddpm_init(&m, &mc, seed) != TDL_OK ||
               tdl_diffusion_trainer_init(&tr, &m, &tc) != TDL_OK) {
        rc = tdl_cli_fail(tdl_last_error(), "pre-training the diffusion model");
        goto out;
    }
    fprintf(stderr, "3dl: pre-training the diffusion model (%s, %" PRId64 " iterations) -> %s\n",
            pr->diffusion, tr.cfg.iters, path);
    double t0 = tdl_cli_now();
    while (tr.iter < tr.cfg.iters) {
        tdl_diffusion_trainer_step(&tr, data, NULL);
        if (tr.iter % 100 == 0 || tr.iter == tr.cfg.iters) {
            if (tdl_diffusion_checkpoint_save(&tr, ckpt, source, data) != TDL_OK) {
                rc = tdl_cli_fail(tdl_last_error(), "diffusion checkpoint not written");
                goto out;
            }
            if (isatty(2))
                fprintf(stderr, "\r3dl: diffusion iteration %" PRId64 "/%" PRId64 "  loss %.5f ",
                        tr.iter, tr.cfg.iters, tr.loss);
        }
    }
    if (isatty(2)) fputc('\n', stderr);
    if (tdl_diffusion_model_save(&tr, path, source, data) != TDL_OK) {
        rc = tdl_cli_fail(tdl_last_error(), "diffusion model not written");
        goto out;
    }
    fprintf(stderr, "3dl: diffusion model ready (final loss %.5f, %.1f s)\n", tr.loss,
            tdl_cli_now() - t0);
    rc = TDL_EXIT_OK;
out:
    tdl_diffusion_trainer_free(&tr);
    tdl_ddpm_free(&m);
    free(ckpt);
    return rc;
}

/* ---- progress ---- */

typedef struct prog {
    int tty, outer, epoch;
    double t0, epoch_mean, last;
    int epochs_done;
} prog;

static void on_progress(void *arg, const char *phase, int64_t done, int64_t total) {
    prog *p = arg;
    double now = tdl_cli_now();
    if (!p->tty || now - p->last < 0.2) return;
    p->last = now;
    double frac = total > 0 ? (double)done / (double)total : 0.0;
    double whole = (double)(p->epoch - 1) + (strcmp(phase, "inner") == 0 ? 0.8 * frac : 0.9);
    double el = now - p->t0, eta = p->epochs_done > 0 ? p->epoch_mean * (p->outer - whole)
                                   : (whole > 0.05 ? el / whole * (p->outer - whole) : NAN);
    char e[32], bar[40];
    tdl_cli_format_eta(e, sizeof e, eta);
    int width = 30, fill = (int)(width * whole / p->outer);
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\r[%s] epoch %d/%d %-9s %" PRId64 "/%" PRId64 "  ETA %s   ", bar, p->epoch,
            p->outer, phase, done, total, isfinite(eta) ? e : "?");
}

/* Z0's sampling (tdl_ddpm_progress): a line on a terminal. */
static void on_sample(void *arg, int64_t done, int64_t total) {
    prog *p = arg;
    double now = tdl_cli_now();
    if (!p->tty || (now - p->last < 0.2 && done < total)) return;
    p->last = now;
    double el = now - p->t0;
    char e[32];
    tdl_cli_format_eta(e, sizeof e, done > 0 ? el / (double)done * (double)(total - done) : NAN);
    fprintf(stderr, "\r3dl: Z0 reverse steps %" PRId64 "/%" PRId64 "  ETA %s   %s", done, total,
            done > 0 ? e : "?", done == total ? "\n" : "");
}

static json_t *num(double x) { return tdl_cli_json_number(x); }

static json_t *epoch_json(const tdl_3dl_epoch_stats *e) {
    json_t *o = json_object();
    tdl_cli_json_set(o, "epoch", tdl_cli_json_integer(e->epoch));
    tdl_cli_json_set(o, "mu", num(e->mu));
    tdl_cli_json_set(o, "J", num(e->J));
    tdl_cli_json_set(o, "ratio_min", num(e->r_min));
    tdl_cli_json_set(o, "ratio_mean", num(e->r_mean));
    tdl_cli_json_set(o, "ratio_max", num(e->r_max));
    tdl_cli_json_set(o, "clipped", num(e->clipped));
    tdl_cli_json_set(o, "ppo", num(e->ppo));
    tdl_cli_json_set(o, "theta_distance", num(e->dist));
    tdl_cli_json_set(o, "loss_z0", num(e->loss_z0));
    tdl_cli_json_set(o, "loss_s_theta", num(e->loss_s));
    tdl_cli_json_set(o, "train_loss", num(e->train_loss));
    tdl_cli_json_set(o, "inner_skipped", tdl_cli_json_integer(e->inner_skipped));
    tdl_cli_json_set(o, "pred_steps", tdl_cli_json_integer(e->pred_steps));
    tdl_cli_json_set(o, "diff_lr", num(e->diff_lr));
    tdl_cli_json_set(o, "seconds", num(e->seconds));
    tdl_cli_json_set(o, "seconds_regret", num(e->sec_regret));
    tdl_cli_json_set(o, "seconds_inner", num(e->sec_inner));
    tdl_cli_json_set(o, "seconds_sample", num(e->sec_sample));
    tdl_cli_json_set(o, "seconds_predictor", num(e->sec_pred));
    return o;
}

/* ---- options ---- */

enum {
    O_TRAIN = 256, O_INIT, O_DIFF, O_PRESET, O_OUTER, O_INNER, O_Z0B, O_Z0I, O_TP, O_KAPPA,
    O_BUDGET, O_MU0, O_ETAMU, O_DLR, O_DLRSTEP, O_DLRG, O_JB, O_PLR, O_PB, O_PE, O_SI, O_SEED,
    O_OBJ, O_SCHED, O_ADV, O_COMPAT, O_RESUME, O_LOG, O_JSON, O_METHOD, O_PTE, O_PTI
};

int tdl_cmd_train_3dl(int argc, char **argv) {
    static const struct option opts[] = {
        {"method", required_argument, NULL, O_METHOD}, {"train", required_argument, NULL, O_TRAIN},
        {"init", required_argument, NULL, O_INIT}, {"diffusion", required_argument, NULL, O_DIFF},
        {"preset", required_argument, NULL, O_PRESET}, {"outer", required_argument, NULL, O_OUTER},
        {"inner", required_argument, NULL, O_INNER}, {"z0-batches", required_argument, NULL, O_Z0B},
        {"z0-images", required_argument, NULL, O_Z0I}, {"tprime", required_argument, NULL, O_TP},
        {"kappa", required_argument, NULL, O_KAPPA}, {"budget", required_argument, NULL, O_BUDGET},
        {"mu0", required_argument, NULL, O_MU0}, {"eta-mu", required_argument, NULL, O_ETAMU},
        {"diff-lr", required_argument, NULL, O_DLR},
        {"diff-lr-step", required_argument, NULL, O_DLRSTEP},
        {"diff-lr-gamma", required_argument, NULL, O_DLRG},
        {"j-batch", required_argument, NULL, O_JB}, {"pred-lr", required_argument, NULL, O_PLR},
        {"pred-batch", required_argument, NULL, O_PB}, {"pred-epochs", required_argument, NULL, O_PE},
        {"s-images", required_argument, NULL, O_SI}, {"seed", required_argument, NULL, O_SEED},
        {"objective", required_argument, NULL, O_OBJ}, {"schedule", required_argument, NULL, O_SCHED},
        {"adversary", required_argument, NULL, O_ADV}, {"compat", required_argument, NULL, O_COMPAT},
        {"resume", no_argument, NULL, O_RESUME}, {"log", required_argument, NULL, O_LOG},
        {"json", no_argument, NULL, O_JSON}, {"output", required_argument, NULL, 'o'},
        {"pretrain-epochs", required_argument, NULL, O_PTE},
        {"pretrain-iters", required_argument, NULL, O_PTI},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    tdl_3dl_config cfg;
    tdl_3dl_config_default(&cfg);
    const char *source = NULL, *init = NULL, *diff = NULL, *out = NULL, *logpath = NULL;
    const preset3 *pr = &PRESETS[0];
    long pre_epochs = 0, pre_iters = 0;
    int outer_given = 0, inner_given = 0, resume = 0, json = 0, config_given = 0, c;
    long lv;
    double dv;
    const char *U = usage3;
#define LONGOPT(name, lo, hi, field)                                          \
    do {                                                                      \
        if (tdl_cli_parse_long(U, name, optarg, lo, hi, &lv)) return TDL_EXIT_USAGE; \
        field = (int)lv;                                                      \
        config_given = 1;                                                     \
    } while (0)
#define DBLOPT(name, lo, hi, field)                                           \
    do {                                                                      \
        if (tdl_cli_parse_double(U, name, optarg, lo, hi, &dv)) return TDL_EXIT_USAGE; \
        field = dv;                                                           \
        config_given = 1;                                                     \
    } while (0)
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
        switch (c) {
        case O_METHOD:
            if (strcmp(optarg, "3dl") != 0)
                return tdl_cli_usage_error(U, "--method %s: this is the 3dl command", optarg);
            break;
        case O_TRAIN: source = optarg; break;
        case O_INIT: init = optarg; config_given = 1; break;
        case O_DIFF: diff = optarg; config_given = 1; break;
        case O_PRESET: {
            pr = NULL;
            for (size_t i = 0; i < sizeof PRESETS / sizeof *PRESETS; i++)
                if (strcmp(optarg, PRESETS[i].name) == 0) pr = &PRESETS[i];
            if (!pr) return tdl_cli_usage_error(U, "--preset %s: cpu or paper", optarg);
            config_given = 1;
            break;
        }
        case O_OUTER: LONGOPT("--outer", 1, 1000000, cfg.outer); outer_given = 1; break;
        case O_INNER: LONGOPT("--inner", 0, 1000000, cfg.inner); inner_given = 1; break;
        case O_Z0B: LONGOPT("--z0-batches", 1, 100000, cfg.z0_batches); break;
        case O_Z0I: LONGOPT("--z0-images", 1, 100000, cfg.z0_images); break;
        case O_TP: LONGOPT("--tprime", 2, TDL_3DL_MAX_TPRIME, cfg.tprime); break;
        case O_KAPPA: DBLOPT("--kappa", 0, 0.999999, cfg.kappa); break;
        case O_BUDGET: DBLOPT("--budget", 1e-300, 1e300, cfg.budget); break;
        case O_MU0: DBLOPT("--mu0", 0, 1e300, cfg.mu0); break;
        case O_ETAMU: DBLOPT("--eta-mu", 0, 1e300, cfg.eta_mu); break;
        case O_DLR: DBLOPT("--diff-lr", 1e-300, 1e3, cfg.diff_lr); break;
        case O_DLRSTEP: LONGOPT("--diff-lr-step", 1, 1000000, cfg.diff_lr_step); break;
        case O_DLRG: DBLOPT("--diff-lr-gamma", 1e-300, 1e3, cfg.diff_lr_gamma); break;
        case O_JB: LONGOPT("--j-batch", 1, 100000, cfg.j_batch); break;
        case O_PLR: DBLOPT("--pred-lr", 1e-300, 1e3, cfg.pred_lr); break;
        case O_PB: LONGOPT("--pred-batch", 1, 1 << 20, cfg.pred_batch); break;
        case O_PE: LONGOPT("--pred-epochs", 0, 1000000, cfg.pred_epochs); break;
        case O_SI: LONGOPT("--s-images", 1, 100000, cfg.s_images); break;
        case O_SEED:
            if (tdl_cli_parse_long(U, "--seed", optarg, 0, 2147483647L, &lv)) return TDL_EXIT_USAGE;
            cfg.seed = (uint64_t)lv;
            config_given = 1;
            break;
        case O_OBJ:
            if (tdl_train_loss_parse(optarg, &cfg.objective) != TDL_OK ||
                (cfg.objective != TDL_TRAIN_DFL && cfg.objective != TDL_TRAIN_MSE))
                return tdl_cli_usage_error(U, "--objective %s: dfl or mse", optarg);
            config_given = 1;
            break;
        case O_SCHED:
            if (strcmp(optarg, "restart") == 0) cfg.schedule_once = 0;
            else if (strcmp(optarg, "once") == 0) cfg.schedule_once = 1;
            else return tdl_cli_usage_error(U, "--schedule %s: restart or once", optarg);
            config_given = 1;
            break;
        case O_ADV:
            if (strcmp(optarg, "on") == 0) cfg.adversary = 1;
            else if (strcmp(optarg, "off") == 0) cfg.adversary = 0;
            else return tdl_cli_usage_error(U, "--adversary %s: on or off", optarg);
            config_given = 1;
            break;
        case O_COMPAT:
            if (strcmp(optarg, "authors") == 0) cfg.compat = 1;
            else if (strcmp(optarg, "none") == 0) cfg.compat = 0;
            else return tdl_cli_usage_error(U, "--compat %s: authors or none", optarg);
            config_given = 1;
            break;
        case O_PTE:
            if (tdl_cli_parse_long(U, "--pretrain-epochs", optarg, 1, 1000000, &pre_epochs))
                return TDL_EXIT_USAGE;
            config_given = 1;
            break;
        case O_PTI:
            if (tdl_cli_parse_long(U, "--pretrain-iters", optarg, 1, 100000000, &pre_iters))
                return TDL_EXIT_USAGE;
            config_given = 1;
            break;
        case O_RESUME: resume = 1; break;
        case O_LOG: logpath = optarg; break;
        case O_JSON: json = 1; break;
        case 'o': out = optarg; break;
        case 'h': fputs(U, stdout); return TDL_EXIT_OK;
        case ':': return tdl_cli_usage_error(U, "%s needs a value", argv[optind - 1]);
        default: return tdl_cli_usage_error(U, "unknown option '%s'", argv[optind - 1]);
        }
    }
#undef LONGOPT
#undef DBLOPT
    if (optind < argc) return tdl_cli_usage_error(U, "unexpected argument '%s'", argv[optind]);
    if (!out) return tdl_cli_usage_error(U, "-o MODEL.safetensors is required");
    if (resume && config_given)
        return tdl_cli_usage_error(U, "--resume takes the config from the checkpoint (only "
                                   "--train, --log and --json may be given)");
    preset3 pre = *pr; /* the preset with the pre-training counts given */
    if (pre_epochs) pre.dfl_epochs = (int)pre_epochs;
    if (pre_iters) pre.diff_iters = pre_iters;
    pr = &pre;
    if (!outer_given) cfg.outer = pr->outer;
    if (!inner_given) cfg.inner = pr->inner;
    if (cfg.compat) cfg.schedule_once = 1;

    char *ckpt = tdl_cli_sibling_path(out, ".ckpt.safetensors");
    char *dfl_path = tdl_cli_sibling_path(out, ".dfl.safetensors");
    char *ddpm_path = tdl_cli_sibling_path(out, ".ddpm.safetensors");
    char *ddpm_ckpt = tdl_cli_sibling_path(out, ".ddpm.ckpt.safetensors");
    char *theta_path = tdl_cli_sibling_path(out, ".theta.safetensors");
    tdl_file_lock lock = {-1, NULL, -1};
    tdl_series raw = {0};
    tdl_train_data td;
    tdl_diffusion_data dd;
    memset(&td, 0, sizeof td);
    memset(&dd, 0, sizeof dd);
    tdl_predictor pred;
    tdl_ddpm theta;
    memset(&pred, 0, sizeof pred);
    memset(&theta, 0, sizeof theta);
    tdl_3dl s;
    memset(&s, 0, sizeof s);
    tdl_safetensors st;
    memset(&st, 0, sizeof st);
    FILE *logf = NULL;
    char *own_src = NULL, *own_init = NULL, *own_diff = NULL;
    json_t *epochs = json_array();
    int rc = TDL_EXIT_FAIL;
    char what[1400];
    if (!ckpt || !dfl_path || !ddpm_path || !ddpm_ckpt || !theta_path || !epochs) {
        rc = tdl_cli_fail("out of memory", "paths");
        goto done;
    }
    /* before any work: every file written can be, none is an input (the
     * pre-trained pieces beside OUT are written only when not given), and no
     * other run writes the same files */
    tdl_cli_file outs[7] = {{"-o", out}, {"the checkpoint", ckpt},
                            {"the adversarial model", theta_path}, {"--log", logpath},
                            {"the pre-trained predictor", init ? NULL : dfl_path},
                            {"the pre-trained diffusion model", diff ? NULL : ddpm_path},
                            {"its checkpoint", diff ? NULL : ddpm_ckpt}};
    tdl_cli_file ins[3] = {{"--train", source}, {"--init", init}, {"--diffusion", diff}};
    if ((rc = tdl_cli_check_files(U, outs, 1, NULL, 0, 1)) != 0 ||
        (rc = tdl_cli_check_files(U, outs, 7, ins, 3, 0)) != 0 ||
        (rc = tdl_cli_lock_output(&lock, out)) != 0)
        goto done;
    rc = TDL_EXIT_FAIL;
    if (resume) {
        if (access(ckpt, F_OK) != 0) {
            snprintf(what, sizeof what, "no checkpoint %s to resume from", ckpt);
            rc = tdl_cli_fail(what, "run without --resume to start");
            goto done;
        }
        tdl_3dl_config cc;
        tdl_range rr;
        if (tdl_safetensors_read(&st, ckpt) != TDL_OK ||
            tdl_3dl_checkpoint_config(&st, ckpt, &cc, &rr) != TDL_OK) {
            rc = tdl_cli_fail(tdl_last_error(), "delete the checkpoint to start afresh");
            goto done;
        }
        const char *ms = tdl_safetensors_meta(&st, "train_source");
        const char *mi = tdl_safetensors_meta(&st, "init_model");
        const char *md = tdl_safetensors_meta(&st, "diffusion_model");
        if (!ms || !mi || !md) {
            snprintf(what, sizeof what, "%s does not name its training source and models", ckpt);
            rc = tdl_cli_fail(what, "delete the checkpoint to start afresh");
            goto done;
        }
        if (source && strcmp(source, ms) != 0) {
            snprintf(what, sizeof what, "--train %s differs from the checkpoint's %s", source, ms);
            rc = tdl_cli_fail(what, "resume with the same training source");
            goto done;
        }
        source = own_src = strdup(ms);
        init = own_init = strdup(mi);
        diff = own_diff = strdup(md);
        if (!own_src || !own_init || !own_diff) {
            rc = tdl_cli_fail("out of memory", "checkpoint paths");
            goto done;
        }
        cfg = cc;
        tdl_safetensors_free(&st);
        ins[0].path = source;
        ins[1].path = init;
        ins[2].path = diff;
        outs[4].path = outs[5].path = outs[6].path = NULL; /* read now, not written */
        if ((rc = tdl_cli_check_files(U, outs, 7, ins, 3, 0)) != 0) goto done;
        rc = TDL_EXIT_FAIL;
    }
    if (!source) source = TDL_SOURCE_DEFAULT;
    if (tdl_cli_load_source(source, NULL, &raw) != TDL_OK ||
        tdl_train_data_prepare(&td, &raw) != TDL_OK ||
        tdl_diffusion_data_prepare(&dd, &raw) != TDL_OK) {
        snprintf(what, sizeof what, "training data %s: %s", source, tdl_last_error());
        rc = tdl_cli_fail(what, "a CSV with a ContextTokens column or synth:PROFILE");
        goto done;
    }
    if (tdl_3dl_config_check(&cfg, NULL) != TDL_OK) {
        rc = tdl_cli_fail(tdl_last_error(), "check the constants");
        goto done;
    }
    if (cfg.objective == TDL_TRAIN_DFL && tdl_train_data_targets_above(&td, cfg.pp.a_min) == 0)
        fprintf(stderr, "tdl: warning: every training target of %s is at or below a_min = %g "
                "tokens: the decision loss is flat there, so its gradient is 0 and the DFL "
                "predictor will not move\n", source, cfg.pp.a_min);
    /* the missing pieces: trained with the preset's settings, kept beside OUT */
    if (!init) {
        if (access(dfl_path, F_OK) != 0 &&
            (rc = pretrain_dfl(dfl_path, source, &td, pr, cfg.seed, &cfg)) != TDL_EXIT_OK)
            goto done;
        init = dfl_path;
    }
    if (!diff) {
        if (access(ddpm_path, F_OK) != 0 &&
            (rc = pretrain_ddpm(ddpm_path, source, &dd, pr, cfg.seed)) != TDL_EXIT_OK)
            goto done;
        diff = ddpm_path;
    }
    rc = TDL_EXIT_FAIL;
    if (tdl_predictor_load(&pred, init) != TDL_OK) {
        snprintf(what, sizeof what, "--init %s: %s", init, tdl_last_error());
        rc = tdl_cli_fail(what, "--init takes a predictor model file (tdl train -o)");
        goto done;
    }
    if (tdl_ddpm_load(&theta, diff, NULL) != TDL_OK) {
        snprintf(what, sizeof what, "--diffusion %s: %s", diff, tdl_last_error());
        rc = tdl_cli_fail(what, "--diffusion takes a diffusion model file (tdl diffusion train -o)");
        goto done;
    }
    if (tdl_3dl_config_check(&cfg, &theta.cfg) != TDL_OK) {
        rc = tdl_cli_fail(tdl_last_error(), "choose --tprime within the diffusion model's T");
        goto done;
    }
    int tty = isatty(2);
    const double start = tdl_cli_now();
    prog pg = {tty, cfg.outer, 1, start, 0.0, -1.0, 0};
    if (resume) {
        if (tdl_3dl_resume(&s, ckpt, &pred, &theta, &dd) != TDL_OK) {
            rc = tdl_cli_fail(tdl_last_error(), "delete the checkpoint to start afresh");
            goto done;
        }
        if (s.train_range.min != td.range.min || s.train_range.max != td.range.max) {
            snprintf(what, sizeof what, "training data %s changed since the checkpoint", source);
            rc = tdl_cli_fail(what, "resume with the same data");
            goto done;
        }
        fprintf(stderr, "3dl: resuming after outer epoch %d from %s\n", s.epoch, ckpt);
    } else {
        fprintf(stderr, "3dl: sampling Z0 (%d x %d images with their last %d states) from %s\n",
                cfg.z0_batches, cfg.z0_images, cfg.tprime + 1, diff);
        if (tdl_3dl_init(&s, &cfg, &pred, td.range, &theta, &dd, on_sample, &pg) != TDL_OK) {
            rc = tdl_cli_fail(tdl_last_error(), "3D-Learning not started");
            goto done;
        }
    }
    pg.t0 = tdl_cli_now(); /* the ETA counts outer epochs only (Z0 is sampled once) */
    char ucfg[TDL_UNET_CONFIG_CHARS];
    tdl_unet_config_format(&theta.cfg.unet, ucfg);
    int64_t per_epoch = tdl_3dl_pred_steps_per_epoch(&s.cfg);
    fprintf(stderr, "3dl: %s on %s (%zu rows), diffusion [%s] T %d, outer %d, inner %d, Z0 %d x %d, "
            "T' %d, kappa %g, budget %g, mu0 %g, eta_mu %g, diffusion lr %g (StepLR %d x %g, %s), "
            "predictor lr %g, %" PRId64 " steps per outer epoch, adversary %s%s, seed %" PRIu64
            ", %d thread(s)\n",
            tdl_train_loss_name(s.cfg.objective), source, td.R, ucfg, theta.cfg.unet.T,
            s.cfg.outer, s.cfg.inner, s.cfg.z0_batches, s.cfg.z0_images, s.cfg.tprime,
            s.cfg.kappa, s.cfg.budget, s.cfg.mu0, s.cfg.eta_mu, s.cfg.diff_lr, s.cfg.diff_lr_step,
            s.cfg.diff_lr_gamma, s.cfg.schedule_once ? "once" : "restarting each outer epoch",
            s.cfg.pred_lr, per_epoch, s.cfg.adversary ? "on" : "off",
            s.cfg.compat ? ", compat authors" : "", s.cfg.seed, tdl_threads_count());
    if (logpath && !(logf = fopen(logpath, "a"))) {
        snprintf(what, sizeof what, "cannot open the log %s", logpath);
        rc = tdl_cli_fail(what, "check the path");
        goto done;
    }
    const char *meta[] = {"train_source", source, "init_model", init, "diffusion_model", diff};
    int e0 = s.epoch;
    while (s.epoch < s.cfg.outer) {
        tdl_3dl_epoch_stats es;
        pg.epoch = s.epoch + 1;
        if (tdl_3dl_epoch(&s, &es, on_progress, &pg) != TDL_OK) {
            if (tty) fputc('\n', stderr);
            rc = tdl_cli_fail(tdl_last_error(), "training stopped");
            goto done;
        }
        pg.epochs_done = s.epoch - e0;
        pg.epoch_mean = (tdl_cli_now() - pg.t0) / pg.epochs_done;
        if (tdl_3dl_checkpoint_save(&s, ckpt, meta, 3) != TDL_OK) {
            if (tty) fputc('\n', stderr);
            rc = tdl_cli_fail(tdl_last_error(), "checkpoint not written");
            goto done;
        }
        char eta[32];
        tdl_cli_format_eta(eta, sizeof eta, pg.epoch_mean * (s.cfg.outer - s.epoch));
        fprintf(stderr, "%sepoch %d/%d mu %.5g J %.5g ratio %.4f/%.4f/%.4f clipped %.3f ppo %.4g "
                "dist %.3g loss_z0 %.5g loss_s %.5g train %.5g %.1f s ETA %s\n",
                tty ? "\r" : "", es.epoch, s.cfg.outer, es.mu, es.J, es.r_min, es.r_mean, es.r_max,
                es.clipped, es.ppo, es.dist, es.loss_z0, es.loss_s, es.train_loss, es.seconds, eta);
        json_t *o = epoch_json(&es);
        if (logf) {
            char *txt = tdl_cli_json_line(o);
            if (!txt || fprintf(logf, "%s\n", txt) < 0 || fflush(logf) != 0) {
                free(txt);
                json_decref(o);
                rc = tdl_cli_fail("cannot write the log", logpath);
                goto done;
            }
            free(txt);
        }
        tdl_cli_json_append(epochs, o);
    }
    if (tdl_predictor_set_origin(&pred, s.cfg.objective == TDL_TRAIN_MSE ? "3dl-mse" : "3dl",
                                 source, td.range, s.cfg.rule, &s.cfg.pp) != TDL_OK ||
        tdl_predictor_save(&pred, out) != TDL_OK) {
        rc = tdl_cli_fail(tdl_last_error(), "model not written");
        goto done;
    }
    if (tdl_ddpm_save(&theta, theta_path, NULL, 0, 0) != TDL_OK) {
        rc = tdl_cli_fail(tdl_last_error(), "adversarial diffusion model not written");
        goto done;
    }
    double secs = tdl_cli_now() - start;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    int64_t total_steps = s.trainer.steps + s.trainer.skipped;
    fprintf(stderr, "3dl: wrote %s and %s (%d outer epochs, %" PRId64 " predictor steps, %.1f s, "
            "peak %.0f MB)\n", out, theta_path, s.cfg.outer, s.trainer.steps, secs,
            (double)ru.ru_maxrss / 1024.0);
    fprintf(stderr, "3dl: DFL control with the same predictor steps and fresh-Adam schedule:\n"
            "  tdl train --method %s --train %s --init %s --steps %" PRId64 " --adam-reset %"
            PRId64 " --lr %g --batch %d -o CONTROL.safetensors\n",
            tdl_train_loss_name(s.cfg.objective), source, init, total_steps, per_epoch,
            s.cfg.pred_lr, s.cfg.pred_batch);
    if (json) {
        json_t *o = json_object();
        tdl_cli_json_set(o, "method", tdl_cli_json_text("3dl"));
        tdl_cli_json_set(o, "objective", tdl_cli_json_text(tdl_train_loss_name(s.cfg.objective)));
        tdl_cli_json_set(o, "train", tdl_cli_json_text(source));
        tdl_cli_json_set(o, "init", tdl_cli_json_text(init));
        tdl_cli_json_set(o, "diffusion", tdl_cli_json_text(diff));
        tdl_cli_json_set(o, "outer", tdl_cli_json_integer(s.cfg.outer));
        tdl_cli_json_set(o, "resumed_from_epoch", tdl_cli_json_integer(e0));
        tdl_cli_json_set(o, "predictor_steps", tdl_cli_json_integer(s.trainer.steps));
        tdl_cli_json_set(o, "steps_per_outer_epoch", tdl_cli_json_integer(per_epoch));
        tdl_cli_json_set(o, "mu", num(s.mu));
        tdl_cli_json_set(o, "theta_distance", num(tdl_3dl_distance(&s)));
        tdl_cli_json_set(o, "seconds", num(secs));
        tdl_cli_json_set(o, "peak_mb", num((double)ru.ru_maxrss / 1024.0));
        tdl_cli_json_set(o, "threads", tdl_cli_json_integer(tdl_threads_count()));
        tdl_cli_json_set(o, "model", tdl_cli_json_text(out));
        tdl_cli_json_set(o, "theta_model", tdl_cli_json_text(theta_path));
        tdl_cli_json_set(o, "checkpoint", tdl_cli_json_text(ckpt));
        tdl_cli_json_set(o, "epochs", json_incref(epochs));
        if (tdl_cli_json_print(o, 10, 0) != TDL_EXIT_OK) goto done;
    }
    rc = TDL_EXIT_OK;
done:
    if (logf) fclose(logf);
    json_decref(epochs);
    tdl_safetensors_free(&st);
    tdl_3dl_free(&s);
    tdl_predictor_free(&pred);
    tdl_ddpm_free(&theta);
    tdl_train_data_free(&td);
    tdl_diffusion_data_free(&dd);
    tdl_series_free(&raw);
    free(own_src);
    free(own_init);
    free(own_diff);
    free(ckpt);
    free(dfl_path);
    free(ddpm_path);
    free(theta_path);
    free(ddpm_ckpt);
    tdl_file_lock_release(&lock);
    return rc;
}
