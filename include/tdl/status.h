/*
 * status.h: how tdl reports failure.
 *
 * Two channels, as in ggml:
 *   - runtime failures (I/O, malformed input, out of memory, bad values)
 *     return a tdl_status; the message explaining it is kept per thread and
 *     read with tdl_last_error(). The library never calls exit().
 *   - programmer errors (a NULL where the API forbids it, inconsistent
 *     dimensions passed by tdl's own code) hit TDL_ASSERT, which prints file,
 *     line and a message and aborts.
 */
#ifndef TDL_STATUS_H
#define TDL_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tdl_status {
    TDL_OK = 0,
    TDL_ERR_INVALID,  /* an argument or option value is out of range */
    TDL_ERR_IO,       /* a file could not be opened, read or written */
    TDL_ERR_FORMAT,   /* a file's contents are malformed */
    TDL_ERR_SHAPE,    /* tensor names or shapes do not match what is expected */
    TDL_ERR_NOMEM,    /* an allocation failed */
    TDL_ERR_NUMERIC,  /* a NaN or infinity where a finite number is needed */
    TDL_ERR_UNSUPPORTED /* valid input that tdl does not handle (e.g. a dtype) */
} tdl_status;

/* Short upper-case name of a status, e.g. "FORMAT". Never NULL. */
const char *tdl_status_name(tdl_status s);

/* The message of the last failure on this thread ("" if none). */
const char *tdl_last_error(void);

/* Record a failure message (printf-style) and return s, so that library code
 * can write `return tdl_error(TDL_ERR_IO, "cannot open %s", path);`. */
tdl_status tdl_error(tdl_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Prefix the current message with more context ("loading x: <old>"); returns s. */
tdl_status tdl_error_context(tdl_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Clear the message of this thread. */
void tdl_error_clear(void);

/* Programmer-error check: prints "tdl: assertion failed at FILE:LINE: cond: msg"
 * to stderr and aborts. Never compiled out. */
void tdl_assert_fail(const char *file, int line, const char *cond, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((noreturn, format(printf, 4, 5)))
#endif
    ;

#define TDL_ASSERT(cond, ...) \
    do { if (!(cond)) tdl_assert_fail(__FILE__, __LINE__, #cond, __VA_ARGS__); } while (0)

/* Propagate a failing status. */
#define TDL_TRY(expr) \
    do { tdl_status tdl_try_s_ = (expr); if (tdl_try_s_ != TDL_OK) return tdl_try_s_; } while (0)

#ifdef __cplusplus
}
#endif
#endif /* TDL_STATUS_H */
