/* unet_plan.h (internal): the UNet's layer plan, its cache and the ResBlock
 * pass shared by unet.c, unet_cache.c, unet_resblock.c and unet_pass.c.
 *
 * The plan is the authors' module list flattened: the nodes are the
 * downblocks, the two middleblocks and the upblocks in forward order. A node
 * is a ResBlock (RES), a DownSample (DOWN: conv3x3 stride 2) or an UpSample
 * (UP: nearest x2 -> conv3x3). Parameters are referred to by their offset in
 * floats into params.param / params.grad (the same layout).
 *
 * Skips: skip 0 is the head's output, skip j + 1 the output of down node j;
 * the up ResBlocks consume them from the last (skip_of >= 0).
 */
#ifndef TDL_UNET_PLAN_H
#define TDL_UNET_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "tdl/nn.h"
#include "tdl/unet.h"

#define UNET_GN_EPS 1e-5f

enum { UNET_RES, UNET_DOWN, UNET_UP };

/* Offsets (floats) of one ResBlock's tensors. */
typedef struct unet_res_params {
    size_t gn1_w, gn1_b, conv1_w, conv1_b, temb_w, temb_b; /* (Cin) (Cin) (Cout,Cin,3,3) (Cout) (Cout,TD) (Cout) */
    size_t gn2_w, gn2_b, conv2_w, conv2_b;                 /* (Cout) (Cout) (Cout,Cout,3,3) (Cout) */
    size_t sc_w, sc_b;                                     /* (Cout,Cin,1,1) (Cout), when Cin != Cout */
    size_t agn_w, agn_b, q_w, q_b, k_w, k_b, v_w, v_b, p_w, p_b; /* attention: (C) (C) (C,C,1,1) (C) ... */
} unet_res_params;

typedef struct unet_node {
    int kind;        /* UNET_RES, UNET_DOWN, UNET_UP */
    int cin, cout;   /* RES: cin includes the concatenated skip's channels */
    int H, W;        /* input side */
    int OH, OW;      /* output side */
    int attn;        /* RES with attention */
    int skip_of;     /* up RES: the skip it concatenates, else -1 */
    int cprev;       /* up RES: channels of h (cin - skip channels) */
    unet_res_params p; /* RES */
    size_t w, b;     /* DOWN / UP conv (C, C, 3, 3) (C) */
} unet_node;

struct tdl_unet_plan {
    int n_nodes;
    unet_node *nodes;     /* (n_nodes) */
    int n_down, n_mid;    /* nodes [0, n_down) down, [n_down, n_down + n_mid) middle */
    int n_skips;          /* n_down + 1 */
    int *skip_c, *skip_h; /* (n_skips) channels and side of each skip */
    int ch, TD, G, S, T;  /* base channels, temb width 4ch, groups, image side, steps */
    int FH;               /* side of the tail's output before the resize to S */
    size_t table, t1_w, t1_b, t2_w, t2_b; /* (T,ch) (TD,ch) (TD) (TD,TD) (TD) */
    size_t head_w, head_b;                /* (ch,1,3,3) (ch) */
    size_t tail_gn_w, tail_gn_b, tail_w, tail_b; /* (C0) (C0) (1,C0,3,3) (1) */
    int c_last;           /* channels entering the tail */
    /* initialisation, per params entry: 0 zero, 1 one, 2 Xavier, 3 sinusoid */
    int *init_kind;       /* (params.count) */
    float *init_gain;     /* (params.count) */
    double flops_fwd;     /* multiply-adds x2 of one image's forward (convs, linears, attention) */
};

/* One ResBlock's activations (grad cache: owned; inference: shared scratch). */
typedef struct unet_res_cache {
    float *x;                   /* (B, Cin, S) input (up RES: the concat buffer) */
    float *y;                   /* (B, Cout, S) output */
    float *h1;                  /* (B, Cout, S) conv1 + temb, input of GroupNorm 2 */
    float *g1;                  /* (B, Cin, S) GELU(GN1(x)), conv1's input (grad only, else NULL) */
    float *g2;                  /* (B, Cout, S) Dropout(GELU(GN2(h1))), conv2's (grad only) */
    float *mean1, *rstd1;       /* (B, G) */
    float *mean2, *rstd2;       /* (B, G) */
    float *hpre;                /* (B, Cout, S) before attention (attn only) */
    float *mean3, *rstd3;       /* (B, G) attn */
    float *q, *k, *v, *ao;      /* (B, Cout, S) attn */
    float *att;                 /* (B, S, S) attn */
    tdl_rng drop;               /* rng position the dropout mask was drawn at */
    uint8_t *keep;              /* (B, Cout, S) the dropout mask, 1 = kept (grad only) */
    int dropped;                /* 1 when forward applied dropout */
} unet_res_cache;

/* Scratch shared by every node. */
typedef struct unet_scratch {
    float *a, *b, *c, *d;       /* (B, Cmax, S) each */
    float *dh2;                 /* (B, Cout max, S) */
    float *dao, *dq, *dk, *dv;  /* (B, Cattn, Sattn) */
    float *attn_work;           /* tdl_attention_scratch_floats */
    float *conv_work;           /* the largest tdl_conv2d_work_floats */
    float *tp;                  /* (B, Cout max) temb projection / its gradient */
    double *part;               /* (2, B, Cmax) GroupNorm affine partial sums */
} unet_scratch;

struct tdl_unet_cache {
    int Bmax, grad, threads;
    int B, train;               /* of the last forward */
    size_t floats;
    float *mem;
    float *x;                   /* (B, 1, S, S) copy of the input */
    int *t;                     /* (B) copy of the timesteps */
    float *e0, *a1, *g1, *temb, *gtemb; /* (B,ch) (B,TD) (B,TD) (B,TD) (B,TD) */
    float *dgtemb, *dtemb, *dg1; /* (B, TD) grad only */
    float **skips;              /* (n_skips) -> (B, skip_c, skip_h^2) */
    float **dskips;             /* (n_skips) gradients, grad only */
    unet_res_cache *res;        /* (n_nodes), used for RES nodes */
    float **out;                /* (n_nodes) each node's output */
    float **xin;                /* (n_nodes) up RES concat buffers (grad) or the shared one */
    float *rs;                  /* (B, Cskip, S) a resized skip */
    float *tail_mean, *tail_rstd; /* (B, G) */
    float *tail_out;            /* (B, 1, FH, FH) */
    float *tail_g;              /* (B, C_last, FH, FH) GELU(GN(last)), grad only */
    float *dcur0, *dcur1;       /* (B, Cnode max, S) backward ping-pong, grad only */
    float *dxin;                /* (B, Cin max, S) grad only */
    float *dtail;               /* (B, 1, FH, FH) grad only */
    unet_scratch sc;
};

/* ResBlock forward: rc->y = block(rc->x, gtemb (B, TD)). Dropout with train. */
void unet_res_forward(const tdl_unet *u, const unet_node *nd, unet_res_cache *rc,
                      const float *gtemb, int B, int train, tdl_rng *rng, unet_scratch *sc);
/* ResBlock backward: given dy (B, Cout, S), ADD dx (B, Cin, S) and dgtemb (B, TD) and the
 * parameter gradients. */
void unet_res_backward(const tdl_unet *u, const unet_node *nd, unet_res_cache *rc,
                       const float *gtemb, float *dgtemb, const float *dy, float *dx, int B,
                       unet_scratch *sc);

/* Fused GroupNorm -> GELU [-> Dropout] (unet_gngelu.c): out (B, C, S) =
 * GELU(GN(inp)), caching mean, rstd (B, G); with drop != NULL times
 * tdl_dropout_mask(N = B*C*S, p, drop)'s mask (drop is not advanced), and
 * with keep != NULL the mask as bytes keep (B, C, S) (1: kept). _add
 * first adds cadd (B, C) to inp (B, C, S) over S, in place. Backward
 * overwrites dout with dL/dGN-output (dout times the same mask first: from
 * keep when not NULL, else drawn again from drop), ADDS
 * (acc) or writes (!acc) dinp, ADDS dweight, dbias; with !acc, dsum (B, C) if
 * not NULL gets the sums over S of dinp; part holds 2*B*C doubles. */
void unet_gn_gelu_forward(float *out, float *mean, float *rstd, const float *inp,
                          const float *weight, const float *bias, int B, int C, int S, int G,
                          const tdl_rng *drop, float p, uint8_t *keep);
void unet_gn_gelu_forward_add(float *out, float *mean, float *rstd, float *inp, const float *cadd,
                              const float *weight, const float *bias, int B, int C, int S, int G,
                              const tdl_rng *drop, float p, uint8_t *keep);
void unet_gn_gelu_backward(float *dinp, float *dweight, float *dbias, float *dsum, float *dout,
                           const float *inp, const float *weight, const float *bias,
                           const float *mean, const float *rstd, double *part, int B, int C,
                           int S, int G, const tdl_rng *drop, float p, const uint8_t *keep,
                           int acc);

/* unet_ops.c: x (n) = 0; y (n) += x (n); over the threads for large n. */
void unet_zero(float *x, size_t n);
void unet_add(float *restrict y, const float *restrict x, size_t n);

/* A conv3x3 (padding 1, stride s) or conv1x1 shape. */
tdl_conv2d_shape unet_conv_shape(int B, int C, int H, int W, int OC, int K, int stride);

#endif /* TDL_UNET_PLAN_H */
