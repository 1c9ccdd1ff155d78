/* test_train.c: the training loop (train.h): the paper's defaults, the
 * training rows, MSE loss going down, skipped-step counting with a NaN
 * injected, the checkpoint round trip, and resume == uninterrupted bit for
 * bit; the step budget (max_steps) and the periodic optimiser reset
 * (adam_reset) against a reference loop written here from the spec, and
 * the loop with neither equal to that reference (the old semantics); the
 * KL-DRO loss kind through the same loop, its checkpoint and exact resume
 * (the radius and the augmentation's keys round trip); W-DRO as a batch
 * transformation: one step on attacked windows equals a manual reference
 * (tdl_wdro_attack, then one DFL step) and differs from a clean DFL step,
 * for both variants, and its keys round trip through an exact resume. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tdl/diffusion_train.h"
#include "tdl/train.h"
#include "tdl/wdro.h"
#include "tdl_test.h"

/* A small smooth series: 100 rows of 28 (70 train rows), a daily-like sine
 * with a slow trend, in "tokens". */
static void make_series(tdl_series *s) {
    TDL_CHECK(tdl_series_alloc(s, 100 * 28 + 5) == TDL_OK, "alloc");
    for (size_t i = 0; i < s->n; i++)
        s->v[i] = 20000.0 + 8000.0 * sin(6.283185307179586 * (double)i / 28.0) + 3.0 * (double)i;
}

static void small_config(tdl_train_config *c, tdl_train_loss loss) {
    tdl_train_config_default(c);
    c->loss = loss;
    c->lr = 1e-3;
    c->batch = 16;
    c->lr_step = 2;
    c->lr_gamma = 0.5;
    c->seed = 7;
}

static void test_defaults_and_data(void) {
    tdl_train_config c;
    tdl_train_config_default(&c);
    TDL_CHECK(c.epochs == 100 && c.lr == 1e-6 && c.batch == 64 && c.lr_step == 10 &&
                  c.lr_gamma == 0.05 && c.loss == TDL_TRAIN_DFL,
              "paper defaults");
    TDL_CHECK(tdl_train_config_check(&c) == TDL_OK, "defaults valid");
    c.lr = NAN;
    TDL_CHECK(tdl_train_config_check(&c) == TDL_ERR_INVALID, "NaN lr refused");
    tdl_train_config_default(&c);
    TDL_CHECK(c.kl_eps == 2.0 && c.augment == TDL_AUGMENT_NONE && c.noise_level == 0.05,
              "KL-DRO and augmentation defaults (spec section 6)");
    c.kl_eps = 0.0;
    TDL_CHECK(tdl_train_config_check(&c) == TDL_ERR_INVALID, "KL radius 0 refused");
    c.kl_eps = -1.0;
    TDL_CHECK(tdl_train_config_check(&c) == TDL_ERR_INVALID, "negative KL radius refused");
    tdl_train_loss lk;
    TDL_CHECK(tdl_train_loss_parse("kl-dro", &lk) == TDL_OK && lk == TDL_TRAIN_KLDRO &&
                  strcmp(tdl_train_loss_name(lk), "kl-dro") == 0,
              "kl-dro name");

    tdl_series s;
    make_series(&s);
    tdl_train_data d;
    TDL_CHECK(tdl_train_data_prepare(&d, &s) == TDL_OK, "prepare");
    TDL_CHECK(d.rows_all == 100 && d.R == 70, "rows %zu, train %zu", d.rows_all, d.R);
    tdl_range r;
    tdl_series_range(&s, &r);
    TDL_CHECK(d.range.min == r.min && d.range.max == r.max, "own range");
    float want = (float)((s.v[28 * 3 + 5] - r.min) / (r.max - r.min));
    TDL_CHECK(d.rows[28 * 3 + 5] == want, "row 3 value 5 normalised");
    TDL_CHECK(tdl_train_steps_per_epoch(d.R, 16) == 4 * 21, "4 full batches of 16 -> 84 steps");
    TDL_CHECK(tdl_train_steps_per_epoch(525, 64) == 168, "23V: 168 steps");
    tdl_train_data_free(&d);

    tdl_series shortser;
    tdl_series_alloc(&shortser, 27);
    for (size_t i = 0; i < 27; i++) shortser.v[i] = (double)i;
    TDL_CHECK(tdl_train_data_prepare(&d, &shortser) == TDL_ERR_INVALID, "27 values refused");
    tdl_series_free(&shortser);

    /* a constant series (all zero, or every value equal) has no range to
     * normalise by: refused with a message saying so (the DFL loss asserted
     * scale > 0 and aborted) */
    const double consts[2] = {0.0, 5000.0};
    for (int k = 0; k < 2; k++) {
        tdl_series flat;
        tdl_series_alloc(&flat, 2800);
        for (size_t i = 0; i < flat.n; i++) flat.v[i] = consts[k];
        tdl_status st = tdl_train_data_prepare(&d, &flat);
        printf("     constant %g: %s: %s\n", consts[k], tdl_status_name(st), tdl_last_error());
        TDL_CHECK(st == TDL_ERR_INVALID && strstr(tdl_last_error(), "constant") &&
                      strstr(tdl_last_error(), "training series"),
                  "constant series %g: %s", consts[k], tdl_status_name(st));
        if (st == TDL_OK) tdl_train_data_free(&d);
        tdl_diffusion_data dd;
        st = tdl_diffusion_data_prepare(&dd, &flat);
        TDL_CHECK(st == TDL_ERR_INVALID, "diffusion data from a constant series: %s",
                  tdl_status_name(st));
        if (st == TDL_OK) tdl_diffusion_data_free(&dd);
        tdl_series_free(&flat);
    }

    /* targets at or below a_min (tokens): counted, so the caller can warn
     * that DFL has no gradient there */
    TDL_CHECK(tdl_train_data_prepare(&d, &s) == TDL_OK, "prepare");
    size_t all = d.R * TDL_WINDOWS_PER_ROW;
    TDL_CHECK(tdl_train_data_targets_above(&d, r.min - 1.0) == all,
              "every target above min - 1: %zu of %zu", tdl_train_data_targets_above(&d, r.min - 1),
              all);
    TDL_CHECK(tdl_train_data_targets_above(&d, r.max) == 0, "no target above the max");
    size_t brute = 0;
    double mid = 0.5 * (r.min + r.max);
    for (size_t row = 0; row < d.R; row++)
        for (int t = TDL_WINDOW_IN; t < TDL_ROW_LEN; t++)
            brute += (double)d.rows[row * TDL_ROW_LEN + t] * (r.max - r.min) + r.min > mid;
    TDL_CHECK(tdl_train_data_targets_above(&d, mid) == brute, "targets above the midpoint: %zu, "
              "want %zu", tdl_train_data_targets_above(&d, mid), brute);
    tdl_train_data_free(&d);
    tdl_series_free(&s);
}

/* A fresh predictor, smaller than the paper's (a faster test; the
 * checkpoint must carry its config). */
static void small_predictor(tdl_predictor *p, uint64_t seed) {
    tdl_predictor_config pc;
    tdl_predictor_config_default(&pc);
    pc.H1 = 32;
    pc.H2 = 16;
    pc.F = 8;
    TDL_CHECK(tdl_predictor_init(p, &pc, seed) == TDL_OK, "init");
}

/* Run `epochs` epochs from a fresh predictor; losses[e] per epoch. */
static void run(const tdl_train_config *c, const tdl_train_data *d, int epochs, double *losses,
                tdl_predictor *p, tdl_trainer *t) {
    small_predictor(p, c->seed);
    TDL_CHECK(tdl_trainer_init(t, p, c) == TDL_OK, "trainer");
    for (int e = 0; e < epochs; e++) {
        tdl_epoch_stats st;
        TDL_CHECK(tdl_trainer_epoch(t, d, &st) == TDL_OK, "epoch %d", e);
        if (losses) losses[e] = st.loss;
    }
}

static void test_mse_decreases(const tdl_train_data *d) {
    tdl_train_config c;
    small_config(&c, TDL_TRAIN_MSE);
    c.lr_step = 100;
    double loss[6];
    tdl_predictor p;
    tdl_trainer t;
    run(&c, d, 6, loss, &p, &t);
    printf("MSE per epoch:");
    for (int e = 0; e < 6; e++) printf(" %.5f", loss[e]);
    printf("\n");
    TDL_CHECK(loss[5] < 0.5 * loss[0], "MSE %.5f -> %.5f: not halved", loss[0], loss[5]);
    TDL_CHECK(t.adam.t == 6 * 84 && t.skipped == 0, "steps %lld skipped %lld",
              (long long)t.adam.t, (long long)t.skipped);
    tdl_trainer_free(&t);
    tdl_predictor_free(&p);
}

static void test_dfl_runs(const tdl_train_data *d) {
    tdl_train_config c;
    small_config(&c, TDL_TRAIN_DFL);
    double loss[2];
    tdl_predictor p;
    tdl_trainer t;
    run(&c, d, 2, loss, &p, &t);
    TDL_CHECK(isfinite(loss[0]) && isfinite(loss[1]), "DFL losses %g %g", loss[0], loss[1]);
    TDL_CHECK(t.adam.t == 2 * 84, "DFL steps %lld", (long long)t.adam.t);
    TDL_CHECK(t.adam.lr == 1e-3 * 0.5, "StepLR after 2 epochs: lr %g", t.adam.lr);
    tdl_trainer_free(&t);
    tdl_predictor_free(&p);
}

/* One NaN at position 27 of row 0 touches only the step t = 27 of batch 0
 * (its target): exactly one skipped step per epoch; weights stay finite. */
static void test_nan_skipped(const tdl_train_data *d0) {
    tdl_train_data d = *d0;
    d.rows = malloc(d.R * 28 * sizeof(float));
    memcpy(d.rows, d0->rows, d.R * 28 * sizeof(float));
    d.rows[27] = NAN;
    tdl_train_config c;
    small_config(&c, TDL_TRAIN_MSE);
    tdl_predictor p;
    tdl_trainer t;
    run(&c, &d, 3, NULL, &p, &t);
    TDL_CHECK(t.skipped == 3, "skipped %lld, want 3", (long long)t.skipped);
    TDL_CHECK(t.adam.t == 3 * 84 - 3, "steps %lld, want %d", (long long)t.adam.t, 3 * 84 - 3);
    int finite = 1;
    for (size_t i = 0; i < p.params.total; i++) finite &= isfinite(p.params.param[i]) != 0;
    TDL_CHECK(finite, "weights finite after NaN steps");
    tdl_trainer_free(&t);
    tdl_predictor_free(&p);
    free(d.rows);
}

static int same_bits(const float *a, const float *b, size_t n) {
    return memcmp(a, b, n * sizeof(float)) == 0;
}

static void test_checkpoint_and_resume(const tdl_train_data *d, tdl_train_loss loss,
                                       tdl_train_wdro wd) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/tdl_test_train_%ld.ckpt.safetensors", (long)getpid());
    tdl_train_config c;
    small_config(&c, loss);
    c.epochs = 4;
    if (loss == TDL_TRAIN_KLDRO) { /* the radius and the augmentation's keys round trip */
        c.kl_eps = 0.7;
        c.augment = TDL_AUGMENT_CUTOUT;
        c.noise_level = 0.125;
        c.noise_seed = 77;
    }
    if (wd != TDL_TRAIN_WDRO_OFF) { /* W-DRO's keys round trip, the attack's masks resume */
        c.wdro = wd;
        c.w_eps = 0.75;
        c.fw_iters = 2;
    }

    /* uninterrupted: 4 epochs */
    tdl_predictor pa;
    tdl_trainer ta;
    run(&c, d, 4, NULL, &pa, &ta);

    /* interrupted after epoch 2: checkpoint, drop everything, resume */
    tdl_predictor pb;
    tdl_trainer tb;
    run(&c, d, 2, NULL, &pb, &tb);
    TDL_CHECK(tdl_trainer_checkpoint_save(&tb, path, "synthetic-test", d) == TDL_OK, "save: %s",
              tdl_last_error());
    tdl_checkpoint_info info;
    tdl_predictor pr;
    tdl_trainer tr;
    TDL_CHECK(tdl_trainer_resume(&tr, &pr, path, &info) == TDL_OK, "resume: %s",
              tdl_last_error());
    /* round trip: every piece of state */
    TDL_CHECK(pr.cfg.H1 == 32 && pr.cfg.H2 == 16 && pr.cfg.F == 8 && pr.cfg.T == 7,
              "predictor config restored");
    TDL_CHECK(tr.epoch == 2 && tr.adam.t == tb.adam.t && tr.adam.lr == tb.adam.lr &&
                  tr.sched.epoch == tb.sched.epoch && tr.rng.pos == tb.rng.pos &&
                  tr.rng.seed == tb.rng.seed && tr.rng.stream == tb.rng.stream,
              "counters, lr, RNG restored");
    TDL_CHECK(tr.cfg.loss == c.loss && tr.cfg.batch == c.batch && tr.cfg.lr == c.lr &&
                  tr.cfg.lr_gamma == c.lr_gamma && tr.cfg.seed == c.seed && tr.cfg.epochs == 4,
              "config restored");
    TDL_CHECK(tr.cfg.kl_eps == c.kl_eps && tr.cfg.augment == c.augment &&
                  tr.cfg.noise_level == c.noise_level && tr.cfg.noise_seed == c.noise_seed,
              "KL radius and augmentation restored");
    TDL_CHECK(tr.cfg.wdro == c.wdro && tr.cfg.w_eps == c.w_eps && tr.cfg.fw_iters == c.fw_iters,
              "W-DRO variant, budget and iterations restored");
    TDL_CHECK(strcmp(info.train_source, "synthetic-test") == 0 && info.range.min == d->range.min &&
                  info.range.max == d->range.max && info.rows == d->R,
              "training source and range");
    size_t n = pb.params.total;
    TDL_CHECK(same_bits(pr.params.param, pb.params.param, n) && same_bits(pr.params.m, pb.params.m, n) &&
                  same_bits(pr.params.v, pb.params.v, n),
              "weights and Adam moments restored bit for bit");
    tdl_trainer_free(&tb);
    tdl_predictor_free(&pb);
    for (int e = 0; e < 2; e++) TDL_CHECK(tdl_trainer_epoch(&tr, d, NULL) == TDL_OK, "resumed epoch");
    TDL_CHECK(same_bits(pr.params.param, pa.params.param, n),
              "%s: resumed weights differ from the uninterrupted run", tdl_train_loss_name(loss));
    TDL_CHECK(same_bits(pr.params.m, pa.params.m, n) && same_bits(pr.params.v, pa.params.v, n),
              "resumed moments equal");
    TDL_CHECK(tr.adam.t == ta.adam.t && tr.adam.lr == ta.adam.lr && tr.rng.pos == ta.rng.pos,
              "resumed counters equal");
    /* a control: a different seed does differ (the comparison can fail) */
    tdl_predictor pc;
    tdl_trainer tc;
    c.seed = 8;
    run(&c, d, 1, NULL, &pc, &tc);
    TDL_CHECK(!same_bits(pc.params.param, pa.params.param, n), "another seed differs");
    tdl_trainer_free(&tc);
    tdl_predictor_free(&pc);

    /* not a checkpoint: a clear error */
    TDL_CHECK(tdl_predictor_save(&pa, path) == TDL_OK, "save weights only");
    TDL_CHECK(tdl_checkpoint_read_info(path, &info) == TDL_ERR_FORMAT, "weights-only file refused");
    TDL_CHECK(strstr(tdl_last_error(), "checkpoint") != NULL, "message: %s", tdl_last_error());
    remove(path);
    tdl_trainer_free(&tr);
    tdl_predictor_free(&pr);
    tdl_trainer_free(&ta);
    tdl_predictor_free(&pa);
}

/* Epochs until the run is done (c->max_steps or c->epochs) from a fresh
 * predictor; returns the number of tdl_trainer_epoch calls, *last the last
 * epoch's stats. */
static int run_until_done(const tdl_train_config *c, const tdl_train_data *d, tdl_predictor *p,
                          tdl_trainer *t, tdl_epoch_stats *last) {
    small_predictor(p, c->seed);
    TDL_CHECK(tdl_trainer_init(t, p, c) == TDL_OK, "trainer");
    int calls = 0;
    while (!tdl_trainer_done(t) && calls < 1000) {
        TDL_CHECK(tdl_trainer_epoch(t, d, last) == TDL_OK, "epoch %d: %s", calls,
                  tdl_last_error());
        calls++;
    }
    return calls;
}

/* The reference: the loop of train.h written out again from the kernels,
 * sharing no code with tdl_trainer_epoch: `attempts` steps (taken or
 * skipped) from a fresh predictor, epoch after epoch from batch 0, StepLR
 * after each (possibly partial) epoch, and before the step at every
 * position that is a positive multiple of K (K > 0) a fresh optimiser by
 * hand (moments and step count zeroed, rate and StepLR count reset). */
typedef struct ref_state {
    tdl_predictor p;
    tdl_adam adam;
    tdl_steplr sched;
    tdl_rng rng;
    int epochs;
    int64_t taken, skipped;
} ref_state;

static void ref_train(ref_state *r, const tdl_train_config *c, const tdl_train_data *d,
                      int64_t attempts, int64_t K) {
    const int B = c->batch;
    small_predictor(&r->p, c->seed);
    tdl_params *P = &r->p.params;
    tdl_adam_init(&r->adam, c->lr);
    tdl_steplr_init(&r->sched, c->lr_step, c->lr_gamma);
    tdl_rng_init(&r->rng, c->seed, 1);
    r->epochs = 0;
    r->taken = r->skipped = 0;
    tdl_predictor_cache *cache;
    TDL_CHECK(tdl_predictor_cache_init(&cache, &r->p.cfg, B) == TDL_OK, "cache");
    float *x = malloc((size_t)B * 7 * sizeof *x), *y = malloc((size_t)B * sizeof *y);
    float *yhat = malloc((size_t)B * sizeof *yhat), *dy = malloc((size_t)B * sizeof *dy);
    const size_t nb = d->R / (size_t)B;
    const double scale = d->range.max - d->range.min, offset = d->range.min;
    int64_t pos = 0;
    while (pos < attempts) {
        for (size_t b = 0; b < nb; b++) {
            for (int tt = 7; tt < 28; tt++) {
                if (pos == attempts) goto epoch_end;
                if (K > 0 && pos > 0 && pos % K == 0) {
                    memset(P->m, 0, P->total * sizeof *P->m);
                    memset(P->v, 0, P->total * sizeof *P->v);
                    r->adam.t = 0;
                    r->adam.lr = c->lr;
                    r->sched.epoch = 0;
                }
                pos++;
                tdl_windows_at(x, y, d->rows + b * (size_t)B * 28, (size_t)B, tt);
                tdl_predictor_forward(&r->p, cache, x, yhat, B, 1, &r->rng);
                double loss = c->loss == TDL_TRAIN_MSE
                                  ? tdl_predictor_mse_loss(yhat, y, dy, B)
                                  : tdl_predictor_dfl_loss(&c->pp, c->rule, scale, offset, yhat,
                                                           y, dy, B);
                int ok = isfinite(loss) != 0;
                if (ok) {
                    tdl_params_zero_grad(P);
                    tdl_predictor_backward(&r->p, cache, dy, B);
                    for (int i = 0; i < P->count && ok; i++) {
                        if (!P->items[i].trainable) continue;
                        for (size_t k = 0; k < P->items[i].numel; k++)
                            if (!isfinite(P->grad[P->items[i].offset + k])) ok = 0;
                    }
                }
                if (!ok) {
                    r->skipped++;
                    continue;
                }
                tdl_adam_step(&r->adam, P);
                r->taken++;
            }
        }
    epoch_end:
        tdl_steplr_step(&r->sched, &r->adam);
        r->epochs++;
    }
    tdl_predictor_cache_free(cache);
    free(x);
    free(y);
    free(yhat);
    free(dy);
}

/* Trainer == reference: weights, moments, counters and rate, bit for bit. */
static int same_as_ref(const tdl_trainer *t, const ref_state *r) {
    const tdl_params *a = &t->pred->params, *b = &r->p.params;
    return same_bits(a->param, b->param, a->total) && same_bits(a->m, b->m, a->total) &&
           same_bits(a->v, b->v, a->total) && t->adam.t == r->adam.t && t->adam.lr == r->adam.lr &&
           t->sched.epoch == r->sched.epoch && t->rng.pos == r->rng.pos &&
           t->epoch == r->epochs && t->steps == r->taken && t->skipped == r->skipped;
}

/* max_steps = 0 and adam_reset = 0 is the loop as it was: the epochs path
 * equals the reference bit for bit, and so does max_steps = epochs x steps
 * per epoch (same epochs, same StepLR). */
static void test_old_semantics(const tdl_train_data *d, tdl_train_loss loss) {
    tdl_train_config c;
    small_config(&c, loss);
    c.epochs = 3;
    TDL_CHECK(c.max_steps == 0 && c.adam_reset == 0, "defaults: no step budget, no reset");
    tdl_predictor pa, pb;
    tdl_trainer ta, tb;
    ref_state r;
    run(&c, d, 3, NULL, &pa, &ta);
    TDL_CHECK(tdl_trainer_done(&ta) && tdl_trainer_attempted(&ta) == 3 * 84, "3 epochs done");
    ref_train(&r, &c, d, 3 * 84, 0);
    TDL_CHECK(same_as_ref(&ta, &r), "%s: epochs path differs from the reference loop",
              tdl_train_loss_name(loss));
    c.max_steps = 3 * 84;
    c.epochs = 1; /* ignored with max_steps */
    int calls = run_until_done(&c, d, &pb, &tb, NULL);
    TDL_CHECK(calls == 3 && tb.epoch == 3, "max_steps 252: %d calls, epoch %d", calls, tb.epoch);
    TDL_CHECK(same_as_ref(&tb, &r), "%s: max_steps = 3 epochs differs from 3 epochs",
              tdl_train_loss_name(loss));
    tdl_trainer_free(&ta);
    tdl_predictor_free(&pa);
    tdl_trainer_free(&tb);
    tdl_predictor_free(&pb);
    tdl_predictor_free(&r.p);
}

/* max_steps stops at exactly N attempted steps, inside an epoch: 84 + 30
 * = one full epoch and 30 steps of the second, which counts as an epoch
 * (StepLR steps after it); skipped steps count as attempted. */
static void test_max_steps(const tdl_train_data *d0) {
    tdl_train_config c;
    small_config(&c, TDL_TRAIN_MSE);
    c.max_steps = 84 + 30;
    tdl_predictor p;
    tdl_trainer t;
    tdl_epoch_stats st;
    ref_state r;
    int calls = run_until_done(&c, d0, &p, &t, &st);
    TDL_CHECK(calls == 2 && t.epoch == 2, "%d epoch calls, epoch %d (want 2, 2)", calls, t.epoch);
    TDL_CHECK(tdl_trainer_attempted(&t) == 114 && t.steps == 114 && t.adam.t == 114 &&
                  st.steps == 30 && st.skipped == 0 && isfinite(st.loss),
              "attempted %lld, last epoch %lld steps", (long long)tdl_trainer_attempted(&t),
              (long long)st.steps);
    TDL_CHECK(t.sched.epoch == 2 && t.adam.lr == 1e-3 * 0.5, "StepLR after the partial epoch: "
              "epoch %lld, lr %g", (long long)t.sched.epoch, t.adam.lr);
    ref_train(&r, &c, d0, 114, 0);
    TDL_CHECK(same_as_ref(&t, &r), "max_steps 114 differs from the reference");
    tdl_predictor_free(&r.p);
    /* over: another epoch is refused and changes nothing */
    uint64_t rngpos = t.rng.pos;
    TDL_CHECK(tdl_trainer_epoch(&t, d0, &st) == TDL_ERR_INVALID, "epoch after the budget");
    TDL_CHECK(strstr(tdl_last_error(), "max_steps") != NULL, "message: %s", tdl_last_error());
    TDL_CHECK(t.epoch == 2 && t.rng.pos == rngpos && tdl_trainer_attempted(&t) == 114,
              "state unchanged");
    /* a control: the first 114 steps are not the first two full epochs */
    tdl_predictor pe;
    tdl_trainer te;
    run(&c, d0, 0, NULL, &pe, &te);
    te.cfg.max_steps = 0;
    for (int e = 0; e < 2; e++) TDL_CHECK(tdl_trainer_epoch(&te, d0, NULL) == TDL_OK, "epoch");
    TDL_CHECK(!same_bits(pe.params.param, p.params.param, p.params.total),
              "114 steps equal 168 steps");
    tdl_trainer_free(&te);
    tdl_predictor_free(&pe);
    tdl_trainer_free(&t);
    tdl_predictor_free(&p);

    /* fewer than an epoch */
    c.max_steps = 10;
    calls = run_until_done(&c, d0, &p, &t, &st);
    TDL_CHECK(calls == 1 && t.epoch == 1 && t.steps == 10 && st.steps == 10, "max_steps 10");
    tdl_trainer_free(&t);
    tdl_predictor_free(&p);

    /* a NaN target at position 20 of every epoch: skipped steps count */
    tdl_train_data d = *d0;
    d.rows = malloc(d.R * 28 * sizeof(float));
    memcpy(d.rows, d0->rows, d.R * 28 * sizeof(float));
    d.rows[27] = NAN;
    c.max_steps = 84 + 30;
    calls = run_until_done(&c, &d, &p, &t, &st);
    TDL_CHECK(calls == 2 && t.skipped == 2 && t.steps == 112 && t.adam.t == 112 &&
                  st.steps == 29 && st.skipped == 1,
              "NaN: skipped %lld, steps %lld", (long long)t.skipped, (long long)t.steps);
    ref_train(&r, &c, &d, 114, 0);
    TDL_CHECK(same_as_ref(&t, &r), "max_steps with skipped steps differs from the reference");
    tdl_predictor_free(&r.p);
    tdl_trainer_free(&t);
    tdl_predictor_free(&p);
    free(d.rows);

    /* ranges */
    small_config(&c, TDL_TRAIN_MSE);
    c.max_steps = -1;
    TDL_CHECK(tdl_train_config_check(&c) == TDL_ERR_INVALID, "max_steps -1 refused");
    c.max_steps = 0;
    c.adam_reset = -1;
    TDL_CHECK(tdl_train_config_check(&c) == TDL_ERR_INVALID, "adam_reset -1 refused");
}

/* adam_reset = K: a fresh optimiser before positions K, 2K, ...: equal to
 * the reference loop that resets by hand, with K inside epochs (20: resets
 * at 20, 40, ..., 180 over epochs of 84) and on NaN data (skipped steps are
 * positions); and with K = 84 equal to a manual run: max_steps 84,
 * tdl_trainer_reset_optimizer, then max_steps 168 on the same trainer. */
static void test_adam_reset(const tdl_train_data *d0, tdl_train_loss loss) {
    const char *ln = tdl_train_loss_name(loss);
    tdl_train_config c;
    small_config(&c, loss);
    c.max_steps = 200;
    c.adam_reset = 20;
    tdl_predictor p, p0;
    tdl_trainer t, t0;
    ref_state r;
    int calls = run_until_done(&c, d0, &p, &t, NULL);
    TDL_CHECK(calls == 3 && t.steps == 200 && t.adam.t == 20 && t.adam.lr == 1e-3 &&
                  t.sched.epoch == 1,
              "%s: %d epochs, steps %lld, adam.t %lld (want 3, 200, 20), lr %g", ln, calls,
              (long long)t.steps, (long long)t.adam.t, t.adam.lr);
    ref_train(&r, &c, d0, 200, 20);
    TDL_CHECK(same_as_ref(&t, &r), "%s: adam_reset 20 differs from the reference's manual resets",
              ln);
    tdl_predictor_free(&r.p);
    /* controls: no reset, or another K, differ (the comparison can fail) */
    c.adam_reset = 0;
    run_until_done(&c, d0, &p0, &t0, NULL);
    TDL_CHECK(!same_bits(p0.params.param, p.params.param, p.params.total), "%s: reset changes "
              "nothing", ln);
    ref_train(&r, &c, d0, 200, 21);
    TDL_CHECK(!same_bits(r.p.params.param, p.params.param, p.params.total), "%s: K 20 == K 21",
              ln);
    tdl_predictor_free(&r.p);
    tdl_trainer_free(&t0);
    tdl_predictor_free(&p0);
    tdl_trainer_free(&t);
    tdl_predictor_free(&p);

    /* NaN data: the skipped step at position 20 of each epoch is a position
     * (MSE skips it; DFL's clamped provisioning loss stays finite) */
    tdl_train_data d = *d0;
    d.rows = malloc(d.R * 28 * sizeof(float));
    memcpy(d.rows, d0->rows, d.R * 28 * sizeof(float));
    d.rows[27] = NAN;
    c.adam_reset = 20;
    run_until_done(&c, &d, &p, &t, NULL);
    if (loss == TDL_TRAIN_MSE)
        TDL_CHECK(t.skipped == 3 && t.steps == 197, "NaN: skipped %lld", (long long)t.skipped);
    ref_train(&r, &c, &d, 200, 20);
    TDL_CHECK(same_as_ref(&t, &r), "%s: adam_reset with skipped steps differs", ln);
    tdl_predictor_free(&r.p);
    tdl_trainer_free(&t);
    tdl_predictor_free(&p);
    free(d.rows);

    /* K = 84 (the epoch): K steps, tdl_trainer_reset_optimizer, K more */
    c.max_steps = 168;
    c.adam_reset = 84;
    run_until_done(&c, d0, &p, &t, NULL);
    c.max_steps = 84;
    c.adam_reset = 0;
    run_until_done(&c, d0, &p0, &t0, NULL);
    tdl_trainer_reset_optimizer(&t0);
    t0.cfg.max_steps = 168;
    while (!tdl_trainer_done(&t0)) TDL_CHECK(tdl_trainer_epoch(&t0, d0, NULL) == TDL_OK, "epoch");
    size_t n = p.params.total;
    TDL_CHECK(same_bits(p.params.param, p0.params.param, n) &&
                  same_bits(p.params.m, p0.params.m, n) && same_bits(p.params.v, p0.params.v, n) &&
                  t.adam.t == 84 && t0.adam.t == 84 && t.adam.lr == t0.adam.lr,
              "%s: adam_reset 84 differs from a manual reset after 84 steps", ln);
    tdl_trainer_free(&t0);
    tdl_predictor_free(&p0);
    tdl_trainer_free(&t);
    tdl_predictor_free(&p);
}

/* A run with max_steps and adam_reset checkpointed after epoch 1 or 2 and
 * resumed ends bit-identical to the uninterrupted run. K = 42 puts resets
 * on the epoch boundaries (84, 168) where the checkpoints are: the reset is
 * owed to the next step, after the resume. */
static void test_resume_steps_reset(const tdl_train_data *d) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/tdl_test_train_sr_%ld.ckpt.safetensors", (long)getpid());
    tdl_train_config c;
    small_config(&c, TDL_TRAIN_DFL);
    c.max_steps = 200;
    c.adam_reset = 42;
    tdl_predictor pa;
    tdl_trainer ta;
    run_until_done(&c, d, &pa, &ta, NULL);
    TDL_CHECK(ta.epoch == 3 && ta.steps == 200 && ta.adam.t == 200 - 168, "uninterrupted");
    size_t n = pa.params.total;
    for (int stop = 1; stop <= 2; stop++) {
        tdl_predictor pb, pr;
        tdl_trainer tb, tr;
        tdl_checkpoint_info info;
        run(&c, d, stop, NULL, &pb, &tb);
        TDL_CHECK(tdl_trainer_checkpoint_save(&tb, path, "synthetic-test", d) == TDL_OK, "save");
        TDL_CHECK(tdl_trainer_resume(&tr, &pr, path, &info) == TDL_OK, "resume: %s",
                  tdl_last_error());
        TDL_CHECK(info.cfg.max_steps == 200 && info.cfg.adam_reset == 42 &&
                      tr.cfg.max_steps == 200 && tr.cfg.adam_reset == 42,
                  "max_steps and adam_reset restored");
        TDL_CHECK(info.steps == 84 * stop && tr.steps == tb.steps && tr.adam.t == tb.adam.t &&
                      tr.adam.t == 42,
                  "steps %lld and adam_t %lld restored separately (the reset at the "
                  "boundary is still owed)", (long long)tr.steps,
                  (long long)tr.adam.t);
        tdl_trainer_free(&tb);
        tdl_predictor_free(&pb);
        while (!tdl_trainer_done(&tr)) TDL_CHECK(tdl_trainer_epoch(&tr, d, NULL) == TDL_OK, "ep");
        TDL_CHECK(same_bits(pr.params.param, pa.params.param, n) &&
                      same_bits(pr.params.m, pa.params.m, n) &&
                      same_bits(pr.params.v, pa.params.v, n) && tr.epoch == ta.epoch &&
                      tr.steps == ta.steps && tr.adam.t == ta.adam.t && tr.adam.lr == ta.adam.lr &&
                      tr.rng.pos == ta.rng.pos,
                  "resumed after epoch %d: differs from the uninterrupted run", stop);
        tdl_trainer_free(&tr);
        tdl_predictor_free(&pr);
    }
    remove(path);
    tdl_trainer_free(&ta);
    tdl_predictor_free(&pa);
}

static void test_wdro_config(void) {
    tdl_train_config c;
    tdl_train_config_default(&c);
    TDL_CHECK(c.wdro == TDL_TRAIN_WDRO_OFF && c.w_eps == 2.0 && c.fw_iters == 15,
              "W-DRO defaults (spec section 6: eps 2, 15 iterations)");
    c.wdro = TDL_TRAIN_WDRO_PAPER;
    TDL_CHECK(tdl_train_config_check(&c) == TDL_OK, "w-dro with DFL valid");
    c.w_eps = 0.0;
    TDL_CHECK(tdl_train_config_check(&c) == TDL_ERR_INVALID, "W-DRO budget 0 refused");
    c.w_eps = -1.0;
    TDL_CHECK(tdl_train_config_check(&c) == TDL_ERR_INVALID, "negative W-DRO budget refused");
    c.w_eps = NAN;
    TDL_CHECK(tdl_train_config_check(&c) == TDL_ERR_INVALID, "NaN W-DRO budget refused");
    c.w_eps = 2.0;
    c.fw_iters = 0;
    TDL_CHECK(tdl_train_config_check(&c) == TDL_ERR_INVALID, "0 Frank-Wolfe iterations refused");
    c.fw_iters = 15;
    c.loss = TDL_TRAIN_MSE;
    TDL_CHECK(tdl_train_config_check(&c) == TDL_ERR_INVALID, "W-DRO with MSE refused");
    c.loss = TDL_TRAIN_DFL;
    c.augment = TDL_AUGMENT_GAUSS;
    TDL_CHECK(tdl_train_config_check(&c) == TDL_ERR_INVALID, "W-DRO with augmentation refused");
    tdl_train_wdro w;
    TDL_CHECK(tdl_train_wdro_parse("authors", &w) == TDL_OK && w == TDL_TRAIN_WDRO_AUTHORS &&
                  strcmp(tdl_train_wdro_name(w), "authors") == 0 &&
                  tdl_train_wdro_parse("torch", &w) == TDL_ERR_INVALID,
              "W-DRO variant names");
}

/* One W-DRO step of the trainer (max_steps 1: batch 0, t = 7) against a
 * manual reference written from the spec: the same predictor, the same RNG
 * stream (seed, 1); tdl_wdro_attack on the windows in training mode, then
 * one DFL step (forward with dropout, loss, backward, Adam) on the attacked
 * windows. Equal bit for bit, and different from a clean DFL step. */
static void test_wdro_step(const tdl_train_data *d, tdl_train_wdro variant) {
    tdl_train_config c;
    small_config(&c, TDL_TRAIN_DFL);
    c.wdro = variant;
    c.w_eps = 0.5;
    c.fw_iters = 4;
    c.max_steps = 1;
    const int B = c.batch;
    const double scale = d->range.max - d->range.min, offset = d->range.min;
    tdl_predictor pw, pc, pr;
    tdl_trainer tw, tc;
    small_predictor(&pw, c.seed);
    TDL_CHECK(tdl_trainer_init(&tw, &pw, &c) == TDL_OK, "w-dro trainer: %s", tdl_last_error());
    TDL_CHECK(tw.wdro_work && tw.xadv, "the attack's buffers allocated in tdl_trainer_init");
    TDL_CHECK(tdl_trainer_epoch(&tw, d, NULL) == TDL_OK && tw.steps == 1 && tw.skipped == 0,
              "one w-dro step");
    tdl_train_config cc = c;
    cc.wdro = TDL_TRAIN_WDRO_OFF;
    small_predictor(&pc, c.seed);
    TDL_CHECK(tdl_trainer_init(&tc, &pc, &cc) == TDL_OK, "clean trainer");
    TDL_CHECK(tc.wdro_work == NULL && tc.xadv == NULL, "no attack buffers without W-DRO");
    TDL_CHECK(tdl_trainer_epoch(&tc, d, NULL) == TDL_OK && tc.steps == 1, "one clean step");

    /* the manual reference */
    small_predictor(&pr, c.seed);
    tdl_predictor_cache *cache = NULL;
    tdl_wdro_work *w = NULL;
    TDL_CHECK(tdl_predictor_cache_init(&cache, &pr.cfg, B) == TDL_OK &&
                  tdl_wdro_work_init(&w, &pr.cfg, B) == TDL_OK,
              "reference buffers");
    float *x0 = malloc((size_t)B * 7 * sizeof(float)), *x = malloc((size_t)B * 7 * sizeof(float));
    float *t = malloc((size_t)B * sizeof(float)), *y = malloc((size_t)B * sizeof(float));
    float *dy = malloc((size_t)B * sizeof(float));
    tdl_windows_at(x0, t, d->rows, (size_t)B, 7);
    tdl_rng rng;
    tdl_rng_init(&rng, c.seed, 1);
    tdl_wdro_config wc;
    if (variant == TDL_TRAIN_WDRO_AUTHORS) tdl_wdro_config_authors(&wc, scale, offset);
    else tdl_wdro_config_default(&wc, scale, offset);
    wc.eps = 0.5;
    wc.iters = 4;
    tdl_wdro_stats ws;
    TDL_CHECK(tdl_wdro_attack(&pr, cache, w, &wc, x0, t, x, B, 1, &rng, &ws) == TDL_OK,
              "reference attack: %s", tdl_last_error());
    TDL_CHECK(ws.dist > 1e-3 && !same_bits(x, x0, (size_t)B * 7), "the attack moved the windows "
              "(distance %g)", ws.dist);
    tdl_predictor_forward(&pr, cache, x, y, B, 1, &rng);
    double loss = tdl_predictor_dfl_loss(&c.pp, c.rule, scale, offset, y, t, dy, B);
    TDL_CHECK(isfinite(loss), "reference loss %g", loss);
    tdl_params_zero_grad(&pr.params);
    tdl_predictor_backward(&pr, cache, dy, B);
    tdl_adam a;
    tdl_adam_init(&a, c.lr);
    tdl_adam_step(&a, &pr.params);

    size_t n = pw.params.total;
    TDL_CHECK(same_bits(pw.params.param, pr.params.param, n) &&
                  same_bits(pw.params.m, pr.params.m, n) && same_bits(pw.params.v, pr.params.v, n),
              "%s: the trainer's w-dro step differs from the manual reference",
              tdl_train_wdro_name(variant));
    TDL_CHECK(tw.rng.pos == rng.pos, "RNG position: trainer %llu, reference %llu",
              (unsigned long long)tw.rng.pos, (unsigned long long)rng.pos);
    TDL_CHECK(!same_bits(pw.params.param, pc.params.param, n),
              "%s: the w-dro step equals a clean DFL step", tdl_train_wdro_name(variant));
    free(x0);
    free(x);
    free(t);
    free(y);
    free(dy);
    tdl_wdro_work_free(w);
    tdl_predictor_cache_free(cache);
    tdl_trainer_free(&tw);
    tdl_trainer_free(&tc);
    tdl_predictor_free(&pw);
    tdl_predictor_free(&pc);
    tdl_predictor_free(&pr);
}

int main(void) {
    test_defaults_and_data();
    tdl_series s;
    make_series(&s);
    tdl_train_data d;
    TDL_CHECK(tdl_train_data_prepare(&d, &s) == TDL_OK, "prepare");
    test_mse_decreases(&d);
    test_dfl_runs(&d);
    test_nan_skipped(&d);
    test_checkpoint_and_resume(&d, TDL_TRAIN_MSE, TDL_TRAIN_WDRO_OFF);
    test_checkpoint_and_resume(&d, TDL_TRAIN_DFL, TDL_TRAIN_WDRO_OFF);
    test_checkpoint_and_resume(&d, TDL_TRAIN_KLDRO, TDL_TRAIN_WDRO_OFF);
    test_checkpoint_and_resume(&d, TDL_TRAIN_DFL, TDL_TRAIN_WDRO_PAPER);
    test_wdro_config();
    test_wdro_step(&d, TDL_TRAIN_WDRO_PAPER);
    test_wdro_step(&d, TDL_TRAIN_WDRO_AUTHORS);
    test_old_semantics(&d, TDL_TRAIN_MSE);
    test_old_semantics(&d, TDL_TRAIN_DFL);
    test_max_steps(&d);
    test_adam_reset(&d, TDL_TRAIN_MSE);
    test_adam_reset(&d, TDL_TRAIN_DFL);
    test_resume_steps_reset(&d);
    tdl_train_data_free(&d);
    tdl_series_free(&s);
    return tdl_test_done("test_train");
}
