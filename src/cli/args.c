/* args.c: checked conversion of option values and the CLI's error format. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "cli.h"
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
