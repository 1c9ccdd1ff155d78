/* unet_resblock.c: the UNet's residual block, forward and backward side by
 * side (spec section 4):
 *
 *   x (B, Cin, S) -> GN1 -> GELU -> conv1 (3x3) -> + temb_proj(GELU(temb)) = h1 (B, Cout, S)
 *   h1 -> GN2 -> GELU -> Dropout -> conv2 (3x3) -> + shortcut(x) = hpre (B, Cout, S)
 *   with attention: y = hpre + proj(attention(q, k, v of GN3(hpre)));  else y = hpre
 *
 * Kept for backward: x, h1, hpre, q, k, v, ao (attention output), att and the
 * GroupNorm statistics. The GroupNorm and GELU outputs and the dropout mask
 * are recomputed in backward (the mask from the rng position forward used).
 */
#include <string.h>

#include "tdl/nn.h"
#include "unet_plan.h"

tdl_conv2d_shape unet_conv_shape(int B, int C, int H, int W, int OC, int K, int stride) {
    return (tdl_conv2d_shape){.B = B, .C = C, .H = H, .W = W, .OC = OC, .K = K, .S = stride,
                              .P = K / 2};
}

static void add_into(float *y, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] += x[i];
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

    // block1: a (B, Cin, S) = GELU(GN1(x)); h1 (B, C, S) = conv1(a) + temb_proj
    tdl_groupnorm_forward(sc->a, rc->mean1, rc->rstd1, rc->x, P + p->gn1_w, P + p->gn1_b, B,
                          Cin, S, G, UNET_GN_EPS);
    tdl_gelu_forward(sc->a, sc->a, (size_t)B * Cin * S);
    tdl_conv2d_forward(rc->h1, sc->a, P + p->conv1_w, P + p->conv1_b, &c1, sc->conv_work);
    tdl_linear_forward(sc->tp, gtemb, P + p->temb_w, P + p->temb_b, B, TD, C); // (B, C)
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++) {
            float *r = rc->h1 + ((size_t)b * C + c) * S;
            const float v = sc->tp[(size_t)b * C + c];
            for (int s = 0; s < S; s++) r[s] += v;
        }

    // block2: a (B, C, S) = Dropout(GELU(GN2(h1))); hpre = conv2(a) + shortcut(x)
    tdl_groupnorm_forward(sc->a, rc->mean2, rc->rstd2, rc->h1, P + p->gn2_w, P + p->gn2_b, B, C,
                          S, G, UNET_GN_EPS);
    tdl_gelu_forward(sc->a, sc->a, N);
    const float drop = u->cfg.dropout;
    rc->dropped = train && drop > 0.0f;
    if (rc->dropped) {
        rc->drop = *rng;
        tdl_dropout_mask(sc->b, N, drop, rng);
        tdl_dropout_forward(sc->a, sc->a, sc->b, N);
    }
    float *hpre = nd->attn ? rc->hpre : rc->y;
    tdl_conv2d_forward(hpre, sc->a, P + p->conv2_w, P + p->conv2_b, &c2, sc->conv_work);
    if (Cin != C) {
        const tdl_conv2d_shape cs = unet_conv_shape(B, Cin, H, W, C, 1, 1);
        tdl_conv2d_forward(sc->b, rc->x, P + p->sc_w, P + p->sc_b, &cs, sc->conv_work);
        add_into(hpre, sc->b, N);
    } else {
        add_into(hpre, rc->x, N);
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
    add_into(rc->y, hpre, N);
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
        memset(sc->dao, 0, N * sizeof *sc->dao);
        tdl_conv2d_backward(sc->dao, Gd + p->p_w, Gd + p->p_b, dy, rc->ao, P + p->p_w, &pw,
                            sc->conv_work);
        memset(sc->dq, 0, N * sizeof *sc->dq);
        memset(sc->dk, 0, N * sizeof *sc->dk);
        memset(sc->dv, 0, N * sizeof *sc->dv);
        tdl_attention_backward(sc->dq, sc->dk, sc->dv, sc->dao, rc->q, rc->k, rc->v, rc->att,
                               sc->attn_work, B, C, S);
        tdl_groupnorm_forward(sc->a, rc->mean3, rc->rstd3, rc->hpre, P + p->agn_w, P + p->agn_b,
                              B, C, S, G, UNET_GN_EPS);
        memset(sc->c, 0, N * sizeof *sc->c);
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
        add_into(dx, dh, N);
    }

    // block2: recompute a = GN2(h1), b = Dropout(GELU(a)) (mask in c); d = conv2^T dh
    tdl_groupnorm_forward(sc->a, rc->mean2, rc->rstd2, rc->h1, P + p->gn2_w, P + p->gn2_b, B, C,
                          S, G, UNET_GN_EPS);
    tdl_gelu_forward(sc->b, sc->a, N);
    if (rc->dropped) {
        tdl_rng r = rc->drop;
        tdl_dropout_mask(sc->c, N, u->cfg.dropout, &r);
        tdl_dropout_forward(sc->b, sc->b, sc->c, N);
    }
    memset(sc->d, 0, N * sizeof *sc->d);
    tdl_conv2d_backward(sc->d, Gd + p->conv2_w, Gd + p->conv2_b, dh, sc->b, P + p->conv2_w, &c2,
                        sc->conv_work);
    if (rc->dropped) {
        // dropout^T in place: d *= mask
        for (size_t i = 0; i < N; i++) sc->d[i] *= sc->c[i];
    }
    memset(sc->c, 0, N * sizeof *sc->c);
    tdl_gelu_backward(sc->c, sc->d, sc->a, N);
    memset(sc->b, 0, N * sizeof *sc->b); // b = dh1 (B, C, S)
    tdl_groupnorm_backward(sc->b, Gd + p->gn2_w, Gd + p->gn2_b, sc->c, rc->h1, P + p->gn2_w,
                           rc->mean2, rc->rstd2, B, C, S, G);

    // temb_proj: dtp (B, C) = sum over S of dh1
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++) {
            const float *r = sc->b + ((size_t)b * C + c) * S;
            double acc = 0.0;
            for (int s = 0; s < S; s++) acc += r[s];
            sc->tp[(size_t)b * C + c] = (float)acc;
        }
    tdl_linear_backward(dgtemb, Gd + p->temb_w, Gd + p->temb_b, sc->tp, gtemb, P + p->temb_w, B,
                        TD, C);

    // block1: recompute a = GN1(x), c = GELU(a); d = conv1^T dh1; dx += GN1^T(GELU^T d)
    tdl_groupnorm_forward(sc->a, rc->mean1, rc->rstd1, rc->x, P + p->gn1_w, P + p->gn1_b, B, Cin,
                          S, G, UNET_GN_EPS);
    tdl_gelu_forward(sc->c, sc->a, Nin);
    memset(sc->d, 0, Nin * sizeof *sc->d);
    tdl_conv2d_backward(sc->d, Gd + p->conv1_w, Gd + p->conv1_b, sc->b, sc->c, P + p->conv1_w,
                        &c1, sc->conv_work);
    memset(sc->c, 0, Nin * sizeof *sc->c);
    tdl_gelu_backward(sc->c, sc->d, sc->a, Nin);
    tdl_groupnorm_backward(dx, Gd + p->gn1_w, Gd + p->gn1_b, sc->c, rc->x, P + p->gn1_w,
                           rc->mean1, rc->rstd1, B, Cin, S, G);
}
