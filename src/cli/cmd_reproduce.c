/* cmd_reproduce.c: `tdl reproduce`: the experiments of spec section 7 (Table
 * I, Figs. 2-4 and the fair controls) as one resumable grid of cached cells
 * (reproduce.h): options, presets, the grid, the scheduler and its progress
 * display. The cells run tdl's own commands as child processes. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "reproduce.h"
#include "tdl/hash.h"
#include "tdl/learn3d.h"
#include "tdl/threads.h"

static const char repro_usage[] =
    "usage: tdl reproduce [--preset demo|cpu|paper] [--seeds N] [--data DIR|synth]\n"
    "                     [--jobs J] [--list] [--cell ID] [--force] -o OUT/\n"
    "  Run the experiments of spec section 7 as one grid and write OUT/report.md,\n"
    "  OUT/results.json and the figures (OUT/figures/*.png, *.svg, with gnuplot):\n"
    "  Table I (3D-L, KL-DRO, W-DRO, Cutout, Gauss, Perlin, DFL, MSE on the seven\n"
    "  sets), Fig. 2 (corrupted 23D24D), Fig. 3 (3D-L decision-focused vs MSE),\n"
    "  Fig. 4 (regret against the budget epsilon) and the controls (DFL continued\n"
    "  for 3D-L's predictor steps, 3D-L with the adversary off), every one with\n"
    "  each seed; the report gives means, spreads and paired verdicts.\n"
    "  A cell is one (experiment, method, settings, seed): a training run and its\n"
    "  evaluations, cached in OUT/cells/ID/ under a hash of its settings, its\n"
    "  input files and the tdl version. A rerun skips finished cells and resumes\n"
    "  an interrupted one from its checkpoint.\n"
    "  --preset P    demo (default: every method and experiment, tiny counts, 1\n"
    "                seed, minutes), cpu (the structure at reduced counts, 3\n"
    "                seeds, about half an hour on 2 cores) or paper (the authors'\n"
    "                counts: days on a CPU; the estimate is printed first)\n"
    "  --seeds N     seeds 1..N (default: the preset's, demo 1, cpu and paper 3)\n"
    "  --data DIR    the seven Azure series (23V.csv 24V.csv 23D.csv 24D.csv\n"
    "                23D24D.csv 23D24V.csv 24D24V.csv; default ../shared/data/azure\n"
    "                when it exists); `synth`: seven synthetic stand-ins from the\n"
    "                built-in profiles (the default without the data; the report\n"
    "                says so at its top)\n"
    "  --jobs J      cells run at once (default 1); the threads (--threads, else\n"
    "                TDL_THREADS, else every core) are split between them\n"
    "  --list        print the cells (ID, state, name, experiments) and exit\n"
    "  --cell ID     run this one cell (ID or name; its dependencies first when\n"
    "                they are not done), then rewrite the report\n"
    "  --force       use an OUT that holds another grid's cells (they are kept)\n"
    "  -o OUT        the output directory\n"
    "exit status: 0 when every cell asked for is done, 1 when one failed (the\n"
    "report lists it; the others still ran), 2 usage error.\n";

const char *const R_SET_NAMES[R_SETS] = {"23V", "24V", "23D", "24D", "23D24D", "23D24V", "24D24V"};
const char *const R_CORRUPT[R_MAXCORRUPT] = {"cutout:0.005", "perlin:0.05", "gauss:0.1"};

/* The synthetic stand-ins (profiles of `tdl synth --list`) for the seven
 * sets: the training service, its 2024 version, the other service, and
 * shifted variants for the mixed sets. */
static const char *const SYNTH_PROFILES[R_SETS] = {
    "conversation", "conversation-2024", "code", "code-2024",
    "code-bursty",  "conversation-daily", "code-daily"};

/* name seeds slots | epochs lr lr_step gamma | dro_epochs dro_lr fw | diffusion extra iters |
 * outer inner z0b z0i jb s pred_lr | budgets | diff_ckpt | estimates */
static const rpreset PRESETS[] = {
    {"demo", 1, 8400, 3, 1e-3, 10, 0.5, 3, 1e-3, 3, "tiny-t100", "--ch 8 --groups 4 --T 20", 30,
     2, 1, 1, 8, 8, 8, 1e-4, 3, {0.01, 0.03, 0.1}, 10,
     0.5, 1.2, 6.0, 7.0, 3.0},
    {"cpu", 3, 0, 20, 1e-6, 10, 0.05, 20, 2e-5, 5, "tiny-t100", "", 400,
     4, 2, 2, 32, 32, 32, 1e-6, 3, {0.01, 0.03, 0.1}, 100,
     0.35, 3.0, 45.0, 55.0, 6.0},
    {"paper", 3, 0, 100, 1e-6, 10, 0.05, 100, 2e-5, 15, "paper", "", 7000,
     15, 10, 4, 64, 64, 64, 1e-6, 5, {0.01, 0.02, 0.03, 0.05, 0.1}, 100,
     0.35, 4.0, 38000.0, 80000.0, 10.0},
};
enum { NPRESETS = sizeof PRESETS / sizeof *PRESETS };

/* ---- building the grid ---- */

static void add_arg(rcell *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void add_arg(rcell *c, const char *fmt, ...) {
    TDL_ASSERT(c->nargs < R_MAXARGS, "too many arguments for %s", c->name);
    char *dst = c->argbuf + c->argused;
    size_t room = sizeof c->argbuf - c->argused;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(dst, room, fmt, ap);
    va_end(ap);
    TDL_ASSERT(n >= 0 && (size_t)n < room, "arguments of %s too long", c->name);
    c->args[c->nargs++] = dst;
    c->argused += (size_t)n + 1;
}

/* Arguments as a list of words (a literal with spaces splits). */
static void add_words(rcell *c, const char *words) {
    char w[128];
    while (*words) {
        while (*words == ' ') words++;
        size_t k = strcspn(words, " ");
        if (k == 0) break;
        TDL_ASSERT(k < sizeof w, "word too long");
        memcpy(w, words, k);
        w[k] = '\0';
        add_arg(c, "%s", w);
        words += k;
    }
}

static rcell *new_cell(rgrid *g, int cap, const char *method, int seed, rkind kind,
                       const char *tags) {
    TDL_ASSERT(g->n < cap, "grid capacity");
    rcell *c = &g->cells[g->n++];
    memset(c, 0, sizeof *c);
    snprintf(c->method, sizeof c->method, "%s", method);
    snprintf(c->name, sizeof c->name, "%s s%d", method, seed);
    snprintf(c->tags, sizeof c->tags, "%s", tags);
    c->seed = seed;
    c->kind = kind;
    c->deps[0] = c->deps[1] = -1;
    return c;
}

/* the predictor's training: method, its epochs/rate, the seed */
static void train_args(rcell *c, const rpreset *p, const char *method, int seed) {
    int dro = strcmp(method, "kl-dro") == 0 || strcmp(method, "w-dro") == 0;
    add_words(c, "train --method");
    add_arg(c, "%s", method);
    add_words(c, "--train {train} --epochs");
    add_arg(c, "%d", dro ? p->dro_epochs : p->epochs);
    add_arg(c, "--lr");
    add_arg(c, "%.9g", dro ? p->dro_lr : p->lr);
    add_arg(c, "--lr-step");
    add_arg(c, "%d", p->lr_step);
    add_arg(c, "--lr-gamma");
    add_arg(c, "%.9g", p->lr_gamma);
    if (strcmp(method, "w-dro") == 0) {
        add_arg(c, "--fw-iters");
        add_arg(c, "%d", p->fw_iters);
    }
    add_arg(c, "--seed");
    add_arg(c, "%d", seed);
    double per = p->est_epoch * (strncmp(method, "da-", 3) == 0 ? 2.0 : 1.0);
    if (strcmp(method, "w-dro") == 0) per = p->est_wdro_epoch;
    c->est = per * (dro ? p->dro_epochs : p->epochs) + p->est_eval;
}

static void l3_args(rcell *c, const rpreset *p, int seed, double budget, const char *objective,
                    int adversary) {
    add_words(c, "train --method 3dl --train {train} --init {dep0} --diffusion {dep1}");
    add_arg(c, "--outer");
    add_arg(c, "%d", p->outer);
    add_arg(c, "--inner");
    add_arg(c, "%d", p->inner);
    add_arg(c, "--z0-batches");
    add_arg(c, "%d", p->z0_batches);
    add_arg(c, "--z0-images");
    add_arg(c, "%d", p->z0_images);
    add_arg(c, "--j-batch");
    add_arg(c, "%d", p->j_batch);
    add_arg(c, "--s-images");
    add_arg(c, "%d", p->s_images);
    add_arg(c, "--pred-lr");
    add_arg(c, "%.9g", p->pred_lr);
    add_arg(c, "--budget");
    add_arg(c, "%.9g", budget);
    add_arg(c, "--objective");
    add_arg(c, "%s", objective);
    add_arg(c, "--adversary");
    add_arg(c, "%s", adversary ? "on" : "off");
    add_arg(c, "--seed");
    add_arg(c, "%d", seed);
    c->budget = budget;
    c->est = p->est_3dl * (adversary ? 1.0 : 0.4) + p->est_eval;
}

/* The settings string a cell's ID hashes: the command template, the
 * training source and test sets with their checksums, the dependencies'
 * IDs, what is evaluated, and the tdl version. */
static void cell_hash(rgrid *g, rcell *c) {
    uint64_t h = TDL_HASH_INIT;
    h = tdl_hash_str(h, "tdl-reproduce-cell 1\n" "version " TDL_VERSION "\n");
    for (int i = 0; i < c->nargs; i++) {
        h = tdl_hash_str(h, c->args[i]);
        h = tdl_hash_bytes(h, "\x1f", 1);
    }
    char line[256];
    snprintf(line, sizeof line, "\ntrain %s\n", g->set_hash[0]);
    h = tdl_hash_str(h, line);
    for (int d = 0; d < c->ndeps; d++) {
        snprintf(line, sizeof line, "dep%d %s\n", d, g->cells[c->deps[d]].id);
        h = tdl_hash_str(h, line);
    }
    if (c->eval) {
        h = tdl_hash_str(h, "eval authors exact inference");
        for (int s = 0; s < R_SETS; s++) h = tdl_hash_str(h, g->set_hash[s]);
    }
    if (c->corrupt)
        for (int k = 0; k < R_MAXCORRUPT; k++) {
            snprintf(line, sizeof line, "\ncorrupt %s seed %d", R_CORRUPT[k], c->seed);
            h = tdl_hash_str(h, line);
        }
    tdl_hash_hex(h, c->id);
}

static int find_cell(const rgrid *g, const char *method, int seed, double budget) {
    for (int i = 0; i < g->n; i++)
        if (g->cells[i].seed == seed && strcmp(g->cells[i].method, method) == 0 &&
            (budget <= 0 || g->cells[i].budget == budget))
            return i;
    return -1;
}

static int cmp_id(const void *a, const void *b) { return strcmp(a, b); }

/* Every cell of the preset for seeds 1..g->seeds, dependencies first. */
static const char *const METHODS[] = {"dfl",      "mse",       "kl-dro",   "w-dro",
                                      "da-gauss", "da-cutout", "da-perlin"};

/* a Table I method trained at the preset's counts */
static void add_method(rgrid *g, int cap, const char *method, int s) {
    /* Fig. 2 compares 3D-L, KL-DRO and W-DRO with DFL */
    int dfl = strcmp(method, "dfl") == 0, mse = strcmp(method, "mse") == 0;
    int fig2 = dfl || strcmp(method, "kl-dro") == 0 || strcmp(method, "w-dro") == 0;
    rcell *c = new_cell(g, cap, method, s, RK_TRAIN,
                        dfl ? "table1 fig2 control" : mse ? "table1 fig3" : fig2 ? "table1 fig2"
                                                                                 : "table1");
    train_args(c, g->p, method, s);
    c->eval = 1;
    c->corrupt = fig2;
}

static void build_grid(rgrid *g) {
    const rpreset *p = g->p;
    int per_seed = 7 + 1 + 3 + p->nbudget + 1;
    int cap = per_seed * g->seeds;
    g->cells = calloc((size_t)cap, sizeof *g->cells);
    TDL_ASSERT(g->cells, "out of memory");
    g->n = 0;
    /* the control's length: as many predictor steps as 3D-L takes */
    tdl_3dl_config lc;
    tdl_3dl_config_default(&lc);
    lc.s_images = p->s_images;
    int64_t per_epoch = tdl_3dl_pred_steps_per_epoch(&lc);
    /* per seed: DFL, theta0, 3D-L and its controls first (the main claim),
     * then the baselines, Fig. 3's and Fig. 4's runs */
    for (int s = 1; s <= g->seeds; s++) {
        add_method(g, cap, "dfl", s);
        rcell *d = new_cell(g, cap, "ddpm", s, RK_DDPM, "theta0");
        add_words(d, "diffusion train --train {train} --preset");
        add_arg(d, "%s", p->diff_preset);
        add_words(d, p->diff_extra);
        add_arg(d, "--iters");
        add_arg(d, "%d", p->diff_iters);
        add_arg(d, "--seed");
        add_arg(d, "%d", s);
        add_arg(d, "--checkpoint-every");
        add_arg(d, "%d", p->diff_ckpt_every);
        d->est = p->est_diff;
        int idfl = find_cell(g, "dfl", s, 0), iddpm = g->n - 1;
        /* 3D-L at epsilon 0.03: Table I, Fig. 2, Fig. 3's dfl side, Fig. 4's middle */
        rcell *c = new_cell(g, cap, "3dl", s, RK_3DL, "table1 fig2 fig3 fig4 control");
        l3_args(c, p, s, 0.03, "dfl", 1);
        c->ndeps = 2, c->deps[0] = idfl, c->deps[1] = iddpm;
        c->eval = c->corrupt = 1;
        c = new_cell(g, cap, "dfl-control", s, RK_TRAIN, "control");
        add_words(c, "train --method dfl --train {train} --init {dep0} --steps");
        add_arg(c, "%" PRId64, per_epoch * p->outer);
        add_arg(c, "--adam-reset");
        add_arg(c, "%" PRId64, per_epoch);
        add_arg(c, "--lr");
        add_arg(c, "%.9g", p->pred_lr);
        add_arg(c, "--batch");
        add_arg(c, "%d", lc.pred_batch);
        add_arg(c, "--seed");
        add_arg(c, "%d", s);
        c->ndeps = 1, c->deps[0] = idfl;
        c->eval = 1;
        c->est = p->est_epoch * (double)(per_epoch * p->outer) / 168.0 + p->est_eval;
        c = new_cell(g, cap, "3dl-off", s, RK_3DL, "control");
        l3_args(c, p, s, 0.03, "dfl", 0);
        c->ndeps = 2, c->deps[0] = idfl, c->deps[1] = iddpm;
        c->eval = 1;
        /* the baselines, then the rest of Figs. 3 and 4 */
        for (size_t m = 1; m < sizeof METHODS / sizeof *METHODS; m++)
            add_method(g, cap, METHODS[m], s);
        int imse = find_cell(g, "mse", s, 0);
        c = new_cell(g, cap, "3dl-mse", s, RK_3DL, "fig3");
        l3_args(c, p, s, 0.03, "mse", 1);
        c->ndeps = 2, c->deps[0] = imse, c->deps[1] = iddpm;
        c->eval = 1;
        for (int b = 0; b < p->nbudget; b++) {
            if (p->budgets[b] == 0.03) continue;
            c = new_cell(g, cap, "3dl", s, RK_3DL, "fig4");
            snprintf(c->name, sizeof c->name, "3dl eps=%g s%d", p->budgets[b], s);
            l3_args(c, p, s, p->budgets[b], "dfl", 1);
            c->ndeps = 2, c->deps[0] = idfl, c->deps[1] = iddpm;
            c->eval = 1;
        }
    }
    /* the grid: the set of its cells (sorted IDs: the order does not matter) */
    char(*ids)[17] = malloc((size_t)g->n * sizeof *ids);
    TDL_ASSERT(ids, "out of memory");
    for (int i = 0; i < g->n; i++) {
        cell_hash(g, &g->cells[i]);
        memcpy(ids[i], g->cells[i].id, 17);
    }
    qsort(ids, (size_t)g->n, sizeof *ids, cmp_id);
    uint64_t h = TDL_HASH_INIT;
    for (int i = 0; i < g->n; i++) h = tdl_hash_str(h, ids[i]);
    free(ids);
    tdl_hash_hex(h, g->grid_id);
}

/* ---- data ---- */

static int resolve_data(rgrid *g, const char *data) {
    const char *dflt = "../shared/data/azure";
    char what[PATH_MAX + 200];
    struct stat st;
    if (!data) data = (stat(dflt, &st) == 0 && S_ISDIR(st.st_mode)) ? dflt : "synth";
    if (strcmp(data, "synth") == 0) {
        g->synthetic = 1;
        g->data_dir[0] = '\0';
        for (int s = 0; s < R_SETS; s++) {
            if (g->p->synth_slots > 0)
                snprintf(g->sets[s], sizeof g->sets[s], "synth:%s:1:%d", SYNTH_PROFILES[s],
                         g->p->synth_slots);
            else
                snprintf(g->sets[s], sizeof g->sets[s], "synth:%s", SYNTH_PROFILES[s]);
            tdl_hash_hex(tdl_hash_str(TDL_HASH_INIT, g->sets[s]), g->set_hash[s]);
        }
        return 0;
    }
    if (stat(data, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(what, sizeof what, "--data %s is not a directory", data);
        return tdl_cli_fail(what, "give the folder of the seven Azure series, or --data synth");
    }
    if (!realpath(data, g->data_dir)) {
        snprintf(what, sizeof what, "--data %s: %s", data, strerror(errno));
        return tdl_cli_fail(what, "check the path");
    }
    g->synthetic = 0;
    for (int s = 0; s < R_SETS; s++) {
        int n = snprintf(g->sets[s], sizeof g->sets[s], "%s/%s.csv", g->data_dir, R_SET_NAMES[s]);
        if (n < 0 || (size_t)n >= sizeof g->sets[s]) return tdl_cli_fail("path too long", data);
        uint64_t h;
        if (access(g->sets[s], R_OK) != 0 || tdl_hash_file(g->sets[s], &h) != TDL_OK) {
            snprintf(what, sizeof what, "--data %s: missing %s.csv (%s)", data, R_SET_NAMES[s],
                     g->sets[s]);
            return tdl_cli_fail(what, "the folder needs 23V 24V 23D 24D 23D24D 23D24V 24D24V"
                                      ".csv, or give --data synth");
        }
        tdl_hash_hex(h, g->set_hash[s]);
    }
    return 0;
}

/* ---- OUT ---- */

static int mkdir_p(const char *path) {
    char tmp[PATH_MAX + 16];
    size_t len = strlen(path);
    if (len >= sizeof tmp) return -1;
    memcpy(tmp, path, len + 1);
    for (char *q = tmp + 1; *q; q++) {
        if (*q != '/') continue;
        *q = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
        *q = '/';
    }
    return (mkdir(tmp, 0755) != 0 && errno != EEXIST) ? -1 : 0;
}

/* OUT as an absolute path (it need not exist yet). */
static int absolute_out(rgrid *g, const char *out) {
    char cwd[PATH_MAX];
    size_t n = strlen(out);
    while (n > 1 && out[n - 1] == '/') n--;
    if (out[0] == '/') {
        if (n >= sizeof g->out) return -1;
        memcpy(g->out, out, n);
        g->out[n] = '\0';
        return 0;
    }
    if (!getcwd(cwd, sizeof cwd)) return -1;
    int k = snprintf(g->out, sizeof g->out, "%s/%.*s", cwd, (int)n, out);
    return (k < 0 || (size_t)k >= sizeof g->out) ? -1 : 0;
}

static const char *jstr(json_t *o, const char *key) {
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "?";
}

/* OUT/grid.json names the grid OUT holds; another grid is refused unless
 * --force (its cells stay: they are named by their own hashes). */
static int check_grid(rgrid *g, int force) {
    char path[PATH_MAX + 16], what[PATH_MAX + 300];
    r_join(path, sizeof path, g->out, "/grid.json");
    json_error_t err;
    json_t *old = json_load_file(path, 0, &err);
    if (old) {
        const char *id = json_string_value(json_object_get(old, "grid"));
        if (id && strcmp(id, g->grid_id) != 0 && !force) {
            snprintf(what, sizeof what, "%s holds another grid (preset %s, %" JSON_INTEGER_FORMAT
                     " seed(s), data %s): different settings", g->out,
                     jstr(old, "preset"),
                     json_integer_value(json_object_get(old, "seeds")),
                     jstr(old, "data"));
            json_decref(old);
            return tdl_cli_fail(what, "use another -o, or --force to run this grid there too");
        }
        json_decref(old);
    }
    json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:s, s:i}", "grid", g->grid_id, "preset",
                          g->p->name, "seeds", g->seeds, "data",
                          g->synthetic ? "synthetic stand-ins" : g->data_dir, "tdl_version",
                          TDL_VERSION, "cells", g->n);
    char *txt = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
    json_decref(o);
    int rc = txt ? r_write_text(path, txt) : -1;
    free(txt);
    if (rc) return tdl_cli_fail(tdl_last_error(), "OUT must be writable");
    return 0;
}

/* ---- the scheduler ---- */

typedef struct sched {
    rgrid *g;
    int tty;
    double t0, speed_run, speed_est; /* seconds run here vs their estimates */
    int total, finished, cached, failed, skipped;
    pid_t *pid;                      /* per cell: its worker, 0 */
    double *start;
    unsigned char *want;
    double last_draw;
} sched;

static const char *state_name(rstate s) {
    switch (s) {
    case RS_PENDING: return "pending";
    case RS_CACHED: return "cached";
    case RS_RUNNING: return "running";
    case RS_DONE: return "done";
    case RS_FAILED: return "failed";
    case RS_SKIPPED: return "skipped";
    }
    return "?";
}

static double remaining_est(const sched *S) {
    double r = 0;
    for (int i = 0; i < S->g->n; i++)
        if (S->want[i] && (S->g->cells[i].state == RS_PENDING ||
                           S->g->cells[i].state == RS_RUNNING))
            r += S->g->cells[i].est;
    double speed = S->speed_est > 0 ? S->speed_run / S->speed_est : 1.0;
    return r * speed / S->g->jobs;
}

static void draw(sched *S, const char *event) {
    rgrid *g = S->g;
    char eta[32];
    tdl_cli_format_eta(eta, sizeof eta, remaining_est(S));
    if (S->tty) {
        char running[200] = "";
        size_t used = 0;
        for (int i = 0; i < g->n && used + 50 < sizeof running; i++)
            if (g->cells[i].state == RS_RUNNING)
                used += (size_t)snprintf(running + used, sizeof running - used, "%s%s",
                                         used ? ", " : "", g->cells[i].name);
        int width = 24, fill = S->total ? width * S->finished / S->total : width;
        char bar[32];
        for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        if (event) fprintf(stderr, "\r\033[K%s\n", event);
        fprintf(stderr, "\r\033[K[%s] %d/%d cells  running: %s  ETA %s", bar, S->finished,
                S->total, used ? running : "-", eta);
    } else if (event) {
        fprintf(stderr, "reproduce: [%d/%d] %s  ETA %s\n", S->finished, S->total, event, eta);
    }
}

static int start_cell(sched *S, int i) {
    rgrid *g = S->g;
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        /* the worker dies with the runner (SIGKILL included), and its own
         * children die with it (r_cell_run sets the same) */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(1);
        _exit(r_cell_run(g, &g->cells[i]));
    }
    S->pid[i] = pid;
    S->start[i] = tdl_cli_now();
    g->cells[i].state = RS_RUNNING;
    return 0;
}

/* a dependency failed or was skipped: so is the cell */
static int deps_state(const rgrid *g, const rcell *c) {
    int ready = 1;
    for (int d = 0; d < c->ndeps; d++) {
        rstate s = g->cells[c->deps[d]].state;
        if (s == RS_FAILED || s == RS_SKIPPED) return -1;
        if (s != RS_DONE && s != RS_CACHED) ready = 0;
    }
    return ready;
}

static int run_grid(sched *S) {
    rgrid *g = S->g;
    int running = 0;
    char ev[400];
    draw(S, NULL);
    for (;;) {
        /* start what is ready: each role for every seed before the next role
         * (the grid is seed-major), so a partial run has all its seeds */
        int per = g->n / g->seeds;
        for (int o = 0; o < g->n && running < g->jobs; o++) {
            int i = (o % g->seeds) * per + o / g->seeds;
            rcell *c = &g->cells[i];
            if (!S->want[i] || c->state != RS_PENDING) continue;
            int ds = deps_state(g, c);
            if (ds < 0) {
                c->state = RS_SKIPPED;
                S->finished++;
                S->skipped++;
                snprintf(ev, sizeof ev, "%s [%s] skipped: a dependency failed", c->name, c->id);
                draw(S, ev);
                continue;
            }
            if (ds == 0) continue;
            if (start_cell(S, i) != 0) {
                c->state = RS_FAILED;
                S->failed++;
                S->finished++;
                continue;
            }
            running++;
            if (!S->tty) {
                snprintf(ev, sizeof ev, "start %s [%s]", c->name, c->id);
                draw(S, ev);
            }
        }
        if (running == 0) break;
        int st;
        pid_t pid;
        /* wake up now and then to redraw the bar and its ETA */
        while ((pid = waitpid(-1, &st, S->tty ? WNOHANG : 0)) == 0) {
            sleep(1);
            draw(S, NULL);
        }
        if (pid < 0) {
            if (errno == EINTR) continue;
            break;
        }
        int i = 0;
        while (i < g->n && S->pid[i] != pid) i++;
        if (i == g->n) continue;
        rcell *c = &g->cells[i];
        S->pid[i] = 0;
        running--;
        S->finished++;
        c->seconds = tdl_cli_now() - S->start[i];
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && (c->result = r_cell_load(g, c))) {
            c->state = RS_DONE;
            S->speed_run += c->seconds;
            S->speed_est += c->est;
            snprintf(ev, sizeof ev, "done %s [%s] (%.1f s)", c->name, c->id, c->seconds);
        } else {
            c->state = RS_FAILED;
            S->failed++;
            char *why = r_cell_error(g, c);
            snprintf(ev, sizeof ev, "FAILED %s [%s]: %s", c->name, c->id,
                     why && *why ? why : "the worker died");
            free(why);
        }
        draw(S, ev);
    }
    if (S->tty) fputc('\n', stderr);
    return S->failed ? 1 : 0;
}

/* ---- the command ---- */

int tdl_cmd_reproduce(int argc, char **argv) {
    enum { O_PRESET = 256, O_SEEDS, O_DATA, O_JOBS, O_LIST, O_CELL, O_FORCE };
    static const struct option opts[] = {
        {"preset", required_argument, NULL, O_PRESET}, {"seeds", required_argument, NULL, O_SEEDS},
        {"data", required_argument, NULL, O_DATA},     {"jobs", required_argument, NULL, O_JOBS},
        {"list", no_argument, NULL, O_LIST},           {"cell", required_argument, NULL, O_CELL},
        {"force", no_argument, NULL, O_FORCE},         {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},              {NULL, 0, NULL, 0}};
    const char *U = repro_usage;
    const char *data = NULL, *out = NULL, *cell = NULL;
    const rpreset *p = &PRESETS[0];
    long seeds = 0, jobs = 1;
    int list = 0, force = 0, c;
    char *end;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
        switch (c) {
        case O_PRESET:
            p = NULL;
            for (int i = 0; i < NPRESETS; i++)
                if (strcmp(optarg, PRESETS[i].name) == 0) p = &PRESETS[i];
            if (!p)
                return tdl_cli_usage_error(U, "--preset %s is not a preset (demo, cpu or paper)",
                                           optarg);
            break;
        case O_SEEDS:
            errno = 0;
            seeds = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || seeds < 1 || seeds > 100)
                return tdl_cli_usage_error(U, "--seeds %s is not a seed count (an integer from "
                                           "1 to 100)", optarg);
            break;
        case O_JOBS:
            errno = 0;
            jobs = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || jobs < 1 || jobs > 64)
                return tdl_cli_usage_error(U, "--jobs %s is not a job count (an integer from 1 "
                                           "to 64)", optarg);
            break;
        case O_DATA: data = optarg; break;
        case O_LIST: list = 1; break;
        case O_CELL: cell = optarg; break;
        case O_FORCE: force = 1; break;
        case 'o': out = optarg; break;
        case 'h': fputs(U, stdout); return TDL_EXIT_OK;
        case ':': return tdl_cli_usage_error(U, "%s needs a value", argv[optind - 1]);
        default: return tdl_cli_usage_error(U, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return tdl_cli_usage_error(U, "unexpected argument '%s'", argv[optind]);
    if (!out) return tdl_cli_usage_error(U, "-o OUT is required (the output directory)");
    if (list && cell) return tdl_cli_usage_error(U, "--list and --cell: give one");

    static rgrid G;
    rgrid *g = &G;
    memset(g, 0, sizeof *g);
    g->p = p;
    g->seeds = seeds ? (int)seeds : p->seeds;
    g->jobs = (int)jobs;
    g->threads = tdl_threads_count();
    g->cell_threads = g->threads / g->jobs > 0 ? g->threads / g->jobs : 1;
    static char self[PATH_MAX];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0) return tdl_cli_fail("cannot find the tdl binary (/proc/self/exe)", "Linux only");
    self[sl] = '\0';
    g->self = self;
    size_t used = 0;
    for (int i = 0; i < argc && used + 2 < sizeof g->command; i++)
        used += (size_t)snprintf(g->command + used, sizeof g->command - used, "%s%s",
                                 i ? " " : "tdl ", argv[i]);
    if (absolute_out(g, out) != 0) return tdl_cli_fail("-o OUT: path too long", out);
    if (resolve_data(g, data) != 0) return TDL_EXIT_FAIL;
    build_grid(g);

    int rc = TDL_EXIT_OK;
    sched S;
    memset(&S, 0, sizeof S);
    S.pid = calloc((size_t)g->n, sizeof *S.pid);
    S.start = calloc((size_t)g->n, sizeof *S.start);
    S.want = calloc((size_t)g->n, 1);
    if (!S.pid || !S.start || !S.want) {
        rc = tdl_cli_fail("out of memory", "the grid");
        goto done;
    }
    for (int i = 0; i < g->n; i++) {
        g->cells[i].result = r_cell_load(g, &g->cells[i]);
        g->cells[i].state = g->cells[i].result ? RS_CACHED : RS_PENDING;
    }
    if (list) {
        printf("# grid %s: preset %s, %d seed(s), data %s, %d cells\n", g->grid_id, p->name,
               g->seeds, g->synthetic ? "synthetic stand-ins" : g->data_dir, g->n);
        printf("# %-16s %-8s %-20s %-12s %s\n", "ID", "state", "name", "needs", "experiments");
        for (int i = 0; i < g->n; i++) {
            rcell *ce = &g->cells[i];
            char needs[40] = "-";
            if (ce->ndeps)
                snprintf(needs, sizeof needs, "%.6s%s%.6s", g->cells[ce->deps[0]].id,
                         ce->ndeps > 1 ? "," : "", ce->ndeps > 1 ? g->cells[ce->deps[1]].id : "");
            printf("%-18s %-8s %-20s %-12s %s\n", ce->id,
                   ce->state == RS_CACHED ? "done" : state_name(ce->state), ce->name, needs,
                   ce->tags);
        }
        goto done;
    }
    /* what to run: everything, or one cell and the dependencies it lacks */
    if (cell) {
        int k = -1;
        for (int i = 0; i < g->n; i++)
            if (strcmp(g->cells[i].id, cell) == 0 || strcmp(g->cells[i].name, cell) == 0) k = i;
        if (k < 0) {
            rc = tdl_cli_usage_error(U, "--cell %s is not a cell of this grid (see --list with "
                                     "the same options)", cell);
            goto done;
        }
        S.want[k] = 1;
        for (int i = g->n - 1; i >= 0; i--) /* dependencies come first in the grid */
            if (S.want[i])
                for (int d = 0; d < g->cells[i].ndeps; d++) S.want[g->cells[i].deps[d]] = 1;
    } else {
        memset(S.want, 1, (size_t)g->n);
    }
    char cells_dir[PATH_MAX + 8];
    snprintf(cells_dir, sizeof cells_dir, "%.4000s/cells", g->out);
    if (mkdir_p(cells_dir) != 0) {
        char what[PATH_MAX + 100];
        snprintf(what, sizeof what, "cannot create %s: %s", cells_dir, strerror(errno));
        rc = tdl_cli_fail(what, "-o names a directory tdl can write");
        goto done;
    }
    if ((rc = check_grid(g, force)) != 0) goto done;

    S.g = g;
    S.tty = isatty(2);
    double est = 0;
    for (int i = 0; i < g->n; i++) {
        if (!S.want[i]) continue;
        S.total++;
        if (g->cells[i].state == RS_CACHED) S.cached++, S.finished++;
        else est += g->cells[i].est;
    }
    char eta[32];
    tdl_cli_format_eta(eta, sizeof eta, est / g->jobs);
    fprintf(stderr, "reproduce: preset %s, %d seed(s), %d cells (%d cached, %d to run), data %s\n"
            "reproduce: %d job(s) x %d thread(s), OUT %s; estimated %s (the preset's figures "
            "for a 2-core machine)\n", p->name, g->seeds, S.total, S.cached, S.total - S.cached,
            g->synthetic ? "SYNTHETIC stand-ins (synth:...)" : g->data_dir, g->jobs,
            g->cell_threads, g->out, eta);
    S.t0 = tdl_cli_now();
    int grid_rc = run_grid(&S);
    g->wall = tdl_cli_now() - S.t0;
    fprintf(stderr, "reproduce: %d cells: %d cached, %d run, %d failed, %d skipped (%.1f s)\n",
            S.total, S.cached, S.finished - S.cached - S.failed - S.skipped, S.failed, S.skipped,
            g->wall);
    if (r_report(g, !cell) != 0) rc = TDL_EXIT_FAIL;
    else rc = grid_rc ? TDL_EXIT_FAIL : TDL_EXIT_OK;
    if (grid_rc) fprintf(stderr, "tdl: error: %d cell(s) failed (see %s/report.md and "
                         "cells/ID/error.txt; rerun to retry them)\n", S.failed, g->out);
done:
    for (int i = 0; i < g->n; i++) json_decref(g->cells[i].result);
    free(g->cells);
    free(S.pid);
    free(S.start);
    free(S.want);
    return rc;
}
