/* conv2d_winograd.c: 3x3 convolution, stride 1, padding 1, NCHW, as
 * Winograd F(2x2, 3x3) (Lavin & Gray 2016), batched over the images of a call.
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
 * The transforms work on one tile row at a time, as unit-stride loops over
 * the tiles of the row (even and odd input columns split apart first), which
 * the compiler vectorises.
 */
#include <cblas.h>
#include <omp.h>
#include <string.h>

#include "conv2d_winograd.h"
#include "tdl/status.h"

enum { NXI = 16 }; /* points of the 4x4 transform */

/* Floats of V and M of one block: 1 MiB, which with the sgemm's packed panels
 * stays near the L2 cache of one core. A block holds at least WINO_MIN_TILES
 * tiles (when the image and batch have as many) so that the sgemms are not
 * too thin. */
#define WINO_BLOCK_FLOATS (256 * 1024)
#define WINO_MIN_TILES 64

typedef struct {
    int tH, tW, tpi; /* tile rows, tile columns, tiles per image */
    int ipb;         /* whole-image blocks: images per block */
    int rpb, bpi;    /* tile rows per block, blocks per image (bpi > 1: row-range blocks) */
    int nblk;        /* blocks in the call */
    int T;           /* tiles of the largest block: the row stride of V and M */
    int threads;     /* OpenMP threads of the call */
    int team;        /* fewer blocks than threads: all threads work on each block */
    int slots;       /* block mode: threads that take blocks; team mode: 1 */
} wplan;

/* A block: images [b0, b1), tile rows [r0, r1) of each. */
typedef struct {
    int b0, b1, r0, r1;
} wblock;

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

int conv2d_wino_supports(const tdl_conv2d_shape *s) { return s->K == 3 && s->S == 1 && s->P == 1; }

static wplan make_plan(const tdl_conv2d_shape *s, int threads) {
    TDL_ASSERT(conv2d_wino_supports(s), "Winograd needs K 3, S 1, P 1 (got K %d S %d P %d)",
               s->K, s->S, s->P);
    wplan p;
    p.tH = (s->H + 1) / 2;
    p.tW = (s->W + 1) / 2;
    p.tpi = p.tH * p.tW;
    long tmax = WINO_BLOCK_FLOATS / (NXI * ((long)s->C + s->OC));
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
static size_t scratch_floats(const wplan *p) { return round16((size_t)32 * (p->tW + 2)); }

static size_t slot_floats(const tdl_conv2d_shape *s, const wplan *p) {
    return round16((size_t)NXI * s->C * p->T) + round16((size_t)NXI * s->OC * p->T) +
           round16((size_t)NXI * s->OC * s->C) + scratch_floats(p);
}

/* U (16, OC, C) first, then the slots, then one scratch per thread for the
 * team mode. */
size_t conv2d_wino_work_floats(const tdl_conv2d_shape *s, int threads) {
    const wplan p = make_plan(s, threads);
    return round16((size_t)NXI * s->OC * s->C) + (size_t)p.slots * slot_floats(s, &p) +
           (size_t)p.threads * scratch_floats(&p);
}

typedef struct {
    float *V, *M, *dU, *scr;
} wslot;

static wslot slot_at(float *work, const tdl_conv2d_shape *s, const wplan *p, int t) {
    wslot w;
    float *base = work + round16((size_t)NXI * s->OC * s->C) + (size_t)t * slot_floats(s, p);
    w.V = base;
    w.M = w.V + round16((size_t)NXI * s->C * p->T);
    w.dU = w.M + round16((size_t)NXI * s->OC * p->T);
    w.scr = w.dU + round16((size_t)NXI * s->OC * s->C);
    return w;
}

static float *team_scratch(float *work, const tdl_conv2d_shape *s, const wplan *p, int t) {
    return work + round16((size_t)NXI * s->OC * s->C) + (size_t)p->slots * slot_floats(s, p) +
           (size_t)t * scratch_floats(p);
}

/* U (16, OC, C) from weight (OC, C, 3, 3): U_(4i+j) = (G g G^T)_ij. */
static void weight_transform(float *U, const float *weight, int OC, int C) {
    const size_t xs = (size_t)OC * C;
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
static void weight_transform_adjoint(float *dweight, const float *dU, int OC, int C, size_t i0,
                                     size_t i1) {
    const size_t xs = (size_t)OC * C;
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

/* Splits input row xr (W) at the tile grid: e[k] = x[2k-1], o[k] = x[2k] for
 * k = 0..tW, zero outside [0, W). */
static void split_row(float *e, float *o, const float *xr, int W, int tW) {
    e[0] = 0.0f;
    for (int k = 1; k <= tW; k++) e[k] = 2 * k - 1 < W ? xr[2 * k - 1] : 0.0f;
    for (int k = 0; k <= tW; k++) o[k] = 2 * k < W ? xr[2 * k] : 0.0f;
}

/* V (16, C, T) columns of block bl from inp (B, C, H, W), channels [c0, c1). */
static void input_transform(float *V, int T, const float *inp, const tdl_conv2d_shape *s,
                            const wplan *p, wblock bl, int c0, int c1, float *scr) {
    const int C = s->C, H = s->H, W = s->W, tW = p->tW, nr = bl.r1 - bl.r0;
    const size_t xs = (size_t)C * T;
    float *e = scr, *o = scr + (tW + 2), *h = scr + 2 * (tW + 2); /* h (4 rows, 4, tW) */
    for (int c = c0; c < c1; c++) {
        for (int b = bl.b0; b < bl.b1; b++) {
            const float *xc = inp + ((size_t)b * C + c) * H * W; /* (H, W) */
            for (int ti = bl.r0; ti < bl.r1; ti++) {
                for (int r = 0; r < 4; r++) {
                    float *h0 = h + (size_t)(4 * r) * tW, *h1 = h0 + tW, *h2 = h1 + tW,
                          *h3 = h2 + tW;
                    const int ih = 2 * ti - 1 + r;
                    if (ih < 0 || ih >= H) {
                        memset(h0, 0, (size_t)4 * tW * sizeof(float));
                        continue;
                    }
                    split_row(e, o, xc + (size_t)ih * W, W, tW);
                    for (int k = 0; k < tW; k++) {
                        h0[k] = e[k] - e[k + 1];
                        h1[k] = o[k] + e[k + 1];
                        h2[k] = e[k + 1] - o[k];
                        h3[k] = o[k] - o[k + 1];
                    }
                }
                float *v = V + (size_t)c * T + ((size_t)(b - bl.b0) * nr + (ti - bl.r0)) * tW;
                for (int j = 0; j < 4; j++) {
                    const float *g0 = h + (size_t)j * tW, *g1 = h + (size_t)(4 + j) * tW,
                                *g2 = h + (size_t)(8 + j) * tW, *g3 = h + (size_t)(12 + j) * tW;
                    float *v0 = v + (size_t)j * xs, *v1 = v + (size_t)(4 + j) * xs,
                          *v2 = v + (size_t)(8 + j) * xs, *v3 = v + (size_t)(12 + j) * xs;
                    for (int k = 0; k < tW; k++) {
                        v0[k] = g0[k] - g2[k];
                        v1[k] = g1[k] + g2[k];
                        v2[k] = g2[k] - g1[k];
                        v3[k] = g1[k] - g3[k];
                    }
                }
            }
        }
    }
}

/* dinp (B, C, H, W) += B dV B^T of every tile of block bl, dV (16, C, T),
 * channels [c0, c1). */
static void input_transform_adjoint(float *dinp, const float *dV, int T,
                                    const tdl_conv2d_shape *s, const wplan *p, wblock bl,
                                    int c0, int c1, float *scr) {
    const int C = s->C, H = s->H, W = s->W, tW = p->tW, nr = bl.r1 - bl.r0;
    const size_t xs = (size_t)C * T;
    float *de = scr, *dd = scr + (tW + 2), *h = scr + 2 * (tW + 2); /* h (4 rows, 4, tW) */
    for (int c = c0; c < c1; c++) {
        for (int b = bl.b0; b < bl.b1; b++) {
            float *dxc = dinp + ((size_t)b * C + c) * H * W; /* (H, W) */
            for (int ti = bl.r0; ti < bl.r1; ti++) {
                const float *v = dV + (size_t)c * T + ((size_t)(b - bl.b0) * nr + (ti - bl.r0)) * tW;
                /* rows: dh_r = sum_i B^T[i][r] dV_i */
                for (int j = 0; j < 4; j++) {
                    const float *v0 = v + (size_t)j * xs, *v1 = v + (size_t)(4 + j) * xs,
                                *v2 = v + (size_t)(8 + j) * xs, *v3 = v + (size_t)(12 + j) * xs;
                    float *g0 = h + (size_t)j * tW, *g1 = h + (size_t)(4 + j) * tW,
                          *g2 = h + (size_t)(8 + j) * tW, *g3 = h + (size_t)(12 + j) * tW;
                    for (int k = 0; k < tW; k++) {
                        g0[k] = v0[k];
                        g1[k] = v1[k] - v2[k] + v3[k];
                        g2[k] = v1[k] + v2[k] - v0[k];
                        g3[k] = -v3[k];
                    }
                }
                for (int r = 0; r < 4; r++) {
                    const int ih = 2 * ti - 1 + r;
                    if (ih < 0 || ih >= H) continue;
                    const float *h0 = h + (size_t)(4 * r) * tW, *h1 = h0 + tW, *h2 = h1 + tW,
                                *h3 = h2 + tW;
                    /* columns 2k-1 (de[k]) and 2k (dd[k]), k = 0..tW */
                    de[0] = h0[0];
                    dd[0] = h1[0] - h2[0] + h3[0];
                    for (int k = 1; k < tW; k++) {
                        de[k] = h0[k] + (h1[k - 1] + h2[k - 1] - h0[k - 1]);
                        dd[k] = (h1[k] - h2[k] + h3[k]) - h3[k - 1];
                    }
                    de[tW] = h1[tW - 1] + h2[tW - 1] - h0[tW - 1];
                    dd[tW] = -h3[tW - 1];
                    float *dxr = dxc + (size_t)ih * W;
                    for (int k = 1; k <= tW && 2 * k - 1 < W; k++) dxr[2 * k - 1] += de[k];
                    for (int k = 0; k <= tW && 2 * k < W; k++) dxr[2 * k] += dd[k];
                }
            }
        }
    }
}

/* out (B, OC, H, W) of block bl from M (16, OC, T): A^T m A + bias; output
 * channels [o0, o1). */
static void output_transform(float *out, const float *M, int T, const float *bias,
                             const tdl_conv2d_shape *s, const wplan *p, wblock bl, int o0, int o1,
                             float *scr) {
    const int OC = s->OC, H = s->H, W = s->W, tW = p->tW, nr = bl.r1 - bl.r0;
    const size_t xs = (size_t)OC * T;
    const int full = W / 2; /* tiles with both output columns inside */
    float *z = scr;         /* z (2, 4, tW): A^T applied down the columns */
    for (int oc = o0; oc < o1; oc++) {
        const float bb = bias ? bias[oc] : 0.0f;
        for (int b = bl.b0; b < bl.b1; b++) {
            float *yc = out + ((size_t)b * OC + oc) * H * W; /* (H, W) */
            for (int ti = bl.r0; ti < bl.r1; ti++) {
                const float *m = M + (size_t)oc * T + ((size_t)(b - bl.b0) * nr + (ti - bl.r0)) * tW;
                for (int j = 0; j < 4; j++) {
                    const float *m0 = m + (size_t)j * xs, *m1 = m + (size_t)(4 + j) * xs,
                                *m2 = m + (size_t)(8 + j) * xs, *m3 = m + (size_t)(12 + j) * xs;
                    float *z0 = z + (size_t)j * tW, *z1 = z + (size_t)(4 + j) * tW;
                    for (int k = 0; k < tW; k++) {
                        z0[k] = m0[k] + m1[k] + m2[k];
                        z1[k] = m1[k] - m2[k] - m3[k];
                    }
                }
                for (int a = 0; a < 2 && 2 * ti + a < H; a++) {
                    const float *z0 = z + (size_t)(4 * a) * tW, *z1 = z0 + tW, *z2 = z1 + tW,
                                *z3 = z2 + tW;
                    float *yr = yc + (size_t)(2 * ti + a) * W;
                    for (int k = 0; k < full; k++) {
                        yr[2 * k] = (z0[k] + z1[k] + z2[k]) + bb;
                        yr[2 * k + 1] = (z1[k] - z2[k] - z3[k]) + bb;
                    }
                    if (full < tW) yr[2 * full] = (z0[full] + z1[full] + z2[full]) + bb;
                }
            }
        }
    }
}

/* dM (16, OC, T) of block bl from dout (B, OC, H, W): A dY A^T; output
 * channels [o0, o1). */
static void output_transform_adjoint(float *dM, int T, const float *dout,
                                     const tdl_conv2d_shape *s, const wplan *p, wblock bl,
                                     int o0, int o1, float *scr) {
    const int OC = s->OC, H = s->H, W = s->W, tW = p->tW, nr = bl.r1 - bl.r0;
    const size_t xs = (size_t)OC * T;
    float *pe = scr, *po = scr + (tW + 2), *z = scr + 2 * (tW + 2); /* z (2, 4, tW) */
    for (int oc = o0; oc < o1; oc++) {
        for (int b = bl.b0; b < bl.b1; b++) {
            const float *dyc = dout + ((size_t)b * OC + oc) * H * W; /* (H, W) */
            for (int ti = bl.r0; ti < bl.r1; ti++) {
                for (int a = 0; a < 2; a++) {
                    float *z0 = z + (size_t)(4 * a) * tW, *z1 = z0 + tW, *z2 = z1 + tW,
                          *z3 = z2 + tW;
                    const int oh = 2 * ti + a;
                    if (oh >= H) {
                        memset(z0, 0, (size_t)4 * tW * sizeof(float));
                        continue;
                    }
                    const float *dyr = dyc + (size_t)oh * W;
                    for (int k = 0; k < tW; k++) pe[k] = dyr[2 * k];
                    for (int k = 0; k < tW; k++) po[k] = 2 * k + 1 < W ? dyr[2 * k + 1] : 0.0f;
                    for (int k = 0; k < tW; k++) {
                        z0[k] = pe[k];
                        z1[k] = pe[k] + po[k];
                        z2[k] = pe[k] - po[k];
                        z3[k] = -po[k];
                    }
                }
                float *m = dM + (size_t)oc * T + ((size_t)(b - bl.b0) * nr + (ti - bl.r0)) * tW;
                for (int j = 0; j < 4; j++) {
                    const float *y0 = z + (size_t)j * tW, *y1 = z + (size_t)(4 + j) * tW;
                    float *m0 = m + (size_t)j * xs, *m1 = m + (size_t)(4 + j) * xs,
                          *m2 = m + (size_t)(8 + j) * xs, *m3 = m + (size_t)(12 + j) * xs;
                    for (int k = 0; k < tW; k++) {
                        m0[k] = y0[k];
                        m1[k] = y0[k] + y1[k];
                        m2[k] = y0[k] - y1[k];
                        m3[k] = -y1[k];
                    }
                }
            }
        }
    }
}

static int block_tiles(const wplan *p, wblock bl) { return (bl.b1 - bl.b0) * (bl.r1 - bl.r0) * p->tW; }

/* Part t of nt of [0, n). */
static int part(int n, int t, int nt) { return (int)((long)n * t / nt); }

void conv2d_wino_forward(float *out, const float *inp, const float *weight, const float *bias,
                         const tdl_conv2d_shape *s, float *work) {
    TDL_ASSERT(out && inp && weight && work, "NULL argument");
    const wplan p = make_plan(s, omp_get_max_threads());
    const int C = s->C, OC = s->OC, T = p.T;
    float *U = work; /* (16, OC, C) */
    weight_transform(U, weight, OC, C);
    if (!p.team) {
        /* Block mode: each thread takes whole blocks. */
#pragma omp parallel num_threads(p.slots) if (p.slots > 1)
        {
            const wslot w = slot_at(work, s, &p, omp_get_thread_num());
#pragma omp for schedule(dynamic, 1)
            for (int k = 0; k < p.nblk; k++) {
                const wblock bl = block_of(&p, s, k);
                const int nt = block_tiles(&p, bl);
                input_transform(w.V, T, inp, s, &p, bl, 0, C, w.scr);
                for (int xi = 0; xi < NXI; xi++)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, OC, nt, C, 1.0f,
                                U + (size_t)xi * OC * C, C, w.V + (size_t)xi * C * T, T, 0.0f,
                                w.M + (size_t)xi * OC * T, T);
                output_transform(out, w.M, T, bias, s, &p, bl, 0, OC, w.scr);
            }
        }
        return;
    }
    /* Team mode: the threads split each block's channels and its 16 sgemms. */
    const wslot w = slot_at(work, s, &p, 0);
#pragma omp parallel num_threads(p.threads)
    {
        const int t = omp_get_thread_num(), nth = omp_get_num_threads();
        float *scr = team_scratch(work, s, &p, t);
        for (int k = 0; k < p.nblk; k++) {
            const wblock bl = block_of(&p, s, k);
            const int nt = block_tiles(&p, bl);
            input_transform(w.V, T, inp, s, &p, bl, part(C, t, nth), part(C, t + 1, nth), scr);
#pragma omp barrier
            for (int xi = part(NXI, t, nth); xi < part(NXI, t + 1, nth); xi++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, OC, nt, C, 1.0f,
                            U + (size_t)xi * OC * C, C, w.V + (size_t)xi * C * T, T, 0.0f,
                            w.M + (size_t)xi * OC * T, T);
#pragma omp barrier
            output_transform(out, w.M, T, bias, s, &p, bl, part(OC, t, nth), part(OC, t + 1, nth),
                             scr);
        }
    }
}

/* The 16 sgemms of a block's backward for xi in [x0, x1): dU += dM V^T into
 * dU (16, OC, C), then dV = U^T dM over V. */
static void backward_sgemms(float *dU, float *V, const float *dM, const float *U, int nt,
                            const tdl_conv2d_shape *s, int T, int x0, int x1, int want_dw,
                            int want_dinp) {
    const int C = s->C, OC = s->OC;
    for (int xi = x0; xi < x1; xi++) {
        const float *dMx = dM + (size_t)xi * OC * T; /* (OC, nt), stride T */
        float *Vx = V + (size_t)xi * C * T;          /* (C, nt), stride T */
        if (want_dw)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, OC, C, nt, 1.0f, dMx, T, Vx, T,
                        1.0f, dU + (size_t)xi * OC * C, C);
        if (want_dinp) /* dV overwrites V, which this xi no longer needs */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, nt, OC, 1.0f,
                        U + (size_t)xi * OC * C, C, dMx, T, 0.0f, Vx, T);
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
    backward_sgemms(w.dU, w.V, w.M, U, nt, s, p->T, 0, NXI, want_dw, dinp != NULL);
    if (dinp) input_transform_adjoint(dinp, w.V, p->T, s, p, bl, 0, s->C, w.scr);
}

void conv2d_wino_backward(float *dinp, float *dweight, const float *dout, const float *inp,
                          const float *weight, const tdl_conv2d_shape *s, float *work) {
    TDL_ASSERT(dout && inp && weight && work, "NULL argument");
    if (!dinp && !dweight) return;
    const wplan p = make_plan(s, omp_get_max_threads());
    const int C = s->C, OC = s->OC, T = p.T;
    const size_t nU = (size_t)NXI * OC * C;
    float *U = work; /* (16, OC, C) */
    if (dinp) weight_transform(U, weight, OC, C);
    const int want_dw = dweight != NULL;
    if (p.team) {
        /* Team mode: the threads split each block's channels and its sgemms;
         * dU has one copy (each xi belongs to one thread). */
        const wslot w = slot_at(work, s, &p, 0);
        if (want_dw) memset(w.dU, 0, nU * sizeof(float));
#pragma omp parallel num_threads(p.threads)
        {
            const int t = omp_get_thread_num(), nth = omp_get_num_threads();
            float *scr = team_scratch(work, s, &p, t);
            const int c0 = part(C, t, nth), c1 = part(C, t + 1, nth);
            for (int k = 0; k < p.nblk; k++) {
                const wblock bl = block_of(&p, s, k);
                const int nt = block_tiles(&p, bl);
                output_transform_adjoint(w.M, T, dout, s, &p, bl, part(OC, t, nth),
                                         part(OC, t + 1, nth), scr);
                if (want_dw) input_transform(w.V, T, inp, s, &p, bl, c0, c1, scr);
#pragma omp barrier
                backward_sgemms(w.dU, w.V, w.M, U, nt, s, T, part(NXI, t, nth),
                                part(NXI, t + 1, nth), want_dw, dinp != NULL);
#pragma omp barrier
                if (dinp) input_transform_adjoint(dinp, w.V, T, s, &p, bl, c0, c1, scr);
#pragma omp barrier
            }
            if (want_dw) {
                const size_t n = (size_t)OC * C;
                weight_transform_adjoint(dweight, w.dU, OC, C, n * t / nth, n * (t + 1) / nth);
            }
        }
        return;
    }
    /* Block mode: each thread takes whole blocks and sums its own dU. */
#pragma omp parallel num_threads(p.slots) if (p.slots > 1)
    {
        const int t = omp_get_thread_num(), nth = omp_get_num_threads();
        const wslot w = slot_at(work, s, &p, t);
        if (want_dw) memset(w.dU, 0, nU * sizeof(float));
        if (p.bpi == 1) {
#pragma omp for schedule(dynamic, 1)
            for (int k = 0; k < p.nblk; k++) backward_block(dinp, dout, inp, U, s, &p, w, k, want_dw);
        } else {
            /* Row-range blocks: even ones of each image, then odd ones (they
             * share input rows with their neighbours). */
            for (int phase = 0; phase < 2; phase++) {
#pragma omp for schedule(dynamic, 1)
                for (int k = 0; k < p.nblk; k++)
                    if ((k % p.bpi) % 2 == phase)
                        backward_block(dinp, dout, inp, U, s, &p, w, k, want_dw);
            }
        }
        if (want_dw) {
            /* The partials of the slots, summed in slot order into slot 0's. */
            float *dU0 = slot_at(work, s, &p, 0).dU;
            const size_t i0 = nU * t / nth, i1 = nU * (t + 1) / nth;
            for (int u = 1; u < nth; u++) {
                const float *dUu = slot_at(work, s, &p, u).dU;
                for (size_t i = i0; i < i1; i++) dU0[i] += dUu[i];
            }
#pragma omp barrier
            const size_t n = (size_t)OC * C;
            weight_transform_adjoint(dweight, dU0, OC, C, n * t / nth, n * (t + 1) / nth);
        }
    }
}
