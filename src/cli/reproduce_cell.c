/* reproduce_cell.c: one cell of `tdl reproduce`: its training (fresh, or
 * --resume from the checkpoint a killed run left), its evaluations on the
 * seven sets (and the corrupted 23D24D), and OUT/cells/ID/result.json.
 * Each step's output file appears only when the step succeeded (written as
 * NAME.part, then renamed), so a rerun redoes exactly what is missing. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "reproduce.h"
#include "tdl/atomic_file.h"

int r_write_text(const char *path, const char *text) {
    tdl_atomic_file a;
    if (tdl_atomic_file_open(&a, path) != TDL_OK) return -1;
    fputs(text, a.f);
    return tdl_atomic_file_commit(&a) == TDL_OK ? 0 : -1;
}

void r_join3(char *buf, size_t n, const char *a, const char *b, const char *c) {
    size_t la = strlen(a), lb = strlen(b), lc = c ? strlen(c) : 0;
    TDL_ASSERT(la + lb + lc < n, "path too long: %s%s", a, b);
    memmove(buf, a, la); /* buf may be a */
    memcpy(buf + la, b, lb);
    if (lc) memcpy(buf + la + lb, c, lc);
    buf[la + lb + lc] = '\0';
}

void r_join(char *buf, size_t n, const char *a, const char *b) { r_join3(buf, n, a, b, NULL); }

void r_cell_dir(const rgrid *g, const rcell *c, char *buf, size_t n) {
    r_join3(buf, n, g->out, "/cells/", c->id);
}

json_t *r_cell_load(const rgrid *g, const rcell *c) {
    char path[PATH_MAX + 64];
    r_cell_dir(g, c, path, sizeof path);
    strcat(path, "/result.json");
    json_t *r = json_load_file(path, 0, NULL);
    const char *id = json_string_value(json_object_get(r, "id"));
    if (!id || strcmp(id, c->id) != 0) {
        json_decref(r);
        return NULL;
    }
    return r;
}

char *r_cell_error(const rgrid *g, const rcell *c) {
    char path[PATH_MAX + 64];
    r_cell_dir(g, c, path, sizeof path);
    strcat(path, "/error.txt");
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    fclose(f);
    if (n <= 0) {
        free(line);
        return NULL;
    }
    line[strcspn(line, "\n")] = '\0';
    return line;
}

/* ---- a cell's work (in its worker process) ---- */

typedef struct cellrun {
    const rgrid *g;
    const rcell *c;
    char dir[PATH_MAX];
    char model[PATH_MAX + 32];
} cellrun;

static int fail(cellrun *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static int fail(cellrun *r, const char *fmt, ...) {
    char msg[1024], path[PATH_MAX + 32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r_join(path, sizeof path, r->dir, "/error.txt");
    strcat(msg, "\n");
    r_write_text(path, msg);
    return 1;
}

/* The last non-empty line of a log (a child's "tdl: error: ..."). */
static void last_line(const char *path, char *buf, size_t n) {
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        char *s = strrchr(line, '\r'); /* a progress bar's last state */
        s = s ? s + 1 : line;
        s[strcspn(s, "\n")] = '\0';
        if (*s) snprintf(buf, n, "%s", s);
    }
    fclose(f);
}

/* Run the tdl binary with args, stdout to out_path (truncated), stderr
 * appended to log_path. Returns the exit status, or -1. The child dies with
 * this process. */
static int run_tdl(cellrun *r, char **args, const char *out_path, const char *log_path) {
    /* the command line as run, for the report */
    char line[8192];
    size_t used = 0;
    for (int i = 0; args[i] && used + 2 < sizeof line; i++)
        used += (size_t)snprintf(line + used, sizeof line - used, "%s%s", i ? " " : "tdl",
                                 i ? args[i] : "");
    /* every command a cell ran, over all invocations (a resume adds its own) */
    char hist[PATH_MAX + 32];
    r_join(hist, sizeof hist, r->dir, "/commands.txt");
    FILE *hf = fopen(hist, "a");
    if (hf) {
        fprintf(hf, "%s\n", line);
        fclose(hf);
    }
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
        int fo = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0) _exit(127);
        close(fo);
        close(fe);
        execv(r->g->self, args);
        fprintf(stderr, "tdl: error: cannot run %s: %s\n", r->g->self, strerror(errno));
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* NAME.part -> NAME once it holds one valid JSON object; the object, or NULL. */
static json_t *commit_json(const char *part, const char *final) {
    json_t *o = json_load_file(part, 0, NULL);
    if (!o) return NULL;
    int fd = open(part, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    if (rename(part, final) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int exists(const char *path) { return access(path, F_OK) == 0; }

/* args for the tdl binary: argv[0], --threads K, the template expanded,
 * then extra words (NULL-terminated). The strings live in pool. */
typedef struct argvec {
    char *v[R_MAXARGS + 32];
    int n;
    char pool[16384];
    size_t used;
} argvec;

static void av_add(argvec *a, const char *s) {
    size_t k = strlen(s) + 1;
    TDL_ASSERT(a->n < R_MAXARGS + 30 && a->used + k <= sizeof a->pool, "argument list");
    memcpy(a->pool + a->used, s, k);
    a->v[a->n++] = a->pool + a->used;
    a->v[a->n] = NULL;
    a->used += k;
}

static void av_start(argvec *a, const cellrun *r) {
    char t[16];
    a->n = 0;
    a->used = 0;
    av_add(a, r->g->self);
    av_add(a, "--threads");
    snprintf(t, sizeof t, "%d", r->g->cell_threads);
    av_add(a, t);
}

static void dep_model(const cellrun *r, int d, char *buf, size_t n) {
    const rcell *dep = &r->g->cells[r->c->deps[d]];
    r_cell_dir(r->g, dep, buf, n);
    r_join(buf, n, buf, "/model.safetensors");
}

static void av_template(argvec *a, const cellrun *r) {
    char path[PATH_MAX + 64];
    for (int i = 0; i < r->c->nargs; i++) {
        const char *w = r->c->args[i];
        if (strcmp(w, "{train}") == 0) av_add(a, r->g->sets[0]);
        else if (strcmp(w, "{dep0}") == 0) dep_model(r, 0, path, sizeof path), av_add(a, path);
        else if (strcmp(w, "{dep1}") == 0) dep_model(r, 1, path, sizeof path), av_add(a, path);
        else av_add(a, w);
    }
}

/* The training step: train.json once it succeeded. */
static json_t *cell_train(cellrun *r) {
    char ckpt[PATH_MAX + 64], part[PATH_MAX + 64], final[PATH_MAX + 64], log[PATH_MAX + 64];
    r_join(final, sizeof final, r->dir, "/train.json");
    r_join(part, sizeof part, r->dir, "/train.json.part");
    r_join(log, sizeof log, r->dir, "/train.log");
    r_join(ckpt, sizeof ckpt, r->dir, "/model.ckpt.safetensors");
    json_t *done = exists(r->model) ? json_load_file(final, 0, NULL) : NULL;
    if (done) return done;
    static argvec a;
    av_start(&a, r);
    if (exists(ckpt)) {
        /* an interrupted run: its checkpoint holds the config; the final
         * model equals an uninterrupted run's (same thread count) */
        if (r->c->kind == RK_DDPM) av_add(&a, "diffusion"), av_add(&a, "train");
        else av_add(&a, "train");
        if (r->c->kind == RK_3DL) av_add(&a, "--method"), av_add(&a, "3dl");
        av_add(&a, "--resume");
    } else {
        av_template(&a, r);
    }
    av_add(&a, "--json");
    av_add(&a, "-o");
    av_add(&a, r->model);
    int st = run_tdl(r, a.v, part, log);
    if (st != 0) {
        char why[1024];
        last_line(log, why, sizeof why);
        fail(r, "training exited with status %d: %s (log: %s)", st, why, log);
        return NULL;
    }
    json_t *o = commit_json(part, final);
    if (!o) fail(r, "training wrote no JSON summary (%s)", part);
    return o;
}

/* One evaluation: NAME.json once it succeeded. corrupt NULL: the seven sets. */
static json_t *cell_eval(cellrun *r, const char *name, const char *corrupt) {
    char part[PATH_MAX + 64], final[PATH_MAX + 64], log[PATH_MAX + 64];
    char base[PATH_MAX + 40];
    r_join3(base, sizeof base, r->dir, "/", name);
    r_join(final, sizeof final, base, ".json");
    r_join(part, sizeof part, base, ".json.part");
    r_join(log, sizeof log, r->dir, "/eval.log");
    json_t *done = json_load_file(final, 0, NULL);
    if (done) return done;
    static argvec a;
    av_start(&a, r);
    av_add(&a, "eval");
    av_add(&a, "--model");
    av_add(&a, r->model);
    av_add(&a, "--train");
    av_add(&a, r->g->sets[0]);
    av_add(&a, "--test");
    if (corrupt) {
        char seed[16];
        snprintf(seed, sizeof seed, "%d", r->c->seed);
        av_add(&a, r->g->sets[R_CORRUPT_SET]);
        av_add(&a, "--corrupt");
        av_add(&a, corrupt);
        av_add(&a, "--corrupt-seed");
        av_add(&a, seed);
    } else {
        for (int s = 0; s < R_SETS; s++) av_add(&a, r->g->sets[s]);
    }
    av_add(&a, "--json");
    int st = run_tdl(r, a.v, part, log);
    if (st != 0) {
        char why[1024];
        last_line(log, why, sizeof why);
        fail(r, "evaluation %s exited with status %d: %s", name, st, why);
        return NULL;
    }
    json_t *o = commit_json(part, final);
    if (!o) fail(r, "evaluation %s wrote no JSON (%s)", name, part);
    return o;
}

int r_cell_run(const rgrid *g, const rcell *c) {
    static cellrun R;
    cellrun *r = &R;
    memset(r, 0, sizeof *r);
    r->g = g;
    r->c = c;
    r_cell_dir(g, c, r->dir, sizeof r->dir);
    r_join(r->model, sizeof r->model, r->dir, "/model.safetensors");
    if (mkdir(r->dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "tdl: error: cannot create %s: %s\n", r->dir, strerror(errno));
        return 1;
    }
    /* one process per cell at a time (several machines may share OUT);
     * the lock goes with the process, so a killed run leaves none */
    char path[PATH_MAX + 64];
    r_join(path, sizeof path, r->dir, "/lock");
    int lk = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lk < 0 || flock(lk, LOCK_EX | LOCK_NB) != 0)
        return fail(r, "another process is running this cell (%s)", path);
    r_join(path, sizeof path, r->dir, "/error.txt");
    unlink(path);
    double t0 = tdl_cli_now();
    int rc = 1;
    json_t *train = NULL, *eval = NULL, *corrupt = json_object(), *settings = json_array();
    for (int i = 0; i < c->nargs; i++) json_array_append_new(settings, json_string(c->args[i]));
    if (!(train = cell_train(r))) goto out;
    if (c->eval && !(eval = cell_eval(r, "eval", NULL))) goto out;
    for (int k = 0; c->corrupt && k < R_MAXCORRUPT; k++) {
        char name[32];
        snprintf(name, sizeof name, "eval-%.*s", (int)strcspn(R_CORRUPT[k], ":"), R_CORRUPT[k]);
        json_t *e = cell_eval(r, name, R_CORRUPT[k]);
        if (!e) goto out;
        json_object_set_new(corrupt, R_CORRUPT[k], e);
    }
    json_t *deps = json_array();
    for (int d = 0; d < c->ndeps; d++)
        json_array_append_new(deps, json_string(g->cells[c->deps[d]].id));
    json_t *res = json_object();
    json_object_set_new(res, "id", json_string(c->id));
    json_object_set_new(res, "name", json_string(c->name));
    json_object_set_new(res, "method", json_string(c->method));
    json_object_set_new(res, "seed", json_integer(c->seed));
    json_object_set_new(res, "budget", c->kind == RK_3DL ? json_real(c->budget) : json_null());
    json_object_set_new(res, "experiments", json_string(c->tags));
    json_object_set_new(res, "template", settings);
    settings = NULL;
    json_object_set_new(res, "needs", deps);
    json_object_set_new(res, "tdl_version", json_string(TDL_VERSION));
    json_object_set_new(res, "threads", json_integer(g->cell_threads));
    json_t *cmds = json_array();
    r_join(path, sizeof path, r->dir, "/commands.txt");
    FILE *hf = fopen(path, "r");
    char line[8192];
    while (hf && fgets(line, sizeof line, hf)) {
        line[strcspn(line, "\n")] = '\0';
        json_array_append_new(cmds, json_string(line));
    }
    if (hf) fclose(hf);
    json_object_set_new(res, "commands", cmds);
    json_object_set_new(res, "seconds_this_run", json_real(tdl_cli_now() - t0));
    json_object_set(res, "train", train);
    json_object_set(res, "eval", eval ? eval : json_null());
    json_object_set(res, "corrupt", c->corrupt ? corrupt : json_null());
    char *txt = json_dumps(res, JSON_INDENT(1));
    json_decref(res);
    r_join(path, sizeof path, r->dir, "/result.json");
    if (!txt || r_write_text(path, txt) != 0) {
        free(txt);
        fail(r, "cannot write %s: %s", path, tdl_last_error());
        goto out;
    }
    free(txt);
    rc = 0;
out:
    json_decref(train);
    json_decref(eval);
    json_decref(corrupt);
    json_decref(settings);
    close(lk);
    return rc;
}
