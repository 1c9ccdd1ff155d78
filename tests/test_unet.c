/* test_unet.c: the UNet (include/tdl/unet.h) against PyTorch and against
 * itself.
 *
 * PyTorch (tools/fixturegen/unet.py, reference module unet_torch.py):
 *  1. a PyTorch-initialised small-preset model is loaded with tdl_params_load
 *     (the PyTorch -> tdl import); eps on B=3 inputs with t = 0, T-1, 137 in
 *     eval mode; then with the gain-1e-5 tensors times 65536 (so that every
 *     path matters), eps, the DDPM loss and its gradient w.r.t. every
 *     parameter (strided sample of large tensors) and w.r.t. x.
 *  2. the paper's structure with 32 channels (4 levels, 2 blocks, attention
 *     at 14x14, skip resizes 7->8, 14->16, 28->32, output 32->28) and the
 *     paper's 256-channel attention ResBlocks at 14x14, weights from an exact
 *     formula both sides compute: eps, loss, every gradient and dx.
 * Self: 3. central differences of the whole network (tiny sizes with the
 *     7 -> 4 -> 8 -> 7 resizes, B=2, loss sum(eps*R) in double) for sampled
 *     elements of every tensor and of x; 4. config presets, parameter counts,
 *     text round trip, bad configs; 5. init determinism and Xavier bounds,
 *     1 vs 2 threads, dropout masks (rng-dependent, and backward uses the
 *     forward's masks: central differences in training mode with a fixed rng).
 *
 * Tolerances (float32 in another summation order; the test prints the worst
 * case of each): eps atol 2e-5 * max|eps| + rtol 1e-4 (observed 1e-6 of
 * max|eps|); for the 16-block paper shape 2e-4 * max|eps|: PyTorch's own
 * float32 eps is 9.9e-5 from its float64 eps there (formula weights give
 * sharper attention), tdl's is 9.6e-5 from PyTorch's. Losses rtol 1e-5.
 * Gradients, per tensor: atol 2e-3 * max|want| + 1e-6 * (the model's largest
 * gradient) + rtol 1e-3; the floor is for gradients that are zero in exact
 * arithmetic and float noise in both (attention's k bias; conv and temb
 * biases before a GroupNorm with one channel per group), ~1e-7 of the largest.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tdl/params.h"
#include "tdl/safetensors.h"
#include "tdl/threads.h"
#include "tdl/unet.h"
#include "tdl_test.h"

#define EPS_REL 2e-5
#define EPS_REL_DEEP 2e-4
#define EPS_RTOL 1e-4
#define LOSS_RTOL 1e-5
#define GRAD_REL 2e-3
#define GRAD_FLOOR 1e-6
#define GRAD_RTOL 1e-3
#define GAIN_SCALE 65536.0f

static const char *const gain_names[3] = {"block2.3.weight", "attn.proj.weight", "tail.2.weight"};

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void scale_gain_tensors(tdl_unet *u) {
    for (int i = 0; i < u->params.count; i++) {
        const tdl_param *t = &u->params.items[i];
        for (int k = 0; k < 3; k++)
            if (ends_with(t->name, gain_names[k])) {
                float *x = u->params.param + t->offset;
                for (size_t j = 0; j < t->numel; j++) x[j] *= GAIN_SCALE;
            }
    }
}

static void check_close(const char *what, double got, double want, double rtol) {
    int ok = fabs(got - want) <= rtol * fabs(want) + 1e-12;
    printf("%s %s: got %.9g want %.9g (rtol %g)\n", ok ? "ok  " : "FAIL", what, got, want, rtol);
    tdl_test_record(ok);
}

/* The fixture's sample of a flattened tensor of n elements (see unet.py). */
static size_t sample_stride(size_t n) { return n <= 512 ? 1 : (n + 511) / 512; }

/* Every trainable tensor's gradient (sampled) against grad.<name>; one check each. */
static void compare_grads(const tdl_unet *u, const tdl_safetensors *st, const char *tag) {
    int bad = 0, n = 0;
    double worst = 0.0, gmax = 0.0;
    const char *worst_name = "";
    for (int pass = 0; pass < 2; pass++) /* pass 0: the largest gradient of the model */
    for (int i = 0; i < u->params.count; i++) {
        const tdl_param *t = &u->params.items[i];
        if (!t->trainable) continue;
        char key[TDL_PARAM_NAME_MAX + 8];
        snprintf(key, sizeof key, "grad.%s", t->name);
        size_t m;
        float *want = tdl_test_tensor(st, key, &m);
        const size_t stride = sample_stride(t->numel);
        TDL_CHECK(m == (t->numel + stride - 1) / stride, "%s: %zu samples for %zu elements", key,
                  m, t->numel);
        double amax = 0.0;
        for (size_t j = 0; j < m; j++) amax = fmax(amax, fabs(want[j]));
        if (pass == 0) {
            gmax = fmax(gmax, amax);
            free(want);
            continue;
        }
        const float *g = u->params.grad + t->offset;
        double excess = 0.0;
        int ok = 1;
        for (size_t j = 0; j < m && j * stride < t->numel; j++) {
            const double d = fabs((double)g[j * stride] - want[j]);
            const double tol = GRAD_REL * amax + GRAD_FLOOR * gmax + GRAD_RTOL * fabs(want[j]);
            if (!(d <= tol)) ok = 0;
            if (d / tol > excess) excess = d / tol;
        }
        if (!ok) {
            printf("FAIL %s %s: worst |a-b| / tol = %.3g\n", tag, key, excess);
            bad++;
        }
        if (excess > worst) {
            worst = excess;
            worst_name = t->name;
        }
        tdl_test_record(ok);
        n++;
        free(want);
    }
    printf("%s %s: gradients of %d tensors, %d mismatched; worst |a-b|/tol %.3g (%s)\n",
           bad ? "FAIL" : "ok  ", tag, n, bad, worst, worst_name);
}

static int *fixture_t(const tdl_safetensors *st, int B) {
    size_t n;
    float *tf = tdl_test_tensor(st, "t", &n);
    TDL_CHECK((int)n == B, "t has %zu entries", n);
    int *t = calloc((size_t)B, sizeof *t);
    for (int b = 0; b < B; b++) t[b] = (int)tf[b];
    free(tf);
    return t;
}

/* eps, loss, gradients and dx of the DDPM loss on the fixture's x, t, noise. */
static void compare_loss_grads(tdl_unet *u, const tdl_safetensors *st, int B, const char *eps_key,
                               const char *loss_key, const char *tag, double eps_rel) {
    size_t n;
    float *x = tdl_test_tensor(st, "x", &n);
    float *noise = tdl_test_tensor(st, "noise", NULL);
    float *want = tdl_test_tensor(st, eps_key, NULL);
    float *loss_want = tdl_test_tensor(st, loss_key, NULL);
    float *dx_want = tdl_test_tensor(st, "dx", NULL);
    int *t = fixture_t(st, B);
    float *eps = tdl_test_floats(n), *deps = tdl_test_floats(n), *dx = tdl_test_floats(n);
    tdl_unet_cache *c;
    TDL_CHECK(tdl_unet_cache_init(&c, u, B, 1) == TDL_OK, "cache: %s", tdl_last_error());
    tdl_unet_forward(u, c, x, t, eps, B, 0, NULL);
    char what[96];
    snprintf(what, sizeof what, "%s eps", tag);
    double emax = 0.0;
    for (size_t i = 0; i < n; i++) emax = fmax(emax, fabs(want[i]));
    tdl_test_allclose(what, eps, want, n, eps_rel * emax, EPS_RTOL);
    double loss = 0.0;
    for (size_t i = 0; i < n; i++) loss += ((double)eps[i] - noise[i]) * ((double)eps[i] - noise[i]);
    loss /= (double)n;
    snprintf(what, sizeof what, "%s DDPM loss", tag);
    check_close(what, loss, loss_want[0], LOSS_RTOL);
    for (size_t i = 0; i < n; i++) deps[i] = 2.0f * (eps[i] - noise[i]) / (float)n;
    tdl_params_zero_grad(&u->params);
    tdl_unet_backward(u, c, deps, dx, B);
    compare_grads(u, st, tag);
    double amax = 0.0;
    for (size_t i = 0; i < n; i++) amax = fmax(amax, fabs(dx_want[i]));
    snprintf(what, sizeof what, "%s dx", tag);
    tdl_test_allclose(what, dx, dx_want, n, GRAD_REL * amax, GRAD_RTOL);
    tdl_unet_cache_free(c);
    free(x), free(noise), free(want), free(loss_want), free(dx_want), free(t), free(eps);
    free(deps), free(dx);
}

/* ------------------------------------------------------ 1. small preset */
static void test_small_torch(void) {
    tdl_unet_config cfg;
    TDL_CHECK(tdl_unet_config_preset(&cfg, "small") == TDL_OK, "preset");
    tdl_unet u;
    TDL_CHECK(tdl_unet_init(&u, &cfg, 1) == TDL_OK, "init: %s", tdl_last_error());
    /* the C sinusoid table equals PyTorch's (float32 sin/cos of float32 args) */
    float *table = tdl_params_data(&u.params, "backbone.time_embedding.timembedding.0.weight");
    const size_t tn = (size_t)cfg.T * cfg.ch;
    float *mine = tdl_test_floats(tn);
    memcpy(mine, table, tn * sizeof *mine);
    tdl_status s = tdl_params_load(&u.params, TDL_FIXTURE_DIR "/unet_small_model.safetensors", 0);
    TDL_CHECK(s == TDL_OK, "load the PyTorch state_dict: %s", tdl_last_error());
    tdl_test_allclose("time table (tdl init vs torch)", mine, table, tn, 5e-5, 0.0);
    free(mine);

    tdl_safetensors st;
    tdl_test_fixture(&st, "unet_small");
    const int B = 3;
    size_t n;
    float *x = tdl_test_tensor(&st, "x", &n);
    float *want = tdl_test_tensor(&st, "eps", NULL);
    int *t = fixture_t(&st, B);
    float *eps = tdl_test_floats(n);
    tdl_unet_cache *c;
    TDL_CHECK(tdl_unet_cache_init(&c, &u, B, 0) == TDL_OK, "cache: %s", tdl_last_error());
    tdl_unet_forward(&u, c, x, t, eps, B, 0, NULL);
    /* PyTorch's init makes eps tiny (gain 1e-5 on the tail): relative to its scale */
    double amax = 0.0;
    for (size_t i = 0; i < n; i++) amax = fmax(amax, fabs(want[i]));
    tdl_test_allclose("small torch-init eps (inference cache)", eps, want, n, EPS_REL * amax,
                      EPS_RTOL);
    tdl_unet_cache_free(c);
    free(x), free(want), free(t), free(eps);

    scale_gain_tensors(&u);
    compare_loss_grads(&u, &st, B, "eps_scaled", "loss_scaled", "small x65536", EPS_REL);
    tdl_safetensors_free(&st);
    tdl_unet_free(&u);
}

/* ------------------------------------------- 2. paper structure, formula */
static void fill_formula(tdl_unet *u, const tdl_safetensors *st) {
    for (int i = 0; i < u->params.count; i++) {
        const tdl_param *t = &u->params.items[i];
        float *x = u->params.param + t->offset;
        if (!t->trainable) {
            float *table = tdl_test_tensor(st, "table", NULL);
            memcpy(x, table, t->numel * sizeof *x);
            free(table);
            continue;
        }
        uint64_t salt = 0;
        for (const unsigned char *p = (const unsigned char *)t->name; *p; p++) salt += *p;
        const int gn = strstr(t->name, "block1.0.") || strstr(t->name, "block2.0.") ||
                       strstr(t->name, "group_norm.") || strstr(t->name, "tail.0.");
        const int weight = ends_with(t->name, "weight");
        int e = 0;
        if (!gn && weight) {
            const int64_t fan_in = t->shape[1] * (t->ndim == 4 ? t->shape[2] * t->shape[3] : 1);
            while (((int64_t)1 << (2 * e)) < fan_in) e++;
        }
        for (size_t j = 0; j < t->numel; j++) {
            const uint64_t h = ((uint64_t)j * 2654435761ull + salt * 40503ull) % 4093ull;
            const double v = ((double)h - 2046.0) / 2048.0;
            double w;
            if (gn) w = weight ? 1.0 + v / 8.0 : v / 8.0;
            else if (!weight) w = v / 16.0;
            else w = ldexp(v, -e);
            x[j] = (float)w;
        }
    }
}

static void formula_case(const char *fixture, const char *cfg_text, int B, double eps_rel) {
    tdl_unet_config cfg;
    TDL_CHECK(tdl_unet_config_parse(&cfg, cfg_text) == TDL_OK, "parse %s: %s", cfg_text,
              tdl_last_error());
    tdl_unet u;
    TDL_CHECK(tdl_unet_init(&u, &cfg, 3) == TDL_OK, "init: %s", tdl_last_error());
    tdl_safetensors st;
    tdl_test_fixture(&st, fixture);
    fill_formula(&u, &st);
    compare_loss_grads(&u, &st, B, "eps", "loss", fixture, eps_rel);
    tdl_safetensors_free(&st);
    tdl_unet_free(&u);
}

static void test_paper_torch(void) {
    formula_case("unet_paper_shape",
                 "ch=32;ch_mult=1,2,2,2;attn=0,1,0,0;blocks=2;dropout=0.1;groups=32;T=100;image=28",
                 2, EPS_REL_DEEP);
    formula_case("unet_paper_block",
                 "ch=256;ch_mult=1;attn=1;blocks=1;dropout=0.1;groups=32;T=100;image=14", 1,
                 EPS_REL);
}

/* -------------------------------------------- 3. central differences */
typedef struct fd_ctx {
    tdl_unet *u;
    tdl_unet_cache *c;
    const float *x;
    const int *t;
    const float *R;
    float *eps;
    int B, train;
    tdl_rng rng; /* the rng state every training forward starts from */
} fd_ctx;

static double fd_loss(void *p) {
    fd_ctx *f = p;
    tdl_rng r = f->rng;
    tdl_unet_forward(f->u, f->c, f->x, f->t, f->eps, f->B, f->train, &r);
    const size_t n = (size_t)f->B * f->u->cfg.image * f->u->cfg.image;
    return tdl_test_dot(f->eps, f->R, n);
}

static const char *tiny_cfg =
    "ch=8;ch_mult=1,2;attn=0,1;blocks=1;dropout=0.25;groups=4;T=10;image=7";

/* analytic gradients of sum(eps*R) for the fixed rng, then central differences
 * on up to `per` elements of every tensor (only those named in `only` if not NULL). */
static void gradcheck_network(int train, int per, const char *only, const char *tag) {
    tdl_unet_config cfg;
    TDL_CHECK(tdl_unet_config_parse(&cfg, tiny_cfg) == TDL_OK, "parse: %s", tdl_last_error());
    tdl_unet u;
    TDL_CHECK(tdl_unet_init(&u, &cfg, 11) == TDL_OK, "init: %s", tdl_last_error());
    scale_gain_tensors(&u);
    /* nonzero biases and GroupNorm affines so their paths are exercised */
    tdl_rng r;
    tdl_rng_init(&r, 99, 0);
    for (int i = 0; i < u.params.count; i++) {
        const tdl_param *t = &u.params.items[i];
        if (!t->trainable || t->ndim != 1) continue;
        float *x = u.params.param + t->offset;
        for (size_t j = 0; j < t->numel; j++) x[j] += 0.2f * (tdl_rng_uniform(&r) - 0.5f);
    }
    const int B = 2, S = cfg.image;
    const size_t n = (size_t)B * S * S;
    float *x = tdl_test_uniform(n, -1.5f, 1.5f, 1);
    float *R = tdl_test_uniform(n, -1.0f, 1.0f, 2);
    float *eps = tdl_test_floats(n), *dx = tdl_test_floats(n);
    const int t[2] = {0, 9};
    fd_ctx f = {.u = &u, .x = x, .t = t, .R = R, .eps = eps, .B = B, .train = train};
    tdl_rng_init(&f.rng, 2024, 5);
    TDL_CHECK(tdl_unet_cache_init(&f.c, &u, B, 1) == TDL_OK, "cache: %s", tdl_last_error());
    fd_loss(&f);
    tdl_params_zero_grad(&u.params);
    tdl_unet_backward(&u, f.c, R, dx, B);
    float *grad = tdl_test_floats(u.params.total);
    memcpy(grad, u.params.grad, u.params.total * sizeof *grad);
    int tensors = 0;
    for (int i = 0; i < u.params.count; i++) {
        const tdl_param *p = &u.params.items[i];
        if (!p->trainable || (only && !strstr(p->name, only))) continue;
        char what[192];
        snprintf(what, sizeof what, "%s %s", tag, p->name);
        tdl_test_gradcheck(what, fd_loss, &f, u.params.param + p->offset, grad + p->offset,
                           p->numel, 1e-2, 2e-3, 2e-2, NULL, (size_t)per);
        tensors++;
    }
    char what[64];
    snprintf(what, sizeof what, "%s x", tag);
    tdl_test_gradcheck(what, fd_loss, &f, x, dx, n, 1e-2, 2e-3, 2e-2, NULL, 24);
    printf("     %s: %d tensors checked\n", tag, tensors);
    tdl_unet_cache_free(f.c);
    tdl_unet_free(&u);
    free(x), free(R), free(eps), free(dx), free(grad);
}

/* ------------------------------------------------------------ 4. config */
static size_t trainable_of(const char *preset) {
    tdl_unet_config cfg;
    TDL_CHECK(tdl_unet_config_preset(&cfg, preset) == TDL_OK, "preset %s", preset);
    tdl_unet u;
    TDL_CHECK(tdl_unet_init(&u, &cfg, 1) == TDL_OK, "init %s: %s", preset, tdl_last_error());
    size_t n = tdl_params_trainable(&u.params);
    tdl_unet_free(&u);
    return n;
}

static void test_config(void) {
    size_t small = trainable_of("small"), paper = trainable_of("paper");
    TDL_CHECK(small == 1112801, "small preset: %zu trainable, spec says 1112801", small);
    TDL_CHECK(paper == 35741697, "paper preset: %zu trainable, spec says 35741697", paper);
    printf("ok   trainable parameters: small %zu, paper %zu, tiny %zu\n", small, paper,
           trainable_of("tiny"));
    const char *names[6] = {"paper", "small", "tiny", "paper-t100", "small-t100", "tiny-t100"};
    for (int i = 0; i < 6; i++) {
        tdl_unet_config c, d;
        TDL_CHECK(tdl_unet_config_preset(&c, names[i]) == TDL_OK, "preset %s", names[i]);
        TDL_CHECK(tdl_unet_config_check(&c) == TDL_OK, "%s invalid: %s", names[i],
                  tdl_last_error());
        TDL_CHECK(c.T == (i < 3 ? 500 : 100), "%s: T=%d", names[i], c.T);
        char buf[TDL_UNET_CONFIG_CHARS];
        tdl_unet_config_format(&c, buf);
        memset(&d, 0x5a, sizeof d);
        TDL_CHECK(tdl_unet_config_parse(&d, buf) == TDL_OK, "parse '%s': %s", buf,
                  tdl_last_error());
        char buf2[TDL_UNET_CONFIG_CHARS];
        tdl_unet_config_format(&d, buf2);
        TDL_CHECK(strcmp(buf, buf2) == 0 && d.ch == c.ch && d.levels == c.levels &&
                      d.dropout == c.dropout && d.groups == c.groups && d.T == c.T &&
                      memcmp(d.ch_mult, c.ch_mult, sizeof c.ch_mult[0] * (size_t)c.levels) == 0 &&
                      memcmp(d.attn, c.attn, sizeof c.attn[0] * (size_t)c.levels) == 0,
                  "round trip '%s' -> '%s'", buf, buf2);
        if (i == 1)
            TDL_CHECK(strcmp(buf, "ch=32;ch_mult=1,2,2;attn=0,1,0;blocks=1;dropout=0.1;"
                                  "groups=32;T=500;image=28") == 0, "small formats as '%s'", buf);
    }
    tdl_unet_config c;
    TDL_CHECK(tdl_unet_config_preset(&c, "huge") == TDL_ERR_INVALID, "unknown preset accepted");
    TDL_CHECK(tdl_unet_config_preset(&c, "small-t50") == TDL_ERR_INVALID, "bad suffix accepted");
    /* odd dropout survives the round trip exactly */
    TDL_CHECK(tdl_unet_config_preset(&c, "tiny") == TDL_OK, "tiny");
    c.dropout = 0.123456789f;
    char buf[TDL_UNET_CONFIG_CHARS];
    tdl_unet_config_format(&c, buf);
    tdl_unet_config d;
    TDL_CHECK(tdl_unet_config_parse(&d, buf) == TDL_OK && d.dropout == c.dropout,
              "dropout round trip '%s'", buf);

    const char *bad[] = {
        "ch=32;ch_mult=1,2,2;attn=0,1,0;blocks=1;dropout=0.1;groups=24;T=500;image=28", /* groups */
        "ch=32;ch_mult=1,0;attn=0,1;blocks=1;dropout=0.1;groups=32;T=500;image=28", /* mult 0 */
        "ch=32;ch_mult=;attn=;blocks=1;dropout=0.1;groups=32;T=500;image=28",       /* levels 0 */
        "ch=32;ch_mult=1,2,2;attn=0,1;blocks=1;dropout=0.1;groups=32;T=500;image=28", /* lengths */
        "ch=32;ch_mult=1,2,2;attn=0,1,0;blocks=0;dropout=0.1;groups=32;T=500;image=28",
        "ch=32;ch_mult=1,2,2;attn=0,1,0;blocks=1;dropout=1;groups=32;T=500;image=28",
        "ch=32;ch_mult=1,2,2;attn=0,1,0;blocks=1;dropout=0.1;groups=32;T=0;image=28",
        "ch=33;ch_mult=1,2,2;attn=0,1,0;blocks=1;dropout=0.1;groups=1;T=500;image=28",
        "ch=32;ch_mult=1,2,2;attn=0,2,0;blocks=1;dropout=0.1;groups=32;T=500;image=28",
        "ch=32;ch_mult=1,2,2;attn=0,1,0;blocks=1;dropout=0.1;groups=32;T=500",       /* no image */
        "ch=32;ch_mult=1,2,2;attn=0,1,0;blocks=1;dropout=0.1;groups=32;T=500;image=28;x=1",
        "ch=32;ch_mult=1,2,2;attn=0,1,0;blocks=1x;dropout=0.1;groups=32;T=500;image=28",
        "ch=32;ch_mult=1,2,2,2,2,2,2,2,2;attn=0,0,0,0,0,0,0,0,0;blocks=1;dropout=0.1;groups=32;"
        "T=500;image=28",
        "ch=32;ch=32;ch_mult=1;attn=0;blocks=1;dropout=0.1;groups=32;T=500;image=28",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&d, 0, sizeof d);
        tdl_status s = tdl_unet_config_parse(&d, bad[i]);
        TDL_CHECK(s != TDL_OK, "accepted bad config '%s'", bad[i]);
        if (s != TDL_OK) printf("ok   rejected: %s\n", tdl_last_error());
    }
    TDL_CHECK(tdl_unet_config_preset(&c, "small") == TDL_OK, "small");
    c.levels = 0;
    TDL_CHECK(tdl_unet_config_check(&c) == TDL_ERR_INVALID, "levels 0 accepted");
    tdl_unet u;
    TDL_CHECK(tdl_unet_init(&u, &c, 1) == TDL_ERR_INVALID, "init with levels 0");
    tdl_unet_free(&u);
}

/* -------------------------------------------- 5. determinism, dropout */
static void test_determinism(void) {
    tdl_unet_config cfg;
    TDL_CHECK(tdl_unet_config_preset(&cfg, "small") == TDL_OK, "small");
    tdl_unet a, b, c;
    TDL_CHECK(tdl_unet_init(&a, &cfg, 7) == TDL_OK, "init");
    TDL_CHECK(tdl_unet_init(&b, &cfg, 7) == TDL_OK, "init");
    TDL_CHECK(tdl_unet_init(&c, &cfg, 8) == TDL_OK, "init");
    const size_t bytes = a.params.total * sizeof(float);
    TDL_CHECK(memcmp(a.params.param, b.params.param, bytes) == 0, "same seed, different init");
    TDL_CHECK(memcmp(a.params.param, c.params.param, bytes) != 0, "seeds 7 and 8 give one init");
    /* Xavier bounds: conv1 of downblocks.0 (32, 32, 3, 3): gain * sqrt(6 / (288 + 288)) */
    const struct { const char *name; double bound; } xb[3] = {
        {"backbone.downblocks.0.block1.2.weight", sqrt(6.0 / 576.0)},
        {"backbone.downblocks.0.block2.3.weight", 1e-5 * sqrt(6.0 / 576.0)},
        {"backbone.time_embedding.timembedding.3.weight", sqrt(6.0 / 256.0)},
    };
    for (int k = 0; k < 3; k++) {
        const int i = tdl_params_find(&a.params, xb[k].name);
        const tdl_param *t = &a.params.items[i];
        const float *w = a.params.param + t->offset;
        double mx = 0.0, ss = 0.0;
        for (size_t j = 0; j < t->numel; j++) {
            mx = fmax(mx, fabs(w[j]));
            ss += (double)w[j] * w[j];
        }
        const double sd = sqrt(ss / (double)t->numel), want_sd = xb[k].bound / sqrt(3.0);
        int ok = mx <= xb[k].bound && mx > 0.98 * xb[k].bound && fabs(sd / want_sd - 1.0) < 0.03;
        printf("%s Xavier %s: max %.4g sd %.4g (bound %.4g, sd %.4g)\n", ok ? "ok  " : "FAIL",
               xb[k].name, mx, sd, xb[k].bound, want_sd);
        tdl_test_record(ok);
    }
    const float *bias = tdl_params_data(&a.params, "backbone.downblocks.0.block1.2.bias");
    const float *gnw = tdl_params_data(&a.params, "backbone.downblocks.0.block1.0.weight");
    TDL_CHECK(bias[0] == 0.0f && bias[31] == 0.0f && gnw[0] == 1.0f && gnw[31] == 1.0f,
              "biases 0 and GroupNorm weights 1");
    tdl_unet_free(&b);
    tdl_unet_free(&c);

    /* 1 vs 2 threads: forward bit-identical */
    scale_gain_tensors(&a);
    const int B = 4, S = cfg.image;
    const size_t n = (size_t)B * S * S;
    float *x = tdl_test_uniform(n, -1.0f, 1.0f, 3);
    float *e1 = tdl_test_floats(n), *e2 = tdl_test_floats(n), *e3 = tdl_test_floats(n);
    const int t[4] = {0, 1, 250, 499};
    TDL_CHECK(tdl_threads_init(2) == TDL_OK, "threads");
    tdl_unet_cache *ci, *cg;
    TDL_CHECK(tdl_unet_cache_init(&ci, &a, B, 0) == TDL_OK, "cache");
    TDL_CHECK(tdl_unet_cache_init(&cg, &a, B, 1) == TDL_OK, "cache");
    tdl_unet_forward(&a, ci, x, t, e2, B, 0, NULL);
    tdl_unet_forward(&a, cg, x, t, e3, B, 0, NULL);
    TDL_CHECK(tdl_threads_init(1) == TDL_OK, "threads");
    tdl_unet_forward(&a, ci, x, t, e1, B, 0, NULL);
    TDL_CHECK(memcmp(e1, e2, n * sizeof *e1) == 0, "1 and 2 threads differ");
    TDL_CHECK(memcmp(e1, e3, n * sizeof *e1) == 0, "inference and grad caches differ");
    /* per-sample t: the same image at two t gives two outputs */
    float *x2 = tdl_test_floats(n);
    for (int k = 0; k < B; k++) memcpy(x2 + (size_t)k * S * S, x, (size_t)S * S * sizeof *x);
    tdl_unet_forward(&a, ci, x2, t, e1, B, 0, NULL);
    TDL_CHECK(memcmp(e1, e1 + S * S, (size_t)S * S * sizeof *e1) != 0, "t does not matter");
    TDL_CHECK(tdl_threads_init(2) == TDL_OK, "threads");
    /* dropout: masks follow the rng; the same rng state gives the same output */
    tdl_rng r1, r2, r3;
    tdl_rng_init(&r1, 5, 1);
    r2 = r1;
    tdl_rng_init(&r3, 6, 1);
    tdl_unet_forward(&a, cg, x, t, e1, B, 1, &r1);
    tdl_unet_forward(&a, cg, x, t, e2, B, 1, &r2);
    tdl_unet_forward(&a, cg, x, t, e3, B, 1, &r3);
    TDL_CHECK(memcmp(e1, e2, n * sizeof *e1) == 0, "same rng, different dropout");
    TDL_CHECK(memcmp(e1, e3, n * sizeof *e1) != 0, "different rng, same dropout");
    TDL_CHECK(r1.pos > 0 && r1.pos == r2.pos, "rng did not advance (%llu)",
              (unsigned long long)r1.pos);
    tdl_unet_forward(&a, ci, x, t, e2, B, 0, NULL);
    TDL_CHECK(memcmp(e1, e2, n * sizeof *e1) != 0, "train == eval output");
    printf("ok   cache bytes small B=4: inference %zu, grad %zu\n", tdl_unet_cache_bytes(ci),
           tdl_unet_cache_bytes(cg));
    TDL_CHECK(tdl_unet_cache_bytes(ci) < tdl_unet_cache_bytes(cg), "inference cache not smaller");
    tdl_unet_cache_free(ci);
    tdl_unet_cache_free(cg);
    tdl_unet_free(&a);
    free(x), free(x2), free(e1), free(e2), free(e3);
}

static double lap(const char *what) {
    static struct timespec t0;
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    if (what) printf("     (%s: %.2f s)\n", what, s);
    t0 = t1;
    return s;
}

int main(void) {
    TDL_CHECK(tdl_threads_init(2) == TDL_OK, "threads");
    lap(NULL);
    test_config();
    lap("config");
    test_determinism();
    lap("determinism");
    test_small_torch();
    lap("small vs torch");
    test_paper_torch();
    lap("paper vs torch");
    gradcheck_network(0, 4, NULL, "eval");
    lap("gradcheck eval");
    /* training mode: the same rng state each forward, so the masks are fixed;
     * backward must use the forward's masks */
    gradcheck_network(1, 3, "block", "train");
    lap("gradcheck train");
    return tdl_test_done("test_unet");
}
