/* test_ddpm.c: the DDPM (ddpm.h) and its trainer (diffusion_train.h).
 *   - schedule, q_sample, reverse step against tools/fixturegen/ddpm.py
 *     (the PyTorch reference's Schedule, q_sample, reverse_step);
 *   - the loss, eps_hat and every parameter gradient of a very small UNet
 *     against PyTorch's ddpm_loss;
 *   - sampling: determinism, seeds, chunking, trajectory retention (the kept
 *     states are those of a full trajectory, and each follows from the
 *     previous by one reverse step with the documented noise);
 *   - model files: round trip, a state_dict export, hostile files;
 *   - training: tiling, skipped non-finite steps, checkpoint round trip and a
 *     resumed run bit-identical to an uninterrupted one. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tdl/ddpm.h"
#include "tdl/diffusion_train.h"
#include "tdl_test.h"

enum { D = 28 * 28 };

/* 1 when buffer `which` (0 values, 1 m, 2 v) of a and b holds the same
 * tensors bit for bit (padding between tensors excluded). */
static int same_tensors(const tdl_params *a, const tdl_params *b, int which) {
    if (a->count != b->count) return 0;
    const float *x = which == 0 ? a->param : which == 1 ? a->m : a->v;
    const float *y = which == 0 ? b->param : which == 1 ? b->m : b->v;
    for (int i = 0; i < a->count; i++) {
        const tdl_param *p = &a->items[i], *q = &b->items[i];
        if (p->numel != q->numel || strcmp(p->name, q->name) != 0 ||
            memcmp(x + p->offset, y + q->offset, p->numel * sizeof(float)) != 0)
            return 0;
    }
    return 1;
}

/* The fixture's MINI UNet: ch 8, [1, 2], attention at level 1, 1 block, 4
 * groups, T 10 (tools/fixturegen/ddpm.py). */
static tdl_ddpm_config mini_config(int T) {
    tdl_ddpm_config c;
    memset(&c, 0, sizeof c);
    c.unet.ch = 8;
    c.unet.levels = 2;
    c.unet.ch_mult[0] = 1;
    c.unet.ch_mult[1] = 2;
    c.unet.attn[1] = 1;
    c.unet.num_res_blocks = 1;
    c.unet.dropout = 0.1f;
    c.unet.groups = 4;
    c.unet.T = T;
    c.unet.image = 28;
    c.beta_1 = TDL_DDPM_BETA_1;
    c.beta_T = TDL_DDPM_BETA_T;
    return c;
}

static void test_schedule(const tdl_safetensors *st) {
    const struct { int T; double b1, bT; } cases[] = {{500, 0.05, 0.1}, {100, 0.05, 0.1},
                                                       {7, 0.01, 0.2}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        tdl_ddpm_schedule s;
        TDL_CHECK(tdl_ddpm_schedule_init(&s, cases[c].T, cases[c].b1, cases[c].bT) == TDL_OK,
                  "%s", tdl_last_error());
        const char *keys[3] = {"betas", "abar", "sigma"};
        const double *mine[3] = {s.beta, s.abar, s.sigma};
        for (int k = 0; k < 3; k++) {
            char name[64];
            size_t n;
            snprintf(name, sizeof name, "T%d.%s", cases[c].T, keys[k]);
            float *want = tdl_test_tensor(st, name, &n);
            TDL_CHECK(n == (size_t)cases[c].T, "%s has %zu values", name, n);
            float *got = tdl_test_floats(n);
            for (size_t i = 0; i < n; i++) got[i] = (float)mine[k][i];
            /* float32 fixture of double values: both rounded the same way */
            tdl_test_allclose(name, got, want, n, 0.0, 0.0);
            free(got);
            free(want);
        }
        TDL_CHECK(s.sigma[0] == 0.0, "sigma_0 = %g", s.sigma[0]);
        tdl_ddpm_schedule_free(&s);
    }
    /* the exact double values the fixture states as text */
    tdl_ddpm_schedule s;
    tdl_ddpm_schedule_init(&s, 500, 0.05, 0.1);
    double abar = strtod(tdl_safetensors_meta(st, "T500.abar.last"), NULL);
    double sig1 = strtod(tdl_safetensors_meta(st, "T500.sigma.1"), NULL);
    double b250 = strtod(tdl_safetensors_meta(st, "T500.beta.250"), NULL);
    TDL_CHECK(fabs(s.abar[499] - abar) <= 1e-14 * abar, "abar_499 %.17g vs %.17g", s.abar[499],
              abar);
    TDL_CHECK(fabs(s.sigma[1] - sig1) <= 1e-15, "sigma_1 %.17g vs %.17g", s.sigma[1], sig1);
    /* torch.linspace's vectorised evaluation may differ in the last bit */
    TDL_CHECK(fabs(s.beta[250] - b250) <= 4e-16 * b250, "beta_250 %.17g vs %.17g (torch.linspace)",
              s.beta[250], b250);
    TDL_CHECK(s.beta[0] == 0.05 && s.beta[499] == 0.1, "ends %.17g %.17g", s.beta[0],
              s.beta[499]);
    tdl_ddpm_schedule_free(&s);
    tdl_ddpm_schedule_init(&s, 7, 0.01, 0.2);
    double b3 = strtod(tdl_safetensors_meta(st, "T7.beta.3"), NULL);
    TDL_CHECK(fabs(s.beta[3] - b3) <= 4e-16 * b3, "T7 beta_3 %.17g vs %.17g", s.beta[3], b3);
    tdl_ddpm_schedule_free(&s);
    /* the closed form of sigma_t^2 (1 - abar_t) = (1 - abar_{t-1}) beta_t */
    tdl_ddpm_schedule_init(&s, 100, 0.05, 0.1);
    double worst = 0;
    for (int t = 1; t < 100; t++) {
        double lhs = s.sigma[t] * s.sigma[t] * (1 - s.abar[t]);
        double rhs = (1 - s.abar[t - 1]) * s.beta[t];
        worst = fmax(worst, fabs(lhs - rhs) / rhs);
    }
    TDL_CHECK(worst < 1e-14, "sigma closed form off by %g", worst);
    tdl_ddpm_schedule_free(&s);
    tdl_ddpm_schedule s2;
    TDL_CHECK(tdl_ddpm_schedule_init(&s2, 0, 0.05, 0.1) == TDL_ERR_INVALID, "T = 0 accepted");
    TDL_CHECK(tdl_ddpm_schedule_init(&s2, 10, 0.2, 0.1) == TDL_ERR_INVALID, "b1 > bT accepted");
    TDL_CHECK(tdl_ddpm_schedule_init(&s2, 10, 0.05, 1.0) == TDL_ERR_INVALID, "bT = 1 accepted");
    TDL_CHECK(tdl_ddpm_schedule_init(&s2, 10, NAN, 0.1) == TDL_ERR_INVALID, "NaN accepted");
}

static void test_steps(const tdl_safetensors *st) {
    tdl_ddpm_schedule s;
    tdl_ddpm_schedule_init(&s, 500, 0.05, 0.1);
    float *x0 = tdl_test_tensor(st, "q.x0", NULL), *eps = tdl_test_tensor(st, "q.eps", NULL);
    float *tf = tdl_test_tensor(st, "q.t", NULL), *want = tdl_test_tensor(st, "q.xt", NULL);
    int t[3];
    for (int b = 0; b < 3; b++) t[b] = (int)tf[b];
    float *xt = tdl_test_floats(3 * D);
    tdl_ddpm_q_sample(&s, xt, x0, t, eps, 3, D);
    tdl_test_allclose("q_sample vs PyTorch", xt, want, 3 * D, 1e-6, 1e-6);
    free(x0); free(eps); free(tf); free(want); free(xt);

    float *x = tdl_test_tensor(st, "r.x", NULL), *eh = tdl_test_tensor(st, "r.eps_hat", NULL);
    float *z = tdl_test_tensor(st, "r.z", NULL), *out = tdl_test_floats(D);
    const int ts[4] = {0, 1, 250, 499};
    for (int k = 0; k < 4; k++) {
        char name[64];
        snprintf(name, sizeof name, "r.out%d", ts[k]);
        float *w = tdl_test_tensor(st, name, NULL);
        tdl_ddpm_reverse_step(&s, out, x, eh, ts[k], ts[k] ? z : NULL, D);
        snprintf(name, sizeof name, "reverse step t=%d vs PyTorch", ts[k]);
        tdl_test_allclose(name, out, w, D, 1e-6, 1e-6);
        free(w);
    }
    /* the mean alone is the step at t = 0 (sigma_0 = 0) */
    float *w0 = tdl_test_tensor(st, "r.out0", NULL);
    tdl_ddpm_mean(&s, out, x, eh, 0, D);
    tdl_test_allclose("mean at t=0 vs PyTorch", out, w0, D, 1e-6, 1e-6);
    free(w0);
    /* in place gives the same */
    float *y = tdl_test_floats(D), *w = tdl_test_tensor(st, "r.out250", NULL);
    memcpy(y, x, D * sizeof(float));
    tdl_ddpm_reverse_step(&s, y, y, eh, 250, z, D);
    tdl_test_allclose("reverse step in place", y, w, D, 1e-6, 1e-6);
    free(x); free(eh); free(z); free(out); free(y); free(w);
    tdl_ddpm_schedule_free(&s);
}

/* Copy every tensor of the model's table from the fixture (which holds more). */
static void load_mini(tdl_ddpm *m, const tdl_safetensors *st) {
    const tdl_params *p = &m->unet.params;
    for (int i = 0; i < p->count; i++) {
        const tdl_param *q = &p->items[i];
        tdl_status s = tdl_safetensors_get(st, q->name, p->param + q->offset, q->ndim, q->shape);
        TDL_CHECK(s == TDL_OK, "%s", tdl_last_error());
    }
}

static void test_loss(const tdl_safetensors *st) {
    tdl_ddpm_config c = mini_config(10);
    tdl_ddpm m;
    TDL_CHECK(tdl_ddpm_init(&m, &c, 1) == TDL_OK, "%s", tdl_last_error());
    load_mini(&m, st);
    tdl_ddpm_work w;
    TDL_CHECK(tdl_ddpm_work_init(&w, &m, 2, 1) == TDL_OK, "%s", tdl_last_error());
    float *x0 = tdl_test_tensor(st, "l.x0", NULL), *eps = tdl_test_tensor(st, "l.eps", NULL);
    float *tf = tdl_test_tensor(st, "l.t", NULL), *lw = tdl_test_tensor(st, "l.loss", NULL);
    float *ehw = tdl_test_tensor(st, "l.eps_hat", NULL);
    int t[2] = {(int)tf[0], (int)tf[1]};
    tdl_params_zero_grad(&m.unet.params);
    double L = tdl_ddpm_loss_given(&m, &w, x0, t, eps, 2, 0, NULL);
    float Lf = (float)L;
    tdl_test_allclose("loss vs PyTorch", &Lf, lw, 1, 0, 1e-5);
    tdl_test_allclose("eps_hat vs PyTorch", w.eps_hat, ehw, 2 * D, 1e-5, 1e-4);
    const tdl_params *p = &m.unet.params;
    int nbad = 0, nchecked = 0;
    /* The largest gradient of all: the floor of the tolerance, since some
     * gradients are zero in exact arithmetic and rounding noise in both
     * (proj_k.bias: softmax ignores a constant added to every key). */
    double gall = 0;
    for (int i = 0; i < p->count; i++) {
        if (!p->items[i].trainable) continue;
        char name[TDL_PARAM_NAME_MAX + 8];
        snprintf(name, sizeof name, "grad.%s", p->items[i].name);
        size_t n;
        float *g = tdl_test_tensor(st, name, &n);
        for (size_t k = 0; k < n; k++) gall = fmax(gall, fabs(g[k]));
        free(g);
    }
    for (int i = 0; i < p->count; i++) {
        const tdl_param *q = &p->items[i];
        if (!q->trainable) continue;
        char name[TDL_PARAM_NAME_MAX + 8];
        snprintf(name, sizeof name, "grad.%s", q->name);
        float *g = tdl_test_tensor(st, name, NULL);
        double gmax = 0;
        for (size_t k = 0; k < q->numel; k++) gmax = fmax(gmax, fabs(g[k]));
        /* errors relative to the tensor's largest gradient, floored at 1e-7
         * of the largest of all */
        double atol = 1e-4 * gmax + 1e-7 * gall;
        int ok = 1;
        for (size_t k = 0; k < q->numel; k++) {
            double a = p->grad[q->offset + k], b = g[k];
            if (!(fabs(a - b) <= atol + 1e-4 * fabs(b))) ok = 0;
        }
        if (!ok) {
            nbad++;
            tdl_test_allclose(name, p->grad + q->offset, g, q->numel, atol, 1e-4);
        }
        nchecked++;
        free(g);
    }
    printf("%s loss gradients vs PyTorch: %d tensors, %d outside 1e-4 of their max (+1e-7 of "
           "the largest, %.3g)\n", nbad ? "FAIL" : "ok  ", nchecked, nbad, gall);
    TDL_CHECK(nbad == 0 && nchecked > 10, "%d of %d gradient tensors differ", nbad, nchecked);
    free(x0); free(eps); free(tf); free(lw); free(ehw);
    tdl_ddpm_work_free(&w);
    tdl_ddpm_free(&m);
}

/* A gradient work runs batches above its chunk (tdl_ddpm_grad_chunk: 32 for
 * this small network) in chunks: a batch of chunk + 4 images gives the loss
 * and gradients of the mean over separate passes of 4 images (each weighted
 * 4/N), to rounding. */
static void test_chunks(const tdl_safetensors *st) {
    enum { P = 4 };
    tdl_ddpm_config c = mini_config(10);
    tdl_ddpm m;
    TDL_CHECK(tdl_ddpm_init(&m, &c, 1) == TDL_OK, "%s", tdl_last_error());
    load_mini(&m, st);
    tdl_params *p = &m.unet.params;
    const int chunk = tdl_ddpm_grad_chunk(&m), N = chunk + P;
    TDL_CHECK(chunk == TDL_DDPM_GRAD_CHUNK_MAX, "chunk %d for a small network", chunk);
    tdl_ddpm_work big, part;
    TDL_CHECK(tdl_ddpm_work_init(&big, &m, N, 1) == TDL_OK, "%s", tdl_last_error());
    TDL_CHECK(tdl_ddpm_work_init(&part, &m, P, 1) == TDL_OK, "%s", tdl_last_error());
    TDL_CHECK(big.chunk == chunk && part.chunk == P, "chunk %d / %d", big.chunk, part.chunk);
    float *x0 = malloc(N * D * sizeof(float)), *eps = malloc(N * D * sizeof(float)); /* (N, D) */
    float *want = calloc(p->total, sizeof(float));
    int *t = malloc(N * sizeof *t); /* (N) */
    tdl_rng r;
    tdl_rng_init(&r, 11, 0);
    tdl_rng_fill_uniform(&r, x0, (size_t)N * D, 0.0f, 1.0f);
    tdl_rng_fill_normal(&r, eps, (size_t)N * D, 0.0f, 1.0f);
    for (int b = 0; b < N; b++) t[b] = (int)tdl_rng_below(&r, 10);
    double lsum = 0;
    for (int b0 = 0; b0 < N; b0 += P) {
        tdl_params_zero_grad(p);
        lsum += tdl_ddpm_loss_given(&m, &part, x0 + (size_t)b0 * D, t + b0, eps + (size_t)b0 * D,
                                    P, 0, NULL);
        for (size_t i = 0; i < p->total; i++) want[i] += (float)P / N * p->grad[i];
    }
    tdl_params_zero_grad(p);
    double L = tdl_ddpm_loss_given(&m, &big, x0, t, eps, N, 0, NULL);
    TDL_CHECK(fabs(L - lsum * P / N) <= 1e-6 * fabs(L), "chunked loss %.9g vs %.9g", L,
              lsum * P / N);
    double gmax = 0;
    for (size_t i = 0; i < p->total; i++) gmax = fmax(gmax, fabs(want[i]));
    tdl_test_allclose("chunked batch gradients vs separate passes", p->grad, want, p->total,
                      1e-6 * gmax, 1e-4);
    free(x0); free(eps); free(want); free(t);
    tdl_ddpm_work_free(&big);
    tdl_ddpm_work_free(&part);
    tdl_ddpm_free(&m);
}

/* The standard normal of image i, block blk, as the sampler documents it. */
static void noise(float *x, uint64_t seed, uint64_t i, uint64_t blk) {
    tdl_rng r;
    tdl_rng_init(&r, seed, i);
    r.pos = blk * D * 4;
    tdl_rng_fill_normal(&r, x, D, 0.0f, 1.0f);
}

static void test_sampling(const tdl_safetensors *st) {
    enum { T = 12, N = 5, K = 4 };
    tdl_ddpm_config c = mini_config(T);
    tdl_ddpm m;
    tdl_ddpm_init(&m, &c, 3);
    /* the fixture's trained-like weights minus the time table (T differs) */
    const tdl_params *p = &m.unet.params;
    for (int i = 0; i < p->count; i++)
        if (p->items[i].trainable)
            tdl_safetensors_get(st, p->items[i].name, p->param + p->items[i].offset,
                                p->items[i].ndim, p->items[i].shape);
    tdl_ddpm_work w5, w2;
    tdl_ddpm_work_init(&w5, &m, N, 0);
    tdl_ddpm_work_init(&w2, &m, 2, 0);
    float *a = tdl_test_floats(N * D), *b = tdl_test_floats(N * D), *e = tdl_test_floats(N * D);
    TDL_CHECK(tdl_ddpm_sample(&m, &w5, 7, N, a, 0, NULL, NULL, NULL, NULL) == TDL_OK, "sample");
    tdl_ddpm_sample(&m, &w5, 7, N, b, 0, NULL, NULL, NULL, NULL);
    TDL_CHECK(memcmp(a, b, N * D * sizeof(float)) == 0, "same seed twice differs");
    int finite = 1;
    for (size_t i = 0; i < N * D; i++) finite &= isfinite(a[i]) != 0;
    TDL_CHECK(finite, "non-finite sample");
    tdl_ddpm_sample(&m, &w5, 8, N, e, 0, NULL, NULL, NULL, NULL);
    TDL_CHECK(memcmp(a, e, N * D * sizeof(float)) != 0, "another seed gives the same images");
    /* chunks of 2, 2, 1 */
    tdl_ddpm_sample(&m, &w2, 7, N, b, 0, NULL, NULL, NULL, NULL);
    tdl_test_allclose("chunks of 2 vs one chunk of 5", b, a, N * D, 1e-5, 1e-5);
    printf("     chunked sampling bit-identical: %s\n",
           memcmp(a, b, N * D * sizeof(float)) == 0 ? "yes" : "no");
    /* the first 3 images of a call are the first 3 of a larger call */
    tdl_ddpm_sample(&m, &w5, 7, 3, b, 0, NULL, NULL, NULL, NULL);
    tdl_test_allclose("3 images == first 3 of 5", b, a, 3 * D, 1e-5, 1e-5);

    /* trajectory: K = 4 kept of a full one (K = T) */
    float *tr = tdl_test_floats((size_t)N * (K + 1) * D);
    float *full = tdl_test_floats((size_t)N * (T + 1) * D);
    int tt[K + 1], tfull[T + 1];
    tdl_ddpm_sample(&m, &w2, 7, N, b, K, tr, tt, NULL, NULL);
    tdl_ddpm_sample(&m, &w2, 7, N, e, T, full, tfull, NULL, NULL);
    TDL_CHECK(memcmp(b, e, N * D * sizeof(float)) == 0, "retention changed the samples");
    TDL_CHECK(tt[0] == K - 1 && tt[K - 1] == 0 && tt[K] == -1, "labels %d %d %d", tt[0],
              tt[K - 1], tt[K]);
    TDL_CHECK(tfull[0] == T - 1, "full label %d", tfull[0]);
    int same = 1, last = 1;
    for (int i = 0; i < N; i++) {
        same &= memcmp(tr + (size_t)i * (K + 1) * D,
                       full + ((size_t)i * (T + 1) + (T - K)) * D, (K + 1) * D * sizeof(float)) == 0;
        last &= memcmp(tr + ((size_t)i * (K + 1) + K) * D, b + (size_t)i * D, D * sizeof(float)) == 0;
    }
    TDL_CHECK(same, "the kept states differ from the full trajectory's last K + 1");
    TDL_CHECK(last, "the last kept state is not the sample");
    /* each kept state follows from the previous by one reverse step with
     * the documented noise: image 3, the state before step t = K-1-k */
    float *x = tdl_test_floats(D), *eh = tdl_test_floats(D), *z = tdl_test_floats(D);
    tdl_unet_cache *cache;
    tdl_unet_cache_init(&cache, &m.unet, 1, 0);
    double worst = 0;
    for (int k = 0; k < K; k++) {
        int t = K - 1 - k;
        const float *in = tr + ((size_t)3 * (K + 1) + (size_t)k) * D;
        const float *next = tr + ((size_t)3 * (K + 1) + (size_t)k + 1) * D;
        tdl_unet_forward(&m.unet, cache, in, &t, eh, 1, 0, NULL);
        noise(z, 7, 3, (uint64_t)(T - t));
        tdl_ddpm_reverse_step(&m.sched, x, in, eh, t, t ? z : NULL, D);
        for (int j = 0; j < D; j++) worst = fmax(worst, fabs(x[j] - next[j]));
    }
    TDL_CHECK(worst <= 1e-5, "a kept state is not one reverse step from the previous (%g)", worst);
    printf("%s kept states chain by reverse steps: worst %.3g\n", worst <= 1e-5 ? "ok  " : "FAIL",
           worst);
    /* the start of a full trajectory is the documented N(0, I) draw */
    noise(x, 7, 2, 0);
    TDL_CHECK(memcmp(x, full + (size_t)2 * (T + 1) * D, D * sizeof(float)) == 0,
              "x_T of image 2 is not its block 0 draw");
    TDL_CHECK(tdl_ddpm_sample(&m, &w2, 7, N, b, T + 1, tr, tt, NULL, NULL) == TDL_ERR_INVALID,
              "K > T accepted");
    TDL_CHECK(tdl_ddpm_sample(&m, &w2, 7, 0, b, 0, NULL, NULL, NULL, NULL) == TDL_ERR_INVALID,
              "N = 0 accepted");
    tdl_unet_cache_free(cache);
    free(x); free(eh); free(z); free(tr); free(full); free(a); free(b); free(e);
    tdl_ddpm_work_free(&w5);
    tdl_ddpm_work_free(&w2);
    tdl_ddpm_free(&m);
}

static void test_files(void) {
    char path[256];
    snprintf(path, sizeof path, "/tmp/tdl_test_ddpm_%ld.safetensors", (long)getpid());
    tdl_ddpm_config c = mini_config(10);
    c.beta_1 = 0.02;
    tdl_ddpm m, l;
    tdl_ddpm_init(&m, &c, 9);
    const char *meta[2] = {"note", "x"};
    TDL_CHECK(tdl_ddpm_save(&m, path, meta, 1, 0) == TDL_OK, "%s", tdl_last_error());
    TDL_CHECK(tdl_ddpm_load(&l, path, NULL) == TDL_OK, "%s", tdl_last_error());
    TDL_CHECK(memcmp(&l.cfg, &m.cfg, sizeof m.cfg) == 0 ||
              (l.cfg.beta_1 == 0.02 && l.cfg.unet.ch == 8 && l.cfg.unet.T == 10),
              "config round trip");
    TDL_CHECK(l.sched.beta[0] == 0.02, "beta_1 round trip %g", l.sched.beta[0]);
    TDL_CHECK(same_tensors(&l.unet.params, &m.unet.params, 0), "values round trip");
    tdl_ddpm_free(&l);
    /* a bare state_dict (no diffusion metadata) needs an explicit config */
    TDL_CHECK(tdl_params_save(&m.unet.params, path, NULL, 0, 0) == TDL_OK, "%s", tdl_last_error());
    TDL_CHECK(tdl_ddpm_load(&l, path, NULL) == TDL_ERR_INVALID, "export without config loaded");
    TDL_CHECK(strstr(tdl_last_error(), "config") != NULL, "message: %s", tdl_last_error());
    TDL_CHECK(tdl_ddpm_load(&l, path, &c) == TDL_OK, "%s", tdl_last_error());
    TDL_CHECK(same_tensors(&l.unet.params, &m.unet.params, 0), "export values");
    tdl_ddpm_free(&l);
    /* the wrong config: a shape error naming a tensor */
    tdl_ddpm_config c16 = c;
    c16.unet.ch = 16;
    TDL_CHECK(tdl_ddpm_load(&l, path, &c16) == TDL_ERR_SHAPE, "wrong config loaded");
    tdl_ddpm_free(&l); /* cleared by a failed load: freeing again is safe */
    /* hostile files */
    FILE *f = fopen(path, "wb");
    fputs("not a model", f);
    fclose(f);
    TDL_CHECK(tdl_ddpm_load(&l, path, &c) != TDL_OK, "garbage loaded");
    TDL_CHECK(tdl_ddpm_load(&l, "/nonexistent/x.safetensors", &c) == TDL_ERR_IO, "missing file");
    /* a malformed config in the metadata */
    char unet[TDL_UNET_CONFIG_CHARS];
    tdl_unet_config_format(&c.unet, unet);
    const char *bad[6] = {"unet", unet, "beta_1", "zero", "beta_T", "0.1"};
    tdl_params_save(&m.unet.params, path, bad, 3, 0);
    TDL_CHECK(tdl_ddpm_load(&l, path, &c) == TDL_ERR_FORMAT, "bad beta_1 accepted");
    TDL_CHECK(strstr(tdl_last_error(), "beta_1") != NULL, "message: %s", tdl_last_error());
    const char *bad2[6] = {"unet", "ch=banana", "beta_1", "0.05", "beta_T", "0.1"};
    tdl_params_save(&m.unet.params, path, bad2, 3, 0);
    TDL_CHECK(tdl_ddpm_load(&l, path, &c) == TDL_ERR_FORMAT, "bad unet config accepted");
    remove(path);
    tdl_ddpm_free(&m);
}

/* A synthetic training series: 1000 values, a daily-like wave and noise. */
static void make_series(tdl_series *s, int n) {
    s->n = (size_t)n;
    s->v = malloc((size_t)n * sizeof(double));
    tdl_rng r;
    tdl_rng_init(&r, 99, 0);
    for (int i = 0; i < n; i++) s->v[i] = 1000 + 300 * sin(i * 0.2) + 50 * tdl_rng_normal(&r);
}

static void test_training(void) {
    tdl_series raw;
    make_series(&raw, 28 * 80);  /* 80 rows, 56 training rows: 2 images */
    tdl_diffusion_data data;
    TDL_CHECK(tdl_diffusion_data_prepare(&data, &raw) == TDL_OK, "%s", tdl_last_error());
    TDL_CHECK(data.rows == 56 && data.n == 2, "rows %zu images %zu", data.rows, data.n);
    /* tiling: iteration 1 of batch 3 over 2 images = images 1, 0, 1 */
    float *x0 = tdl_test_floats(3 * D);
    tdl_diffusion_batch(x0, &data, 1, 3);
    TDL_CHECK(memcmp(x0, data.images + D, D * sizeof(float)) == 0 &&
              memcmp(x0 + D, data.images, D * sizeof(float)) == 0 &&
              memcmp(x0 + 2 * D, data.images + D, D * sizeof(float)) == 0, "tiling");
    free(x0);

    tdl_ddpm_config mc = mini_config(10);
    tdl_diffusion_train_config tc = {.iters = 6, .batch = 3, .lr = 1e-3, .seed = 5,
                                     .t_lo = 0, .t_hi = 10};
    char ck[256], fa[256], fb[256];
    snprintf(ck, sizeof ck, "/tmp/tdl_test_ddpm_%ld.ckpt.safetensors", (long)getpid());
    snprintf(fa, sizeof fa, "/tmp/tdl_test_ddpm_%ld.a.safetensors", (long)getpid());
    snprintf(fb, sizeof fb, "/tmp/tdl_test_ddpm_%ld.b.safetensors", (long)getpid());
    /* A: 6 iterations, checkpoint after 3 */
    tdl_ddpm ma;
    tdl_diffusion_trainer ta;
    tdl_ddpm_init(&ma, &mc, tc.seed);
    TDL_CHECK(tdl_diffusion_trainer_init(&ta, &ma, &tc) == TDL_OK, "%s", tdl_last_error());
    double first = NAN, loss;
    for (int k = 0; k < 6; k++) {
        tdl_diffusion_trainer_step(&ta, &data, &loss);
        if (k == 0) first = loss;
        if (k == 2)
            TDL_CHECK(tdl_diffusion_checkpoint_save(&ta, ck, "test", &data) == TDL_OK, "%s",
                      tdl_last_error());
    }
    TDL_CHECK(isfinite(first) && isfinite(ta.loss) && ta.adam.t == 6 && ta.skipped == 0,
              "losses %g %g, adam %lld", first, ta.loss, (long long)ta.adam.t);
    printf("     training losses: first %.6g, sixth %.6g\n", first, ta.loss);
    tdl_diffusion_model_save(&ta, fa, "test", &data);
    /* B: resumed after 3 */
    tdl_ddpm mb;
    tdl_diffusion_trainer tb;
    tdl_diffusion_checkpoint_info info;
    TDL_CHECK(tdl_diffusion_trainer_resume(&tb, &mb, ck, &info) == TDL_OK, "%s", tdl_last_error());
    TDL_CHECK(info.iter == 3 && info.adam_t == 3 && info.cfg.batch == 3 && info.cfg.iters == 6 &&
              info.cfg.seed == 5 && info.cfg.lr == 1e-3 && info.rows == 56 &&
              strcmp(info.train_source, "test") == 0 && info.range.min == data.range.min &&
              info.range.max == data.range.max && info.mcfg.unet.ch == 8,
              "checkpoint info round trip");
    while (tb.iter < 6) tdl_diffusion_trainer_step(&tb, &data, NULL);
    size_t bytes = ma.unet.params.total * sizeof(float);
    TDL_CHECK(same_tensors(&ma.unet.params, &mb.unet.params, 0),
              "resumed weights differ from the uninterrupted run's");
    TDL_CHECK(same_tensors(&ma.unet.params, &mb.unet.params, 1) &&
              same_tensors(&ma.unet.params, &mb.unet.params, 2), "Adam moments differ");
    TDL_CHECK(ta.rng.pos == tb.rng.pos && ta.adam.t == tb.adam.t && ta.loss == tb.loss,
              "trainer state differs");
    tdl_diffusion_model_save(&tb, fb, "test", &data);
    FILE *f1 = fopen(fa, "rb"), *f2 = fopen(fb, "rb");
    int same = f1 && f2;
    while (same) {
        int c1 = fgetc(f1), c2 = fgetc(f2);
        if (c1 != c2) same = 0;
        if (c1 == EOF) break;
    }
    if (f1) fclose(f1);
    if (f2) fclose(f2);
    TDL_CHECK(same, "resumed model file != uninterrupted model file");
    printf("%s resumed run bit-identical (weights, moments, model file)\n", same ? "ok  " : "FAIL");
    /* a control: one more step changes the weights */
    tdl_diffusion_trainer_step(&tb, &data, NULL);
    TDL_CHECK(!same_tensors(&ma.unet.params, &mb.unet.params, 0),
              "a step left the weights unchanged");

    /* a non-finite input: the step is skipped and counted, weights kept */
    float *saved = tdl_test_floats(ma.unet.params.total);
    memcpy(saved, ma.unet.params.param, bytes);
    data.images[5] = NAN;
    int64_t t0 = ta.adam.t;
    tdl_diffusion_trainer_step(&ta, &data, &loss);
    TDL_CHECK(!isfinite(loss) && ta.skipped == 1 && ta.adam.t == t0, "NaN step: loss %g, "
              "skipped %lld", loss, (long long)ta.skipped);
    TDL_CHECK(memcmp(saved, ma.unet.params.param, bytes) == 0, "NaN step changed the weights");
    free(saved);

    /* config checks */
    tdl_diffusion_train_config bad = tc;
    bad.t_hi = 11;
    TDL_CHECK(tdl_diffusion_train_config_check(&bad, &mc) == TDL_ERR_INVALID, "t_hi > T");
    bad = tc;
    bad.t_lo = 10;
    TDL_CHECK(tdl_diffusion_train_config_check(&bad, &mc) == TDL_ERR_INVALID, "t_lo >= t_hi");
    bad = tc;
    bad.lr = INFINITY;
    TDL_CHECK(tdl_diffusion_train_config_check(&bad, &mc) == TDL_ERR_INVALID, "lr inf");
    tdl_ddpm_config pm;
    tdl_diffusion_train_config pt;
    TDL_CHECK(tdl_diffusion_preset("paper", &pm, &pt) == TDL_OK && pt.iters == 7000 &&
              pt.batch == 64 && pt.lr == 1e-4 && pm.unet.T == 500 && pt.t_hi == 500 &&
              pm.beta_1 == 0.05 && pm.beta_T == 0.1, "paper preset");
    TDL_CHECK(tdl_diffusion_preset("tiny-t100", &pm, &pt) == TDL_OK && pm.unet.T == 100 &&
              pt.t_hi == 100, "tiny-t100 preset");
    TDL_CHECK(tdl_diffusion_preset("huge", &pm, &pt) == TDL_ERR_INVALID, "unknown preset");

    remove(ck); remove(fa); remove(fb);
    tdl_diffusion_trainer_free(&ta);
    tdl_diffusion_trainer_free(&tb);
    tdl_ddpm_free(&ma);
    tdl_ddpm_free(&mb);
    tdl_diffusion_data_free(&data);
    tdl_series_free(&raw);
}

int main(void) {
    tdl_safetensors st;
    tdl_test_fixture(&st, "ddpm");
    test_schedule(&st);
    test_steps(&st);
    test_loss(&st);
    test_chunks(&st);
    test_sampling(&st);
    test_files();
    test_training();
    tdl_safetensors_free(&st);
    return tdl_test_done("test_ddpm");
}
