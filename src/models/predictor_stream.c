/* predictor_stream.c: the predictor's inference on a stream of values, one
 * new value at a time (predictor.h, tdl_predictor_stream), for serving.
 *
 * The forecast after value s is the predictor on the window x[s-T+1 .. s],
 * run from a zero state, as tdl_predictor_forward does. Instead of running
 * each window's T steps when its last value arrives, the stream keeps the
 * T windows in flight: the window that starts at value j has taken
 * s - j + 1 steps after value s. Each new value advances every window in
 * flight by one step (the same input value for all of them) and starts a new
 * one; the window that has taken T steps gives the forecast and its slot is
 * reused. The work per value is the same as one window's T steps, but the
 * weights are read once per value for all T rows, as one small product of
 * T rows, instead of T times for one row (what makes a decision fast).
 *
 *   per value x (normalised):
 *     g0 (4H1)         = (b_ih1 + b_hh1) + x w_ih1                 once
 *     gates1 (T, 4H1)  = g0 + h1 (T, H1) @ w_hh1^T   (no product for the new row: h = 0)
 *     h1, c1 (T, H1)   = LSTM cells; n1 (T, H1) = LayerNorm1(h1)
 *     gates2 (T, 4H2)  = (b_ih2 + b_hh2) + n1 @ w_ih2^T + h2 (T, H2) @ w_hh2^T  (new row: no h2)
 *     h2, c2 (T, H2)   = LSTM cells
 *     the row that took its T-th step: n2 = LayerNorm2(h2 row) (H2),
 *     y = fc2(GELU(fc1(n2)))
 *
 * Arithmetic: the cells, LayerNorm and GELU are the batch kernels' own
 * functions; the products accumulate each output over k in order with fused
 * multiply-adds from zero and then add the accumulator to the bias (or to
 * the partial gates), as the batch pass adds its sgemm products. OpenBLAS
 * sums its products in its own order (and differently for one row and for
 * many), so the forecasts agree with tdl_predictor_forward's to float
 * rounding, not bit for bit: within 3e-7 in normalised units on the tests'
 * models (test_provisioner). The AVX-512, AVX2 and portable products give
 * the same bits (each output is the same chain of fmaf).
 *
 * Nothing here uses OpenMP, BLAS or any mutable global: a stream is used by
 * one thread at a time and several streams run on several threads at once. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/nn.h"
#include "tdl/predictor.h"

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define TDL_STREAM_X86 1
#endif

enum { NR = 32 };  /* output columns per packed panel */
enum { MR = 8 };   /* rows per register block */

/* A weight W (N, K) (PyTorch's (out, in)) packed for the product: panels
 * of NR outputs, each (K, NR) with P[p][k][j] = W[p NR + j][k] (zero past N). */
typedef struct packed {
    float *w;  /* (ceil(N / NR), K, NR) */
    int N, K;
} packed;

struct tdl_predictor_stream {
    tdl_predictor_config cfg;
    int simd;          /* 2 AVX-512, 1 AVX2 + FMA, 0 portable */
    int64_t pushed;    /* values since the last reset */
    float *mem;
    packed whh1, wih2, whh2, fc1; /* (4H1, H1) (4H2, H1) (4H2, H2) (F, H2) */
    float *wih1, *b1;  /* (4H1) w_ih1 (one input feature), b_ih1 + b_hh1 as lstm.c sums them */
    float *b2;         /* (4H2) b_ih2 + b_hh2 */
    float *ln1w, *ln1b, *ln2w, *ln2b; /* (H1) (H1) (H2) (H2) */
    float *fc1b, *fc2w, *fc2b;        /* (F) (F) (1) */
    /* the T windows in flight, slot = start index mod T */
    float *h1, *c1, *tc1, *g1;        /* (T, H1) (T, H1) (T, H1) (T, 4H1) */
    float *n1;                        /* (T, H1) */
    float *h2, *c2, *tc2, *g2;        /* (T, H2) (T, H2) (T, H2) (T, 4H2) */
    float *g0;                        /* (4H1) */
    float *n2, *f1;                   /* (H2) (F) */
    float stat[2];                    /* LayerNorm mean and rstd (unused) */
    const float **arow;               /* (T) row pointers of a product's input */
    float **crow;                     /* (T) row pointers of its output */
};

/* ---- the product: C[m] (N) += A[m] (K) @ W^T, each output an fmaf chain ---- */

static void mm_portable(float *const *C, const float *const *A, int M, const packed *W) {
    const int K = W->K, N = W->N;
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            const float *p = W->w + ((size_t)(n / NR) * K) * NR + n % NR;
            float acc = 0.0f;
            for (int k = 0; k < K; k++) acc = fmaf(A[m][k], p[(size_t)k * NR], acc);
            C[m][n] = C[m][n] + acc;
        }
}

#ifdef TDL_STREAM_X86
/* The register blocks' loops over rows and vectors unrolled before the
 * accumulators are assigned registers (else they live in memory). */
#define UNROLL _Pragma("GCC unroll 8")

/* R rows of one panel (R a constant after inlining): 2 R accumulators of 16. */
static inline __attribute__((always_inline, target("avx512f"))) void
mm512_block(float *const *C, const float *const *A, const float *P, int K, int n0, int N, int R) {
    __m512 acc[MR][2];
    UNROLL
    for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (int k = 0; k < K; k++) {
        const __m512 w0 = _mm512_loadu_ps(P + (size_t)k * NR);
        const __m512 w1 = _mm512_loadu_ps(P + (size_t)k * NR + 16);
        UNROLL
        for (int r = 0; r < R; r++) {
            const __m512 a = _mm512_set1_ps(A[r][k]);
            acc[r][0] = _mm512_fmadd_ps(a, w0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(a, w1, acc[r][1]);
        }
    }
    UNROLL
    for (int r = 0; r < R; r++) {
        float *c = C[r] + n0;
        if (n0 + NR <= N) {
            _mm512_storeu_ps(c, _mm512_add_ps(_mm512_loadu_ps(c), acc[r][0]));
            _mm512_storeu_ps(c + 16, _mm512_add_ps(_mm512_loadu_ps(c + 16), acc[r][1]));
        } else {
            float t[NR];
            _mm512_storeu_ps(t, acc[r][0]);
            _mm512_storeu_ps(t + 16, acc[r][1]);
            for (int j = 0; j < N - n0; j++) c[j] = c[j] + t[j];
        }
    }
}

__attribute__((target("avx512f"))) static void mm_avx512(float *const *C, const float *const *A,
                                                         int M, const packed *W) {
    const int K = W->K, N = W->N;
    for (int n0 = 0; n0 < N; n0 += NR) {
        const float *P = W->w + (size_t)(n0 / NR) * K * NR;
        for (int m0 = 0; m0 < M; m0 += MR) {
            const int R = M - m0 < MR ? M - m0 : MR;
            float *const *c = C + m0;
            const float *const *a = A + m0;
            switch (R) { /* a constant R per call: the accumulators stay in registers */
            case 8: mm512_block(c, a, P, K, n0, N, 8); break;
            case 7: mm512_block(c, a, P, K, n0, N, 7); break;
            case 6: mm512_block(c, a, P, K, n0, N, 6); break;
            case 5: mm512_block(c, a, P, K, n0, N, 5); break;
            case 4: mm512_block(c, a, P, K, n0, N, 4); break;
            case 3: mm512_block(c, a, P, K, n0, N, 3); break;
            case 2: mm512_block(c, a, P, K, n0, N, 2); break;
            default: mm512_block(c, a, P, K, n0, N, 1); break;
            }
        }
    }
}

/* AVX2: 16 registers, so blocks of 4 rows by 32 columns (4 x 4 accumulators). */
static inline __attribute__((always_inline, target("avx2,fma"))) void
mm256_block(float *const *C, const float *const *A, const float *P, int K, int n0, int N, int R) {
    __m256 acc[4][4];
    UNROLL
    for (int r = 0; r < R; r++)
        UNROLL
        for (int v = 0; v < 4; v++) acc[r][v] = _mm256_setzero_ps();
    for (int k = 0; k < K; k++) {
        __m256 w[4];
        UNROLL
        for (int v = 0; v < 4; v++) w[v] = _mm256_loadu_ps(P + (size_t)k * NR + 8 * v);
        UNROLL
        for (int r = 0; r < R; r++) {
            const __m256 a = _mm256_set1_ps(A[r][k]);
            UNROLL
            for (int v = 0; v < 4; v++) acc[r][v] = _mm256_fmadd_ps(a, w[v], acc[r][v]);
        }
    }
    UNROLL
    for (int r = 0; r < R; r++) {
        float t[NR], *c = C[r] + n0;
        for (int v = 0; v < 4; v++) _mm256_storeu_ps(t + 8 * v, acc[r][v]);
        const int J = N - n0 < NR ? N - n0 : NR;
        for (int j = 0; j < J; j++) c[j] = c[j] + t[j];
    }
}

__attribute__((target("avx2,fma"))) static void mm_avx2(float *const *C, const float *const *A,
                                                       int M, const packed *W) {
    const int K = W->K, N = W->N;
    for (int n0 = 0; n0 < N; n0 += NR) {
        const float *P = W->w + (size_t)(n0 / NR) * K * NR;
        for (int m0 = 0; m0 < M; m0 += 4) {
            const int R = M - m0 < 4 ? M - m0 : 4;
            float *const *c = C + m0;
            const float *const *a = A + m0;
            switch (R) {
            case 4: mm256_block(c, a, P, K, n0, N, 4); break;
            case 3: mm256_block(c, a, P, K, n0, N, 3); break;
            case 2: mm256_block(c, a, P, K, n0, N, 2); break;
            default: mm256_block(c, a, P, K, n0, N, 1); break;
            }
        }
    }
}
#endif

static void mm(const tdl_predictor_stream *s, float *const *C, const float *const *A, int M,
               const packed *W) {
    if (M <= 0) return;
#ifdef TDL_STREAM_X86
    if (s->simd == 2) { mm_avx512(C, A, M, W); return; }
    if (s->simd == 1) { mm_avx2(C, A, M, W); return; }
#endif
    (void)s;
    mm_portable(C, A, M, W);
}

/* ---- set-up ---- */

/* The parameter tensors in table order (predictor.c). */
enum { W_IH1, W_HH1, B_IH1, B_HH1, LN1_W, LN1_B, W_IH2, W_HH2, B_IH2, B_HH2, LN2_W, LN2_B,
       FC1_W, FC1_B, FC2_W, FC2_B, NP };

static size_t panel_floats(int N, int K) { return (size_t)((N + NR - 1) / NR) * NR * (size_t)K; }

static void pack(packed *d, float *mem, const float *W, int N, int K) {
    d->w = mem;
    d->N = N;
    d->K = K;
    memset(mem, 0, panel_floats(N, K) * sizeof(float));
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++)
            mem[((size_t)(n / NR) * K + (size_t)k) * NR + n % NR] = W[(size_t)n * K + k];
}

/* The best product the CPU runs; TDL_STREAM_SIMD=portable|avx2 in the
 * environment asks for a lower one (the tests compare them). */
static int detect_simd(void) {
    int best = 0;
#ifdef TDL_STREAM_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) best = 2;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) best = 1;
#endif
    const char *e = getenv("TDL_STREAM_SIMD");
    if (e && strcmp(e, "portable") == 0) return 0;
    if (e && strcmp(e, "avx2") == 0 && best > 1) return 1;
    return best;
}

tdl_status tdl_predictor_stream_init(tdl_predictor_stream **out, const tdl_predictor *p) {
    TDL_ASSERT(out && p, "predictor_stream_init: NULL argument");
    *out = NULL;
    TDL_ASSERT(p->params.count == NP && p->params.param, "predictor_stream_init: no predictor");
    tdl_predictor_stream *s = calloc(1, sizeof *s);
    if (!s) return tdl_error(TDL_ERR_NOMEM, "out of memory for a predictor stream");
    const tdl_predictor_config *k = &p->cfg;
    s->cfg = *k;
    s->simd = detect_simd();
    const int T = k->T, H1 = k->H1, H2 = k->H2, F = k->F;
    const size_t t = (size_t)T;
    float *w[NP];
    for (int i = 0; i < NP; i++) w[i] = p->params.param + p->params.items[i].offset;
    struct { float **p; size_t n; } parts[] = {
        {&s->whh1.w, panel_floats(4 * H1, H1)}, {&s->wih2.w, panel_floats(4 * H2, H1)},
        {&s->whh2.w, panel_floats(4 * H2, H2)}, {&s->fc1.w, panel_floats(F, H2)},
        {&s->wih1, 4 * (size_t)H1},   {&s->b1, 4 * (size_t)H1},    {&s->b2, 4 * (size_t)H2},
        {&s->ln1w, (size_t)H1},       {&s->ln1b, (size_t)H1},      {&s->ln2w, (size_t)H2},
        {&s->ln2b, (size_t)H2},       {&s->fc1b, (size_t)F},       {&s->fc2w, (size_t)F},
        {&s->fc2b, 1},                {&s->h1, t * H1},            {&s->c1, t * H1},
        {&s->tc1, t * H1},            {&s->g1, t * 4 * H1},        {&s->n1, t * H1},
        {&s->h2, t * H2},             {&s->c2, t * H2},            {&s->tc2, t * H2},
        {&s->g2, t * 4 * H2},         {&s->g0, 4 * (size_t)H1},    {&s->n2, (size_t)H2},
        {&s->f1, (size_t)F},
    };
    const size_t np = sizeof parts / sizeof parts[0];
    size_t total = 0;
    for (size_t i = 0; i < np; i++) total += (parts[i].n + 15) & ~(size_t)15; /* 64-byte steps */
    s->mem = aligned_alloc(64, total * sizeof(float));
    s->arow = malloc(t * sizeof *s->arow);
    s->crow = malloc(t * sizeof *s->crow);
    if (!s->mem || !s->arow || !s->crow) {
        tdl_predictor_stream_free(s);
        return tdl_error(TDL_ERR_NOMEM, "out of memory for a predictor stream (%zu floats)",
                         total);
    }
    memset(s->mem, 0, total * sizeof(float));
    size_t off = 0;
    for (size_t i = 0; i < np; i++) {
        *parts[i].p = s->mem + off;
        off += (parts[i].n + 15) & ~(size_t)15;
    }
    pack(&s->whh1, s->whh1.w, w[W_HH1], 4 * H1, H1);
    pack(&s->wih2, s->wih2.w, w[W_IH2], 4 * H2, H1);
    pack(&s->whh2, s->whh2.w, w[W_HH2], 4 * H2, H2);
    pack(&s->fc1, s->fc1.w, w[FC1_W], F, H2);
    for (int j = 0; j < 4 * H1; j++) {
        s->wih1[j] = w[W_IH1][j];
        s->b1[j] = w[B_IH1][j] + w[B_HH1][j];
    }
    for (int j = 0; j < 4 * H2; j++) s->b2[j] = w[B_IH2][j] + w[B_HH2][j];
    memcpy(s->ln1w, w[LN1_W], (size_t)H1 * sizeof(float));
    memcpy(s->ln1b, w[LN1_B], (size_t)H1 * sizeof(float));
    memcpy(s->ln2w, w[LN2_W], (size_t)H2 * sizeof(float));
    memcpy(s->ln2b, w[LN2_B], (size_t)H2 * sizeof(float));
    memcpy(s->fc1b, w[FC1_B], (size_t)F * sizeof(float));
    memcpy(s->fc2w, w[FC2_W], (size_t)F * sizeof(float));
    s->fc2b[0] = w[FC2_B][0];
    tdl_predictor_stream_reset(s);
    *out = s;
    return TDL_OK;
}

void tdl_predictor_stream_free(tdl_predictor_stream *s) {
    if (!s) return;
    free(s->mem);
    free(s->arow);
    free(s->crow);
    free(s);
}

void tdl_predictor_stream_reset(tdl_predictor_stream *s) {
    TDL_ASSERT(s, "predictor_stream_reset: NULL");
    const size_t T = (size_t)s->cfg.T, H1 = (size_t)s->cfg.H1, H2 = (size_t)s->cfg.H2;
    memset(s->h1, 0, T * H1 * sizeof(float));
    memset(s->c1, 0, T * H1 * sizeof(float));
    memset(s->h2, 0, T * H2 * sizeof(float));
    memset(s->c2, 0, T * H2 * sizeof(float));
    s->pushed = 0;
}

int64_t tdl_predictor_stream_pushed(const tdl_predictor_stream *s) { return s->pushed; }

int tdl_predictor_stream_push(tdl_predictor_stream *s, float x, float *y) {
    TDL_ASSERT(s && y, "predictor_stream_push: NULL argument");
    const int T = s->cfg.T, H1 = s->cfg.H1, H2 = s->cfg.H2, F = s->cfg.F;
    const int G1 = 4 * H1, G2 = 4 * H2;
    /* slot of the window that starts with x; the others in flight (at most
     * T - 1 of them, all rows before the stream has seen T values) */
    const int fresh = (int)(s->pushed % T);
    /* windows in flight, the fresh one included */
    const int live = s->pushed + 1 < T ? (int)s->pushed + 1 : T;
    /* g0 = (b_ih + b_hh) + x w_ih, the input projection of every row */
    for (int j = 0; j < G1; j++) s->g0[j] = s->b1[j] + x * s->wih1[j];
    int M = 0; /* rows with a previous state: the live ones but fresh */
    for (int i = 1; i < live; i++) {
        const int r = (fresh - i + T) % T;
        s->arow[M] = s->h1 + (size_t)r * H1;
        s->crow[M] = s->g1 + (size_t)r * G1;
        M++;
    }
    for (int i = 0; i < live; i++) {
        const int r = (fresh - i + T) % T;
        memcpy(s->g1 + (size_t)r * G1, s->g0, (size_t)G1 * sizeof(float));
    }
    /* the fresh window starts from a zero state */
    memset(s->c1 + (size_t)fresh * H1, 0, (size_t)H1 * sizeof(float));
    memset(s->c2 + (size_t)fresh * H2, 0, (size_t)H2 * sizeof(float));
    mm(s, s->crow, s->arow, M, &s->whh1); /* gates1 += h1 @ w_hh1^T */
    /* the cells of all T slots in one call (a slot not in flight yet computes
     * on stale gates; its state is reset before it starts a window) */
    tdl_lstm_cells_forward(s->g1, s->c1, s->c1, s->tc1, s->h1, T, H1);
    for (int i = 0; i < live; i++) {
        const int r = (fresh - i + T) % T;
        tdl_layernorm_forward_row(s->n1 + (size_t)r * H1, &s->stat[0], &s->stat[1],
                                  s->h1 + (size_t)r * H1, s->ln1w, s->ln1b, H1, 1e-5f);
        memcpy(s->g2 + (size_t)r * G2, s->b2, (size_t)G2 * sizeof(float));
    }
    /* gates2 = (b_ih2 + b_hh2) + n1 @ w_ih2^T for every live row ... */
    for (int i = 0; i < live; i++) {
        const int r = (fresh - i + T) % T;
        s->arow[i] = s->n1 + (size_t)r * H1;
        s->crow[i] = s->g2 + (size_t)r * G2;
    }
    mm(s, s->crow, s->arow, live, &s->wih2);
    /* ... + h2 @ w_hh2^T for those with a previous state */
    for (int i = 1; i < live; i++) {
        const int r = (fresh - i + T) % T;
        s->arow[i - 1] = s->h2 + (size_t)r * H2;
        s->crow[i - 1] = s->g2 + (size_t)r * G2;
    }
    mm(s, s->crow, s->arow, live - 1, &s->whh2);
    tdl_lstm_cells_forward(s->g2, s->c2, s->c2, s->tc2, s->h2, T, H2);
    s->pushed++;
    if (s->pushed < T) return 0;
    /* the window that took its T-th step started T - 1 values ago */
    const int done = (fresh + 1) % T;
    tdl_layernorm_forward_row(s->n2, &s->stat[0], &s->stat[1], s->h2 + (size_t)done * H2,
                              s->ln2w, s->ln2b, H2, 1e-5f);
    memcpy(s->f1, s->fc1b, (size_t)F * sizeof(float));
    const float *a = s->n2;
    float *c = s->f1;
    mm(s, &c, &a, 1, &s->fc1); /* f1 = fc1_b + n2 @ fc1_w^T */
    float acc = 0.0f;
    for (int k = 0; k < F; k++) acc = fmaf(tdl_gelu_value(s->f1[k]), s->fc2w[k], acc);
    *y = s->fc2b[0] + acc;
    return 1;
}
