/* lstm.c: one LSTM layer over a whole sequence (torch.nn.LSTM(C, H, batch_first=True)).
 *
 * Work plan. Forward: one sgemm gives the input projection of every (b, t)
 * row of a block at once (with one input feature, C = 1, a direct outer
 * product); then, step by step, one sgemm adds h_{t-1} @ w_hh^T and the gate
 * nonlinearities follow, one call for the block's rows. Backward through
 * time: per step the gate gradients from dh_t (+ the recurrent term
 * dgates_{t+1} @ w_hh, one sgemm), then after the loop every weight gradient
 * is one sgemm over all B*T rows.
 *
 * Batch elements are independent inside the recurrence, so each thread takes
 * a contiguous block of batch rows through the input projection and all T
 * steps with single-threaded sgemms on its rows (no barrier per step). The
 * whole call is one parallel region: in backward each thread also does dinp
 * for its rows, then after one barrier a block of rows of each weight
 * gradient (and of the bias sums), so nothing runs on one thread while the
 * other waits, and OpenBLAS never forks a team of its own. Nothing but the
 * OpenBLAS summation order depends on the thread count.
 */
/* The gate loops below vectorise only if GCC may evaluate both sides of a
 * float select, which it refuses under the default -ftrapping-math. tdl
 * never reads the floating-point exception flags, and this changes no result. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <string.h>

#include "fast_exp.h"
#include "tdl/nn.h"
#include "tdl/status.h"

/* sigmoid and tanh that the compiler can vectorise (libm's are scalar calls
 * and took a third of a training step), on fast_exp (within 2 ulp of expf on
 * [-87, 88], where sigmoid and tanh need it; NaN stays NaN). */
static inline float lstm_sigmoid(float x) { return 1.0f / (1.0f + fast_exp(-x)); }

/* tanh: odd Taylor polynomial to x^11 for |x| < 0.3 (next term < 1e-8
 * relative), else sign(x) (1 - 2 / (e^{2|x|} + 1)). */
static inline float lstm_tanh(float x) {
    float ax = x < 0.0f ? -x : x;
    float big = 1.0f - 2.0f / (fast_exp(2.0f * ax) + 1.0f);
    big = x < 0.0f ? -big : big;
    float x2 = x * x;
    float p = -1382.0f / 155925.0f;
    p = p * x2 + 62.0f / 2835.0f;
    p = p * x2 - 17.0f / 315.0f;
    p = p * x2 + 2.0f / 15.0f;
    p = p * x2 - 1.0f / 3.0f;
    float small = x + x * x2 * p;
    return ax < 0.3f ? small : big;
}

/* Several instruction sets for the gate loops, chosen at load time (results
 * are bit-identical: no FMA contraction, the same operations in every lane). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(TDL_NO_CLONES)
#define LSTM_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LSTM_CLONES
#endif

/* One step of batch rows [b0, b1) (rows b * T + t of the (B, T, .) tensors).
 * gates (4H) per row: pre-activations in, activated gates out; c_{t-1} from
 * the previous row of c (zero at t = 0); c_t, tanh(c_t) (kept for backward,
 * which would otherwise compute it again), h_t out. The row loop is inside
 * so that one call covers the block (one dispatch, more independent work). */
LSTM_CLONES
static void lstm_cells_forward(float *gates, float *c, float *tc, float *h, int b0, int b1,
                               int t, int T, int H) {
    const int G = 4 * H;
    for (int b = b0; b < b1; b++) {
        size_t row = (size_t)b * T + t;
        float *a = gates + row * G;
        float *ct = c + row * H, *tct = tc + row * H, *ht = h + row * H;
        // c_{-1} = 0: at t = 0 read the zeroed current row (no branch in the loop)
        if (t == 0) memset(ct, 0, (size_t)H * sizeof(float));
        const float *cp = t > 0 ? c + (row - 1) * H : ct;
        #pragma omp simd
        for (int j = 0; j < H; j++) {
            float ig = lstm_sigmoid(a[j]);
            float fg = lstm_sigmoid(a[H + j]);
            float gg = lstm_tanh(a[2 * H + j]);
            float og = lstm_sigmoid(a[3 * H + j]);
            float cv = fg * cp[j] + ig * gg;
            a[j] = ig;
            a[H + j] = fg;
            a[2 * H + j] = gg;
            a[3 * H + j] = og;
            const float tv = lstm_tanh(cv);
            ct[j] = cv;
            tct[j] = tv;
            ht[j] = og * tv;
        }
    }
}

/* M independent rows (nn.h): the loop of lstm_cells_forward with c_{t-1}
 * read from c_prev, in the same operation order (so the same bits). */
LSTM_CLONES
static void lstm_cells_rows(float *gates, const float *c_prev, float *c, float *tc, float *h,
                            int M, int H) {
    const int G = 4 * H;
    for (int m = 0; m < M; m++) {
        float *a = gates + (size_t)m * G;
        const float *cp = c_prev + (size_t)m * H;
        float *ct = c + (size_t)m * H, *tct = tc + (size_t)m * H, *ht = h + (size_t)m * H;
        #pragma omp simd
        for (int j = 0; j < H; j++) {
            float ig = lstm_sigmoid(a[j]);
            float fg = lstm_sigmoid(a[H + j]);
            float gg = lstm_tanh(a[2 * H + j]);
            float og = lstm_sigmoid(a[3 * H + j]);
            float cv = fg * cp[j] + ig * gg;
            a[j] = ig;
            a[H + j] = fg;
            a[2 * H + j] = gg;
            a[3 * H + j] = og;
            const float tv = lstm_tanh(cv);
            ct[j] = cv;
            tct[j] = tv;
            ht[j] = og * tv;
        }
    }
}

void tdl_lstm_cells_forward(float *gates, const float *c_prev, float *c, float *tc, float *h,
                            int M, int H) {
    TDL_ASSERT(gates && c_prev && c && tc && h && M > 0 && H > 0, "lstm_cells_forward");
    lstm_cells_rows(gates, c_prev, c, tc, h, M, H);
}

/* Gradient of one step of batch rows [b0, b1) (rows b * T + t of the
 * (B, T, .) caches; row b * ds_b + t * ds_t of dgates). Per row: dgates (4H)
 * out, d pre-activations; dc (H): dc_t from step t+1 in, dc_{t-1} out; gates
 * (4H) activated gates; c_{t-1} (H) (zero at t = 0: read from zrow (H));
 * tc (H) tanh(c_t); dht (H) total dh_t. */
LSTM_CLONES
static void lstm_cells_backward(float *dgates, float *dc, const float *gates, const float *c,
                                const float *tc, const float *dht, const float *zrow, int b0,
                                int b1, int t, int T, int H, int ds_b, int ds_t) {
    const int G = 4 * H;
    for (int b = b0; b < b1; b++) {
        size_t row = (size_t)b * T + t;
        const float *a = gates + row * G;
        const float *tct = tc + row * H;
        const float *cp = t > 0 ? c + (row - 1) * H : zrow;
        const float *dhv = dht + (size_t)b * H;
        float *dcv = dc + (size_t)b * H;
        float *da = dgates + ((size_t)b * ds_b + (size_t)t * ds_t) * G;
        #pragma omp simd
        for (int j = 0; j < H; j++) {
            float ig = a[j], fg = a[H + j], gg = a[2 * H + j], og = a[3 * H + j];
            float tv = tct[j];
            float dcell = dcv[j] + dhv[j] * og * (1.0f - tv * tv);
            da[j] = dcell * gg * ig * (1.0f - ig);
            da[H + j] = dcell * cp[j] * fg * (1.0f - fg);
            da[2 * H + j] = dcell * ig * (1.0f - gg * gg);
            da[3 * H + j] = dhv[j] * tv * og * (1.0f - og);
            dcv[j] = dcell * fg;
        }
    }
}

/* acc (j1 - j0) = column sums of columns [j0, j1) of d (rows, G), rows in
 * order (each lane one column: the sums of a scalar loop); with x (rows)
 * non-NULL also accx (j1 - j0) = the same columns of d^T x (one input
 * feature's weight gradient, in the same pass over d). */
LSTM_CLONES
static void lstm_column_sums(float *acc, float *accx, const float *d, const float *x, long rows,
                             int G, int j0, int j1) {
    for (int j = 0; j < j1 - j0; j++) acc[j] = accx[j] = 0.0f;
    for (long r = 0; r < rows; r++) {
        const float *dr = d + (size_t)r * G + j0;
        const float xr = x ? x[r] : 0.0f;
        #pragma omp simd
        for (int j = 0; j < j1 - j0; j++) {
            acc[j] += dr[j];
            accx[j] += dr[j] * xr;
        }
    }
}

/* Split rows [0, B) into `parts` contiguous blocks; block k is [*b0, *b1). */
static void lstm_rows(int B, int parts, int k, int *b0, int *b1) {
    *b0 = (int)((long)B * k / parts);
    *b1 = (int)((long)B * (k + 1) / parts);
}

static int lstm_parts(int B) {
    int n = omp_in_parallel() ? 1 : omp_get_max_threads();
    return n < B ? n : B;
}

/* gates (rows, G) = (b_ih + b_hh) + x w^T for one input feature (C = 1): an
 * outer product, one rounding per product and per sum as in sgemm.
 * x (rows), w (G), b_ih, b_hh (G). */
LSTM_CLONES
static void lstm_outer_rows(float *gates, const float *x, const float *w, const float *b_ih,
                            const float *b_hh, long rows, int G) {
    for (long r = 0; r < rows; r++) {
        float *g = gates + (size_t)r * G;
        const float xr = x[r];
        #pragma omp simd
        for (int j = 0; j < G; j++) g[j] = (b_ih[j] + b_hh[j]) + xr * w[j];
    }
}

/* gates (rows, G) = b_ih + b_hh + inp (rows, C) @ w_ih (G, C)^T for rows
 * [r0, r1). With one input feature (the predictor's first layer) it is an
 * outer product, written directly (an sgemm with K = 1 packs its operands
 * for nothing); else the bias row is broadcast and one sgemm adds the
 * product to every row. */
static void lstm_input_projection(float *gates, const float *inp, const float *w_ih,
                                  const float *b_ih, const float *b_hh, long r0, long r1, int C,
                                  int G) {
    if (r1 <= r0) return;
    float *g0 = gates + (size_t)r0 * G;
    if (C == 1) {
        lstm_outer_rows(g0, inp + r0, w_ih, b_ih, b_hh, r1 - r0, G);
        return;
    }
    for (int j = 0; j < G; j++) g0[j] = b_ih[j] + b_hh[j];
    for (long r = r0 + 1; r < r1; r++) memcpy(gates + (size_t)r * G, g0, (size_t)G * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(r1 - r0), G, C, 1.0f,
                inp + (size_t)r0 * C, C, w_ih, C, 1.0f, g0, G);
}

// h, c, tc (B, T, H), gates (B, T, 4H), inp (B, T, C),
// w_ih (4H, C), w_hh (4H, H), b_ih (4H), b_hh (4H)
void tdl_lstm_forward(float *h, float *c, float *tc, float *gates, const float *inp,
                      const float *w_ih, const float *w_hh, const float *b_ih, const float *b_hh,
                      int B, int T, int C, int H) {
    TDL_ASSERT(h && c && tc && gates && inp && w_ih && w_hh && b_ih && b_hh,
               "lstm_forward: NULL tensor");
    TDL_ASSERT(B > 0 && T > 0 && C > 0 && H > 0, "lstm_forward: bad dims B=%d T=%d C=%d H=%d",
               B, T, C, H);
    const int G = 4 * H;
    const int parts = lstm_parts(B);
    #pragma omp parallel num_threads(parts) if (parts > 1)
    {
        int b0, b1;
        lstm_rows(B, parts, omp_get_thread_num(), &b0, &b1);
        // gates = b_ih + b_hh + inp @ w_ih^T for every (b, t) row of the block
        lstm_input_projection(gates, inp, w_ih, b_ih, b_hh, (long)b0 * T, (long)b1 * T, C, G);
        for (int t = 0; t < T; t++) {
            if (t > 0)  // gates[b0:b1, t] += h[b0:b1, t-1] @ w_hh^T (rows strided by T)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b1 - b0, G, H, 1.0f,
                            h + ((size_t)b0 * T + t - 1) * H, T * H, w_hh, H, 1.0f,
                            gates + ((size_t)b0 * T + t) * G, T * G);
            lstm_cells_forward(gates, c, tc, h, b0, b1, t, T, H);
        }
    }
}

size_t tdl_lstm_scratch_floats(int B, int T, int C, int H) {
    TDL_ASSERT(B > 0 && T > 0 && C > 0 && H > 0, "lstm_scratch_floats: bad dims");
    // dgates (B*T, 4H), hprev (B*T, H), dht (B, H), dc (B, H), xt (B*T)
    return (size_t)B * T * (4 * (size_t)H + H + 1) + 2 * (size_t)B * H;
}

// dinp (B, T, C), dw_ih (4H, C), dw_hh (4H, H), db_ih, db_hh (4H), dh (B, T, H),
// inp (B, T, C), h, c, tc (B, T, H), gates (B, T, 4H), w_ih (4H, C), w_hh (4H, H)
void tdl_lstm_backward(float *dinp, float *dw_ih, float *dw_hh, float *db_ih, float *db_hh,
                       const float *dh, const float *inp, const float *h, const float *c,
                       const float *tc, const float *gates, const float *w_ih,
                       const float *w_hh, float *scratch, int B, int T, int C, int H) {
    TDL_ASSERT(dh && inp && h && c && tc && gates && w_ih && w_hh && scratch,
               "lstm_backward: NULL tensor");
    TDL_ASSERT(B > 0 && T > 0 && C > 0 && H > 0, "lstm_backward: bad dims B=%d T=%d C=%d H=%d",
               B, T, C, H);
    const int G = 4 * H;
    const long rows = (long)B * T;
    /* dgates and hprev hold one row per (b, t), at b * ds_b + t * ds_t. With
     * one input feature (C = 1) and no dinp nothing pairs them with the rows
     * of inp or dinp in a product (dw_ih is a column sum), so they are
     * time-major: the t = 0 rows, where hprev is zero, are then the first B
     * and dw_hh skips them (1/T of its work), and a step's rows are
     * contiguous. Else batch-major, as inp and dinp, for single products. */
    const int tm = C == 1 && !dinp;
    const int ds_b = tm ? 1 : T, ds_t = tm ? B : 1;
    float *dgates = scratch;                    // (B*T, 4H) gradient of the pre-activations
    float *hprev = dgates + (size_t)rows * G;   // (B*T, H) h_{t-1}, zero at t = 0
    float *dht = hprev + (size_t)rows * H;      // (B, H) total dh of the current step
    float *dc = dht + (size_t)B * H;            // (B, H) dc flowing into step t-1
    float *xt = dc + (size_t)B * H;             // (B*T) inp (C = 1) in time-major rows
    // with one input feature (C = 1) dw_ih is a matrix-vector product, done
    // with the bias sums
    const int dw_ih_in_sums = dw_ih && C == 1;
    const long r0 = tm ? B : 0;  // first row of dw_hh's product (hprev nonzero from there)

    const int parts = lstm_parts(B);
    #pragma omp parallel num_threads(parts) if (parts > 1)
    {
        const int k = omp_get_thread_num();
        int b0, b1, g0, g1;
        lstm_rows(B, parts, k, &b0, &b1);  // batch rows of the recurrence and of dinp
        lstm_rows(G, parts, k, &g0, &g1);  // rows of the weight gradients
        for (int b = b0; b < b1; b++)
            for (int t = 0; t < T; t++) {
                float *hp = hprev + ((size_t)b * ds_b + (size_t)t * ds_t) * H;
                if (t == 0) memset(hp, 0, (size_t)H * sizeof(float));
                else memcpy(hp, h + ((size_t)b * T + t - 1) * H, (size_t)H * sizeof(float));
                if (tm) xt[(size_t)b * ds_b + (size_t)t * ds_t] = inp[(size_t)b * T + t];
            }
        memset(dc + (size_t)b0 * H, 0, (size_t)(b1 - b0) * H * sizeof(float));
        // c_{-1} = 0: at t = 0 read the zero row hprev[b0, 0] instead
        const float *zrow = hprev + (size_t)b0 * ds_b * H;
        for (int t = T - 1; t >= 0; t--) {
            for (int b = b0; b < b1; b++)
                memcpy(dht + (size_t)b * H, dh + ((size_t)b * T + t) * H, (size_t)H * sizeof(float));
            if (t < T - 1)  // dht += dgates[b0:b1, t+1] @ w_hh
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b1 - b0, H, G, 1.0f,
                            dgates + ((size_t)b0 * ds_b + (size_t)(t + 1) * ds_t) * G, ds_b * G,
                            w_hh, H, 1.0f, dht + (size_t)b0 * H, H);
            lstm_cells_backward(dgates, dc, gates, c, tc, dht, zrow, b0, b1, t, T, H, ds_b, ds_t);
        }
        if (dinp && b1 > b0)  // dinp += dgates @ w_ih on this block's rows (batch-major)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (b1 - b0) * T, C, G, 1.0f,
                        dgates + (size_t)b0 * T * G, G, w_ih, C, 1.0f, dinp + (size_t)b0 * T * C,
                        C);
        #pragma omp barrier  // every row of dgates, hprev and xt written

        // weight gradients over all B*T rows at once, each thread a block of
        // their rows (columns of dgates)
        if (dw_ih && !dw_ih_in_sums && g1 > g0)  // dw_ih += dgates^T @ inp
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g1 - g0, C, (int)rows, 1.0f,
                        dgates + g0, G, inp, C, 1.0f, dw_ih + (size_t)g0 * C, C);
        if (dw_hh && T > 1 && g1 > g0)  // dw_hh += dgates^T @ hprev
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g1 - g0, H, (int)(rows - r0),
                        1.0f, dgates + (size_t)r0 * G + g0, G, hprev + (size_t)r0 * H, H, 1.0f,
                        dw_hh + (size_t)g0 * H, H);
        if (db_ih || db_hh || dw_ih_in_sums) {  // column sums of dgates (and of dgates * inp)
            for (int j0 = g0; j0 < g1; j0 += 64) {
                const int j1 = j0 + 64 < g1 ? j0 + 64 : g1;
                float acc[64], accx[64];
                lstm_column_sums(acc, accx, dgates, dw_ih_in_sums ? (tm ? xt : inp) : NULL, rows,
                                 G, j0, j1);
                for (int j = j0; j < j1; j++) {
                    if (db_ih) db_ih[j] += acc[j - j0];
                    if (db_hh) db_hh[j] += acc[j - j0];
                    if (dw_ih_in_sums) dw_ih[j] += accx[j - j0];
                }
            }
        }
    }
}
