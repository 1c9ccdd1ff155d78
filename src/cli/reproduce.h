/* reproduce.h: `tdl reproduce`, the experiment runner (private to the CLI).
 *
 * The grid of spec section 7 is a list of cells. A cell is one training run
 * (experiment role, method, settings, seed) followed by its evaluations; it
 * runs existing tdl commands (train, diffusion train, eval) as child
 * processes of the tdl binary itself and keeps everything in
 * OUT/cells/ID/, where ID is a hash of its command template, its
 * dependencies' IDs, its input files' contents and the tdl version. A cell
 * whose result.json exists is cached; one that was interrupted resumes its
 * training from the checkpoint (--resume) and redoes what is missing.
 *
 *   cmd_reproduce.c     options, presets, the grid, the scheduler, progress
 *   reproduce_cell.c    one cell: its commands, resume, result.json
 *   reproduce_report.c  results.json, report.md, the figures (gnuplot)
 */
#ifndef TDL_CLI_REPRODUCE_H
#define TDL_CLI_REPRODUCE_H

#include <jansson.h>
#include <limits.h>

enum {
    R_SETS = 7,      /* the seven test sets of Table I */
    R_MAXARGS = 64,  /* arguments of one command template */
    R_MAXCORRUPT = 3 /* Fig. 2's corruptions */
};

/* The seven sets, Table I's order; set 0 also trains (its 30% split tests). */
extern const char *const R_SET_NAMES[R_SETS];
/* Fig. 2's corruptions of 23D24D, as `tdl eval --corrupt` takes them. */
extern const char *const R_CORRUPT[R_MAXCORRUPT];
enum { R_CORRUPT_SET = 4 }; /* 23D24D */

/* A preset: the counts of every run of the grid. */
typedef struct rpreset {
    const char *name;
    int seeds;           /* default --seeds */
    int synth_slots;     /* the synthetic stand-ins' length (0: tdl's 21030) */
    /* DFL, MSE and the augmentations: epochs, rate, StepLR */
    int epochs;
    double lr;
    int lr_step;
    double lr_gamma;
    /* KL-DRO and W-DRO (the spec: lr 2e-5; W-DRO's Frank-Wolfe iterations) */
    int dro_epochs;
    double dro_lr;
    int fw_iters;
    /* the diffusion model theta0 */
    const char *diff_preset;
    const char *diff_extra; /* more `tdl diffusion train` options ("" none) */
    int diff_iters;
    /* 3D-Learning */
    int outer, inner, z0_batches, z0_images, j_batch, s_images;
    double pred_lr;
    int nbudget;
    double budgets[6];  /* Fig. 4; 0.03 must be one of them */
    /* checkpoint intervals (epochs, diffusion iterations): not results */
    int diff_ckpt_every;
    /* estimated seconds per cell kind on the project's 2-core machine, for
     * the ETA before anything has run: train (per epoch of 168 steps),
     * W-DRO epoch, diffusion, one 3D-L run, the evaluations of one cell */
    double est_epoch, est_wdro_epoch, est_diff, est_3dl, est_eval;
} rpreset;

typedef enum rkind { RK_TRAIN = 0, RK_DDPM, RK_3DL } rkind;

typedef enum rstate {
    RS_PENDING = 0,
    RS_CACHED,   /* result.json was there before this run */
    RS_RUNNING,
    RS_DONE,     /* run by this invocation */
    RS_FAILED,
    RS_SKIPPED   /* a dependency failed */
} rstate;

typedef struct rcell {
    char name[48];    /* e.g. "3dl eps=0.01 s2": unique, readable */
    char method[24];  /* dfl mse kl-dro w-dro da-gauss da-cutout da-perlin ddpm 3dl 3dl-mse
                         3dl-off dfl-control */
    char tags[64];    /* the experiments that read it: table1 fig2 fig3 fig4 control */
    int seed;
    double budget;    /* 3D-L cells: epsilon */
    rkind kind;
    int ndeps;
    int deps[2];      /* cell indices: [0] the initial predictor, [1] the diffusion model */
    int eval;         /* evaluated on the seven sets */
    int corrupt;      /* and on the corrupted 23D24D (Fig. 2) */
    int nargs;
    const char *args[R_MAXARGS]; /* the command template: "{train}", "{dep0}", "{dep1}" are
                                    the training source and the dependencies' models */
    char argbuf[1024];           /* storage for formatted arguments */
    size_t argused;
    double est;                  /* estimated seconds (the ETA's weights) */
    char id[17];                 /* hash of the settings */
    /* state of this invocation */
    rstate state;
    double seconds;              /* wall time when run here */
    json_t *result;              /* result.json once done or cached (owned) */
} rcell;

typedef struct rgrid {
    const rpreset *p;
    int seeds, jobs, threads, cell_threads;
    char out[PATH_MAX];          /* OUT, absolute */
    char data_dir[PATH_MAX];     /* "" for the synthetic stand-ins */
    int synthetic;
    char sets[R_SETS][PATH_MAX]; /* sources: absolute CSV paths or synth:... */
    char set_hash[R_SETS][17];   /* the files' FNV-1a (synth: of the spec text) */
    rcell *cells;
    int n;
    char grid_id[17];            /* hash of every cell's ID */
    char command[2048];          /* the reproduce command as given */
    double wall;                 /* this invocation's wall time */
    const char *self;            /* the tdl binary to run */
} rgrid;

/* reproduce_cell.c */
/* OUT/cells/ID (n >= PATH_MAX). */
void r_cell_dir(const rgrid *g, const rcell *c, char *buf, size_t n);
/* Read OUT/cells/ID/result.json if it is this cell's (its "id"); NULL if not. */
json_t *r_cell_load(const rgrid *g, const rcell *c);
/* Run cell c (its dependencies done): its training (fresh or --resume), its
 * evaluations, result.json. Called in a worker process. 0 on success; else
 * 1, with the reason in OUT/cells/ID/error.txt. */
int r_cell_run(const rgrid *g, const rcell *c);
/* The reason a failed cell gives (error.txt), "" if none; the caller frees. */
char *r_cell_error(const rgrid *g, const rcell *c);

/* reproduce_report.c */
/* Write OUT/results.json, OUT/report.md and the figures from the cells'
 * results; print Table I's summary to stdout when summary != 0. 0 on success,
 * else prints the error and returns 1. */
int r_report(rgrid *g, int summary);

/* buf = a b (c); paths here are bounded by PATH_MAX plus short names, so an
 * overflow is a programmer error (TDL_ASSERT). c may be NULL. buf may be a. */
void r_join(char *buf, size_t n, const char *a, const char *b);
void r_join3(char *buf, size_t n, const char *a, const char *b, const char *c);

/* Atomically write text to path (tdl_atomic_file); 0 on success. */
int r_write_text(const char *path, const char *text);

#endif
