/* test_train_augment.c: the data augmentations of spec section 6 as a
 * transformation of the training data (tdl_train_data_augment): the union
 * has 2R rows, the first R unchanged and the copy in the same order; on a
 * long series the noisy copy has the stated statistics (Gaussian: the
 * difference has std L away from the clip; Cutout: a fraction L of values
 * zeroed and the rest unchanged; Perlin: |difference| <= L x the range and
 * reaching a good part of it); same seed -> same rows, another seed ->
 * others; bad levels are refused; the loop trains on the union (2x the
 * steps per epoch). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/train.h"
#include "tdl_test.h"

/* 6000 rows of 28 (4200 training rows, 117,600 training values), values
 * spread over the range so that most are away from 0 and 1. */
static void prepare_rows(tdl_train_data *d, size_t rows) {
    tdl_series s;
    TDL_CHECK(tdl_series_alloc(&s, rows * 28) == TDL_OK, "alloc");
    for (size_t i = 0; i < s.n; i++)
        s.v[i] = 20000.0 + 8000.0 * sin(6.283185307179586 * (double)i / 97.0) +
                 3000.0 * sin((double)i * 0.013);
    TDL_CHECK(tdl_train_data_prepare(d, &s) == TDL_OK, "prepare: %s", tdl_last_error());
    tdl_series_free(&s);
}

static void prepare(tdl_train_data *d) { prepare_rows(d, 6000); }

/* Augment a fresh copy of the data; check the shape and the first R rows. */
static void augmented(tdl_train_data *a, const tdl_train_data *d, tdl_train_augment kind,
                      double level, uint64_t seed) {
    prepare(a);
    size_t R = a->R;
    TDL_CHECK(tdl_train_data_augment(a, kind, level, seed) == TDL_OK, "%s: %s",
              tdl_train_augment_name(kind), tdl_last_error());
    TDL_CHECK(a->R == 2 * R && a->rows_all == 2 * R && a->R == 2 * d->R, "%s: %zu rows, want %zu",
              tdl_train_augment_name(kind), a->R, 2 * R);
    TDL_CHECK(memcmp(a->rows, d->rows, R * TDL_ROW_LEN * sizeof(float)) == 0,
              "%s: the first R rows are the original rows", tdl_train_augment_name(kind));
    TDL_CHECK(a->range.min == d->range.min && a->range.max == d->range.max, "range unchanged");
}

int main(void) {
    tdl_train_data d;
    prepare(&d);
    const size_t R = d.R, n = R * TDL_ROW_LEN;
    const float *x = d.rows;
    float lo = 1, hi = 0;
    for (size_t i = 0; i < n; i++) {
        lo = fminf(lo, x[i]);
        hi = fmaxf(hi, x[i]);
    }

    /* Gaussian, L = 0.05: the difference where the clip cannot act */
    tdl_train_data a;
    augmented(&a, &d, TDL_AUGMENT_GAUSS, 0.05, 11);
    double s1 = 0, s2 = 0, m;
    size_t k = 0, outside = 0;
    for (size_t i = 0; i < n; i++) {
        float z = a.rows[n + i];
        if (z < 0 || z > 1) outside++;
        if (x[i] < 0.3 || x[i] > 0.7) continue; /* > 6 sigma from 0 and 1 */
        double dd = (double)z - x[i];
        s1 += dd;
        s2 += dd * dd;
        k++;
    }
    m = s1 / k;
    double sd = sqrt(s2 / k - m * m);
    printf("gauss 0.05: %zu values away from the clip, mean diff %.2e, std %.5f\n", k, m, sd);
    TDL_CHECK(k > 20000 && fabs(sd - 0.05) <= 0.05 * 0.02 && fabs(m) <= 5 * 0.05 / sqrt(k),
              "std of the difference %.5f, want 0.05 (2%%); mean %.2e", sd, m);
    TDL_CHECK(outside == 0, "%zu values outside [0, 1]", outside);
    tdl_train_data b;
    augmented(&b, &d, TDL_AUGMENT_GAUSS, 0.05, 11);
    TDL_CHECK(memcmp(a.rows, b.rows, 2 * n * sizeof(float)) == 0, "same seed, same rows");
    tdl_train_data_free(&b);
    augmented(&b, &d, TDL_AUGMENT_GAUSS, 0.05, 12);
    TDL_CHECK(memcmp(a.rows + n, b.rows + n, n * sizeof(float)) != 0, "another seed, other rows");
    tdl_train_data_free(&b);
    tdl_train_data_free(&a);

    /* Cutout, L = 0.05: a fraction L zeroed, the rest unchanged */
    augmented(&a, &d, TDL_AUGMENT_CUTOUT, 0.05, 5);
    size_t zeroed = 0, changed = 0, nz = 0;
    for (size_t i = 0; i < n; i++) {
        if (x[i] == 0.0f) continue;
        nz++;
        if (a.rows[n + i] == 0.0f) zeroed++;
        else if (a.rows[n + i] != x[i]) changed++;
    }
    double frac = (double)zeroed / nz, se = sqrt(0.05 * 0.95 / nz);
    printf("cutout 0.05: %zu of %zu values zeroed (%.5f, se %.5f)\n", zeroed, nz, frac, se);
    TDL_CHECK(fabs(frac - 0.05) <= 5 * se, "fraction zeroed %.5f, want 0.05 +- %.5f", frac, 5 * se);
    TDL_CHECK(changed == 0, "%zu values changed but not zeroed", changed);
    tdl_train_data_free(&a);

    /* Perlin, L = 0.05: |difference| <= L x the range of the training values */
    augmented(&a, &d, TDL_AUGMENT_PERLIN, 0.05, 9);
    double mx = 0;
    for (size_t i = 0; i < n; i++) mx = fmax(mx, fabs((double)a.rows[n + i] - x[i]));
    double bound = 0.05 * (hi - lo);
    printf("perlin 0.05: max |diff| %.5f, bound L x range %.5f\n", mx, bound);
    TDL_CHECK(mx <= bound * (1 + 1e-6) + 1e-7, "max |diff| %.6f > %.6f", mx, bound);
    TDL_CHECK(mx >= 0.3 * bound, "max |diff| %.6f: the noise barely acts", mx);

    tdl_train_data_free(&a);

    /* the loop trains on the union: twice the steps of the original rows
     * (100 rows: 70 training rows, 4 batches of 16; the union 8) */
    prepare_rows(&a, 100);
    TDL_CHECK(tdl_train_data_augment(&a, TDL_AUGMENT_PERLIN, 0.05, 9) == TDL_OK, "augment");
    tdl_train_config c;
    tdl_train_config_default(&c);
    c.batch = 16;
    c.lr = 1e-4;
    tdl_predictor p;
    tdl_predictor_config pc;
    tdl_predictor_config_default(&pc);
    pc.H1 = 8;
    pc.H2 = 8;
    pc.F = 4;
    TDL_CHECK(tdl_predictor_init(&p, &pc, 1) == TDL_OK, "predictor");
    tdl_trainer t;
    TDL_CHECK(tdl_trainer_init(&t, &p, &c) == TDL_OK, "trainer");
    tdl_epoch_stats st;
    TDL_CHECK(tdl_trainer_epoch(&t, &a, &st) == TDL_OK, "epoch on the union");
    TDL_CHECK(a.R == 140 && st.steps + st.skipped == 8 * 21 && isfinite(st.loss),
              "steps %lld on %zu rows", (long long)st.steps, a.R);
    tdl_trainer_free(&t);
    tdl_predictor_free(&p);
    tdl_train_data_free(&a);

    /* NONE leaves the data alone; bad levels are refused */
    augmented(&a, &d, TDL_AUGMENT_GAUSS, 0.0, 1);
    TDL_CHECK(memcmp(a.rows + n, x, n * sizeof(float)) == 0, "level 0: an exact copy");
    tdl_train_data_free(&a);
    prepare(&a);
    TDL_CHECK(tdl_train_data_augment(&a, TDL_AUGMENT_NONE, 0.05, 1) == TDL_OK && a.R == R,
              "none: unchanged");
    TDL_CHECK(tdl_train_data_augment(&a, TDL_AUGMENT_GAUSS, -0.1, 1) == TDL_ERR_INVALID,
              "negative level refused");
    TDL_CHECK(tdl_train_data_augment(&a, TDL_AUGMENT_CUTOUT, 1.5, 1) == TDL_ERR_INVALID,
              "cutout > 1 refused");
    TDL_CHECK(tdl_train_data_augment(&a, TDL_AUGMENT_PERLIN, NAN, 1) == TDL_ERR_INVALID,
              "NaN level refused");
    TDL_CHECK(a.R == R, "a refused augmentation leaves the data");
    tdl_train_config_default(&c);
    c.augment = TDL_AUGMENT_CUTOUT;
    c.noise_level = 1.2;
    TDL_CHECK(tdl_train_config_check(&c) == TDL_ERR_INVALID, "config: cutout level 1.2 refused");
    c.noise_level = 1.0;
    TDL_CHECK(tdl_train_config_check(&c) == TDL_OK, "config: cutout level 1 ok");
    tdl_train_augment kind;
    TDL_CHECK(tdl_train_augment_parse("da-perlin", &kind) == TDL_OK && kind == TDL_AUGMENT_PERLIN &&
                  tdl_train_augment_parse("perlin", &kind) != TDL_OK,
              "names");
    tdl_train_data_free(&a);
    tdl_train_data_free(&d);
    return tdl_test_done("test_train_augment");
}
