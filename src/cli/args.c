/* args.c: checked conversion of option values, the CLI's error format, and
 * the checks every command makes of the files it reads and writes. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "tdl/atomic_file.h"
#include "tdl/predictor.h"
#include "tdl/source.h"

int tdl_cli_fail(const char *what, const char *hint) {
    if (hint && *hint) fprintf(stderr, "tdl: error: %s (%s)\n", what, hint);
    else fprintf(stderr, "tdl: error: %s\n", what);
    return TDL_EXIT_FAIL;
}

int tdl_cli_usage_error(const char *usage, const char *fmt, ...) {
    va_list ap;
    fputs("tdl: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fputs(usage, stderr);
    return TDL_EXIT_USAGE;
}

int tdl_cli_parse_long(const char *usage, const char *option, const char *text, long lo, long hi,
                       long *out) {
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < lo || v > hi)
        return tdl_cli_usage_error(usage, "%s '%s' is not an integer in [%ld, %ld]", option, text,
                                   lo, hi);
    *out = v;
    return 0;
}

int tdl_cli_parse_double(const char *usage, const char *option, const char *text, double lo,
                         double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !isfinite(v) || v < lo || v > hi)
        return tdl_cli_usage_error(usage, "%s '%s' is not a number in [%g, %g]", option, text, lo,
                                   hi);
    *out = v;
    return 0;
}

tdl_status tdl_cli_load_source(const char *source, const char *column, tdl_series *out) {
    tdl_source_info si;
    TDL_TRY(tdl_source_load(source, column, 0, out, &si));
    if (si.empty_cells)
        fprintf(stderr,
                "tdl: warning: %s: %zu empty cell%s replaced by the series mean (first at line "
                "%zu)\n",
                source, si.empty_cells, si.empty_cells == 1 ? "" : "s", si.first_empty_line);
    return TDL_OK;
}

char *tdl_cli_sibling_path(const char *model, const char *suffix) {
    const char *suf = ".safetensors";
    size_t n = strlen(model), k = strlen(suf);
    size_t base = (n > k && strcmp(model + n - k, suf) == 0) ? n - k : n;
    char *p = malloc(base + strlen(suffix) + 1);
    if (!p) return NULL;
    memcpy(p, model, base);
    strcpy(p + base, suffix);
    return p;
}

double tdl_cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void tdl_cli_format_eta(char *buf, size_t n, double s) {
    if (!isfinite(s) || s < 0) s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
}

int tdl_cli_same_file(const char *a, const char *b) {
    if (strcmp(a, b) == 0) return 1;
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

int tdl_cli_check_files(const char *usage, const tdl_cli_file *outputs, size_t nout,
                        const tdl_cli_file *inputs, size_t nin, int regular_only) {
    for (size_t i = 0; i < nout; i++) {
        const tdl_cli_file *o = &outputs[i];
        if (!o->path) continue;
        for (size_t k = 0; k < nin; k++)
            if (inputs[k].path && tdl_cli_same_file(o->path, inputs[k].path))
                return tdl_cli_usage_error(usage, "%s %s is the same file as %s %s: writing "
                                           "it would replace the input (give another "
                                           "output)", o->what, o->path, inputs[k].what,
                                           inputs[k].path);
        for (size_t k = 0; k < i; k++)
            if (outputs[k].path && tdl_cli_same_file(o->path, outputs[k].path))
                return tdl_cli_usage_error(usage, "%s %s and %s %s are the same file (give two "
                                           "outputs)", outputs[k].what, outputs[k].path,
                                           o->what, o->path);
        if (tdl_atomic_file_check(o->path, regular_only) != TDL_OK) {
            char what[1200];
            snprintf(what, sizeof what, "%s: %s", o->what, tdl_last_error());
            return tdl_cli_fail(what, "checked before starting: the output's directory must "
                                "exist and be writable");
        }
    }
    return 0;
}

int tdl_cli_lock_output(struct tdl_file_lock *lock, const char *model) {
    char *target = tdl_atomic_file_target(model);
    char *path = target ? tdl_cli_sibling_path(target, ".lock") : NULL;
    free(target);
    if (!path) {
        lock->fd = -1;
        lock->path = NULL;
        return tdl_cli_fail(tdl_last_error(), "the output's directory must exist");
    }
    tdl_status s = tdl_file_lock_acquire(lock, path);
    free(path);
    if (s != TDL_OK)
        return tdl_cli_fail(tdl_last_error(), "wait for it to finish, or give another -o");
    return 0;
}

static void on_signal(int sig) {
    tdl_atomic_file_cleanup();
    raise(sig); /* SA_RESETHAND: the default action, once this handler returns */
}

void tdl_cli_install_signal_cleanup(void) {
    static const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = (int)SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 3; i++) {
        struct sigaction old;
        /* a signal the shell set to be ignored (nohup, background jobs) stays ignored */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        sigaction(sigs[i], &sa, NULL);
    }
}

int tdl_cli_parse_range(const char *usage, const char *option, const char *text, tdl_range *r) {
    char *end, *end2;
    errno = 0;
    double lo = strtod(text, &end);
    int ok = errno == 0 && end != text && *end == ':';
    double hi = ok ? strtod(end + 1, &end2) : 0.0;
    ok = ok && errno == 0 && end2 != end + 1 && *end2 == '\0' && isfinite(lo) && isfinite(hi) &&
         hi > lo && isfinite(hi - lo);
    if (!ok)
        return tdl_cli_usage_error(usage, "%s '%s' is not a range LO:HI (tokens, finite, "
                                   "HI > LO)", option, text);
    r->min = lo;
    r->max = hi;
    return 0;
}

/* Warn when an explicit range differs from the one the model records. */
static void range_differs(const tdl_predictor *p, const char *model, tdl_range r,
                          const char *what) {
    if (p->meta.has_range && (p->meta.range.min != r.min || p->meta.range.max != r.max))
        fprintf(stderr, "tdl: warning: %s gives the range %.17g:%.17g, %s records %.17g:%.17g "
                "(trained on %s); using %s\n", what, r.min, r.max, model, p->meta.range.min,
                p->meta.range.max, p->meta.train_source[0] ? p->meta.train_source : "?", what);
}

int tdl_cli_model_range(const tdl_predictor *p, const char *model, const tdl_range *given,
                        const char *train, const char *guess, tdl_range *out, const char **from,
                        const char **source) {
    char what[1400];
    *source = NULL;
    if (given) {
        *out = *given;
        *from = "range";
        range_differs(p, model, *out, "--range");
        if (p->meta.train_source[0]) *source = p->meta.train_source;
        return 0;
    }
    const char *src = train;
    if (!src && p->meta.has_range) {
        *out = p->meta.range;
        *from = "model";
        if (p->meta.train_source[0]) *source = p->meta.train_source;
        return 0;
    }
    if (!src && !guess) {
        snprintf(what, sizeof what, "%s does not record its training range (a model file from "
                 "before tdl recorded it, or a PyTorch export)", model);
        return tdl_cli_fail(what, "give --train SOURCE, the series it was trained on, or "
                            "--range LO:HI in tokens");
    }
    if (!src) {
        src = guess;
        fprintf(stderr, "tdl: warning: %s does not record its training range (a model file "
                "from before tdl recorded it, or a PyTorch export); assuming it was trained on "
                "%s (give --train SOURCE or --range LO:HI)\n", model, guess);
    }
    tdl_series raw = {0};
    tdl_status s = tdl_cli_load_source(src, NULL, &raw);
    if (s == TDL_OK) s = tdl_series_range(&raw, out);
    if (s == TDL_OK) s = tdl_range_check(*out, "it"); /* constant, or a width beyond doubles */
    tdl_series_free(&raw);
    if (s != TDL_OK) {
        snprintf(what, sizeof what, "training series %s: %s", src, tdl_last_error());
        return tdl_cli_fail(what, "--train names the series the model was trained on");
    }
    *from = train ? "train" : "guessed";
    if (train) range_differs(p, model, *out, "--train");
    *source = src;
    return 0;
}

int tdl_cli_same_source(const char *a, const char *b) {
    if (strcmp(a, b) == 0) return 1;
    if (strncmp(a, TDL_SOURCE_SYNTH_PREFIX, strlen(TDL_SOURCE_SYNTH_PREFIX)) == 0 ||
        strncmp(b, TDL_SOURCE_SYNTH_PREFIX, strlen(TDL_SOURCE_SYNTH_PREFIX)) == 0)
        return 0;
    return tdl_cli_same_file(a, b);
}
