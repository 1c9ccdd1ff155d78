/* unet_resblock.c: the UNet's residual block, forward and backward side by
 * side (spec section 4):
 *
 *   x (B, Cin, S) -> GN1 -> GELU -> conv1 (3x3) -> + temb_proj(GELU(temb)) = h1 (B, Cout, S)
 *   h1 -> GN2 -> GELU -> Dropout -> conv2 (3x3) -> + shortcut(x) = hpre (B, Cout, S)
 *   with attention: y = hpre + proj(attention(q, k, v of GN3(hpre)));  else y = hpre
 *
 * Kept for backward: x, h1, the two convolutions' inputs g1 = GELU(GN1(x)) and
 * g2 = Dropout(GELU(GN2(h1))), hpre, q, k, v, ao (attention output), att and
 * the GroupNorm statistics, and the dropout mask as bytes (drawn in the fused
 * GroupNorm -> GELU pass from the rng position kept in drop); the attention
 * block's GroupNorm output is recomputed.
 */
#include <string.h>

#include "tdl/nn.h"
#include "unet_plan.h"

tdl_conv2d_shape unet_conv_shape(int B, int C, int H, int W, int OC, int K, int stride) {
    return (tdl_conv2d_shape){.B = B, .C = C, .H = H, .W = W, .OC = OC, .K = K, .S = stride,
                              .P = K / 2};
}

void unet_res_forward(const tdl_unet *u, const unet_node *nd, unet_res_cache *rc,
                      const float *gtemb, int B, int train, tdl_rng *rng, unet_scratch *sc) {
    const float *P = u->params.param;
    const unet_res_params *p = &nd->p;
    const int Cin = nd->cin, C = nd->cout, H = nd->H, W = nd->W, S = H * W;
    const int G = u->plan->G, TD = u->plan->TD;
    const size_t N = (size_t)B * C * S;
    const tdl_conv2d_shape c1 = unet_conv_shape(B, Cin, H, W, C, 3, 1);
    const tdl_conv2d_shape c2 = unet_conv_shape(B, C, H, W, C, 3, 1);
    const tdl_conv2d_shape pw = unet_conv_shape(B, C, H, W, C, 1, 1);

    // block1: g1 (B, Cin, S) = GELU(GN1(x)); h1 (B, C, S) = conv1(g1) + temb_proj
    float *g1 = rc->g1 ? rc->g1 : sc->a;
    unet_gn_gelu_forward(g1, rc->mean1, rc->rstd1, rc->x, P + p->gn1_w, P + p->gn1_b, B, Cin,
                         S, G, NULL, 0.0f, NULL);
    tdl_conv2d_forward(rc->h1, g1, P + p->conv1_w, P + p->conv1_b, &c1, sc->conv_work);
    tdl_linear_forward(sc->tp, gtemb, P + p->temb_w, P + p->temb_b, B, TD, C); // (B, C)

    // block2: h1 += temb_proj (in GN2's pass); g2 (B, C, S) = Dropout(GELU(GN2(h1)))
    // (mask: N words from rng); hpre = conv2(g2) + shortcut(x)
    const float drop = u->cfg.dropout;
    rc->dropped = train && drop > 0.0f;
    if (rc->dropped) {
        rc->drop = *rng;
        rng->pos += N;
    }
    float *g2 = rc->g2 ? rc->g2 : sc->a;
    unet_gn_gelu_forward_add(g2, rc->mean2, rc->rstd2, rc->h1, sc->tp, P + p->gn2_w,
                             P + p->gn2_b, B, C, S, G, rc->dropped ? &rc->drop : NULL, drop,
                             rc->keep);
    float *hpre = nd->attn ? rc->hpre : rc->y;
    tdl_conv2d_forward(hpre, g2, P + p->conv2_w, P + p->conv2_b, &c2, sc->conv_work);
    if (Cin != C) {
        const tdl_conv2d_shape cs = unet_conv_shape(B, Cin, H, W, C, 1, 1);
        tdl_conv2d_forward(sc->b, rc->x, P + p->sc_w, P + p->sc_b, &cs, sc->conv_work);
        unet_add(hpre, sc->b, N);
    } else {
        unet_add(hpre, rc->x, N);
    }
    if (!nd->attn) return;

    // attention: a = GN3(hpre); q, k, v = 1x1(a); ao = attention; y = hpre + proj(ao)
    tdl_groupnorm_forward(sc->a, rc->mean3, rc->rstd3, hpre, P + p->agn_w, P + p->agn_b, B, C, S,
                          G, UNET_GN_EPS);
    tdl_conv2d_forward(rc->q, sc->a, P + p->q_w, P + p->q_b, &pw, sc->conv_work);
    tdl_conv2d_forward(rc->k, sc->a, P + p->k_w, P + p->k_b, &pw, sc->conv_work);
    tdl_conv2d_forward(rc->v, sc->a, P + p->v_w, P + p->v_b, &pw, sc->conv_work);
    tdl_attention_forward(rc->ao, rc->att, rc->q, rc->k, rc->v, B, C, S);
    tdl_conv2d_forward(rc->y, rc->ao, P + p->p_w, P + p->p_b, &pw, sc->conv_work);
    unet_add(rc->y, hpre, N);
}

void unet_res_backward(const tdl_unet *u, const unet_node *nd, unet_res_cache *rc,
                       const float *gtemb, float *dgtemb, const float *dy, float *dx, int B,
                       unet_scratch *sc) {
    const float *P = u->params.param;
    float *Gd = u->params.grad;
    const unet_res_params *p = &nd->p;
    const int Cin = nd->cin, C = nd->cout, H = nd->H, W = nd->W, S = H * W;
    const int G = u->plan->G, TD = u->plan->TD;
    const size_t N = (size_t)B * C * S, Nin = (size_t)B * Cin * S;
    const tdl_conv2d_shape c1 = unet_conv_shape(B, Cin, H, W, C, 3, 1);
    const tdl_conv2d_shape c2 = unet_conv_shape(B, C, H, W, C, 3, 1);
    const tdl_conv2d_shape pw = unet_conv_shape(B, C, H, W, C, 1, 1);

    // attention: dhpre (B, C, S) = dy + GN3^T(q, k, v convs^T(attention^T(proj^T dy)))
    const float *dh = dy;
    if (nd->attn) {
        float *dhpre = sc->dh2;
        memcpy(dhpre, dy, N * sizeof *dhpre);
        unet_zero(sc->dao, N);
        tdl_conv2d_backward(sc->dao, Gd + p->p_w, Gd + p->p_b, dy, rc->ao, P + p->p_w, &pw,
                            sc->conv_work);
        unet_zero(sc->dq, N);
        unet_zero(sc->dk, N);
        unet_zero(sc->dv, N);
        tdl_attention_backward(sc->dq, sc->dk, sc->dv, sc->dao, rc->q, rc->k, rc->v, rc->att,
                               sc->attn_work, B, C, S);
        tdl_groupnorm_forward(sc->a, rc->mean3, rc->rstd3, rc->hpre, P + p->agn_w, P + p->agn_b,
                              B, C, S, G, UNET_GN_EPS);
        unet_zero(sc->c, N);
        tdl_conv2d_backward(sc->c, Gd + p->q_w, Gd + p->q_b, sc->dq, sc->a, P + p->q_w, &pw,
                            sc->conv_work);
        tdl_conv2d_backward(sc->c, Gd + p->k_w, Gd + p->k_b, sc->dk, sc->a, P + p->k_w, &pw,
                            sc->conv_work);
        tdl_conv2d_backward(sc->c, Gd + p->v_w, Gd + p->v_b, sc->dv, sc->a, P + p->v_w, &pw,
                            sc->conv_work);
        tdl_groupnorm_backward(dhpre, Gd + p->agn_w, Gd + p->agn_b, sc->c, rc->hpre,
                               P + p->agn_w, rc->mean3, rc->rstd3, B, C, S, G);
        dh = dhpre;
    }

    // shortcut: dx += shortcut^T dh
    if (Cin != C) {
        const tdl_conv2d_shape cs = unet_conv_shape(B, Cin, H, W, C, 1, 1);
        tdl_conv2d_backward(dx, Gd + p->sc_w, Gd + p->sc_b, dh, rc->x, P + p->sc_w, &cs,
                            sc->conv_work);
    } else {
        unet_add(dx, dh, N);
    }

    // block2: d = conv2^T dh; b = dh1 = GN2^T GELU^T (mask * d), the mask redrawn;
    // tp (B, C) = temb_proj's output gradient = sums over S of dh1
    TDL_ASSERT(rc->g1 && rc->g2, "unet_res_backward: needs a grad cache");
    unet_zero(sc->d, N);
    tdl_conv2d_backward(sc->d, Gd + p->conv2_w, Gd + p->conv2_b, dh, rc->g2, P + p->conv2_w, &c2,
                        sc->conv_work);
    unet_gn_gelu_backward(sc->b, Gd + p->gn2_w, Gd + p->gn2_b, sc->tp, sc->d, rc->h1,
                          P + p->gn2_w, P + p->gn2_b, rc->mean2, rc->rstd2, sc->part, B, C, S, G,
                          rc->dropped ? &rc->drop : NULL, u->cfg.dropout, rc->keep, 0);

    tdl_linear_backward(dgtemb, Gd + p->temb_w, Gd + p->temb_b, sc->tp, gtemb, P + p->temb_w, B,
                        TD, C);

    // block1: d = conv1^T dh1 (conv1's input g1 kept); dx += GN1^T GELU^T d
    unet_zero(sc->d, Nin);
    tdl_conv2d_backward(sc->d, Gd + p->conv1_w, Gd + p->conv1_b, sc->b, rc->g1, P + p->conv1_w,
                        &c1, sc->conv_work);
    unet_gn_gelu_backward(dx, Gd + p->gn1_w, Gd + p->gn1_b, NULL, sc->d, rc->x, P + p->gn1_w,
                          P + p->gn1_b, rc->mean1, rc->rstd1, sc->part, B, Cin, S, G, NULL, 0.0f,
                          NULL, 1);
}
