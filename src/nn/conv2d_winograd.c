/* conv2d_winograd.c: 3x3 convolution, stride 1, padding 1, NCHW, as
 * Winograd F(2x2, 3x3) or F(4x4, 3x3) (Lavin & Gray 2016), batched over the
 * images of a call.
 *
 * Output tile (ti, tj) is out[2ti .. 2ti+1, 2tj .. 2tj+1] (clipped at the
 * border when H or W is odd); its input tile d is the 4x4 patch
 * inp[2ti-1 .. 2ti+2, 2tj-1 .. 2tj+2] (zero outside the image). With
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
 *   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
 *   A^T = [1 1 1 0; 0 1 -1 -1],
 * and xi = 4i + j indexing the 16 points of a 4x4 transform:
 *   U_xi (OC, C)     = (G g G^T)_ij of every 3x3 kernel g = weight[oc, c]
 *   V_xi (C, tiles)  = (B^T d B)_ij of every input tile of every channel
 *   M_xi (OC, tiles) = U_xi @ V_xi                       (16 sgemms)
 *   out tile         = A^T m A + bias, m the 4x4 of M_.. at (oc, tile).
 * Backward is the exact adjoint of these linear maps:
 *   dM_xi (OC, tiles) = (A dY A^T)_ij of every 2x2 dout tile (zero outside)
 *   dU_xi (OC, C)    += dM_xi @ V_xi^T  (V recomputed from inp)
 *   dweight         += G^T dU G
 *   dV_xi (C, tiles)  = U_xi^T @ dM_xi
 *   dinp            += B dV B^T, added into the overlapping 4x4 input tiles.
 *
 * Tiles are processed in blocks: whole images (several per block when they
 * are small) or, for a large image, ranges of tile rows of one image, sized
 * so that a block's V and M stay within WINO_BLOCK_FLOATS. Blocks depend on
 * the shape only. OpenMP threads take whole blocks (transforms and 16
 * single-threaded sgemms each), so the forward pass and dinp do not depend on
 * the thread count. Row-range blocks of one image overlap by two input rows
 * in dinp: the backward runs even-numbered blocks of an image first and
 * odd-numbered ones after a barrier, so no two threads add into one row at
 * once and the order of additions is fixed. dU is summed per thread and the
 * partials are reduced in thread order (dweight: summation order only).
 *
 * The transforms run as long loops that vectorise: the input transforms
 * over whole rows and then over a block's flat rows with strided loads (see
 * input_transform2); the others split rows and columns at the tile grid
 * (input indices apart by their phase) into unit-stride loops.
 *
 * F(4x4, 3x3) (6x6 input tiles, 36 transform points, 36 sgemms; see its
 * section below) shares the blocks, threads and sgemms; per output it needs
 * 2.25 multiplications instead of 4, at ~1e-5 relative error instead of ~1e-6.
 */
#include <cblas.h>
#include <omp.h>
#include <string.h>

#include "conv2d_winograd.h"
#include "tdl/status.h"

/* The transform loops are compiled for AVX-512, AVX2 and the baseline, picked
 * at load time (additions only: the same results in every version). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(TDL_NO_CLONES)
#define WINO_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define WINO_CLONES
#endif

/* Floats of V and M of one block: 512 KiB, which with the sgemm's packed panels
 * stays near the L2 cache of one core; 1 MiB when C + OC <= 128 (the small
 * preset's layers), where the products U_xi V_xi are thin (at most 64 rows
 * and 64 columns in U) and more tiles per block make each sgemm longer: the
 * 28x28 layers with 32 or 64 channels then run a whole image per block instead
 * of 4 or 9 tile rows (forward and backward 10-25% faster there). A block
 * holds at least WINO_MIN_TILES tiles (when the image and batch have as many)
 * so that the sgemms are not too thin. */
#define WINO_BLOCK_FLOATS (128 * 1024)
#define WINO_BLOCK_FLOATS_THIN (256 * 1024)
#define WINO_THIN_CHANNELS 128
#define WINO_MIN_TILES 64

typedef struct {
    int m, nx;       /* output tile m x m (2 or 4); nx = (m + 2)^2 transform points */
    int tH, tW, tpi; /* tile rows, tile columns, tiles per image */
    int ipb;         /* whole-image blocks: images per block */
    int rpb, bpi;    /* tile rows per block, blocks per image (bpi > 1: row-range blocks) */
    int nblk;        /* blocks in the call */
    int T;           /* tiles of the largest block: the row stride of V and M */
    int threads;     /* OpenMP threads of the call */
    int team;        /* fewer blocks than threads: all threads work on each block */
    int slots;       /* block mode: threads that take blocks; team mode: 1 */
    size_t xsU, xsV, xsM; /* floats between the 16 planes of U and dU, V, M */
} wplan;

/* A block: images [b0, b1), tile rows [r0, r1) of each. */
typedef struct {
    int b0, b1, r0, r1;
} wblock;

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

/* The stride of the 16 planes of an array of n floats per plane: a multiple
 * of 1 KiB plus 64 bytes, so that the 16 rows that a transform writes at once
 * fall into distinct cache sets (a multiple of 4 KiB would put them all into
 * one set). */
static size_t plane(size_t n) { return ((n + 255) & ~(size_t)255) + 16; }

int conv2d_wino_supports(const tdl_conv2d_shape *s) { return s->K == 3 && s->S == 1 && s->P == 1; }

static wplan make_plan(const tdl_conv2d_shape *s, int threads, int m) {
    TDL_ASSERT(conv2d_wino_supports(s), "Winograd needs K 3, S 1, P 1 (got K %d S %d P %d)",
               s->K, s->S, s->P);
    wplan p;
    p.m = m;
    p.nx = (m + 2) * (m + 2);
    p.tH = (s->H + m - 1) / m;
    p.tW = (s->W + m - 1) / m;
    p.tpi = p.tH * p.tW;
    const long cc = (long)s->C + s->OC;
    long tmax = (cc <= WINO_THIN_CHANNELS ? WINO_BLOCK_FLOATS_THIN : WINO_BLOCK_FLOATS) / (p.nx * cc);
    if (tmax < WINO_MIN_TILES) tmax = WINO_MIN_TILES;
    if (p.tpi <= tmax) {
        p.ipb = (int)(tmax / p.tpi);
        if (p.ipb > s->B) p.ipb = s->B;
        p.rpb = p.tH;
        p.bpi = 1;
        p.nblk = (s->B + p.ipb - 1) / p.ipb;
        p.T = p.ipb * p.tpi;
    } else {
        p.ipb = 1;
        p.rpb = (int)(tmax / p.tW);
        if (p.rpb < 1) p.rpb = 1;
        p.bpi = (p.tH + p.rpb - 1) / p.rpb;
        p.nblk = s->B * p.bpi;
        p.T = p.rpb * p.tW;
    }
    if (threads < 1) threads = 1;
    p.threads = threads;
    p.team = p.nblk < threads;
    p.slots = p.team ? 1 : threads;
    p.xsU = plane((size_t)s->OC * s->C);
    p.xsV = plane((size_t)s->C * p.T);
    p.xsM = plane((size_t)s->OC * p.T);
    return p;
}

static wblock block_of(const wplan *p, const tdl_conv2d_shape *s, int k) {
    wblock bl;
    if (p->bpi == 1) {
        bl.b0 = k * p->ipb;
        bl.b1 = bl.b0 + p->ipb < s->B ? bl.b0 + p->ipb : s->B;
        bl.r0 = 0;
        bl.r1 = p->tH;
    } else {
        bl.b0 = k / p->bpi;
        bl.b1 = bl.b0 + 1;
        bl.r0 = (k % p->bpi) * p->rpb;
        bl.r1 = bl.r0 + p->rpb < p->tH ? bl.r0 + p->rpb : p->tH;
    }
    return bl;
}

/* Per-slot floats: V (16, C, T), M (16, OC, T), a dU partial (16, OC, C) and
 * the tile-row scratch. */
static size_t scratch_floats(const wplan *p) {
    const size_t R = (size_t)p->rpb;
    if (p->m == 2) {
        const size_t L = (size_t)2 * p->tW + 2;
        return round16(10 * R * L + 2 * (R + 1) * L + 4 * (size_t)(p->tW + 1));
    }
    const size_t L = (size_t)4 * (p->tW + 1);
    return round16(12 * R * L + 4 * (R + 1) * L + 6 * (size_t)(p->tW + 1) + 24 * R * p->tW);
}

static size_t slot_floats(const wplan *p) {
    return (size_t)p->nx * (p->xsV + p->xsM + p->xsU) + scratch_floats(p);
}

/* U (16, OC, C) first, then the slots, then one scratch per thread for the
 * team mode. */
static size_t wino_work_floats(const tdl_conv2d_shape *s, int threads, int m) {
    const wplan p = make_plan(s, threads, m);
    return (size_t)p.nx * p.xsU + (size_t)p.slots * slot_floats(&p) +
           (size_t)p.threads * scratch_floats(&p);
}

typedef struct {
    float *V, *M, *dU, *scr;
} wslot;

static wslot slot_at(float *work, const wplan *p, int t) {
    wslot w;
    float *base = work + (size_t)p->nx * p->xsU + (size_t)t * slot_floats(p);
    w.V = base;
    w.M = w.V + (size_t)p->nx * p->xsV;
    w.dU = w.M + (size_t)p->nx * p->xsM;
    w.scr = w.dU + (size_t)p->nx * p->xsU;
    return w;
}

static float *team_scratch(float *work, const wplan *p, int t) {
    return work + (size_t)p->nx * p->xsU + (size_t)p->slots * slot_floats(p) +
           (size_t)t * scratch_floats(p);
}

/* U (16, OC, C) from weight (OC, C, 3, 3): U_(4i+j) = (G g G^T)_ij. */
static void weight_transform2(float *U, const float *weight, int OC, int C, size_t xs) {
#pragma omp parallel for schedule(static)
    for (int oc = 0; oc < OC; oc++) {
        for (int c = 0; c < C; c++) {
            const float *g = weight + ((size_t)oc * C + c) * 9; /* (3, 3) */
            float gg[4][3];                                     /* G g */
            for (int b = 0; b < 3; b++) {
                gg[0][b] = g[b];
                gg[1][b] = 0.5f * (g[b] + g[3 + b] + g[6 + b]);
                gg[2][b] = 0.5f * (g[b] - g[3 + b] + g[6 + b]);
                gg[3][b] = g[6 + b];
            }
            float *u = U + (size_t)oc * C + c;
            for (int i = 0; i < 4; i++) {
                u[(4 * i + 0) * xs] = gg[i][0];
                u[(4 * i + 1) * xs] = 0.5f * (gg[i][0] + gg[i][1] + gg[i][2]);
                u[(4 * i + 2) * xs] = 0.5f * (gg[i][0] - gg[i][1] + gg[i][2]);
                u[(4 * i + 3) * xs] = gg[i][2];
            }
        }
    }
}

/* dweight (OC, C, 3, 3) += G^T dU G, dU (16, OC, C); pairs (oc, c) in [i0, i1). */
static void weight_transform_adjoint2(float *dweight, const float *dU, size_t i0,
                                     size_t i1, size_t xs) {
    for (size_t n = i0; n < i1; n++) {
        const float *u = dU + n;
        float gu[4][3]; /* dU G */
        for (int i = 0; i < 4; i++) {
            const float u0 = u[(4 * i) * xs], u1 = u[(4 * i + 1) * xs], u2 = u[(4 * i + 2) * xs],
                        u3 = u[(4 * i + 3) * xs];
            gu[i][0] = u0 + 0.5f * (u1 + u2);
            gu[i][1] = 0.5f * (u1 - u2);
            gu[i][2] = 0.5f * (u1 + u2) + u3;
        }
        float *g = dweight + n * 9;
        for (int b = 0; b < 3; b++) {
            g[b] += gu[0][b] + 0.5f * (gu[1][b] + gu[2][b]);
            g[3 + b] += 0.5f * (gu[1][b] - gu[2][b]);
            g[6 + b] += 0.5f * (gu[1][b] + gu[2][b]) + gu[3][b];
        }
    }
}

/* The F(2x2) input transform works on one image and channel at a time, in
 * two passes over a block's tile rows q: B^T down the columns of the four
 * input rows 2q-1 .. 2q+2 of every tile row (zero outside the image), as
 * whole-row loops, into u_i (nr, 2 tW); then B^T along the rows of every
 * tile, on the flat u_i at once: element 2m of u_i is column 2k of tile row q
 * for m = q tW + k (loads at stride 2, which vectorise), and the tiles at a
 * row's ends take their one operand outside the image (column -1 or 2 tW,
 * zero) in a fix-up. (An odd width gets one zero column W in u_i.) The
 * loops sit in small functions with restrict arguments so that they
 * vectorise. */

/* B^T applied across four rows (or columns) a, b, c, d: n elements. */
WINO_CLONES
static void bt4(float *restrict y0, float *restrict y1, float *restrict y2, float *restrict y3,
                const float *restrict a, const float *restrict b, const float *restrict c,
                const float *restrict d, int n) {
    for (int k = 0; k < n; k++) {
        y0[k] = a[k] - c[k];
        y1[k] = b[k] + c[k];
        y2[k] = c[k] - b[k];
        y3[k] = b[k] - d[k];
    }
}

/* v0..v3 (nr, tW) = (u B)_0..3 of rows u (nr, 2 tW), zero beyond each row's ends:
 * v0 = u[2k-1] - u[2k+1], v1 = u[2k] + u[2k+1], v2 = u[2k+1] - u[2k], v3 = u[2k] - u[2k+2]. */
WINO_CLONES
static void bt4_cols(float *restrict v0, float *restrict v1, float *restrict v2,
                     float *restrict v3, const float *restrict u, int nr, int tW) {
    const int n = nr * tW;
    for (int m = 0; m < n; m++) {
        v1[m] = u[2 * m] + u[2 * m + 1];
        v2[m] = u[2 * m + 1] - u[2 * m];
    }
    for (int m = 1; m < n; m++) v0[m] = u[2 * m - 1] - u[2 * m + 1];
    for (int m = 0; m + 1 < n; m++) v3[m] = u[2 * m] - u[2 * m + 2];
    for (int q = 0; q < nr; q++) { /* the zero column before and after each row */
        const float *uq = u + (size_t)2 * q * tW;
        v0[q * tW] = 0.0f - uq[1];
        v3[q * tW + tW - 1] = uq[2 * tW - 2] - 0.0f;
    }
}

/* V (16, C, T) columns of block bl from inp (B, C, H, W), channels [c0, c1). */
static void input_transform2(float *V, int T, const float *inp, const tdl_conv2d_shape *s,
                             const wplan *p, wblock bl, int c0, int c1, float *scr) {
    const int C = s->C, H = s->H, W = s->W, tW = p->tW, nr = bl.r1 - bl.r0, Wp = 2 * tW;
    const size_t xs = p->xsV, nu = (size_t)nr * Wp;
    float *u = scr;           /* (4, nr, Wp) */
    float *zero = u + 4 * nu; /* (W) */
    memset(zero, 0, (size_t)W * sizeof(float));
    for (int c = c0; c < c1; c++) {
        for (int b = bl.b0; b < bl.b1; b++) {
            const float *xc = inp + ((size_t)b * C + c) * H * W; /* (H, W) */
            for (int q = 0; q < nr; q++) {
                const float *r[4];
                for (int a = 0; a < 4; a++) {
                    const int ih = 2 * (bl.r0 + q) - 1 + a;
                    r[a] = ih >= 0 && ih < H ? xc + (size_t)ih * W : zero;
                }
                const size_t o = (size_t)q * Wp;
                bt4(u + o, u + nu + o, u + 2 * nu + o, u + 3 * nu + o, r[0], r[1], r[2], r[3], W);
                if (Wp > W) /* odd W: column W, B^T of zeros */
                    for (int i = 0; i < 4; i++) u[i * nu + o + W] = 0.0f;
            }
            float *v = V + (size_t)c * T + (size_t)(b - bl.b0) * nr * tW;
            for (int i = 0; i < 4; i++)
                bt4_cols(v + (size_t)(4 * i) * xs, v + (size_t)(4 * i + 1) * xs,
                         v + (size_t)(4 * i + 2) * xs, v + (size_t)(4 * i + 3) * xs, u + i * nu,
                         nr, tW);
        }
    }
}

/* The adjoint of bt4 for n elements: with y_i given, a..d receive
 * a = y0, b = y1 - y2 + y3, c = y1 + y2 - y0, d = -y3 split as first (a, b at
 * k) and second (c, d at k, added at k + 1 by the caller): f = (a, b), g = (c, d). */
WINO_CLONES
static void bt4_adjoint(float *restrict fa, float *restrict fb, float *restrict gc,
                        float *restrict gd, const float *restrict y0, const float *restrict y1,
                        const float *restrict y2, const float *restrict y3, int n) {
    for (int k = 0; k < n; k++) {
        fa[k] = y0[k];
        fb[k] = y1[k] - y2[k] + y3[k];
        gc[k] = y1[k] + y2[k] - y0[k];
        gd[k] = -y3[k];
    }
}

/* x[k] = f[k] + g[k - sh] for k = 0 .. n + sh - 1, where f is zero from n on
 * and g is zero before 0: the adjoint's "add the next tile's share". */
WINO_CLONES
static void shift_add(float *restrict x, const float *restrict f, const float *restrict g, int n,
                      int sh) {
    for (int k = 0; k < sh; k++) x[k] = f[k];
    for (int k = sh; k < n; k++) x[k] = f[k] + g[k - sh];
    for (int k = n; k < n + sh; k++) x[k] = g[k - sh];
}

/* The adjoint of bt4_cols, du (nr, 2 tW) from y0..y3 (nr, tW):
 * with bt4_adjoint's f = (y0, y1 - y2 + y3) and g = (y1 + y2 - y0, -y3) at each
 * tile, column 2k receives f_b[k] + g_d[k-1] and column 2k+1 f_a[k+1] + g_c[k]
 * (each term alone at a row's first and last tile): shift_add's sums, in its
 * order, on the flat rows. */
WINO_CLONES
static void bt4_cols_adjoint(float *restrict du, const float *restrict y0,
                             const float *restrict y1, const float *restrict y2,
                             const float *restrict y3, int nr, int tW) {
    const int n = nr * tW;
    for (int m = 1; m < n; m++) du[2 * m] = (y1[m] - y2[m] + y3[m]) + -y3[m - 1];
    for (int m = 0; m + 1 < n; m++) du[2 * m + 1] = y0[m + 1] + (y1[m] + y2[m] - y0[m]);
    for (int q = 0; q < nr; q++) {
        const int m0 = q * tW, m1 = m0 + tW - 1;
        du[2 * m0] = y1[m0] - y2[m0] + y3[m0];
        du[2 * m1 + 1] = y1[m1] + y2[m1] - y0[m1];
    }
}

/* dxr (n) += d (n). */
WINO_CLONES
static void add_row(float *restrict dxr, const float *restrict d, int n) {
    for (int k = 0; k < n; k++) dxr[k] += d[k];
}

/* dinp (B, C, H, W) += B dV B^T of every tile of block bl, dV (16, C, T),
 * channels [c0, c1): the adjoint of input_transform2's passes in reverse. */
static void input_transform_adjoint2(float *dinp, const float *dV, int T,
                                     const tdl_conv2d_shape *s, const wplan *p, wblock bl,
                                     int c0, int c1, float *scr) {
    const int C = s->C, H = s->H, W = s->W, tW = p->tW, nr = bl.r1 - bl.r0, Wp = 2 * tW;
    const size_t xs = p->xsV, nu = (size_t)nr * Wp;
    float *du = scr;                          /* (4, nr, Wp): d of u_i */
    float *f = du + 4 * nu, *g = f + 2 * nu;  /* (2, nr, Wp) each */
    float *dPe = g + 2 * nu;                  /* (nr + 1, Wp): input rows 2 (r0 + q) - 1 */
    float *dPo = dPe + (size_t)(nr + 1) * Wp; /* (nr + 1, Wp): input rows 2 (r0 + q) */
    for (int c = c0; c < c1; c++) {
        for (int b = bl.b0; b < bl.b1; b++) {
            const float *v = dV + (size_t)c * T + (size_t)(b - bl.b0) * nr * tW;
            for (int i = 0; i < 4; i++)
                bt4_cols_adjoint(du + i * nu, v + (size_t)(4 * i) * xs,
                                 v + (size_t)(4 * i + 1) * xs, v + (size_t)(4 * i + 2) * xs,
                                 v + (size_t)(4 * i + 3) * xs, nr, tW);
            bt4_adjoint(f, f + nu, g, g + nu, du, du + nu, du + 2 * nu, du + 3 * nu, (int)nu);
            shift_add(dPe, f, g, (int)nu, Wp);
            shift_add(dPo, f + nu, g + nu, (int)nu, Wp);
            float *dxc = dinp + ((size_t)b * C + c) * H * W; /* (H, W) */
            for (int q = 0; q <= nr; q++) {
                const int ie = 2 * (bl.r0 + q) - 1, io = ie + 1;
                if (ie >= 0 && ie < H) add_row(dxc + (size_t)ie * W, dPe + (size_t)q * Wp, W);
                if (io < H) add_row(dxc + (size_t)io * W, dPo + (size_t)q * Wp, W);
            }
        }
    }
}

/* A^T applied across four rows a, b, c, d: y0 = a + b + c, y1 = b - c - d. */
WINO_CLONES
static void at4(float *restrict y0, float *restrict y1, const float *restrict a,
                const float *restrict b, const float *restrict c, const float *restrict d, int n) {
    for (int k = 0; k < n; k++) {
        y0[k] = a[k] + b[k] + c[k];
        y1[k] = b[k] - c[k] - d[k];
    }
}

/* Output row yr (W) from the four column sums of its tiles: yr[2k] and
 * yr[2k+1] from at4 of (a, b, c, d)[k], plus bias bb. */
WINO_CLONES
static void out_row(float *restrict yr, const float *restrict a, const float *restrict b,
                    const float *restrict c, const float *restrict d, float bb, int W) {
    const int full = W / 2; /* tiles with both output columns inside */
    for (int k = 0; k < full; k++) {
        yr[2 * k] = (a[k] + b[k] + c[k]) + bb;
        yr[2 * k + 1] = (b[k] - c[k] - d[k]) + bb;
    }
    if (2 * full < W) yr[2 * full] = (a[full] + b[full] + c[full]) + bb;
}

/* out (B, OC, H, W) of block bl from M (16, OC, T): A^T m A + bias; output
 * channels [o0, o1). */
static void output_transform2(float *out, const float *M, int T, const float *bias,
                             const tdl_conv2d_shape *s, const wplan *p, wblock bl, int o0, int o1,
                             float *scr) {
    const int OC = s->OC, H = s->H, W = s->W, tW = p->tW, nr = bl.r1 - bl.r0;
    const size_t xs = p->xsM, nt = (size_t)nr * tW;
    float *z = scr; /* (2, 4, nr * tW): A^T down the columns of every tile */
    for (int oc = o0; oc < o1; oc++) {
        const float bb = bias ? bias[oc] : 0.0f;
        for (int b = bl.b0; b < bl.b1; b++) {
            float *yc = out + ((size_t)b * OC + oc) * H * W; /* (H, W) */
            const float *m = M + (size_t)oc * T + (size_t)(b - bl.b0) * nt;
            for (int j = 0; j < 4; j++)
                at4(z + j * nt, z + (4 + j) * nt, m + (size_t)j * xs, m + (size_t)(4 + j) * xs,
                    m + (size_t)(8 + j) * xs, m + (size_t)(12 + j) * xs, (int)nt);
            for (int q = 0; q < nr; q++) {
                for (int a = 0; a < 2; a++) {
                    const int oh = 2 * (bl.r0 + q) + a;
                    if (oh >= H) break;
                    const float *za = z + (size_t)(4 * a) * nt + (size_t)q * tW;
                    out_row(yc + (size_t)oh * W, za, za + nt, za + 2 * nt, za + 3 * nt, bb, W);
                }
            }
        }
    }
}

/* The adjoint of at4: a = y0, b = y0 + y1, c = y0 - y1, d = -y1. */
WINO_CLONES
static void at4_adjoint(float *restrict a, float *restrict b, float *restrict c,
                        float *restrict d, const float *restrict y0, const float *restrict y1,
                        int n) {
    for (int k = 0; k < n; k++) {
        a[k] = y0[k];
        b[k] = y0[k] + y1[k];
        c[k] = y0[k] - y1[k];
        d[k] = -y1[k];
    }
}

/* Splits dout row dyr (W) into even and odd columns pe, po (tW), zero past W. */
WINO_CLONES
static void split_out_row(float *restrict pe, float *restrict po, const float *restrict dyr,
                          int W, int tW) {
    const int full = W / 2;
    for (int k = 0; k < full; k++) {
        pe[k] = dyr[2 * k];
        po[k] = dyr[2 * k + 1];
    }
    if (full < tW) {
        pe[full] = dyr[2 * full];
        po[full] = 0.0f;
    }
}

/* dM (16, OC, T) of block bl from dout (B, OC, H, W): A dY A^T; output
 * channels [o0, o1). */
static void output_transform_adjoint2(float *dM, int T, const float *dout,
                                     const tdl_conv2d_shape *s, const wplan *p, wblock bl,
                                     int o0, int o1, float *scr) {
    const int OC = s->OC, H = s->H, W = s->W, tW = p->tW, nr = bl.r1 - bl.r0;
    const size_t xs = p->xsM, nt = (size_t)nr * tW;
    float *z = scr;                         /* (2, 4, nr * tW): A dY per output row */
    float *pe = z + 8 * nt, *po = pe + tW; /* (tW) each */
    for (int oc = o0; oc < o1; oc++) {
        for (int b = bl.b0; b < bl.b1; b++) {
            const float *dyc = dout + ((size_t)b * OC + oc) * H * W; /* (H, W) */
            for (int q = 0; q < nr; q++) {
                for (int a = 0; a < 2; a++) {
                    float *za = z + (size_t)(4 * a) * nt + (size_t)q * tW;
                    const int oh = 2 * (bl.r0 + q) + a;
                    if (oh >= H) {
                        for (int j = 0; j < 4; j++) memset(za + j * nt, 0, (size_t)tW * sizeof(float));
                        continue;
                    }
                    split_out_row(pe, po, dyc + (size_t)oh * W, W, tW);
                    at4_adjoint(za, za + nt, za + 2 * nt, za + 3 * nt, pe, po, tW);
                }
            }
            float *m = dM + (size_t)oc * T + (size_t)(b - bl.b0) * nt;
            for (int j = 0; j < 4; j++)
                at4_adjoint(m + (size_t)j * xs, m + (size_t)(4 + j) * xs, m + (size_t)(8 + j) * xs,
                            m + (size_t)(12 + j) * xs, z + j * nt, z + (4 + j) * nt, (int)nt);
        }
    }
}

/* ------------------------------------------------ F(4x4, 3x3): 6x6 tiles
 * Output tile (ti, tj) is out[4ti .. 4ti+3, 4tj .. 4tj+3], its input tile the
 * 6x6 patch inp[4ti-1 .. 4ti+4, 4tj-1 .. 4tj+4], xi = 6i + j, with
 *   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0;
 *          0 2 -1 -2 1 0; 0 4 0 -5 0 1],
 *   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6;
 *          1/24 -1/12 1/6; 0 0 1],
 *   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1].
 * Rows and columns are split at the tile grid into four phases (padded index
 * 4k + r, r = 0..3, i.e. input index 4k + r - 1); a tile reads phases 0..3 at
 * k and phases 0, 1 at k + 1. */

/* U (36, OC, C) from weight (OC, C, 3, 3): U_(6i+j) = (G g G^T)_ij. */
static void g6(float y[6], float a, float b, float c) {
    y[0] = a * 0.25f;
    y[1] = (a + b + c) * (-1.0f / 6.0f);
    y[2] = (a - b + c) * (-1.0f / 6.0f);
    y[3] = a * (1.0f / 24.0f) + b * (1.0f / 12.0f) + c * (1.0f / 6.0f);
    y[4] = a * (1.0f / 24.0f) - b * (1.0f / 12.0f) + c * (1.0f / 6.0f);
    y[5] = c;
}

/* The adjoint of g6: (a, b, c) += G^T y. */
static void g6_adjoint(float *a, float *b, float *c, const float y[6]) {
    *a += y[0] * 0.25f - (y[1] + y[2]) * (1.0f / 6.0f) + (y[3] + y[4]) * (1.0f / 24.0f);
    *b += (y[2] - y[1]) * (1.0f / 6.0f) + (y[3] - y[4]) * (1.0f / 12.0f);
    *c += -(y[1] + y[2]) * (1.0f / 6.0f) + (y[3] + y[4]) * (1.0f / 6.0f) + y[5];
}

static void weight_transform4(float *U, const float *weight, int OC, int C, size_t xs) {
#pragma omp parallel for schedule(static)
    for (int oc = 0; oc < OC; oc++) {
        for (int c = 0; c < C; c++) {
            const float *g = weight + ((size_t)oc * C + c) * 9; /* (3, 3) */
            float gg[3][6];                                     /* g G^T, per kernel row */
            for (int r = 0; r < 3; r++) g6(gg[r], g[3 * r], g[3 * r + 1], g[3 * r + 2]);
            float *u = U + (size_t)oc * C + c;
            for (int j = 0; j < 6; j++) {
                float col[6];
                g6(col, gg[0][j], gg[1][j], gg[2][j]);
                for (int i = 0; i < 6; i++) u[(size_t)(6 * i + j) * xs] = col[i];
            }
        }
    }
}

/* dweight (OC, C, 3, 3) += G^T dU G, dU (36, OC, C); pairs (oc, c) in [i0, i1). */
static void weight_transform_adjoint4(float *dweight, const float *dU, size_t i0, size_t i1,
                                      size_t xs) {
    for (size_t n = i0; n < i1; n++) {
        const float *u = dU + n;
        float gu[3][6] = {{0.0f}}; /* G^T dU: (3, 6) */
        for (int j = 0; j < 6; j++) {
            float col[6];
            for (int i = 0; i < 6; i++) col[i] = u[(size_t)(6 * i + j) * xs];
            g6_adjoint(&gu[0][j], &gu[1][j], &gu[2][j], col);
        }
        float *g = dweight + n * 9;
        for (int r = 0; r < 3; r++) g6_adjoint(&g[3 * r], &g[3 * r + 1], &g[3 * r + 2], gu[r]);
    }
}

/* Padded row [c0 | c1 | c2 | c3] (4 (tW + 1)) from input row xr (W), or zeros:
 * c_r[k] = x[4k + r - 1]. */
WINO_CLONES
static void split_row4(float *restrict cc, const float *restrict xr, int W, int tW) {
    if (!xr) {
        memset(cc, 0, (size_t)4 * (tW + 1) * sizeof(float));
        return;
    }
    for (int r = 0; r < 4; r++) {
        float *restrict cr = cc + (size_t)r * (tW + 1);
        for (int k = 0; k <= tW; k++) {
            const int i = 4 * k + r - 1;
            cr[k] = i >= 0 && i < W ? xr[i] : 0.0f;
        }
    }
}

/* B^T across six rows (or columns) d0..d5: n elements. */
WINO_CLONES
static void bt6(float *restrict y0, float *restrict y1, float *restrict y2, float *restrict y3,
                float *restrict y4, float *restrict y5, const float *restrict d0,
                const float *restrict d1, const float *restrict d2, const float *restrict d3,
                const float *restrict d4, const float *restrict d5, int n) {
    for (int k = 0; k < n; k++) {
        y0[k] = 4.0f * d0[k] - 5.0f * d2[k] + d4[k];
        y1[k] = -4.0f * (d1[k] + d2[k]) + (d3[k] + d4[k]);
        y2[k] = 4.0f * (d1[k] - d2[k]) + (d4[k] - d3[k]);
        y3[k] = 2.0f * (d3[k] - d1[k]) + (d4[k] - d2[k]);
        y4[k] = 2.0f * (d1[k] - d3[k]) + (d4[k] - d2[k]);
        y5[k] = 4.0f * d1[k] - 5.0f * d3[k] + d5[k];
    }
}

/* The adjoint of bt6: d_r = sum_i B^T[i][r] y_i, n elements. */
WINO_CLONES
static void bt6_adjoint(float *restrict d0, float *restrict d1, float *restrict d2,
                        float *restrict d3, float *restrict d4, float *restrict d5,
                        const float *restrict y0, const float *restrict y1,
                        const float *restrict y2, const float *restrict y3,
                        const float *restrict y4, const float *restrict y5, int n) {
    for (int k = 0; k < n; k++) {
        d0[k] = 4.0f * y0[k];
        d1[k] = 4.0f * (y2[k] - y1[k] + y5[k]) + 2.0f * (y4[k] - y3[k]);
        d2[k] = -5.0f * y0[k] - 4.0f * (y1[k] + y2[k]) - (y3[k] + y4[k]);
        d3[k] = (y1[k] - y2[k]) + 2.0f * (y3[k] - y4[k]) - 5.0f * y5[k];
        d4[k] = y0[k] + y1[k] + y2[k] + y3[k] + y4[k];
        d5[k] = y5[k];
    }
}

/* dinp row dxr (W) += padded row [c0 | c1 | c2 | c3]. */
WINO_CLONES
static void add_split_row4(float *restrict dxr, const float *restrict cc, int W, int tW) {
    for (int r = 0; r < 4; r++) {
        const float *restrict cr = cc + (size_t)r * (tW + 1);
        for (int k = 0; k <= tW; k++) {
            const int i = 4 * k + r - 1;
            if (i >= 0 && i < W) dxr[i] += cr[k];
        }
    }
}

/* Width a multiple of 4 (W = 4 tW): as input_transform2, B^T over whole
 * input rows, then the columns on the flat (nr, W) rows, element 4m + j being
 * column 4k + j of row q for m = q tW + k; each plane of u has a zero float
 * before it (column -1 of its first row), and the tiles at a row's ends get
 * their one outside operand (column -1 or W, zero) in a fix-up: the same
 * operations on the same operands as split_row4's path. */

/* y0..y5 (nr, tW) = the column B^T of rows u (nr, 4 tW), u[-1] readable. */
WINO_CLONES
static void bt6_cols_even(float *restrict y0, float *restrict y1, float *restrict y2,
                          float *restrict y3, float *restrict y4, float *restrict y5,
                          const float *restrict u, int nr, int tW) {
    const int n = nr * tW;
    for (int m = 0; m + 1 < n; m++) {
        const float d0 = u[4 * m - 1], d1 = u[4 * m], d2 = u[4 * m + 1], d3 = u[4 * m + 2],
                    d4 = u[4 * m + 3], d5 = u[4 * m + 4];
        y0[m] = 4.0f * d0 - 5.0f * d2 + d4;
        y1[m] = -4.0f * (d1 + d2) + (d3 + d4);
        y2[m] = 4.0f * (d1 - d2) + (d4 - d3);
        y3[m] = 2.0f * (d3 - d1) + (d4 - d2);
        y4[m] = 2.0f * (d1 - d3) + (d4 - d2);
        y5[m] = 4.0f * d1 - 5.0f * d3 + d5;
    }
    for (int q = 0; q < nr; q++) {
        const int m0 = q * tW, m1 = m0 + tW - 1; /* first and last tile of row q */
        y0[m0] = 4.0f * 0.0f - 5.0f * u[4 * m0 + 1] + u[4 * m0 + 3];
        const float d0 = u[4 * m1 - 1], d1 = u[4 * m1], d2 = u[4 * m1 + 1], d3 = u[4 * m1 + 2],
                    d4 = u[4 * m1 + 3];
        if (m1 != m0) y0[m1] = 4.0f * d0 - 5.0f * d2 + d4;
        else y0[m1] = 4.0f * 0.0f - 5.0f * d2 + d4;
        y1[m1] = -4.0f * (d1 + d2) + (d3 + d4);
        y2[m1] = 4.0f * (d1 - d2) + (d4 - d3);
        y3[m1] = 2.0f * (d3 - d1) + (d4 - d2);
        y4[m1] = 2.0f * (d1 - d3) + (d4 - d2);
        y5[m1] = 4.0f * d1 - 5.0f * d3 + 0.0f;
    }
}

static void input_transform4_even(float *V, int T, const float *inp, const tdl_conv2d_shape *s,
                                  const wplan *p, wblock bl, int c0, int c1, float *scr) {
    const int C = s->C, H = s->H, W = s->W, tW = p->tW, nr = bl.r1 - bl.r0;
    const size_t xs = p->xsV, nu = (size_t)nr * W, ps = round16(nu + 1);
    float *zero = scr;      /* (W) */
    float *u = scr + round16((size_t)W) + 16; /* (6, ps): plane i at u + i ps, zero before each */
    memset(zero, 0, (size_t)W * sizeof(float));
    for (int i = 0; i < 6; i++) u[i * ps - 1] = 0.0f;
    for (int c = c0; c < c1; c++) {
        for (int b = bl.b0; b < bl.b1; b++) {
            const float *xc = inp + ((size_t)b * C + c) * H * W; /* (H, W) */
            for (int q = 0; q < nr; q++) {
                const float *r[6];
                for (int a = 0; a < 6; a++) {
                    const int ih = 4 * (bl.r0 + q) - 1 + a;
                    r[a] = ih >= 0 && ih < H ? xc + (size_t)ih * W : zero;
                }
                float *uq = u + (size_t)q * W;
                bt6(uq, uq + ps, uq + 2 * ps, uq + 3 * ps, uq + 4 * ps, uq + 5 * ps, r[0], r[1],
                    r[2], r[3], r[4], r[5], W);
            }
            float *v = V + (size_t)c * T + (size_t)(b - bl.b0) * nr * tW;
            for (int i = 0; i < 6; i++) {
                float *vi = v + (size_t)(6 * i) * xs;
                bt6_cols_even(vi, vi + xs, vi + 2 * xs, vi + 3 * xs, vi + 4 * xs, vi + 5 * xs,
                              u + i * ps, nr, tW);
            }
        }
    }
}

static void input_transform4(float *V, int T, const float *inp, const tdl_conv2d_shape *s,
                             const wplan *p, wblock bl, int c0, int c1, float *scr) {
    if (s->W % 4 == 0) {
        input_transform4_even(V, T, inp, s, p, bl, c0, c1, scr);
        return;
    }
    const int C = s->C, H = s->H, W = s->W, tW = p->tW, nr = bl.r1 - bl.r0, L = 4 * (tW + 1);
    const size_t xs = p->xsV, nu = (size_t)nr * L, np = (size_t)(nr + 1) * L;
    float *P = scr;      /* (4, nr + 1, L): padded rows 4q + r */
    float *u = P + 4 * np; /* (6, nr, L) */
    for (int c = c0; c < c1; c++) {
        for (int b = bl.b0; b < bl.b1; b++) {
            const float *xc = inp + ((size_t)b * C + c) * H * W; /* (H, W) */
            for (int q = 0; q <= nr; q++)
                for (int r = 0; r < 4; r++) {
                    const int ih = 4 * (bl.r0 + q) + r - 1;
                    split_row4(P + r * np + (size_t)q * L,
                               ih >= 0 && ih < H ? xc + (size_t)ih * W : NULL, W, tW);
                }
            bt6(u, u + nu, u + 2 * nu, u + 3 * nu, u + 4 * nu, u + 5 * nu, P, P + np, P + 2 * np,
                P + 3 * np, P + L, P + np + L, (int)nu);
            float *v = V + (size_t)c * T + (size_t)(b - bl.b0) * nr * tW;
            for (int i = 0; i < 6; i++)
                for (int q = 0; q < nr; q++) {
                    const float *c0r = u + i * nu + (size_t)q * L, *c1r = c0r + (tW + 1),
                                *c2r = c1r + (tW + 1), *c3r = c2r + (tW + 1);
                    float *vq = v + (size_t)q * tW + (size_t)(6 * i) * xs;
                    bt6(vq, vq + xs, vq + 2 * xs, vq + 3 * xs, vq + 4 * xs, vq + 5 * xs, c0r, c1r,
                        c2r, c3r, c0r + 1, c1r + 1, tW);
                }
        }
    }
}

static void input_transform_adjoint4(float *dinp, const float *dV, int T,
                                     const tdl_conv2d_shape *s, const wplan *p, wblock bl,
                                     int c0, int c1, float *scr) {
    const int C = s->C, H = s->H, W = s->W, tW = p->tW, nr = bl.r1 - bl.r0, L = 4 * (tW + 1);
    const size_t xs = p->xsV, nu = (size_t)nr * L, np = (size_t)(nr + 1) * L;
    float *du = scr;               /* (6, nr, L) */
    float *dd = du + 6 * nu;       /* (6, nr, L) */
    float *dP = dd + 6 * nu;       /* (4, nr + 1, L) */
    float *cw = dP + 4 * np;       /* (6, tW + 1) */
    const int w1 = tW + 1;
    for (int c = c0; c < c1; c++) {
        for (int b = bl.b0; b < bl.b1; b++) {
            const float *v = dV + (size_t)c * T + (size_t)(b - bl.b0) * nr * tW;
            for (int i = 0; i < 6; i++)
                for (int q = 0; q < nr; q++) {
                    const float *vq = v + (size_t)q * tW + (size_t)(6 * i) * xs;
                    bt6_adjoint(cw, cw + w1, cw + 2 * w1, cw + 3 * w1, cw + 4 * w1, cw + 5 * w1, vq,
                                vq + xs, vq + 2 * xs, vq + 3 * xs, vq + 4 * xs, vq + 5 * xs, tW);
                    float *row = du + i * nu + (size_t)q * L; /* [c0 | c1 | c2 | c3] */
                    shift_add(row, cw, cw + 4 * w1, tW, 1);
                    shift_add(row + w1, cw + w1, cw + 5 * w1, tW, 1);
                    memcpy(row + 2 * w1, cw + 2 * w1, (size_t)tW * sizeof(float));
                    row[2 * w1 + tW] = 0.0f;
                    memcpy(row + 3 * w1, cw + 3 * w1, (size_t)tW * sizeof(float));
                    row[3 * w1 + tW] = 0.0f;
                }
            bt6_adjoint(dd, dd + nu, dd + 2 * nu, dd + 3 * nu, dd + 4 * nu, dd + 5 * nu, du,
                        du + nu, du + 2 * nu, du + 3 * nu, du + 4 * nu, du + 5 * nu, (int)nu);
            shift_add(dP, dd, dd + 4 * nu, (int)nu, L);
            shift_add(dP + np, dd + nu, dd + 5 * nu, (int)nu, L);
            memcpy(dP + 2 * np, dd + 2 * nu, nu * sizeof(float));
            memcpy(dP + 3 * np, dd + 3 * nu, nu * sizeof(float));
            float *dxc = dinp + ((size_t)b * C + c) * H * W; /* (H, W) */
            for (int q = 0; q <= nr; q++)
                for (int r = 0; r < 4; r++) {
                    const int ih = 4 * (bl.r0 + q) + r - 1;
                    if (ih < 0 || ih >= H || (q == nr && r >= 2)) continue;
                    add_split_row4(dxc + (size_t)ih * W, dP + r * np + (size_t)q * L, W, tW);
                }
        }
    }
}

/* A^T across six rows m0..m5: four outputs, n elements. */
WINO_CLONES
static void at6(float *restrict y0, float *restrict y1, float *restrict y2, float *restrict y3,
                const float *restrict m0, const float *restrict m1, const float *restrict m2,
                const float *restrict m3, const float *restrict m4, const float *restrict m5,
                int n) {
    for (int k = 0; k < n; k++) {
        const float a = m1[k] + m2[k], d = m1[k] - m2[k], e = m3[k] + m4[k], f = m3[k] - m4[k];
        y0[k] = m0[k] + a + e;
        y1[k] = d + 2.0f * f;
        y2[k] = a + 4.0f * e;
        y3[k] = d + 8.0f * f + m5[k];
    }
}

/* Output row yr (W) from the six column sums z_0..z_5 (stride zs) of its
 * tiles, plus bias bb: the tiles with all four columns inside the row in one
 * loop of stride-4 stores (it vectorises), then the clipped last tile. */
WINO_CLONES
static void out_row4(float *restrict yr, const float *restrict z, size_t zs, float bb, int W,
                     int tW) {
    const int full = W / 4;
    for (int k = 0; k < full; k++) {
        const float m0 = z[k], m1 = z[zs + k], m2 = z[2 * zs + k], m3 = z[3 * zs + k],
                    m4 = z[4 * zs + k], m5 = z[5 * zs + k];
        const float a = m1 + m2, d = m1 - m2, e = m3 + m4, f = m3 - m4;
        yr[4 * k] = (m0 + a + e) + bb;
        yr[4 * k + 1] = (d + 2.0f * f) + bb;
        yr[4 * k + 2] = (a + 4.0f * e) + bb;
        yr[4 * k + 3] = (d + 8.0f * f + m5) + bb;
    }
    for (int k = full; k < tW; k++) {
        const float m0 = z[k], m1 = z[zs + k], m2 = z[2 * zs + k], m3 = z[3 * zs + k],
                    m4 = z[4 * zs + k], m5 = z[5 * zs + k];
        const float a = m1 + m2, d = m1 - m2, e = m3 + m4, f = m3 - m4;
        const float y[4] = {m0 + a + e, d + 2.0f * f, a + 4.0f * e, d + 8.0f * f + m5};
        for (int c = 0; c < 4 && 4 * k + c < W; c++) yr[4 * k + c] = y[c] + bb;
    }
}

static void output_transform4(float *out, const float *M, int T, const float *bias,
                              const tdl_conv2d_shape *s, const wplan *p, wblock bl, int o0, int o1,
                              float *scr) {
    const int OC = s->OC, H = s->H, W = s->W, tW = p->tW, nr = bl.r1 - bl.r0;
    const size_t xs = p->xsM, nt = (size_t)nr * tW;
    float *z = scr; /* (4, 6, nr * tW): A^T down the columns of every tile */
    for (int oc = o0; oc < o1; oc++) {
        const float bb = bias ? bias[oc] : 0.0f;
        for (int b = bl.b0; b < bl.b1; b++) {
            float *yc = out + ((size_t)b * OC + oc) * H * W; /* (H, W) */
            const float *m = M + (size_t)oc * T + (size_t)(b - bl.b0) * nt;
            for (int j = 0; j < 6; j++)
                at6(z + j * nt, z + (6 + j) * nt, z + (12 + j) * nt, z + (18 + j) * nt,
                    m + (size_t)j * xs, m + (size_t)(6 + j) * xs, m + (size_t)(12 + j) * xs,
                    m + (size_t)(18 + j) * xs, m + (size_t)(24 + j) * xs,
                    m + (size_t)(30 + j) * xs, (int)nt);
            for (int q = 0; q < nr; q++)
                for (int a = 0; a < 4; a++) {
                    const int oh = 4 * (bl.r0 + q) + a;
                    if (oh >= H) break;
                    out_row4(yc + (size_t)oh * W, z + (size_t)(6 * a) * nt + (size_t)q * tW, nt, bb,
                             W, tW);
                }
        }
    }
}

/* The adjoint of at6: m_i = sum_a A^T[a][i] y_a, n elements. */
WINO_CLONES
static void at6_adjoint(float *restrict m0, float *restrict m1, float *restrict m2,
                        float *restrict m3, float *restrict m4, float *restrict m5,
                        const float *restrict y0, const float *restrict y1,
                        const float *restrict y2, const float *restrict y3, int n) {
    for (int k = 0; k < n; k++) {
        const float ev = y0[k] + y2[k], od = y1[k] + y3[k];
        const float e4 = y0[k] + 4.0f * y2[k], o4 = 2.0f * y1[k] + 8.0f * y3[k];
        m0[k] = y0[k];
        m1[k] = ev + od;
        m2[k] = ev - od;
        m3[k] = e4 + o4;
        m4[k] = e4 - o4;
        m5[k] = y3[k];
    }
}

/* The four column phases ph (4, tW) of dout row dyr (W): ph[c tW + k] =
 * dyr[4k + c], zero past W; the full tiles as stride-4 loads (vectorised). */
WINO_CLONES
static void split_out_row4(float *restrict ph, const float *restrict dyr, int W, int tW) {
    const int full = W / 4;
    for (int k = 0; k < full; k++) {
        ph[k] = dyr[4 * k];
        ph[tW + k] = dyr[4 * k + 1];
        ph[2 * tW + k] = dyr[4 * k + 2];
        ph[3 * tW + k] = dyr[4 * k + 3];
    }
    for (int k = full; k < tW; k++)
        for (int c = 0; c < 4; c++) ph[c * tW + k] = 4 * k + c < W ? dyr[4 * k + c] : 0.0f;
}

static void output_transform_adjoint4(float *dM, int T, const float *dout,
                                      const tdl_conv2d_shape *s, const wplan *p, wblock bl,
                                      int o0, int o1, float *scr) {
    const int OC = s->OC, H = s->H, W = s->W, tW = p->tW, nr = bl.r1 - bl.r0;
    const size_t xs = p->xsM, nt = (size_t)nr * tW;
    float *z = scr;           /* (4, 6, nr * tW): A dY per output row a */
    float *ph = z + 24 * nt;  /* (4, tW): the row's four column phases */
    for (int oc = o0; oc < o1; oc++) {
        for (int b = bl.b0; b < bl.b1; b++) {
            const float *dyc = dout + ((size_t)b * OC + oc) * H * W; /* (H, W) */
            for (int q = 0; q < nr; q++)
                for (int a = 0; a < 4; a++) {
                    float *za = z + (size_t)(6 * a) * nt + (size_t)q * tW;
                    const int oh = 4 * (bl.r0 + q) + a;
                    if (oh >= H) {
                        for (int j = 0; j < 6; j++) memset(za + j * nt, 0, (size_t)tW * sizeof(float));
                        continue;
                    }
                    split_out_row4(ph, dyc + (size_t)oh * W, W, tW);
                    at6_adjoint(za, za + nt, za + 2 * nt, za + 3 * nt, za + 4 * nt, za + 5 * nt, ph,
                                ph + tW, ph + 2 * tW, ph + 3 * tW, tW);
                }
            float *m = dM + (size_t)oc * T + (size_t)(b - bl.b0) * nt;
            for (int j = 0; j < 6; j++)
                at6_adjoint(m + (size_t)j * xs, m + (size_t)(6 + j) * xs, m + (size_t)(12 + j) * xs,
                            m + (size_t)(18 + j) * xs, m + (size_t)(24 + j) * xs,
                            m + (size_t)(30 + j) * xs, z + j * nt, z + (6 + j) * nt,
                            z + (12 + j) * nt, z + (18 + j) * nt, (int)nt);
        }
    }
}

/* ------------------------------------------------ by tile size */

static void weight_transform(float *U, const float *weight, int OC, int C, const wplan *p) {
    if (p->m == 2) weight_transform2(U, weight, OC, C, p->xsU);
    else weight_transform4(U, weight, OC, C, p->xsU);
}

static void weight_transform_adjoint(float *dweight, const float *dU, const wplan *p, size_t i0,
                                     size_t i1) {
    if (p->m == 2) weight_transform_adjoint2(dweight, dU, i0, i1, p->xsU);
    else weight_transform_adjoint4(dweight, dU, i0, i1, p->xsU);
}

static void input_transform(float *V, int T, const float *inp, const tdl_conv2d_shape *s,
                            const wplan *p, wblock bl, int c0, int c1, float *scr) {
    if (p->m == 2) input_transform2(V, T, inp, s, p, bl, c0, c1, scr);
    else input_transform4(V, T, inp, s, p, bl, c0, c1, scr);
}

static void input_transform_adjoint(float *dinp, const float *dV, int T,
                                    const tdl_conv2d_shape *s, const wplan *p, wblock bl, int c0,
                                    int c1, float *scr) {
    if (p->m == 2) input_transform_adjoint2(dinp, dV, T, s, p, bl, c0, c1, scr);
    else input_transform_adjoint4(dinp, dV, T, s, p, bl, c0, c1, scr);
}

static void output_transform(float *out, const float *M, int T, const float *bias,
                             const tdl_conv2d_shape *s, const wplan *p, wblock bl, int o0, int o1,
                             float *scr) {
    if (p->m == 2) output_transform2(out, M, T, bias, s, p, bl, o0, o1, scr);
    else output_transform4(out, M, T, bias, s, p, bl, o0, o1, scr);
}

static void output_transform_adjoint(float *dM, int T, const float *dout,
                                     const tdl_conv2d_shape *s, const wplan *p, wblock bl, int o0,
                                     int o1, float *scr) {
    if (p->m == 2) output_transform_adjoint2(dM, T, dout, s, p, bl, o0, o1, scr);
    else output_transform_adjoint4(dM, T, dout, s, p, bl, o0, o1, scr);
}

static int block_tiles(const wplan *p, wblock bl) { return (bl.b1 - bl.b0) * (bl.r1 - bl.r0) * p->tW; }

/* Part t of nt of [0, n). */
static int part(int n, int t, int nt) { return (int)((long)n * t / nt); }

static void wino_forward(float *out, const float *inp, const float *weight, const float *bias,
                         const tdl_conv2d_shape *s, float *work, int m) {
    TDL_ASSERT(out && inp && weight && work, "NULL argument");
    const wplan p = make_plan(s, omp_get_max_threads(), m);
    const int C = s->C, OC = s->OC, T = p.T;
    float *U = work; /* (16, OC, C) */
    weight_transform(U, weight, OC, C, &p);
    if (!p.team) {
        /* Block mode: each thread takes whole blocks. */
#pragma omp parallel num_threads(p.slots) if (p.slots > 1)
        {
            const wslot w = slot_at(work, &p, omp_get_thread_num());
#pragma omp for schedule(dynamic, 1)
            for (int k = 0; k < p.nblk; k++) {
                const wblock bl = block_of(&p, s, k);
                const int nt = block_tiles(&p, bl);
                input_transform(w.V, T, inp, s, &p, bl, 0, C, w.scr);
                for (int xi = 0; xi < p.nx; xi++)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, OC, nt, C, 1.0f,
                                U + xi * p.xsU, C, w.V + xi * p.xsV, T, 0.0f, w.M + xi * p.xsM,
                                T);
                output_transform(out, w.M, T, bias, s, &p, bl, 0, OC, w.scr);
            }
        }
        return;
    }
    /* Team mode: the threads split each block's channels and its 16 sgemms. */
    const wslot w = slot_at(work, &p, 0);
#pragma omp parallel num_threads(p.threads)
    {
        const int t = omp_get_thread_num(), nth = omp_get_num_threads();
        float *scr = team_scratch(work, &p, t);
        for (int k = 0; k < p.nblk; k++) {
            const wblock bl = block_of(&p, s, k);
            const int nt = block_tiles(&p, bl);
            input_transform(w.V, T, inp, s, &p, bl, part(C, t, nth), part(C, t + 1, nth), scr);
#pragma omp barrier
            for (int xi = part(p.nx, t, nth); xi < part(p.nx, t + 1, nth); xi++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, OC, nt, C, 1.0f,
                            U + xi * p.xsU, C, w.V + xi * p.xsV, T, 0.0f, w.M + xi * p.xsM, T);
#pragma omp barrier
            output_transform(out, w.M, T, bias, s, &p, bl, part(OC, t, nth), part(OC, t + 1, nth),
                             scr);
        }
    }
}

/* The 16 sgemms of a block's backward for xi in [x0, x1): dU += dM V^T into
 * dU (16, OC, C), then dV = U^T dM over V. */
static void backward_sgemms(float *dU, float *V, const float *dM, const float *U, int nt,
                            const tdl_conv2d_shape *s, const wplan *p, int x0, int x1,
                            int want_dw, int want_dinp) {
    const int C = s->C, OC = s->OC, T = p->T;
    for (int xi = x0; xi < x1; xi++) {
        const float *dMx = dM + xi * p->xsM; /* (OC, nt), stride T */
        float *Vx = V + xi * p->xsV;         /* (C, nt), stride T */
        if (want_dw)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, OC, C, nt, 1.0f, dMx, T, Vx, T,
                        1.0f, dU + xi * p->xsU, C);
        if (want_dinp) /* dV overwrites V, which this xi no longer needs */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, nt, OC, 1.0f,
                        U + xi * p->xsU, C, dMx, T, 0.0f, Vx, T);
    }
}

/* One block of the backward on one thread: dU partial += dM V^T; dinp +=
 * the adjoint of V. */
static void backward_block(float *dinp, const float *dout, const float *inp, const float *U,
                           const tdl_conv2d_shape *s, const wplan *p, wslot w, int k, int want_dw) {
    const wblock bl = block_of(p, s, k);
    const int nt = block_tiles(p, bl);
    output_transform_adjoint(w.M, p->T, dout, s, p, bl, 0, s->OC, w.scr);
    if (want_dw) input_transform(w.V, p->T, inp, s, p, bl, 0, s->C, w.scr);
    backward_sgemms(w.dU, w.V, w.M, U, nt, s, p, 0, p->nx, want_dw, dinp != NULL);
    if (dinp) input_transform_adjoint(dinp, w.V, p->T, s, p, bl, 0, s->C, w.scr);
}

static void wino_backward(float *dinp, float *dweight, const float *dout, const float *inp,
                          const float *weight, const tdl_conv2d_shape *s, float *work, int m) {
    TDL_ASSERT(dout && inp && weight && work, "NULL argument");
    if (!dinp && !dweight) return;
    const wplan p = make_plan(s, omp_get_max_threads(), m);
    const int C = s->C, OC = s->OC, T = p.T;
    const size_t nU = (size_t)p.nx * p.xsU;
    float *U = work; /* (16, OC, C) */
    if (dinp) weight_transform(U, weight, OC, C, &p);
    const int want_dw = dweight != NULL;
    if (p.team) {
        /* Team mode: the threads split each block's channels and its sgemms;
         * dU has one copy (each xi belongs to one thread). */
        const wslot w = slot_at(work, &p, 0);
        if (want_dw) memset(w.dU, 0, nU * sizeof(float));
#pragma omp parallel num_threads(p.threads)
        {
            const int t = omp_get_thread_num(), nth = omp_get_num_threads();
            float *scr = team_scratch(work, &p, t);
            const int c0 = part(C, t, nth), c1 = part(C, t + 1, nth);
            for (int k = 0; k < p.nblk; k++) {
                const wblock bl = block_of(&p, s, k);
                const int nt = block_tiles(&p, bl);
                output_transform_adjoint(w.M, T, dout, s, &p, bl, part(OC, t, nth),
                                         part(OC, t + 1, nth), scr);
                if (want_dw) input_transform(w.V, T, inp, s, &p, bl, c0, c1, scr);
#pragma omp barrier
                backward_sgemms(w.dU, w.V, w.M, U, nt, s, &p, part(p.nx, t, nth),
                                part(p.nx, t + 1, nth), want_dw, dinp != NULL);
#pragma omp barrier
                if (dinp) input_transform_adjoint(dinp, w.V, T, s, &p, bl, c0, c1, scr);
#pragma omp barrier
            }
            if (want_dw) {
                const size_t n = (size_t)OC * C;
                weight_transform_adjoint(dweight, w.dU, &p, n * t / nth, n * (t + 1) / nth);
            }
        }
        return;
    }
    /* Block mode: each thread takes whole blocks and sums its own dU; the
     * blocks go round-robin (a fixed assignment, so the partials and thus
     * dweight depend on the thread count only). */
#pragma omp parallel num_threads(p.slots) if (p.slots > 1)
    {
        const int t = omp_get_thread_num(), nth = omp_get_num_threads();
        const wslot w = slot_at(work, &p, t);
        if (want_dw) memset(w.dU, 0, nU * sizeof(float));
        if (p.bpi == 1) {
#pragma omp for schedule(static, 1)
            for (int k = 0; k < p.nblk; k++) backward_block(dinp, dout, inp, U, s, &p, w, k, want_dw);
        } else {
            /* Row-range blocks: even ones of each image, then odd ones (they
             * share input rows with their neighbours). */
            for (int phase = 0; phase < 2; phase++) {
                const int nph = (p.bpi + 1 - phase) / 2; /* blocks of this phase per image */
#pragma omp for schedule(static, 1)
                for (int j = 0; j < s->B * nph; j++)
                    backward_block(dinp, dout, inp, U, s, &p, w,
                                   (j / nph) * p.bpi + 2 * (j % nph) + phase, want_dw);
            }
        }
        if (want_dw) {
            /* The partials of the slots, summed in slot order into slot 0's. */
            float *dU0 = slot_at(work, &p, 0).dU;
            const size_t i0 = nU * t / nth, i1 = nU * (t + 1) / nth;
            for (int u = 1; u < nth; u++) {
                const float *dUu = slot_at(work, &p, u).dU;
                for (size_t i = i0; i < i1; i++) dU0[i] += dUu[i];
            }
#pragma omp barrier
            const size_t n = (size_t)OC * C;
            weight_transform_adjoint(dweight, dU0, &p, n * t / nth, n * (t + 1) / nth);
        }
    }
}

/* The entry points: F(2x2, 3x3) and F(4x4, 3x3). */
size_t conv2d_wino_work_floats(const tdl_conv2d_shape *s, int threads) {
    return wino_work_floats(s, threads, 2);
}
void conv2d_wino_forward(float *out, const float *inp, const float *weight, const float *bias,
                         const tdl_conv2d_shape *s, float *work) {
    wino_forward(out, inp, weight, bias, s, work, 2);
}
void conv2d_wino_backward(float *dinp, float *dweight, const float *dout, const float *inp,
                          const float *weight, const tdl_conv2d_shape *s, float *work) {
    wino_backward(dinp, dweight, dout, inp, weight, s, work, 2);
}
size_t conv2d_wino4_work_floats(const tdl_conv2d_shape *s, int threads) {
    return wino_work_floats(s, threads, 4);
}
void conv2d_wino4_forward(float *out, const float *inp, const float *weight, const float *bias,
                          const tdl_conv2d_shape *s, float *work) {
    wino_forward(out, inp, weight, bias, s, work, 4);
}
void conv2d_wino4_backward(float *dinp, float *dweight, const float *dout, const float *inp,
                           const float *weight, const tdl_conv2d_shape *s, float *work) {
    wino_backward(dinp, dweight, dout, inp, weight, s, work, 4);
}
