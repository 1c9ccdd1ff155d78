/* cli.h: what the tdl subcommands share (private to the CLI). */
#ifndef TDL_CLI_H
#define TDL_CLI_H

#include <stddef.h>

#include "tdl/status.h"

/* Exit codes: 0 success, 1 runtime failure (bad file, bad data), 2 usage. */
enum { TDL_EXIT_OK = 0, TDL_EXIT_FAIL = 1, TDL_EXIT_USAGE = 2 };

/* Print "tdl: error: <what> (<hint>)" to stderr; returns TDL_EXIT_FAIL. */
int tdl_cli_fail(const char *what, const char *hint);

/* Print "tdl: error: <message>" and the command's usage to stderr; returns
 * TDL_EXIT_USAGE. */
int tdl_cli_usage_error(const char *usage, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Parse an integer option value in [lo, hi]; 0 on success, else prints a
 * usage error and returns TDL_EXIT_USAGE. */
int tdl_cli_parse_long(const char *usage, const char *option, const char *text, long lo, long hi,
                       long *out);

/* Parse a finite number option value in [lo, hi]; as above. */
int tdl_cli_parse_double(const char *usage, const char *option, const char *text, double lo,
                         double hi, double *out);

/* Load a workload SOURCE (tdl_source_load: a CSV file or synth:PROFILE) and
 * print the warning every command owes its user when CSV cells were empty
 * (replaced by the series mean). Returns the library's status; the caller
 * reports a failure with its own hint. */
struct tdl_series;
tdl_status tdl_cli_load_source(const char *source, const char *column, struct tdl_series *out);

/* 1 when two sources name the same series (the same text, or the same file). */
int tdl_cli_same_source(const char *a, const char *b);

/* Parse LO:HI (finite numbers, HI > LO) into *r, the training range given
 * on the command line; as tdl_cli_parse_long on failure. */
struct tdl_range;
int tdl_cli_parse_range(const char *usage, const char *option, const char *text,
                        struct tdl_range *r);

/* The training range a command serving or evaluating predictor p (loaded
 * from the file model) works with, and where it came from:
 *   given (--range LO:HI, NULL if absent)     *from = "range"
 *   train (--train SOURCE, NULL if absent)    the source's own range, "train"
 *   the model file's metadata                 "model"
 *   else, when guess != NULL, the range of the source guess with a warning
 *   that says so                              "guessed"
 *   else a failure saying to give --train or --range.
 * An explicit range that differs from the one the model records is used,
 * with a warning. *source: the training source's name when known (train,
 * the model's train_source, guess), else NULL. Prints its own messages;
 * returns 0 or TDL_EXIT_FAIL. */
struct tdl_predictor;
int tdl_cli_model_range(const struct tdl_predictor *p, const char *model,
                        const struct tdl_range *given, const char *train, const char *guess,
                        struct tdl_range *out, const char **from, const char **source);

/* MODEL.safetensors -> MODEL<suffix> (else MODEL<suffix> appended): the
 * files a command keeps beside its output (".ckpt.safetensors", ...). NULL
 * when out of memory; the caller frees. */
char *tdl_cli_sibling_path(const char *model, const char *suffix);

/* A file a command reads or writes, for tdl_cli_check_files: `what` names
 * it in messages (an option such as "-o" or "--train", or "the checkpoint").
 * A NULL path is skipped. */
typedef struct tdl_cli_file {
    const char *what;
    const char *path;
} tdl_cli_file;

/* 1 when a and b name the same file: the same text, or both exist and are
 * the same file (symbolic and hard links, other spellings). */
int tdl_cli_same_file(const char *a, const char *b);

/* Before any long work: every output can be written where it goes
 * (tdl_atomic_file_check: its directory exists and takes a new file; with
 * regular_only, an output that exists as a device or FIFO is refused,
 * since the command keeps files beside it), no output is one of the inputs
 * and no two outputs are the same file. Returns 0, or prints the error and
 * returns TDL_EXIT_FAIL (the file system refuses) or TDL_EXIT_USAGE (the
 * arguments name one file twice; the usage follows). */
int tdl_cli_check_files(const char *usage, const tdl_cli_file *outputs, size_t nout,
                        const tdl_cli_file *inputs, size_t nin, int regular_only);

/* Lock the files a run writes beside MODEL (its checkpoint...) against a
 * second run with the same output: the lock file MODEL.lock (sibling of the
 * model's real path, symbolic links followed), held until
 * tdl_file_lock_release. 0, or TDL_EXIT_FAIL with the message printed. */
struct tdl_file_lock;
int tdl_cli_lock_output(struct tdl_file_lock *lock, const char *model);

/* SIGINT, SIGTERM and SIGHUP remove the temporary and lock files of writes
 * in progress (tdl_atomic_file_cleanup), then end the process by the signal
 * as before. */
void tdl_cli_install_signal_cleanup(void);

/* Monotonic seconds, for durations and rates. */
double tdl_cli_now(void);

/* "1h02m" or "3m05s" for s seconds (0 for a negative or non-finite s). */
void tdl_cli_format_eta(char *buf, size_t n, double s);

/* --json output (json_out.c): every document is built with jansson through
 * these, so it is valid JSON whatever the values: a number that is not
 * finite is null, a string with bytes that are not UTF-8 (a path) gets
 * U+FFFD for them, NULL text is null. A value that cannot be made (out of
 * memory) marks the document broken and tdl_cli_json_print refuses it. */
struct json_t;
struct json_t *tdl_cli_json_number(double v);
struct json_t *tdl_cli_json_integer(long long v);
struct json_t *tdl_cli_json_text(const char *s);
struct json_t *tdl_cli_json_null(void);
struct json_t *tdl_cli_json_bool(int v);
/* obj[key] = value (value's reference is taken), or mark the document broken. */
void tdl_cli_json_set(struct json_t *obj, const char *key, struct json_t *value);
void tdl_cli_json_append(struct json_t *array, struct json_t *value);
/* Print root and a newline on stdout (keys in insertion order, reals with
 * `precision` significant digits, one line unless indent > 0) and release
 * it. TDL_EXIT_OK, or TDL_EXIT_FAIL with a message when the document is
 * broken or stdout fails. */
int tdl_cli_json_print(struct json_t *root, int precision, int indent);
/* One compact line (10 digits) for a log file, malloc'd; NULL when broken. */
char *tdl_cli_json_line(const struct json_t *value);
/* Length of the well-formed UTF-8 sequence at s (n >= 1 bytes), 0 if none. */
size_t tdl_cli_utf8_length(const unsigned char *s, size_t n);

/* The subcommands: argv[0] is the command name. */
int tdl_cmd_decide(int argc, char **argv);
int tdl_cmd_eval(int argc, char **argv);
int tdl_cmd_info(int argc, char **argv);
int tdl_cmd_inspect(int argc, char **argv);
int tdl_cmd_provision(int argc, char **argv);
int tdl_cmd_data(int argc, char **argv);
int tdl_cmd_data_slots(int argc, char **argv);
int tdl_cmd_data_info(int argc, char **argv);
int tdl_cmd_data_corrupt(int argc, char **argv);
int tdl_cmd_synth(int argc, char **argv);
int tdl_cmd_reproduce(int argc, char **argv); /* cmd_reproduce.c: the experiment runner */
int tdl_cmd_train(int argc, char **argv);
int tdl_cmd_train_3dl(int argc, char **argv); /* tdl train --method 3dl */
int tdl_cmd_diffusion(int argc, char **argv);
int tdl_cmd_diffusion_quality(int argc, char **argv);
int tdl_cmd_diffusion_train(int argc, char **argv);
int tdl_cmd_diffusion_sample(int argc, char **argv);
int tdl_cmd_diffusion_eps(int argc, char **argv);

/* Load a diffusion model file for a subcommand (cmd_diffusion.c): its own
 * config, else the one of preset (a bare PyTorch state_dict export), else a
 * failure that says to give --preset. Prints the error; returns 0 or
 * TDL_EXIT_FAIL / TDL_EXIT_USAGE. */
struct tdl_ddpm;
int tdl_cli_diffusion_load(struct tdl_ddpm *d, const char *path, const char *preset,
                           const char *usage);

#endif
