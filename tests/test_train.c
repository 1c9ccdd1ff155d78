/* test_train.c: the training loop (train.h): the paper's defaults, the
 * training rows, MSE loss going down, skipped-step counting with a NaN
 * injected, the checkpoint round trip, and resume == uninterrupted bit for
 * bit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tdl/train.h"
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
    tdl_series_free(&s);
}

/* Run `epochs` epochs from a fresh predictor; losses[e] per epoch. */
static void run(const tdl_train_config *c, const tdl_train_data *d, int epochs, double *losses,
                tdl_predictor *p, tdl_trainer *t) {
    /* a smaller predictor than the paper's (a faster test; the checkpoint
     * must carry its config) */
    tdl_predictor_config pc;
    tdl_predictor_config_default(&pc);
    pc.H1 = 32;
    pc.H2 = 16;
    pc.F = 8;
    TDL_CHECK(tdl_predictor_init(p, &pc, c->seed) == TDL_OK, "init");
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

static void test_checkpoint_and_resume(const tdl_train_data *d, tdl_train_loss loss) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/tdl_test_train_%ld.ckpt.safetensors", (long)getpid());
    tdl_train_config c;
    small_config(&c, loss);
    c.epochs = 4;

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

int main(void) {
    test_defaults_and_data();
    tdl_series s;
    make_series(&s);
    tdl_train_data d;
    TDL_CHECK(tdl_train_data_prepare(&d, &s) == TDL_OK, "prepare");
    test_mse_decreases(&d);
    test_dfl_runs(&d);
    test_nan_skipped(&d);
    test_checkpoint_and_resume(&d, TDL_TRAIN_MSE);
    test_checkpoint_and_resume(&d, TDL_TRAIN_DFL);
    tdl_train_data_free(&d);
    tdl_series_free(&s);
    return tdl_test_done("test_train");
}
