/* cmd_diffusion_sample.c: `tdl diffusion sample`: generate workload images
 * with a trained DDPM (ddpm.h), as one series of rows of 28, optionally with
 * the last K states of every trajectory. */
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
#include "tdl/csv.h"
#include "tdl/ddpm.h"
#include "tdl/safetensors.h"
#include "tdl/series.h"
#include "tdl/threads.h"

static const char sample_usage[] =
    "usage: tdl diffusion sample --model MODEL [--images N] [--seed S] [--batch B]\n"
    "                            [--preset P] [--trajectory K TRAJ.safetensors]\n"
    "                            [--json] -o OUT.csv\n"
    "  Generate N images with the model's reverse process: x ~ N(0, I), then for\n"
    "  t = T-1 .. 0: x = (x - beta_t / sqrt(1 - abar_t) eps(x, t)) / sqrt(alpha_t)\n"
    "  + sigma_t z (z = 0 at t = 0), no clipping. Image i draws its noise from\n"
    "  its own stream of the seed, whatever --batch; the same seed, --batch and\n"
    "  --threads give the same file bit for bit (another --batch agrees to float\n"
    "  rounding).\n"
    "  --model MODEL       a model written by `tdl diffusion train` (or a PyTorch\n"
    "                      state_dict export with --preset)\n"
    "  --images N          images to generate (default 64)\n"
    "  --seed S            the noise (default 1)\n"
    "  --batch B           images per network call (default 64)\n"
    "  --preset P          the config of a bare PyTorch export (paper, small, tiny,\n"
    "                      NAME-t100); a tdl model file states its own\n"
    "  --trajectory K TRAJ also write TRAJ.safetensors: tensor \"states\" (N, K+1, 1,\n"
    "                      28, 28), for each image the inputs x_t of the last K\n"
    "                      reverse steps (t = K-1 .. 0) and the final sample, and\n"
    "                      tensor \"t\" (K+1) with those t (the sample: -1)\n"
    "  --json              print a summary object on stdout\n"
    "  -o OUT.csv          the images as one series (column ContextTokens, image\n"
    "                      after image, row after row: N * 28 rows of 28 values) in\n"
    "                      normalised units (the training series' min-max scale)\n";

typedef struct progress_state {
    double t0, last;
} progress_state;

static void progress(void *arg, int64_t done, int64_t total) {
    progress_state *p = arg;
    double now = tdl_cli_now();
    if (now - p->last < 0.2 && done != total) return;
    p->last = now;
    double el = now - p->t0, eta = done > 0 ? el / (double)done * (double)(total - done) : 0;
    fprintf(stderr, "\rreverse steps %" PRId64 "/%" PRId64 "  %.1f steps/s  ETA %.0fs   ", done,
            total, el > 0 ? (double)done / el : 0.0, eta);
    if (done == total) fputc('\n', stderr);
}

int tdl_cmd_diffusion_sample(int argc, char **argv) {
    enum { O_TRAJ = 256, O_PRESET };
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'},  {"images", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'},   {"batch", required_argument, NULL, 'b'},
        {"preset", required_argument, NULL, O_PRESET},
        {"trajectory", required_argument, NULL, O_TRAJ},
        {"json", no_argument, NULL, 'j'},         {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    const char *model_path = NULL, *out = NULL, *traj_path = NULL, *preset = NULL;
    long N = 64, seed = 1, B = 64, K = -1;
    int json = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'n':
            if (tdl_cli_parse_long(sample_usage, "--images", optarg, 1, 10000000L, &N))
                return TDL_EXIT_USAGE;
            break;
        case 's':
            if (tdl_cli_parse_long(sample_usage, "--seed", optarg, 0, 2147483647L, &seed))
                return TDL_EXIT_USAGE;
            break;
        case 'b':
            if (tdl_cli_parse_long(sample_usage, "--batch", optarg, 1, 65536, &B))
                return TDL_EXIT_USAGE;
            break;
        case O_PRESET: preset = optarg; break;
        case O_TRAJ:
            if (tdl_cli_parse_long(sample_usage, "--trajectory", optarg, 0, 100000, &K))
                return TDL_EXIT_USAGE;
            if (optind >= argc || argv[optind][0] == '-')
                return tdl_cli_usage_error(sample_usage, "--trajectory K needs a file after K");
            traj_path = argv[optind++];
            break;
        case 'j': json = 1; break;
        case 'o': out = optarg; break;
        case 'h': fputs(sample_usage, stdout); return TDL_EXIT_OK;
        case ':':
            return tdl_cli_usage_error(sample_usage, "%s needs a value", argv[optind - 1]);
        default:
            return tdl_cli_usage_error(sample_usage, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return tdl_cli_usage_error(sample_usage, "unexpected argument '%s'", argv[optind]);
    if (!model_path) return tdl_cli_usage_error(sample_usage, "--model MODEL is required");
    if (!out) return tdl_cli_usage_error(sample_usage, "-o OUT.csv is required");
    const tdl_cli_file outs[2] = {{"-o", out}, {"--trajectory", traj_path}};
    const tdl_cli_file ins[1] = {{"--model", model_path}};
    int frc = tdl_cli_check_files(sample_usage, outs, 2, ins, 1, 0);
    if (frc) return frc;

    tdl_ddpm model;
    memset(&model, 0, sizeof model);
    int rc = tdl_cli_diffusion_load(&model, model_path, preset, sample_usage);
    if (rc) return rc;
    rc = TDL_EXIT_FAIL;
    tdl_ddpm_work w;
    memset(&w, 0, sizeof w);
    float *img = NULL, *traj = NULL;
    int *traj_t = NULL;
    tdl_series s = {0};
    const size_t D = tdl_ddpm_image_size(&model);
    if (model.cfg.unet.image != TDL_IMAGE_SIDE) {
        char what[256];
        snprintf(what, sizeof what, "the model makes %dx%d images, a workload image is %dx%d",
                 model.cfg.unet.image, model.cfg.unet.image, TDL_IMAGE_SIDE, TDL_IMAGE_SIDE);
        rc = tdl_cli_fail(what, "a model trained by `tdl diffusion train`");
        goto done;
    }
    if (traj_path && K > model.cfg.unet.T) {
        tdl_ddpm_free(&model);
        return tdl_cli_usage_error(sample_usage, "--trajectory %ld: more than the model's T = %d "
                                   "steps", K, model.cfg.unet.T);
    }
    if (B > N) B = N;
    img = malloc((size_t)N * D * sizeof(float));
    double traj_bytes = traj_path ? (double)N * (double)(K + 1) * (double)D * 4.0 : 0.0;
    if (traj_path && traj_bytes < 8e9) {
        traj = malloc((size_t)N * (size_t)(K + 1) * D * sizeof(float));
        traj_t = malloc((size_t)(K + 1) * sizeof(int));
    }
    if (!img || (traj_path && (!traj || !traj_t))) {
        rc = tdl_cli_fail("out of memory", "fewer --images or a shorter --trajectory");
        goto done;
    }
    if (tdl_ddpm_work_init(&w, &model, (int)B, 0) != TDL_OK) {
        rc = tdl_cli_fail(tdl_last_error(), "a smaller --batch");
        goto done;
    }
    int tty = isatty(2);
    progress_state ps = {tdl_cli_now(), -1.0};
    double t0 = tdl_cli_now();
    if (tdl_ddpm_sample(&model, &w, (uint64_t)seed, (int)N, img, traj_path ? (int)K : 0, traj,
                        traj_t, tty ? progress : NULL, &ps) != TDL_OK) {
        rc = tdl_cli_fail(tdl_last_error(), "check the options");
        goto done;
    }
    double secs = tdl_cli_now() - t0;
    s.n = (size_t)N * D;
    s.v = malloc(s.n * sizeof(double));
    if (!s.v) {
        rc = tdl_cli_fail("out of memory", "fewer --images");
        goto done;
    }
    size_t nonfinite = 0;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < s.n; i++) {
        s.v[i] = img[i];
        if (!isfinite(s.v[i])) nonfinite++;
        else { lo = fmin(lo, s.v[i]); hi = fmax(hi, s.v[i]); }
    }
    if (nonfinite) {
        char what[256];
        snprintf(what, sizeof what, "%zu generated values are not finite (the model diverged?)",
                 nonfinite);
        rc = tdl_cli_fail(what, "retrain or use an earlier checkpoint");
        goto done;
    }
    if (tdl_csv_write_series(out, "ContextTokens", &s) != TDL_OK) {
        rc = tdl_cli_fail(tdl_last_error(), "output not written");
        goto done;
    }
    if (traj_path) {
        float *tf = malloc((size_t)(K + 1) * sizeof(float));
        if (!tf) {
            rc = tdl_cli_fail("out of memory", "trajectory labels");
            goto done;
        }
        for (long k = 0; k <= K; k++) tf[k] = (float)traj_t[k];
        int S = model.cfg.unet.image;
        int64_t shape[5] = {N, K + 1, 1, S, S}, tshape[1] = {K + 1};
        tdl_st_entry e[2] = {{"states", 5, shape, traj}, {"t", 1, tshape, tf}};
        char Ks[32], Ns[32], seeds[32], Ts[32];
        snprintf(Ks, sizeof Ks, "%ld", K);
        snprintf(Ns, sizeof Ns, "%ld", N);
        snprintf(seeds, sizeof seeds, "%ld", seed);
        snprintf(Ts, sizeof Ts, "%d", model.cfg.unet.T);
        const char *meta[] = {"kind", "tdl-ddpm-trajectory", "model", model_path, "K", Ks,
                              "images", Ns, "seed", seeds, "T", Ts};
        tdl_status st = tdl_safetensors_write(traj_path, e, 2, meta, 6);
        free(tf);
        if (st != TDL_OK) {
            rc = tdl_cli_fail(tdl_last_error(), "trajectory not written");
            goto done;
        }
    }
    if (json) {
        json_t *o = json_object();
        tdl_cli_json_set(o, "model", tdl_cli_json_text(model_path));
        tdl_cli_json_set(o, "images", tdl_cli_json_integer(N));
        tdl_cli_json_set(o, "seed", tdl_cli_json_integer(seed));
        tdl_cli_json_set(o, "T", tdl_cli_json_integer(model.cfg.unet.T));
        tdl_cli_json_set(o, "batch", tdl_cli_json_integer(B));
        tdl_cli_json_set(o, "values", tdl_cli_json_integer((long long)s.n));
        tdl_cli_json_set(o, "min", tdl_cli_json_number(lo));
        tdl_cli_json_set(o, "max", tdl_cli_json_number(hi));
        tdl_cli_json_set(o, "seconds", tdl_cli_json_number(secs));
        tdl_cli_json_set(o, "seconds_per_step",
                         tdl_cli_json_number(secs / ((double)model.cfg.unet.T *
                                                     (double)((N + B - 1) / B))));
        tdl_cli_json_set(o, "threads", tdl_cli_json_integer(tdl_threads_count()));
        tdl_cli_json_set(o, "output", tdl_cli_json_text(out));
        if (traj_path) tdl_cli_json_set(o, "trajectory", tdl_cli_json_text(traj_path));
        rc = tdl_cli_json_print(o, 10, 0);
        goto done;
    }
    fprintf(stderr, "diffusion sample: wrote %s (%ld images, %zu values in [%.4g, %.4g], "
            "%.1f s)%s%s\n", out, N, s.n, lo, hi, secs, traj_path ? ", trajectory " : "",
            traj_path ? traj_path : "");
    rc = TDL_EXIT_OK;
done:
    free(img);
    free(traj);
    free(traj_t);
    tdl_series_free(&s);
    tdl_ddpm_work_free(&w);
    tdl_ddpm_free(&model);
    return rc;
}
