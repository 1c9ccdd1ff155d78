/* status.c: per-thread error messages and the assertion handler. */
#include "tdl/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TDL_ERRMSG_CAP = 1024 };

static _Thread_local char tdl_errmsg[TDL_ERRMSG_CAP];

const char *tdl_status_name(tdl_status s) {
    switch (s) {
    case TDL_OK: return "OK";
    case TDL_ERR_INVALID: return "INVALID";
    case TDL_ERR_IO: return "IO";
    case TDL_ERR_FORMAT: return "FORMAT";
    case TDL_ERR_SHAPE: return "SHAPE";
    case TDL_ERR_NOMEM: return "NOMEM";
    case TDL_ERR_NUMERIC: return "NUMERIC";
    case TDL_ERR_UNSUPPORTED: return "UNSUPPORTED";
    }
    return "UNKNOWN";
}

const char *tdl_last_error(void) { return tdl_errmsg; }

void tdl_error_clear(void) { tdl_errmsg[0] = '\0'; }

tdl_status tdl_error(tdl_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tdl_errmsg, sizeof tdl_errmsg, fmt, ap);
    va_end(ap);
    return s;
}

tdl_status tdl_error_context(tdl_status s, const char *fmt, ...) {
    char prefix[TDL_ERRMSG_CAP];
    char old[TDL_ERRMSG_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, tdl_errmsg, sizeof old);
    /* Truncation is acceptable here: keep as much of both as fits. */
    size_t n = strlen(prefix);
    if (n > TDL_ERRMSG_CAP - 3) n = TDL_ERRMSG_CAP - 3;
    memcpy(tdl_errmsg, prefix, n);
    memcpy(tdl_errmsg + n, ": ", 2);
    size_t room = TDL_ERRMSG_CAP - n - 3, m = strlen(old);
    if (m > room) m = room;
    memcpy(tdl_errmsg + n + 2, old, m);
    tdl_errmsg[n + 2 + m] = '\0';
    return s;
}

void tdl_assert_fail(const char *file, int line, const char *cond, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "tdl: assertion failed at %s:%d: %s: ", file, line, cond);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    abort();
}
