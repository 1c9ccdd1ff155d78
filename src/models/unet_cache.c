/* unet_cache.c: the UNet's activation cache, laid out once in one
 * allocation.
 *
 * A grad cache keeps, per ResBlock, its input (up blocks: the concatenated
 * one), h1, the two 3x3 convolutions' inputs (GroupNorm -> GELU [-> dropout]
 * outputs), and with attention hpre, q, k, v, the attention output and
 * weights, plus every node's output and the tail's GroupNorm -> GELU output;
 * and the dropout masks as bytes; backward recomputes the attention block's
 * GroupNorm output. An inference cache (grad == 0) keeps only the
 * skips (every down-path output, needed by the up path) and shares one set of
 * buffers between all blocks, with two ping-pong buffers for the middle and
 * up paths' outputs.
 */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/threads.h"
#include "unet_plan.h"

typedef struct arena {
    float *base; /* NULL while measuring */
    size_t used; /* floats */
} arena;

/* n floats, 16-float aligned (64 bytes) within the block. */
static float *take(arena *a, size_t n) {
    float *p = a->base ? a->base + a->used : NULL;
    a->used += (n + 15) & ~(size_t)15;
    return p;
}

static size_t zmax(size_t a, size_t b) { return a > b ? a : b; }

static void layout(tdl_unet_cache *c, const tdl_unet *u, arena *ar) {
    const tdl_unet_plan *pl = u->plan;
    const size_t B = (size_t)c->Bmax, G = (size_t)pl->G, TD = (size_t)pl->TD;
    const int grad = c->grad, threads = c->threads;
    /* the largest tensor of each role */
    size_t act_c = 0, act = 0, out = 0, h1 = 0, attn = 0, att = 0, cout = 0, xin = 0, rs = 0, cw = 0, aw = 0;
    for (int i = 0; i < pl->n_nodes; i++) {
        const unet_node *nd = &pl->nodes[i];
        const size_t S = (size_t)nd->H * nd->W, OS = (size_t)nd->OH * nd->OW;
        out = zmax(out, nd->cout * OS);
        if (nd->kind != UNET_RES) {
            act = zmax(act, nd->cin * zmax(S, OS));
            tdl_conv2d_shape s = unet_conv_shape(c->Bmax, nd->cin, nd->kind == UNET_UP ? nd->OH : nd->H,
                                                 nd->kind == UNET_UP ? nd->OW : nd->W, nd->cout, 3,
                                                 nd->kind == UNET_DOWN ? 2 : 1);
            cw = zmax(cw, tdl_conv2d_work_floats(&s, threads));
            continue;
        }
        act = zmax(act, zmax(nd->cin, nd->cout) * S);
        act_c = zmax(act_c, zmax(nd->cin, nd->cout));
        h1 = zmax(h1, nd->cout * S);
        cout = zmax(cout, (size_t)nd->cout);
        if (nd->skip_of >= 0) {
            xin = zmax(xin, nd->cin * S);
            rs = zmax(rs, (size_t)pl->skip_c[nd->skip_of] * S);
        }
        tdl_conv2d_shape s1 = unet_conv_shape(c->Bmax, nd->cin, nd->H, nd->W, nd->cout, 3, 1);
        tdl_conv2d_shape s2 = unet_conv_shape(c->Bmax, nd->cout, nd->H, nd->W, nd->cout, 3, 1);
        tdl_conv2d_shape s3 = unet_conv_shape(c->Bmax, nd->cin, nd->H, nd->W, nd->cout, 1, 1);
        cw = zmax(cw, zmax(tdl_conv2d_work_floats(&s1, threads),
                           zmax(tdl_conv2d_work_floats(&s2, threads),
                                tdl_conv2d_work_floats(&s3, threads))));
        if (nd->attn) {
            attn = zmax(attn, nd->cout * S);
            att = zmax(att, S * S);
            if (grad)
                aw = zmax(aw, tdl_attention_scratch_floats(c->Bmax, nd->cout, (int)S, threads));
        }
    }
    const size_t S0 = (size_t)pl->S * pl->S, FS = (size_t)pl->FH * pl->FH;
    act = zmax(act, (size_t)pl->c_last * FS);
    {
        tdl_conv2d_shape s = unet_conv_shape(c->Bmax, 1, pl->S, pl->S, pl->ch, 3, 1);
        tdl_conv2d_shape t = unet_conv_shape(c->Bmax, pl->c_last, pl->FH, pl->FH, 1, 3, 1);
        cw = zmax(cw, zmax(tdl_conv2d_work_floats(&s, threads), tdl_conv2d_work_floats(&t, threads)));
    }

    c->x = take(ar, B * S0);
    c->e0 = take(ar, B * pl->ch);
    c->a1 = take(ar, B * TD);
    c->g1 = take(ar, B * TD);
    c->temb = take(ar, B * TD);
    c->gtemb = take(ar, B * TD);
    if (grad) {
        c->dgtemb = take(ar, B * TD);
        c->dtemb = take(ar, B * TD);
        c->dg1 = take(ar, B * TD);
    }
    for (int j = 0; j < pl->n_skips; j++) {
        const size_t n = B * pl->skip_c[j] * pl->skip_h[j] * pl->skip_h[j];
        c->skips[j] = take(ar, n);
        if (grad) c->dskips[j] = take(ar, n);
    }
    /* shared buffers */
    float *pp[2] = {NULL, NULL}, *xc = NULL, *sh1 = NULL, *shp = NULL, *sq = NULL, *sk = NULL,
          *sv = NULL, *sao = NULL, *satt = NULL;
    if (!grad) {
        pp[0] = take(ar, B * out);
        pp[1] = take(ar, B * out);
        xc = take(ar, B * xin);
        sh1 = take(ar, B * h1);
        shp = take(ar, B * attn);
        sq = take(ar, B * attn);
        sk = take(ar, B * attn);
        sv = take(ar, B * attn);
        sao = take(ar, B * attn);
        satt = take(ar, B * att);
    }
    for (int i = 0; i < pl->n_nodes; i++) {
        const unet_node *nd = &pl->nodes[i];
        const size_t S = (size_t)nd->H * nd->W, OS = (size_t)nd->OH * nd->OW;
        if (i < pl->n_down) c->out[i] = c->skips[i + 1];
        else c->out[i] = grad ? take(ar, B * nd->cout * OS) : pp[(i - pl->n_down) % 2];
        if (nd->kind != UNET_RES) continue;
        unet_res_cache *rc = &c->res[i];
        rc->y = c->out[i];
        if (nd->skip_of >= 0) c->xin[i] = grad ? take(ar, B * nd->cin * S) : xc;
        rc->x = nd->skip_of >= 0 ? c->xin[i] : (i == 0 ? c->skips[0] : c->out[i - 1]);
        rc->h1 = grad ? take(ar, B * nd->cout * S) : sh1;
        rc->g1 = grad ? take(ar, B * nd->cin * S) : NULL;
        rc->g2 = grad ? take(ar, B * nd->cout * S) : NULL;
        /* the dropout mask's bytes, four per float of the arena */
        rc->keep = grad ? (uint8_t *)(void *)take(ar, (B * nd->cout * S + 3) / 4) : NULL;
        rc->mean1 = take(ar, B * G);
        rc->rstd1 = take(ar, B * G);
        rc->mean2 = take(ar, B * G);
        rc->rstd2 = take(ar, B * G);
        if (nd->attn) {
            const size_t n = B * nd->cout * S;
            rc->hpre = grad ? take(ar, n) : shp;
            rc->q = grad ? take(ar, n) : sq;
            rc->k = grad ? take(ar, n) : sk;
            rc->v = grad ? take(ar, n) : sv;
            rc->ao = grad ? take(ar, n) : sao;
            rc->att = grad ? take(ar, B * S * S) : satt;
            rc->mean3 = take(ar, B * G);
            rc->rstd3 = take(ar, B * G);
        }
    }
    c->rs = take(ar, B * rs);
    c->tail_mean = take(ar, B * G);
    c->tail_rstd = take(ar, B * G);
    c->tail_out = take(ar, B * FS);
    c->tail_g = grad ? take(ar, B * (size_t)pl->c_last * FS) : NULL;
    unet_scratch *sc = &c->sc;
    sc->a = take(ar, B * act);
    sc->b = take(ar, B * act);
    sc->tp = take(ar, B * cout);
    sc->conv_work = take(ar, cw);
    if (grad) {
        float *part = take(ar, 4 * B * (act_c > (size_t)pl->c_last ? act_c : (size_t)pl->c_last));
        sc->part = (double *)(void *)part;
        sc->c = take(ar, B * act);
        sc->d = take(ar, B * act);
        sc->dh2 = take(ar, B * attn);
        sc->dao = take(ar, B * attn);
        sc->dq = take(ar, B * attn);
        sc->dk = take(ar, B * attn);
        sc->dv = take(ar, B * attn);
        sc->attn_work = take(ar, aw);
        c->dcur0 = take(ar, B * out);
        c->dcur1 = take(ar, B * out);
        c->dxin = take(ar, B * xin);
        c->dtail = take(ar, B * FS);
    }
}

/* A cache without its activation block, laid out (c->floats set, pointers
 * NULL); NULL when out of memory. */
static tdl_unet_cache *cache_shell(const tdl_unet *u, int B, int grad) {
    tdl_unet_cache *c = calloc(1, sizeof *c);
    const int n = u->plan->n_nodes, ns = u->plan->n_skips;
    if (c) {
        c->res = calloc((size_t)n, sizeof *c->res);
        c->out = calloc((size_t)n, sizeof *c->out);
        c->xin = calloc((size_t)n, sizeof *c->xin);
        c->skips = calloc((size_t)ns, sizeof *c->skips);
        c->dskips = calloc((size_t)ns, sizeof *c->dskips);
        c->t = calloc((size_t)B, sizeof *c->t);
    }
    if (!c || !c->res || !c->out || !c->xin || !c->skips || !c->dskips || !c->t) {
        tdl_unet_cache_free(c);
        return NULL;
    }
    c->Bmax = B;
    c->grad = grad != 0;
    int th = omp_get_max_threads(), tc = tdl_threads_count();
    c->threads = th > tc ? th : tc;
    arena ar = {NULL, 0};
    layout(c, u, &ar);
    c->floats = ar.used;
    return c;
}

static tdl_status check_batch(int B) {
    if (B < 1 || B > (1 << 20))
        return tdl_error(TDL_ERR_INVALID, "UNet batch %d must be in [1, 2^20]", B);
    return TDL_OK;
}

tdl_status tdl_unet_cache_measure(size_t *bytes, const tdl_unet *u, int B, int grad) {
    TDL_ASSERT(bytes && u && u->plan, "unet_cache_measure: NULL argument");
    *bytes = 0;
    TDL_TRY(check_batch(B));
    tdl_unet_cache *c = cache_shell(u, B, grad);
    if (!c) return tdl_error(TDL_ERR_NOMEM, "out of memory for the UNet cache");
    *bytes = tdl_unet_cache_bytes(c);
    tdl_unet_cache_free(c);
    return TDL_OK;
}

tdl_status tdl_unet_cache_init(tdl_unet_cache **out, const tdl_unet *u, int B, int grad) {
    TDL_ASSERT(out && u && u->plan, "unet_cache_init: NULL argument");
    *out = NULL;
    TDL_TRY(check_batch(B));
    tdl_unet_cache *c = cache_shell(u, B, grad);
    if (!c) return tdl_error(TDL_ERR_NOMEM, "out of memory for the UNet cache");
    c->mem = aligned_alloc(64, ((c->floats * sizeof(float)) + 63) & ~(size_t)63);
    if (!c->mem) {
        size_t mb = c->floats * sizeof(float) >> 20;
        tdl_unet_cache_free(c);
        return tdl_error(TDL_ERR_NOMEM, "out of memory for the UNet cache (%zu MB, batch %d)",
                         mb, B);
    }
    memset(c->mem, 0, c->floats * sizeof(float));
    arena ar = {c->mem, 0};
    layout(c, u, &ar);
    *out = c;
    return TDL_OK;
}

size_t tdl_unet_cache_bytes(const tdl_unet_cache *c) {
    if (!c) return 0;
    return c->floats * sizeof(float) + sizeof *c;
}

void tdl_unet_cache_free(tdl_unet_cache *c) {
    if (!c) return;
    free(c->mem);
    free(c->res);
    free(c->out);
    free(c->xin);
    free(c->skips);
    free(c->dskips);
    free(c->t);
    free(c);
}
