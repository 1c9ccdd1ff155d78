/* predictor_pass.c: the predictor's forward and backward passes and the cache
 * that connects them (spec section 3):
 *
 *   x (B,T,1) -> lstm1 -> h1 (B,T,H1) -> norm1 -> n1 -> drop1 -> d1
 *     -> lstm2 -> h2 (B,T,H2) -> last step h2l (B,H2) -> norm2 -> n2 -> drop2
 *     -> last (B,H2) -> fc1 -> f1 (B,F) -> GELU -> a1 -> fc2 -> y (B)
 *
 * norm2 and drop2 act on each step separately and only the last step reaches
 * the head, so they run on that step alone: the same output, and the exact
 * same gradients (LayerNorm's backward of a zero gradient is zero).
 * Everything is allocated once for up to Bmax rows; a pass on B <= Bmax rows
 * uses the first B rows of every buffer. In eval mode drop1 and drop2 are the
 * identity (d1 = n1, last = n2) and backward skips them. Backward ends at
 * lstm1's parameters; tdl_predictor_backward_input also carries the gradient
 * into x (dx (B, T, 1), lstm1's dinp), which the parameter-only backward never
 * computes. */
#include <stdlib.h>
#include <string.h>

#include "tdl/nn.h"
#include "tdl/predictor.h"

struct tdl_predictor_cache {
    tdl_predictor_config cfg;
    int Bmax;
    int B;     /* rows of the last forward */
    int train; /* the last forward applied dropout */
    float *mem;
    /* forward, kept for backward */
    float *x;                        /* (B, T) copy of the input */
    float *h1, *c1, *tc1, *g1;       /* (B,T,H1) (B,T,H1) (B,T,H1) (B,T,4H1) */
    float *n1, *mean1, *rstd1;       /* (B,T,H1) (B*T) (B*T) */
    float *mask1, *d1;               /* (B,T,H1) */
    float *h2, *c2, *tc2, *g2;       /* (B,T,H2) (B,T,H2) (B,T,H2) (B,T,4H2) */
    float *h2l, *n2, *mean2, *rstd2; /* (B,H2) (B,H2) (B) (B) */
    float *mask2;                    /* (B,H2) */
    float *last, *f1, *a1;           /* (B,H2) (B,F) (B,F) */
    /* backward */
    float *da1, *df1, *dlast;        /* (B,F) (B,F) (B,H2) */
    float *dn2, *dh2l;               /* (B,H2) */
    float *dh2;                      /* (B,T,H2) */
    float *dd1, *dn1, *dh1;          /* (B,T,H1) */
    float *scratch;                  /* LSTM backward scratch, the larger of the two */
};

tdl_status tdl_predictor_cache_init(tdl_predictor_cache **out, const tdl_predictor_config *cfg,
                                    int B) {
    TDL_ASSERT(out && cfg, "predictor_cache_init: NULL argument");
    *out = NULL;
    if (B < 1) return tdl_error(TDL_ERR_INVALID, "predictor cache for %d rows", B);
    tdl_predictor_cache *c = calloc(1, sizeof *c);
    if (!c) return tdl_error(TDL_ERR_NOMEM, "out of memory for the predictor cache");
    c->cfg = *cfg;
    c->Bmax = B;
    const size_t T = (size_t)cfg->T, H1 = (size_t)cfg->H1, H2 = (size_t)cfg->H2,
                 F = (size_t)cfg->F, R = (size_t)B * T;
    size_t s1 = tdl_lstm_scratch_floats(B, cfg->T, 1, cfg->H1);
    size_t s2 = tdl_lstm_scratch_floats(B, cfg->T, cfg->H1, cfg->H2);
    struct { float **p; size_t n; } parts[] = {
        {&c->x, R},          {&c->h1, R * H1},     {&c->c1, R * H1},   {&c->g1, R * 4 * H1},
        {&c->n1, R * H1},    {&c->mean1, R},       {&c->rstd1, R},     {&c->mask1, R * H1},
        {&c->d1, R * H1},    {&c->h2, R * H2},     {&c->c2, R * H2},   {&c->g2, R * 4 * H2},
        {&c->h2l, B * H2},   {&c->n2, B * H2},     {&c->mean2, B},     {&c->rstd2, B},
        {&c->mask2, B * H2}, {&c->last, B * H2},   {&c->f1, B * F},    {&c->a1, B * F},
        {&c->da1, B * F},    {&c->df1, B * F},     {&c->dlast, B * H2},
        {&c->dn2, B * H2},   {&c->dh2l, B * H2},   {&c->dh2, R * H2},
        {&c->dd1, R * H1},   {&c->dn1, R * H1},    {&c->dh1, R * H1},
        {&c->tc1, R * H1},   {&c->tc2, R * H2},    {&c->scratch, s1 > s2 ? s1 : s2},
    };
    const size_t np = sizeof parts / sizeof parts[0];
    size_t total = 0;
    for (size_t i = 0; i < np; i++) total += (parts[i].n + 15) & ~(size_t)15; /* 64-byte steps */
    c->mem = aligned_alloc(64, total * sizeof(float));
    if (!c->mem) {
        free(c);
        return tdl_error(TDL_ERR_NOMEM, "out of memory for the predictor cache (%zu floats)", total);
    }
    memset(c->mem, 0, total * sizeof(float));
    size_t off = 0;
    for (size_t i = 0; i < np; i++) {
        *parts[i].p = c->mem + off;
        off += (parts[i].n + 15) & ~(size_t)15;
    }
    *out = c;
    return TDL_OK;
}

void tdl_predictor_cache_free(tdl_predictor_cache *c) {
    if (!c) return;
    free(c->mem);
    free(c);
}

/* The parameter tensors in table order (predictor.c). */
enum { W_IH1, W_HH1, B_IH1, B_HH1, LN1_W, LN1_B, W_IH2, W_HH2, B_IH2, B_HH2, LN2_W, LN2_B,
       FC1_W, FC1_B, FC2_W, FC2_B, NP };

static void tensors(const tdl_params *p, const float *base, const float *t[NP]) {
    TDL_ASSERT(p->count == NP, "predictor: parameter table has %d tensors, expected %d",
               p->count, NP);
    for (int i = 0; i < NP; i++) t[i] = base + p->items[i].offset;
}

void tdl_predictor_forward(tdl_predictor *p, tdl_predictor_cache *c, const float *x, float *y,
                           int B, int train, tdl_rng *rng) {
    TDL_ASSERT(p && c && x && y, "predictor_forward: NULL argument");
    const tdl_predictor_config *k = &p->cfg;
    TDL_ASSERT(B >= 1 && B <= c->Bmax, "predictor_forward: B=%d, cache holds %d rows", B, c->Bmax);
    TDL_ASSERT(c->cfg.T == k->T && c->cfg.H1 == k->H1 && c->cfg.H2 == k->H2 && c->cfg.F == k->F,
               "predictor_forward: cache built for another configuration");
    TDL_ASSERT(!train || rng, "predictor_forward: training needs an rng");
    const int T = k->T, H1 = k->H1, H2 = k->H2, F = k->F;
    const size_t R = (size_t)B * T;
    const float *w[NP];
    tensors(&p->params, p->params.param, w);
    c->B = B;
    c->train = train && k->dropout > 0.0f;
    memcpy(c->x, x, R * sizeof(float));

    tdl_lstm_forward(c->h1, c->c1, c->tc1, c->g1, c->x, w[W_IH1], w[W_HH1], w[B_IH1], w[B_HH1], B,
                     T, 1, H1);
    tdl_layernorm_forward(c->n1, c->mean1, c->rstd1, c->h1, w[LN1_W], w[LN1_B], (int)R, H1, 1e-5f);
    const float *in2 = c->n1;
    if (c->train) {
        tdl_dropout_mask(c->mask1, R * H1, k->dropout, rng);
        tdl_dropout_forward(c->d1, c->n1, c->mask1, R * H1);
        in2 = c->d1;
    }
    tdl_lstm_forward(c->h2, c->c2, c->tc2, c->g2, in2, w[W_IH2], w[W_HH2], w[B_IH2], w[B_HH2], B,
                     T, H1, H2);
    for (int b = 0; b < B; b++)
        memcpy(c->h2l + (size_t)b * H2, c->h2 + ((size_t)b * T + T - 1) * H2, H2 * sizeof(float));
    tdl_layernorm_forward(c->n2, c->mean2, c->rstd2, c->h2l, w[LN2_W], w[LN2_B], B, H2, 1e-5f);
    if (c->train) {
        tdl_dropout_mask(c->mask2, (size_t)B * H2, k->dropout, rng);
        tdl_dropout_forward(c->last, c->n2, c->mask2, (size_t)B * H2);
    } else {
        memcpy(c->last, c->n2, (size_t)B * H2 * sizeof(float));
    }
    tdl_linear_forward(c->f1, c->last, w[FC1_W], w[FC1_B], B, H2, F);
    tdl_gelu_forward(c->a1, c->f1, (size_t)B * F);
    tdl_linear_forward(y, c->a1, w[FC2_W], w[FC2_B], B, F, 1);
}

/* The backward pass behind both public calls. dy (B); dx (B, T, 1) or NULL;
 * pgrad != 0 adds the parameter gradients into p->params.grad, else every
 * weight-gradient pointer is NULL and the kernels skip those products. The
 * first LSTM's dinp is computed only when dx is asked for: without it the
 * LSTM keeps its time-major C = 1 path (lstm.c), as before dx existed. */
static void backward_pass(tdl_predictor *p, tdl_predictor_cache *c, const float *dy, float *dx,
                          int B, int pgrad) {
    TDL_ASSERT(B == c->B, "predictor_backward: B=%d, the last forward had %d rows", B, c->B);
    const tdl_predictor_config *k = &p->cfg;
    const int T = k->T, H1 = k->H1, H2 = k->H2, F = k->F;
    const size_t R = (size_t)B * T;
    const float *w[NP], *gc[NP];
    float *g[NP];
    tensors(&p->params, p->params.param, w);
    tensors(&p->params, p->params.grad, gc);
    for (int i = 0; i < NP; i++) g[i] = pgrad ? (float *)gc[i] : NULL;

    memset(c->da1, 0, (size_t)B * F * sizeof(float));
    memset(c->df1, 0, (size_t)B * F * sizeof(float));
    memset(c->dlast, 0, (size_t)B * H2 * sizeof(float));
    tdl_linear_backward(c->da1, g[FC2_W], g[FC2_B], dy, c->a1, w[FC2_W], B, F, 1);
    tdl_gelu_backward(c->df1, c->da1, c->f1, (size_t)B * F);
    tdl_linear_backward(c->dlast, g[FC1_W], g[FC1_B], c->df1, c->last, w[FC1_W], B, H2, F);

    /* Layer 2's output gets a gradient at its last step only. */
    /* Dropout's Jacobian is diag(mask): its backward into a zero gradient is
     * the forward product (dn = dout * mask), written without a memset. */
    const float *dn2 = c->dlast;
    if (c->train) {
        tdl_dropout_forward(c->dn2, c->dlast, c->mask2, (size_t)B * H2);
        dn2 = c->dn2;
    }
    memset(c->dh2l, 0, (size_t)B * H2 * sizeof(float));
    tdl_layernorm_backward(c->dh2l, g[LN2_W], g[LN2_B], dn2, c->h2l, w[LN2_W], c->mean2,
                           c->rstd2, B, H2);
    /* dh2's rows at t < T-1 are zero since the cache was made (only the last
     * step's rows are ever written), so only those are set. */
    for (int b = 0; b < B; b++)
        memcpy(c->dh2 + ((size_t)b * T + T - 1) * H2, c->dh2l + (size_t)b * H2, H2 * sizeof(float));
    const float *in2 = c->train ? c->d1 : c->n1;
    float *din2 = c->train ? c->dd1 : c->dn1;
    memset(din2, 0, R * H1 * sizeof(float));
    tdl_lstm_backward(din2, g[W_IH2], g[W_HH2], g[B_IH2], g[B_HH2], c->dh2, in2, c->h2, c->c2,
                      c->tc2, c->g2, w[W_IH2], w[W_HH2], c->scratch, B, T, H1, H2);
    if (c->train) tdl_dropout_forward(c->dn1, c->dd1, c->mask1, R * H1);
    memset(c->dh1, 0, R * H1 * sizeof(float));
    tdl_layernorm_backward(c->dh1, g[LN1_W], g[LN1_B], c->dn1, c->h1, w[LN1_W], c->mean1,
                           c->rstd1, (int)R, H1);
    if (dx) memset(dx, 0, R * sizeof(float)); /* dx (B, T, 1): lstm_backward adds */
    tdl_lstm_backward(dx, g[W_IH1], g[W_HH1], g[B_IH1], g[B_HH1], c->dh1, c->x, c->h1, c->c1,
                      c->tc1, c->g1, w[W_IH1], w[W_HH1], c->scratch, B, T, 1, H1);
}

void tdl_predictor_backward(tdl_predictor *p, tdl_predictor_cache *c, const float *dy, int B) {
    TDL_ASSERT(p && c && dy, "predictor_backward: NULL argument");
    backward_pass(p, c, dy, NULL, B, 1);
}

void tdl_predictor_backward_input(tdl_predictor *p, tdl_predictor_cache *c, const float *dy,
                                  float *dx, int B, int params) {
    TDL_ASSERT(p && c && dy && dx, "predictor_backward_input: NULL argument");
    backward_pass(p, c, dy, dx, B, params);
}

