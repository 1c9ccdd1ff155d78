/* test_adam.c: Adam + StepLR against PyTorch (5 steps, tools/fixturegen/adam.py),
 * plus a hand-computed first step and the skipping of fixed tensors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/adam.h"
#include "tdl_test.h"

/* Tolerances: element-wise float arithmetic in the same order as PyTorch's
 * single-tensor Adam, so differences are a few ulps of values of order 1. */
#define ADAM_ATOL 2e-7
#define ADAM_RTOL 1e-6

static void run_fixture(const char *name, double lr, double wd, int step_size, double gamma) {
    tdl_safetensors st;
    tdl_test_fixture(&st, name);
    tdl_params p;
    tdl_params_init(&p);
    TDL_CHECK(tdl_params_add(&p, "w", 2, (int64_t[]){3, 4}, 1) == TDL_OK, "add w");
    TDL_CHECK(tdl_params_add(&p, "fixed", 1, (int64_t[]){7}, 0) == TDL_OK, "add fixed");
    TDL_CHECK(tdl_params_add(&p, "b", 1, (int64_t[]){5}, 1) == TDL_OK, "add b");
    TDL_CHECK(tdl_params_alloc(&p) == TDL_OK, "alloc");
    float *w = tdl_params_data(&p, "w"), *b = tdl_params_data(&p, "b");
    float *fixed = tdl_params_data(&p, "fixed");
    for (int i = 0; i < 7; i++) {
        fixed[i] = (float)i;
        tdl_params_gradient(&p, "fixed")[i] = 1.0f;
    }
    float *t = tdl_test_tensor(&st, "adam.w0", NULL);
    memcpy(w, t, 12 * sizeof(float));
    free(t);
    t = tdl_test_tensor(&st, "adam.b0", NULL);
    memcpy(b, t, 5 * sizeof(float));
    free(t);

    tdl_adam opt;
    tdl_adam_init(&opt, lr);
    opt.weight_decay = wd;
    tdl_steplr sched;
    tdl_steplr_init(&sched, step_size, gamma);
    char key[64], what[96];
    for (int step = 1; step <= 5; step++) {
        snprintf(key, sizeof key, "adam.gw%d", step);
        t = tdl_test_tensor(&st, key, NULL);
        memcpy(tdl_params_gradient(&p, "w"), t, 12 * sizeof(float));
        free(t);
        snprintf(key, sizeof key, "adam.gb%d", step);
        t = tdl_test_tensor(&st, key, NULL);
        memcpy(tdl_params_gradient(&p, "b"), t, 5 * sizeof(float));
        free(t);
        tdl_adam_step(&opt, &p);
        tdl_steplr_step(&sched, &opt);

        snprintf(key, sizeof key, "adam.w%d", step);
        snprintf(what, sizeof what, "%s step %d w", name, step);
        t = tdl_test_tensor(&st, key, NULL);
        tdl_test_allclose(what, w, t, 12, ADAM_ATOL, ADAM_RTOL);
        free(t);
        snprintf(key, sizeof key, "adam.b%d", step);
        snprintf(what, sizeof what, "%s step %d b", name, step);
        t = tdl_test_tensor(&st, key, NULL);
        tdl_test_allclose(what, b, t, 5, ADAM_ATOL, ADAM_RTOL);
        free(t);
        snprintf(key, sizeof key, "adam.lr%d", step);
        snprintf(what, sizeof what, "%s step %d lr", name, step);
        t = tdl_test_tensor(&st, key, NULL);
        float lrf = (float)opt.lr;
        tdl_test_allclose(what, &lrf, t, 1, 0.0, 1e-7);
        free(t);
    }
    int i = tdl_params_find(&p, "w");
    t = tdl_test_tensor(&st, "adam.m_w", NULL);
    snprintf(what, sizeof what, "%s exp_avg", name);
    tdl_test_allclose(what, p.m + p.items[i].offset, t, 12, 1e-9, ADAM_RTOL);
    free(t);
    t = tdl_test_tensor(&st, "adam.v_w", NULL);
    snprintf(what, sizeof what, "%s exp_avg_sq", name);
    tdl_test_allclose(what, p.v + p.items[i].offset, t, 12, 1e-12, ADAM_RTOL);
    free(t);
    int untouched = 1;
    for (int k = 0; k < 7; k++) untouched &= fixed[k] == (float)k;
    TDL_CHECK(untouched, "Adam changed a fixed (non-trainable) tensor");
    tdl_params_free(&p);
    tdl_safetensors_free(&st);
}

/* First step by hand: m = 0.1 g, v = 0.001 g^2, bias-corrected update is
 * lr * g / (|g| + eps/... ) = lr * sign(g) up to eps. */
static void test_first_step(void) {
    tdl_params p;
    tdl_params_init(&p);
    tdl_params_add(&p, "x", 1, (int64_t[]){3}, 1);
    tdl_params_alloc(&p);
    float *x = tdl_params_data(&p, "x"), *g = tdl_params_gradient(&p, "x");
    x[0] = 1.0f; x[1] = -2.0f; x[2] = 0.5f;
    g[0] = 0.3f; g[1] = -4.0f; g[2] = 0.0f;
    tdl_adam a;
    tdl_adam_init(&a, 0.1);
    tdl_adam_step(&a, &p);
    /* eps after the square root: |g| = 0.3 gives 0.1 * 0.3 / (0.3 + 1e-8). */
    float want[3] = {(float)(1.0 - 0.1 * 0.3 / (0.3 + 1e-8)), (float)(-2.0 + 0.1 * 4.0 / (4.0 + 1e-8)),
                     0.5f};
    tdl_test_allclose("first step by hand", x, want, 3, 1e-7, 1e-7);
    tdl_params_free(&p);
}

int main(void) {
    test_first_step();
    run_fixture("adam", 1e-2, 0.0, 2, 0.05);
    run_fixture("adam_wd", 3e-3, 0.1, 3, 0.5);
    return tdl_test_done("test_adam");
}
