/* attention.c: single-head self-attention over the N positions of a feature
 * map in channel-major layout (what a 1x1 convolution produces).
 *
 * Per image b, with q, k, v, out (C, N) and scale = 1/sqrt(C):
 *   scores (N, N) = scale * q^T k              att = row softmax of scores
 *   out (C, N)    = v att^T                    out[:, i] = sum_j att[i, j] v[:, j]
 * Backward, with dout (C, N):
 *   dv  += dout att                            datt (N, N) = dout^T v
 *   dS   = att * (datt - rowsum(datt * att))   (softmax backward)
 *   dq  += scale * k dS^T                      dk += scale * q dS
 * Images are spread over OpenMP threads (sgemm single-threaded inside); with
 * a single image the sgemms use every thread. Results do not depend on the
 * thread count.
 *
 * The row loops (softmax, its backward) are most of attention's time outside
 * the sgemms: they vectorise, with fast_exp (fast_exp.h, relative error 6e-9)
 * for expf and the row sums in double (vector lanes, then the lanes added:
 * the order depends on the instruction set picked at load time, not on the
 * thread count). */
/* The selects of fast_exp vectorise only when GCC may assume that
 * floating-point operations do not trap (tdl never enables FP exceptions);
 * this changes no result (no reassociation, contraction or NaN assumptions). */
#pragma GCC optimize("no-trapping-math")

#include <cblas.h>
#include <math.h>
#include <omp.h>

#include "fast_exp.h"
#include "tdl/nn.h"
#include "tdl/status.h"

/* The row loops are compiled for AVX-512, AVX2 and the baseline, picked at
 * load time (GCC function multiversioning; the library is built without
 * -march). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(TDL_NO_CLONES)
#define ATT_CLONES __attribute__((target_clones("avx512f", "avx2", "default"), noinline))
#else
#define ATT_CLONES
#endif

// a (N, N): each row replaced by its softmax.
ATT_CLONES
static void softmax_rows(float *a, int N) {
    for (int i = 0; i < N; i++) {
        float *row = a + (size_t)i * N;
        float mx = row[0];
#pragma omp simd reduction(max : mx)
        for (int j = 1; j < N; j++) mx = row[j] > mx ? row[j] : mx;
        double sum = 0.0;
#pragma omp simd reduction(+ : sum)
        for (int j = 0; j < N; j++) {
            const float e = fast_exp(row[j] - mx);
            row[j] = e;
            sum += e;
        }
        const float inv = (float)(1.0 / sum);
#pragma omp simd
        for (int j = 0; j < N; j++) row[j] *= inv;
    }
}

// ds (N, N) = datt on entry, dS = att * (datt - rowsum(datt * att)) on return; a (N, N) = att.
ATT_CLONES
static void softmax_rows_backward(float *ds, const float *a, int N) {
    for (int i = 0; i < N; i++) {
        float *d = ds + (size_t)i * N;
        const float *ar = a + (size_t)i * N;
        double dot = 0.0;
#pragma omp simd reduction(+ : dot)
        for (int j = 0; j < N; j++) dot += (double)d[j] * ar[j];
        const float fdot = (float)dot;
#pragma omp simd
        for (int j = 0; j < N; j++) d[j] = ar[j] * (d[j] - fdot);
    }
}

static int att_slots(int B, int threads) {
    if (threads < 1) threads = 1;
    return B < threads ? B : threads;
}

// out (B, C, N), att (B, N, N), q, k, v (B, C, N).
void tdl_attention_forward(float *out, float *att, const float *q, const float *k,
                           const float *v, int B, int C, int N) {
    TDL_ASSERT(out && att && q && k && v, "NULL argument");
    TDL_ASSERT(B > 0 && C > 0 && N > 0, "bad shape B=%d C=%d N=%d", B, C, N);
    const float scale = (float)(1.0 / sqrt((double)C));
    const int slots = att_slots(B, omp_get_max_threads());
    const size_t cn = (size_t)C * N, nn = (size_t)N * N;
#pragma omp parallel for schedule(static) num_threads(slots) if (slots > 1)
    for (int b = 0; b < B; b++) {
        const float *qb = q + b * cn, *kb = k + b * cn, *vb = v + b * cn;
        float *a = att + b * nn;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, N, C, scale, qb, N, kb, N, 0.0f,
                    a, N);
        softmax_rows(a, N);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, C, N, N, 1.0f, vb, N, a, N, 0.0f,
                    out + b * cn, N);
    }
}

size_t tdl_attention_scratch_floats(int B, int C, int N, int threads) {
    TDL_ASSERT(B > 0 && C > 0 && N > 0, "bad shape B=%d C=%d N=%d", B, C, N);
    return (size_t)att_slots(B, threads) * N * N;
}

// dq, dk, dv (B, C, N), each may be NULL; dout, q, k, v (B, C, N); att (B, N, N);
// scratch: tdl_attention_scratch_floats(B, C, N, omp_get_max_threads()) floats.
void tdl_attention_backward(float *dq, float *dk, float *dv, const float *dout,
                            const float *q, const float *k, const float *v, const float *att,
                            float *scratch, int B, int C, int N) {
    TDL_ASSERT(dout && q && k && v && att, "NULL argument");
    TDL_ASSERT(B > 0 && C > 0 && N > 0, "bad shape B=%d C=%d N=%d", B, C, N);
    const int need_ds = dq || dk;
    TDL_ASSERT(scratch || !need_ds, "attention backward needs scratch");
    const float scale = (float)(1.0 / sqrt((double)C));
    const int slots = att_slots(B, omp_get_max_threads());
    const size_t cn = (size_t)C * N, nn = (size_t)N * N;
#pragma omp parallel for schedule(static) num_threads(slots) if (slots > 1)
    for (int b = 0; b < B; b++) {
        const float *dy = dout + b * cn, *a = att + b * nn;
        if (dv)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, C, N, N, 1.0f, dy, N, a, N,
                        1.0f, dv + b * cn, N);
        if (!need_ds) continue;
        float *ds = scratch + (size_t)omp_get_thread_num() * nn; // datt, then dS in place
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, N, C, 1.0f, dy, N, v + b * cn, N,
                    0.0f, ds, N);
        softmax_rows_backward(ds, a, N);
        if (dq)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, C, N, N, scale, k + b * cn, N, ds,
                        N, 1.0f, dq + b * cn, N);
        if (dk)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, C, N, N, scale, q + b * cn, N,
                        ds, N, 1.0f, dk + b * cn, N);
    }
}
