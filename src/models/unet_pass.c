/* unet_pass.c: the whole UNet's forward and backward passes.
 *
 *   t (B) -> table rows e0 (B, ch) -> Linear -> a1 (B, TD) -> GELU -> g1 -> Linear
 *     -> temb (B, TD);  every ResBlock uses gtemb = GELU(temb) (B, TD)
 *   x (B, 1, S, S) -> head conv3x3 -> skip 0 (B, ch, S, S)
 *   down nodes: skip j -> node j -> skip j + 1
 *   middle: two ResBlocks
 *   up nodes: ResBlock on concat(h, skip resized to h's side) or UpSample
 *   tail: GN -> GELU -> conv3x3 -> (B, 1, FH, FH) -> bilinear to (B, 1, S, S)
 *
 * Backward runs the nodes in reverse. Each skip has a gradient buffer that
 * collects the up path's concat gradient and the next down node's (or the
 * first middle block's) input gradient before its own node runs.
 */
#include <omp.h>
#include <string.h>

#include "tdl/nn.h"
#include "unet_plan.h"

static void time_embedding_forward(const tdl_unet *u, tdl_unet_cache *c, int B) {
    const tdl_unet_plan *pl = u->plan;
    const float *P = u->params.param;
    const int ch = pl->ch, TD = pl->TD;
    for (int b = 0; b < B; b++)
        memcpy(c->e0 + (size_t)b * ch, P + pl->table + (size_t)c->t[b] * ch, ch * sizeof(float));
    tdl_linear_forward(c->a1, c->e0, P + pl->t1_w, P + pl->t1_b, B, ch, TD);
    tdl_gelu_forward(c->g1, c->a1, (size_t)B * TD);
    tdl_linear_forward(c->temb, c->g1, P + pl->t2_w, P + pl->t2_b, B, TD, TD);
    tdl_gelu_forward(c->gtemb, c->temb, (size_t)B * TD);
}

static void time_embedding_backward(const tdl_unet *u, tdl_unet_cache *c, int B) {
    const tdl_unet_plan *pl = u->plan;
    const float *P = u->params.param;
    float *Gd = u->params.grad;
    const int ch = pl->ch, TD = pl->TD;
    const size_t n = (size_t)B * TD;
    unet_zero(c->dtemb, n);
    tdl_gelu_backward(c->dtemb, c->dgtemb, c->temb, n);
    unet_zero(c->dg1, n);
    tdl_linear_backward(c->dg1, Gd + pl->t2_w, Gd + pl->t2_b, c->dtemb, c->g1, P + pl->t2_w, B,
                        TD, TD);
    unet_zero(c->dtemb, n); // reused as da1
    tdl_gelu_backward(c->dtemb, c->dg1, c->a1, n);
    tdl_linear_backward(NULL, Gd + pl->t1_w, Gd + pl->t1_b, c->dtemb, c->e0, P + pl->t1_w, B, ch,
                        TD);
}

/* xin (B, Cin, S) = concat(h (B, cprev, S), skip resized to H x W). */
static void concat_forward(const tdl_unet *u, tdl_unet_cache *c, const unet_node *nd,
                           const float *h, int B) {
    const tdl_unet_plan *pl = u->plan;
    const int s = nd->skip_of, cs = pl->skip_c[s], hs = pl->skip_h[s];
    const float *skip = c->skips[s];
    if (hs != nd->H) {
        tdl_bilinear_forward(c->rs, skip, B, cs, hs, hs, nd->H, nd->W);
        skip = c->rs;
    }
    tdl_concat_forward(c->res[nd - pl->nodes].x, h, skip, B, nd->cprev, cs, nd->H * nd->W);
}

/* dh (B, C1, S) = the first C1 channels of dxin (B, C1 + C2, S): the concat's
 * backward into a fresh buffer (written, not added). */
static void concat_head_backward(float *dh, const float *dxin, int B, int C1, int C2, int S) {
    const size_t n1 = (size_t)C1 * S, n = (size_t)(C1 + C2) * S;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++)
        memcpy(dh + (size_t)b * n1, dxin + (size_t)b * n, n1 * sizeof *dh);
}

void tdl_unet_forward(tdl_unet *u, tdl_unet_cache *c, const float *x, const int *t, float *eps,
                      int B, int train, tdl_rng *rng) {
    TDL_ASSERT(u && u->plan && c && x && t && eps, "unet_forward: NULL argument");
    TDL_ASSERT(B >= 1 && B <= c->Bmax, "unet_forward: batch %d outside [1, %d]", B, c->Bmax);
    TDL_ASSERT(!train || rng, "unet_forward: training needs an rng");
    TDL_ASSERT(omp_get_max_threads() <= c->threads,
               "unet_forward: %d threads but the cache was made for %d", omp_get_max_threads(),
               c->threads);
    const tdl_unet_plan *pl = u->plan;
    const float *P = u->params.param;
    const int S = pl->S, G = pl->G;
    for (int b = 0; b < B; b++)
        TDL_ASSERT(t[b] >= 0 && t[b] < pl->T, "unet_forward: t[%d]=%d outside [0, %d)", b, t[b],
                   pl->T);
    c->B = B;
    c->train = train != 0;
    memcpy(c->x, x, (size_t)B * S * S * sizeof(float));
    memcpy(c->t, t, (size_t)B * sizeof(int));
    time_embedding_forward(u, c, B);

    tdl_conv2d_shape hs = unet_conv_shape(B, 1, S, S, pl->ch, 3, 1);
    tdl_conv2d_forward(c->skips[0], c->x, P + pl->head_w, P + pl->head_b, &hs, c->sc.conv_work);
    for (int i = 0; i < pl->n_nodes; i++) {
        const unet_node *nd = &pl->nodes[i];
        const float *in = i == 0 ? c->skips[0] : c->out[i - 1];
        if (nd->kind == UNET_RES) {
            if (nd->skip_of >= 0) concat_forward(u, c, nd, in, B);
            unet_res_forward(u, nd, &c->res[i], c->gtemb, B, train, rng, &c->sc);
        } else if (nd->kind == UNET_DOWN) {
            tdl_conv2d_shape s = unet_conv_shape(B, nd->cin, nd->H, nd->W, nd->cout, 3, 2);
            tdl_conv2d_forward(c->out[i], in, P + nd->w, P + nd->b, &s, c->sc.conv_work);
        } else {
            tdl_upsample2x_forward(c->sc.a, in, B, nd->cin, nd->H, nd->W);
            tdl_conv2d_shape s = unet_conv_shape(B, nd->cin, nd->OH, nd->OW, nd->cout, 3, 1);
            tdl_conv2d_forward(c->out[i], c->sc.a, P + nd->w, P + nd->b, &s, c->sc.conv_work);
        }
    }

    // tail
    const float *last = c->out[pl->n_nodes - 1];
    const int C = pl->c_last, FH = pl->FH;
    float *tg = c->tail_g ? c->tail_g : c->sc.a; // (B, C, FH, FH)
    unet_gn_gelu_forward(tg, c->tail_mean, c->tail_rstd, last, P + pl->tail_gn_w,
                         P + pl->tail_gn_b, B, C, FH * FH, G, NULL, 0.0f, NULL);
    tdl_conv2d_shape ts = unet_conv_shape(B, C, FH, FH, 1, 3, 1);
    if (FH == S) {
        tdl_conv2d_forward(eps, tg, P + pl->tail_w, P + pl->tail_b, &ts, c->sc.conv_work);
    } else {
        tdl_conv2d_forward(c->tail_out, tg, P + pl->tail_w, P + pl->tail_b, &ts,
                           c->sc.conv_work);
        tdl_bilinear_forward(eps, c->tail_out, B, 1, FH, FH, S, S);
    }
}

void tdl_unet_backward(tdl_unet *u, tdl_unet_cache *c, const float *deps, float *dx, int B) {
    TDL_ASSERT(u && u->plan && c && deps, "unet_backward: NULL argument");
    TDL_ASSERT(c->grad, "unet_backward: the cache was made with grad == 0");
    TDL_ASSERT(B == c->B, "unet_backward: batch %d but the last forward had %d", B, c->B);
    const tdl_unet_plan *pl = u->plan;
    const float *P = u->params.param;
    float *Gd = u->params.grad;
    const int S = pl->S, G = pl->G, C = pl->c_last, FH = pl->FH;
    unet_scratch *sc = &c->sc;

    unet_zero(c->dgtemb, (size_t)B * pl->TD);
    for (int j = 0; j < pl->n_skips; j++)
        unet_zero(c->dskips[j], (size_t)B * pl->skip_c[j] * pl->skip_h[j] * pl->skip_h[j]);

    // tail: dcur (B, C, FH, FH) = GN^T GELU^T conv^T resize^T deps
    const float *dto = deps;
    if (FH != S) {
        unet_zero(c->dtail, (size_t)B * FH * FH);
        tdl_bilinear_backward(c->dtail, deps, B, 1, FH, FH, S, S);
        dto = c->dtail;
    }
    const float *last = c->out[pl->n_nodes - 1];
    const size_t NT = (size_t)B * C * FH * FH;
    tdl_conv2d_shape ts = unet_conv_shape(B, C, FH, FH, 1, 3, 1);
    unet_zero(sc->d, NT);
    tdl_conv2d_backward(sc->d, Gd + pl->tail_w, Gd + pl->tail_b, dto, c->tail_g, P + pl->tail_w,
                        &ts, sc->conv_work);
    float *dcur = c->dcur0, *dnext = c->dcur1;
    unet_gn_gelu_backward(dcur, Gd + pl->tail_gn_w, Gd + pl->tail_gn_b, NULL, sc->d, last,
                          P + pl->tail_gn_w, P + pl->tail_gn_b, c->tail_mean, c->tail_rstd,
                          sc->part, B, C, FH * FH, G, NULL, 0.0f, NULL, 0);

    // up and middle paths: dcur is dLoss/d out[i]
    for (int i = pl->n_nodes - 1; i >= pl->n_down; i--) {
        const unet_node *nd = &pl->nodes[i];
        const size_t Sp = (size_t)nd->H * nd->W;
        if (nd->kind == UNET_RES && nd->skip_of >= 0) {
            const int s = nd->skip_of, cs = pl->skip_c[s], hs = pl->skip_h[s];
            unet_zero(c->dxin, (size_t)B * nd->cin * Sp);
            unet_res_backward(u, nd, &c->res[i], c->gtemb, c->dgtemb, dcur, c->dxin, B, sc);
            concat_head_backward(dnext, c->dxin, B, nd->cprev, cs, (int)Sp);
            if (hs == nd->H) {
                tdl_concat_backward(NULL, c->dskips[s], c->dxin, B, nd->cprev, cs, (int)Sp);
            } else {
                unet_zero(c->rs, (size_t)B * cs * Sp);
                tdl_concat_backward(NULL, c->rs, c->dxin, B, nd->cprev, cs, (int)Sp);
                tdl_bilinear_backward(c->dskips[s], c->rs, B, cs, hs, hs, nd->H, nd->W);
            }
        } else if (nd->kind == UNET_RES) {
            // a middle block; the first one's input is the last skip
            float *dmid = i == pl->n_down ? c->dskips[pl->n_skips - 1] : dnext;
            if (dmid == dnext) unet_zero(dnext, (size_t)B * nd->cin * Sp);
            unet_res_backward(u, nd, &c->res[i], c->gtemb, c->dgtemb, dcur, dmid, B, sc);
        } else { // UpSample
            const size_t NU = (size_t)B * nd->cin * nd->OH * nd->OW;
            tdl_upsample2x_forward(sc->a, c->out[i - 1], B, nd->cin, nd->H, nd->W);
            tdl_conv2d_shape s = unet_conv_shape(B, nd->cin, nd->OH, nd->OW, nd->cout, 3, 1);
            unet_zero(sc->d, NU);
            tdl_conv2d_backward(sc->d, Gd + nd->w, Gd + nd->b, dcur, sc->a, P + nd->w, &s,
                                sc->conv_work);
            unet_zero(dnext, (size_t)B * nd->cin * Sp);
            tdl_upsample2x_backward(dnext, sc->d, B, nd->cin, nd->H, nd->W);
        }
        float *tmp = dcur;
        dcur = dnext;
        dnext = tmp;
    }

    // down path: node j maps skip j to skip j + 1
    for (int j = pl->n_down - 1; j >= 0; j--) {
        const unet_node *nd = &pl->nodes[j];
        if (nd->kind == UNET_RES) {
            unet_res_backward(u, nd, &c->res[j], c->gtemb, c->dgtemb, c->dskips[j + 1],
                              c->dskips[j], B, sc);
        } else {
            tdl_conv2d_shape s = unet_conv_shape(B, nd->cin, nd->H, nd->W, nd->cout, 3, 2);
            tdl_conv2d_backward(c->dskips[j], Gd + nd->w, Gd + nd->b, c->dskips[j + 1],
                                c->skips[j], P + nd->w, &s, sc->conv_work);
        }
    }

    // head and time embedding
    tdl_conv2d_shape hs = unet_conv_shape(B, 1, S, S, pl->ch, 3, 1);
    if (dx) unet_zero(dx, (size_t)B * S * S);
    tdl_conv2d_backward(dx, Gd + pl->head_w, Gd + pl->head_b, c->dskips[0], c->x, P + pl->head_w,
                        &hs, sc->conv_work);
    time_embedding_backward(u, c, B);
}
