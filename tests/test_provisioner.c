/* test_provisioner.c: the serving path (provisioner.h, the predictor stream
 * of predictor.h).
 *   - the stream's outputs equal tdl_predictor_forward's on every window (to
 *     float rounding), with the paper's sizes and with sizes that leave
 *     partial panels; its AVX-512, AVX2 and portable products give the same
 *     bits;
 *   - a provisioner's decisions: none before T slots, then the batch
 *     forecast through relu, the training range and the rule; bad values
 *     refused without moving the window; options override the model's
 *     range, rule and constants; old files need a range; a diffusion model,
 *     a truncated file and bad options are refused;
 *   - push allocates nothing (malloc and friends are wrapped at link time:
 *     CMakeLists.txt);
 *   - the backtest: its totals against a direct computation, its EVAL
 *     regret against tdl_evaluate's pooled regret (physical protocol) on a
 *     test series and on the training series' 30% split;
 *   - 4 threads on 4 handles give the serial runs' bits (run under
 *     ThreadSanitizer by `make test-tsan`).
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tdl/evaluate.h"
#include "tdl/predictor.h"
#include "tdl/provisioner.h"
#include "tdl/source.h"
#include "tdl_test.h"

/* ---- allocation counting (-Wl,--wrap=...) ---- */
void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_aligned_alloc(size_t a, size_t n);
static _Thread_local long allocations;
void *__wrap_malloc(size_t n) { allocations++; return __real_malloc(n); }
void *__wrap_calloc(size_t k, size_t n) { allocations++; return __real_calloc(k, n); }
void *__wrap_realloc(void *p, size_t n) { allocations++; return __real_realloc(p, n); }
void *__wrap_aligned_alloc(size_t a, size_t n) { allocations++; return __real_aligned_alloc(a, n); }

static const tdl_range TRAIN_RANGE = {9310.0, 123901.0}; /* synth:conversation:1:2800 */

static void load(const char *source, tdl_series *s) {
    if (tdl_source_load(source, NULL, 0, s, NULL) != TDL_OK) {
        fprintf(stderr, "cannot load %s: %s\n", source, tdl_last_error());
        exit(2);
    }
}

/* A model file with its origin recorded; returns its path (static). */
static const char *model_file(tdl_predictor *p, uint64_t seed) {
    static char path[256];
    snprintf(path, sizeof path, "/tmp/tdl_test_provisioner_%ld.safetensors", (long)getpid());
    tdl_predictor_config cfg;
    tdl_predictor_config_default(&cfg);
    tdl_provision_params pp;
    tdl_provision_defaults(&pp);
    TDL_CHECK(tdl_predictor_init(p, &cfg, seed) == TDL_OK, "init");
    TDL_CHECK(tdl_predictor_set_origin(p, "dfl", "synth:conversation:1:2800", TRAIN_RANGE,
                                       TDL_PROVISION_EXACT, &pp) == TDL_OK, "origin");
    TDL_CHECK(tdl_predictor_save(p, path) == TDL_OK, "save: %s", tdl_last_error());
    return path;
}

/* ---- the stream against the batch forward ---- */

static void stream_vs_batch(const tdl_predictor_config *cfg, const char *what) {
    tdl_predictor p;
    TDL_CHECK(tdl_predictor_init(&p, cfg, 11) == TDL_OK, "init");
    const int T = cfg->T, n = 700, W = n - T + 1;
    float *x = tdl_test_uniform((size_t)n, -0.2f, 1.3f, 5); /* in and a bit out of [0, 1] */
    float *win = tdl_test_floats((size_t)W * T), *yb = tdl_test_floats((size_t)W),
          *ys = tdl_test_floats((size_t)W), *y1 = tdl_test_floats((size_t)W);
    for (int w = 0; w < W; w++) memcpy(win + (size_t)w * T, x + w, (size_t)T * sizeof(float));
    tdl_predictor_cache *c = NULL, *c1 = NULL;
    TDL_CHECK(tdl_predictor_cache_init(&c, cfg, W) == TDL_OK, "cache");
    TDL_CHECK(tdl_predictor_cache_init(&c1, cfg, 1) == TDL_OK, "cache");
    tdl_predictor_forward(&p, c, win, yb, W, 0, NULL);
    for (int w = 0; w < W; w++)
        tdl_predictor_forward(&p, c1, win + (size_t)w * T, y1 + w, 1, 0, NULL);
    tdl_predictor_stream *s = NULL;
    TDL_CHECK(tdl_predictor_stream_init(&s, &p) == TDL_OK, "stream");
    int early = 0;
    for (int i = 0; i < n; i++) {
        float y;
        int ready = tdl_predictor_stream_push(s, x[i], &y);
        if (i < T - 1) early += ready;
        else if (ready) ys[i - T + 1] = y;
        else early++;
    }
    TDL_CHECK(early == 0, "%s: a forecast exactly from the T-th value on", what);
    char label[128];
    snprintf(label, sizeof label, "%s: stream vs batch forward (%d windows)", what, W);
    tdl_test_allclose(label, ys, yb, (size_t)W, 1e-6, 1e-5);
    snprintf(label, sizeof label, "%s: stream vs forward one window at a time", what);
    tdl_test_allclose(label, ys, y1, (size_t)W, 1e-6, 1e-5);
    /* reset: the same outputs again */
    tdl_predictor_stream_reset(s);
    int same = 1;
    for (int i = 0; i < n; i++) {
        float y;
        if (tdl_predictor_stream_push(s, x[i], &y)) same &= y == ys[i - T + 1];
    }
    TDL_CHECK(same, "%s: after a reset, the same bits", what);
    /* every product variant gives the same bits */
    static const char *const variants[] = {"avx2", "portable"};
    for (int v = 0; v < 2; v++) {
        setenv("TDL_STREAM_SIMD", variants[v], 1);
        tdl_predictor_stream *sv = NULL;
        TDL_CHECK(tdl_predictor_stream_init(&sv, &p) == TDL_OK, "stream");
        unsetenv("TDL_STREAM_SIMD");
        int eq = 1;
        for (int i = 0; i < n && sv; i++) {
            float y;
            if (tdl_predictor_stream_push(sv, x[i], &y)) eq &= y == ys[i - T + 1];
        }
        TDL_CHECK(eq, "%s: the %s product gives the same bits", what, variants[v]);
        tdl_predictor_stream_free(sv);
    }
    tdl_predictor_stream_free(s);
    tdl_predictor_cache_free(c);
    tdl_predictor_cache_free(c1);
    tdl_predictor_free(&p);
    free(x);
    free(win);
    free(yb);
    free(ys);
    free(y1);
}

/* ---- decisions ---- */

static void decisions(void) {
    tdl_predictor p;
    const char *path = model_file(&p, 3);
    tdl_provisioner *pv = NULL;
    TDL_CHECK(tdl_provisioner_open(&pv, path, NULL) == TDL_OK, "open: %s", tdl_last_error());
    if (!pv) return;
    tdl_provisioner_info info;
    tdl_provisioner_get_info(pv, &info);
    TDL_CHECK(info.window == 7 && info.range.min == TRAIN_RANGE.min &&
              info.range.max == TRAIN_RANGE.max && info.rule == TDL_PROVISION_EXACT &&
              strcmp(info.model.method, "dfl") == 0, "info from the model file");
    tdl_series raw = {0};
    load("synth:code:1:2800", &raw);
    const size_t n = 300;
    const double span = TRAIN_RANGE.max - TRAIN_RANGE.min;
    float *x = tdl_test_floats(n);
    for (size_t i = 0; i < n; i++) x[i] = (float)((raw.v[i] - TRAIN_RANGE.min) / span);
    tdl_predictor_cache *c = NULL;
    TDL_CHECK(tdl_predictor_cache_init(&c, &p.cfg, 1) == TDL_OK, "cache");
    tdl_provision_params pp;
    tdl_provision_defaults(&pp);
    double worst = 0.0;
    int ready_ok = 1, slot_ok = 1;
    double *cap = calloc(n, sizeof *cap);
    for (size_t i = 0; i < n; i++) {
        tdl_provisioner_decision d;
        TDL_CHECK(tdl_provisioner_push(pv, raw.v[i], &d) == TDL_OK, "push");
        ready_ok &= d.ready == (i + 1 >= 7);
        slot_ok &= d.slot == (int64_t)(i + 1);
        if (!d.ready) continue;
        float o;
        tdl_predictor_forward(&p, c, x + i - 6, &o, 1, 0, NULL);
        double f = (o > 0 ? (double)o : 0.0) * span + TRAIN_RANGE.min;
        double want = tdl_provision_decide(&pp, TDL_PROVISION_EXACT, f);
        double diff = fabs(d.capacity - want) / want;
        if (diff > worst) worst = diff;
        TDL_CHECK(d.capacity == tdl_provision_decide(&pp, TDL_PROVISION_EXACT, d.forecast),
                  "capacity = rule(forecast)");
        cap[i] = d.capacity;
        tdl_provisioner_decision last;
        tdl_provisioner_next(pv, &last);
        TDL_CHECK(last.ready == d.ready && last.slot == d.slot && last.forecast == d.forecast &&
                  last.capacity == d.capacity, "next() returns the last decision");
    }
    TDL_CHECK(ready_ok, "no decision before 7 slots, one after each from then on");
    TDL_CHECK(slot_ok, "each decision is for the slot after the pushed ones");
    printf("%s capacities vs batch forward + relu + range + rule: worst relative %.3g\n",
           worst <= 1e-5 ? "ok  " : "FAIL", worst);
    tdl_test_record(worst <= 1e-5);

    /* bad values: refused, the window does not move */
    tdl_provisioner_reset(pv);
    tdl_provisioner_decision d;
    tdl_provisioner_next(pv, &d);
    TDL_CHECK(!d.ready && d.slot == 0, "reset forgets the slots");
    const double bad[] = {-1.0, NAN, INFINITY, -INFINITY, 1e300};
    int refused = 1, same = 1;
    for (size_t i = 0; i < 40; i++) {
        if (i % 3 == 1)
            for (size_t b = 0; b < sizeof bad / sizeof *bad; b++)
                refused &= tdl_provisioner_push(pv, bad[b], &d) == TDL_ERR_INVALID;
        TDL_CHECK(tdl_provisioner_push(pv, raw.v[i], &d) == TDL_OK, "push");
        if (d.ready) same &= d.capacity == cap[i];
    }
    TDL_CHECK(refused, "negative, NaN, infinite and overflowing values refused");
    TDL_CHECK(same, "refused values leave the decisions bit-identical");
    TDL_CHECK(tdl_provisioner_push(pv, -5.0, NULL) == TDL_ERR_INVALID &&
              strstr(tdl_last_error(), "-5 tokens") != NULL, "message names the value: %s",
              tdl_last_error());
    tdl_provisioner_close(pv);

    /* options: rule, constants, range */
    tdl_provisioner_options o;
    tdl_provisioner_options_default(&o);
    o.rule_given = 1;
    o.rule = TDL_PROVISION_AUTHORS;
    o.pp_given = 1;
    o.pp = pp;
    o.pp.eta = 0.6;
    o.range_given = 1;
    o.range = (tdl_range){0.0, 200000.0};
    TDL_CHECK(tdl_provisioner_open(&pv, path, &o) == TDL_OK, "open with options");
    tdl_provisioner_get_info(pv, &info);
    TDL_CHECK(info.rule == TDL_PROVISION_AUTHORS && info.pp.eta == 0.6 && info.range.min == 0.0 &&
              info.range.max == 200000.0, "options override the model's rule, constants, range");
    for (int i = 0; i < 7; i++) tdl_provisioner_push(pv, raw.v[i], &d);
    TDL_CHECK(d.ready && d.capacity == tdl_provision_decide(&o.pp, TDL_PROVISION_AUTHORS,
                                                             d.forecast), "the options' rule");
    tdl_provisioner_close(pv);
    o.pp.eta = 1.5;
    TDL_CHECK(tdl_provisioner_open(&pv, path, &o) == TDL_ERR_INVALID && !pv, "bad constants: %s",
              tdl_last_error());
    o.pp.eta = 0.6;
    o.range = (tdl_range){5.0, 5.0};
    TDL_CHECK(tdl_provisioner_open(&pv, path, &o) == TDL_ERR_INVALID && !pv, "zero range: %s",
              tdl_last_error());

    /* an old file (the paper's sizes, no metadata: a PyTorch export) needs a range */
    char old[512];
    snprintf(old, sizeof old, "%s/predictor_torch_model.safetensors", TDL_FIXTURE_DIR);
    tdl_status s = tdl_provisioner_open(&pv, old, NULL);
    TDL_CHECK(s == TDL_ERR_INVALID && !pv && strstr(tdl_last_error(), "training range"),
              "old file without a range refused: %s", tdl_last_error());
    o.pp_given = o.rule_given = 0;
    o.range = TRAIN_RANGE;
    TDL_CHECK(tdl_provisioner_open(&pv, old, &o) == TDL_OK, "old file with a range: %s",
              tdl_last_error());
    tdl_provisioner_get_info(pv, &info);
    TDL_CHECK(info.rule == TDL_PROVISION_EXACT && info.pp.eta == 0.7 && !info.model.has_range,
              "old file: the exact rule and the authors' constants");
    tdl_provisioner_close(pv);
    /* not a predictor */
    char ddpm[512];
    snprintf(ddpm, sizeof ddpm, "%s/unet_small_model.safetensors", TDL_FIXTURE_DIR);
    s = tdl_provisioner_open(&pv, ddpm, &o);
    TDL_CHECK(s == TDL_ERR_SHAPE && !pv, "a diffusion model refused: %s %s", tdl_status_name(s),
              tdl_last_error());
    /* a truncated file */
    FILE *f = fopen(path, "r+b");
    if (f) {
        TDL_CHECK(ftruncate(fileno(f), 4000) == 0, "truncate");
        fclose(f);
    }
    s = tdl_provisioner_open(&pv, path, NULL);
    TDL_CHECK(s == TDL_ERR_FORMAT && !pv && strstr(tdl_last_error(), path),
              "a truncated file refused, named: %s", tdl_last_error());
    s = tdl_provisioner_open(&pv, "/nonexistent/m.safetensors", NULL);
    TDL_CHECK(s == TDL_ERR_IO && !pv, "a missing file: %s", tdl_last_error());
    remove(path);
    tdl_predictor_cache_free(c);
    tdl_predictor_free(&p);
    tdl_series_free(&raw);
    free(x);
    free(cap);
}

/* ---- no allocation per push ---- */

static void no_allocation(void) {
    tdl_predictor p;
    const char *path = model_file(&p, 4);
    tdl_provisioner *pv = NULL;
    long before = allocations;
    TDL_CHECK(tdl_provisioner_open(&pv, path, NULL) == TDL_OK, "open");
    TDL_CHECK(allocations > before, "the allocation counter works (open allocated %ld times)",
              allocations - before);
    before = allocations;
    tdl_provisioner_decision d;
    for (int i = 0; i < 1000; i++) tdl_provisioner_push(pv, 20000.0 + 37.0 * (i % 101), &d);
    tdl_provisioner_push(pv, -1.0, &d); /* a refusal formats a message: no allocation either */
    long n = allocations - before;
    TDL_CHECK(n == 0, "1000 pushes allocated %ld times", n);
    printf("%s push allocates nothing (%ld allocations in 1001 pushes)\n", n == 0 ? "ok  " : "FAIL",
           n);
    tdl_provisioner_close(pv);
    remove(path);
    tdl_predictor_free(&p);
}

/* ---- backtest ---- */

static void backtest(void) {
    tdl_predictor p;
    const char *path = model_file(&p, 5);
    tdl_provisioner *pv = NULL;
    TDL_CHECK(tdl_provisioner_open(&pv, path, NULL) == TDL_OK, "open");
    tdl_provision_params pp;
    tdl_provision_defaults(&pp);
    tdl_series raw = {0};
    load("synth:code:1:2800", &raw);
    tdl_backtest_slot *sl = calloc(raw.n, sizeof *sl);
    tdl_backtest_result r;
    /* ALL: every slot from 7, against the pushes and a direct sum */
    TDL_CHECK(tdl_provisioner_backtest(pv, raw.v, raw.n, TDL_BACKTEST_ALL, sl, &r) == TDL_OK,
              "backtest: %s", tdl_last_error());
    TDL_CHECK(r.slots == raw.n - 7 && sl[0].slot == 7 && sl[r.slots - 1].slot == (int64_t)raw.n - 1,
              "all: slots 7 .. n-1 (%zu)", r.slots);
    tdl_provisioner_decision d;
    double lm = 0, lo = 0, unserved = 0, idle = 0, cap = 0, cost = 0, util = 0;
    int64_t under = 0;
    int same = 1;
    for (size_t i = 0; i + 1 < raw.n; i++) {
        tdl_provisioner_push(pv, raw.v[i], &d);
        if (!d.ready) continue;
        const tdl_backtest_slot *b = &sl[i + 1 - 7];
        double y = raw.v[i + 1], x = d.capacity;
        double xo = tdl_provision_oracle(&pp, TDL_PROVISION_EXACT, y);
        same &= b->slot == (int64_t)(i + 1) && b->capacity == x && b->forecast == d.forecast &&
                b->actual == y && b->oracle_capacity == xo;
        lm += tdl_provision_loss(&pp, x, y);
        lo += tdl_provision_loss(&pp, xo, y);
        cap += x;
        if (x < y) { unserved += y - x; under++; } else idle += x - y;
        double u = tdl_provision_norm(&pp, x), w = tdl_provision_norm(&pp, y);
        cost += tdl_provision_cost(&pp, u, w);
        util += tdl_provision_utility(&pp, u, w);
    }
    TDL_CHECK(same, "per-slot records equal the pushes' decisions");
    TDL_CHECK(fabs(r.model.loss - lm) <= 1e-9 * fabs(lm) &&
                  fabs(r.oracle.loss - lo) <= 1e-9 * fabs(lo),
              "losses %g %g vs %g %g", r.model.loss, r.oracle.loss, lm, lo);
    TDL_CHECK(fabs(r.regret - (lm - lo)) <= 1e-9 * fabs(lo) &&
              fabs(r.regret_normalised - (lm - lo) / -lo) <= 1e-9, "regret");
    TDL_CHECK(r.model.under_slots == under && r.model.unserved == unserved &&
              r.model.idle == idle && r.model.capacity == cap &&
              fabs(r.model.mean_over - idle / (double)r.slots) <= 1e-9,
              "tokens: under-provisioned slots and tokens, over-provisioning");
    TDL_CHECK(fabs(r.model.cost - cost) <= 1e-9 * cost &&
              fabs(r.model.utility - util) <= 1e-9 * util, "cost units");
    TDL_CHECK(fabs(r.model.loss - (0.3 * r.model.cost - 0.7 * r.model.utility)) <=
                  1e-9 * fabs(r.model.loss), "L = (1 - eta) cost - eta utility");
    TDL_CHECK(r.oracle.under_slots == (int64_t)r.slots, "the exact rule's oracle under-provisions "
              "every slot above a_min (r < 1): %lld of %zu", (long long)r.oracle.under_slots,
              r.slots);
    TDL_CHECK(r.regret >= 0, "regret >= 0 under the exact rule");
    /* EVAL: tdl eval's instances and pooled regret (physical protocol) */
    float *rows = NULL;
    size_t R = 0;
    tdl_eval_result er;
    TDL_CHECK(tdl_eval_rows(&rows, &R, &raw, 0, TRAIN_RANGE, TDL_PROTOCOL_PHYSICAL) == TDL_OK,
              "rows");
    TDL_CHECK(tdl_evaluate(&p, rows, R, TRAIN_RANGE, &pp, TDL_PROVISION_EXACT, 64, &er) == TDL_OK,
              "evaluate");
    free(rows);
    TDL_CHECK(tdl_provisioner_backtest(pv, raw.v, raw.n, TDL_BACKTEST_EVAL, sl, &r) == TDL_OK,
              "backtest eval: %s", tdl_last_error());
    TDL_CHECK(r.slots == er.instances && r.slots == R * 21, "eval: %zu slots, eval %zu instances",
              r.slots, er.instances);
    TDL_CHECK(sl[0].slot == 7 && sl[20].slot == 27 && sl[21].slot == 35, "eval: rows' 7..27");
    double dr = fabs(r.regret_normalised - er.regret_pooled);
    printf("%s backtest eval regret %.12g vs tdl_evaluate pooled %.12g (|diff| %.3g)\n",
           dr <= 1e-6 * er.regret_pooled ? "ok  " : "FAIL", r.regret_normalised, er.regret_pooled,
           dr);
    tdl_test_record(dr <= 1e-6 * er.regret_pooled);
    /* EVAL_TRAIN: the training series' 30% split */
    tdl_series tr = {0};
    load("synth:conversation:1:2800", &tr);
    TDL_CHECK(tdl_eval_rows(&rows, &R, &tr, 1, TRAIN_RANGE, TDL_PROTOCOL_PHYSICAL) == TDL_OK,
              "rows");
    TDL_CHECK(tdl_evaluate(&p, rows, R, TRAIN_RANGE, &pp, TDL_PROVISION_EXACT, 64, &er) == TDL_OK,
              "evaluate");
    free(rows);
    TDL_CHECK(tdl_provisioner_backtest(pv, tr.v, tr.n, TDL_BACKTEST_EVAL_TRAIN, sl, &r) == TDL_OK,
              "backtest eval-train: %s", tdl_last_error());
    dr = fabs(r.regret_normalised - er.regret_pooled);
    TDL_CHECK(r.slots == er.instances && sl[0].slot == 70 * 28 + 7, "eval-train: the 30%% split "
              "(%zu slots from %lld)", r.slots, (long long)sl[0].slot);
    printf("%s backtest eval-train regret %.12g vs tdl_evaluate pooled %.12g (|diff| %.3g)\n",
           dr <= 1e-6 * er.regret_pooled ? "ok  " : "FAIL", r.regret_normalised, er.regret_pooled,
           dr);
    tdl_test_record(dr <= 1e-6 * er.regret_pooled);
    /* bad series */
    double shortv[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    TDL_CHECK(tdl_provisioner_backtest(pv, shortv, 7, TDL_BACKTEST_ALL, NULL, &r) ==
                  TDL_ERR_INVALID, "7 values: nothing to score: %s", tdl_last_error());
    TDL_CHECK(tdl_provisioner_backtest(pv, shortv, 10, TDL_BACKTEST_EVAL, NULL, &r) ==
                  TDL_ERR_INVALID, "10 values: no row: %s", tdl_last_error());
    shortv[8] = NAN;
    TDL_CHECK(tdl_provisioner_backtest(pv, shortv, 10, TDL_BACKTEST_ALL, NULL, &r) ==
              TDL_ERR_INVALID && strstr(tdl_last_error(), "value 8"), "NaN named: %s",
              tdl_last_error());
    tdl_series_free(&tr);
    tdl_series_free(&raw);
    free(sl);
    tdl_provisioner_close(pv);
    remove(path);
    tdl_predictor_free(&p);
}

/* ---- threads: 4 handles on 4 threads equal the serial runs ---- */

enum { NTHREADS = 4, NSLOTS = 2000 };

typedef struct job {
    const char *path;
    const double *v;     /* (NSLOTS) */
    double cap[NSLOTS];  /* out */
    int ok;
} job;

static void *run_job(void *arg) {
    job *j = arg;
    tdl_provisioner *pv = NULL;
    j->ok = tdl_provisioner_open(&pv, j->path, NULL) == TDL_OK;
    for (int i = 0; i < NSLOTS && j->ok; i++) {
        tdl_provisioner_decision d;
        j->ok = tdl_provisioner_push(pv, j->v[i], &d) == TDL_OK;
        j->cap[i] = d.ready ? d.capacity : -1.0;
        /* a refused value on every thread: per-thread messages */
        if (i % 97 == 0 && tdl_provisioner_push(pv, -1.0, NULL) != TDL_ERR_INVALID) j->ok = 0;
    }
    tdl_provisioner_close(pv);
    return NULL;
}

static void threads(void) {
    tdl_predictor p;
    const char *path = model_file(&p, 6);
    static const char *const sources[NTHREADS] = {"synth:code:1:2800", "synth:conversation:2:2800",
                                                  "synth:code-2024:3:2800",
                                                  "synth:conversation-2024:4:2800"};
    tdl_series raw[NTHREADS];
    static job serial[NTHREADS], par[NTHREADS];
    for (int t = 0; t < NTHREADS; t++) {
        memset(&raw[t], 0, sizeof raw[t]);
        load(sources[t], &raw[t]);
        TDL_CHECK(raw[t].n >= NSLOTS, "series length");
        serial[t] = (job){path, raw[t].v, {0}, 0};
        par[t] = serial[t];
        run_job(&serial[t]);
    }
    pthread_t th[NTHREADS];
    for (int t = 0; t < NTHREADS; t++)
        TDL_CHECK(pthread_create(&th[t], NULL, run_job, &par[t]) == 0, "pthread_create");
    for (int t = 0; t < NTHREADS; t++) pthread_join(th[t], NULL);
    int ok = 1;
    for (int t = 0; t < NTHREADS; t++)
        ok &= serial[t].ok && par[t].ok &&
              memcmp(serial[t].cap, par[t].cap, sizeof serial[t].cap) == 0;
    printf("%s %d threads on %d handles: the serial runs' capacities bit for bit (%d slots each)\n",
           ok ? "ok  " : "FAIL", NTHREADS, NTHREADS, NSLOTS);
    tdl_test_record(ok);
    for (int t = 0; t < NTHREADS; t++) tdl_series_free(&raw[t]);
    remove(path);
    tdl_predictor_free(&p);
}

int main(int argc, char **argv) {
    /* `test_provisioner threads`: only the threads test (ThreadSanitizer) */
    if (argc > 1 && strcmp(argv[1], "threads") == 0) {
        threads();
        return tdl_test_done("test_provisioner threads");
    }
    tdl_predictor_config cfg;
    tdl_predictor_config_default(&cfg);
    stream_vs_batch(&cfg, "paper sizes");
    cfg.T = 5;
    cfg.H1 = 36; /* 4 H1 = 144, 4 H2 = 80, F = 20: partial panels of 32 */
    cfg.H2 = 20;
    cfg.F = 20;
    stream_vs_batch(&cfg, "T 5, H 36/20, F 20");
    cfg.T = 1;
    stream_vs_batch(&cfg, "T 1");
    decisions();
    no_allocation();
    backtest();
    threads();
    return tdl_test_done("test_provisioner");
}
