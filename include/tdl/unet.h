/*
 * unet.h: the DDPM's noise-prediction network (spec section 4), the authors'
 * UNet made configurable.
 *
 *   x (B, 1, S, S), t (B) -> eps_hat (B, 1, S, S)          S = 28 by default
 *
 * Structure (names are the PyTorch state_dict's, every one prefixed
 * "backbone."; ../shared/spec/unet-params-{paper,small}.txt):
 *   time_embedding.timembedding: fixed sinusoid table (T, ch) (interleaved
 *     sin, cos; frequency exp(-k/ch ln 10000) for even k) -> Linear(ch, 4ch)
 *     -> GELU -> Linear(4ch, 4ch) = temb (B, 4ch)
 *   head: conv3x3(1 -> ch)
 *   downblocks: per level i, num_res_blocks ResBlocks to ch*ch_mult[i] (with
 *     attention when attn[i]), then a DownSample (conv3x3 stride 2) except
 *     after the last level; every output is kept as a skip
 *   middleblocks: ResBlock with attention, ResBlock without
 *   upblocks: per level from the last, num_res_blocks + 1 ResBlocks on
 *     concat(h, skip) (a skip of another size is first resized bilinearly,
 *     half-pixel centres, to h's size), then an UpSample (nearest x2 ->
 *     conv3x3) except at level 0
 *   tail: GroupNorm -> GELU -> conv3x3(ch -> 1); resized bilinearly back to
 *     S x S when the size drifted (28 -> 4 -> 8 -> 16 -> 32 with 4 levels).
 *   ResBlock(in, out): h = conv3x3(GELU(GN(x))) + Linear(GELU(temb))[:, :, None, None];
 *     h = conv3x3(Dropout(GELU(GN(h)))); h += (in != out ? conv1x1(x) : x);
 *     with attention: h += proj(attention(GN(h) -> q, k, v 1x1 convs)).
 *   GroupNorm has `groups` groups, eps 1e-5 (torch.nn.GroupNorm(groups, C)).
 *
 * Initialisation (the authors'): Xavier-uniform weights, zero biases; gain
 * 1e-5 for the second conv of every ResBlock, the attention output
 * projection and the tail conv; GroupNorm weight 1, bias 0.
 */
#ifndef TDL_UNET_H
#define TDL_UNET_H

#include <stddef.h>
#include <stdint.h>

#include "tdl/params.h"
#include "tdl/rng.h"
#include "tdl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { TDL_UNET_MAX_LEVELS = 8 };

typedef struct tdl_unet_config {
    int ch;                            /* base channels (paper 128) */
    int levels;                        /* entries used in ch_mult and attn */
    int ch_mult[TDL_UNET_MAX_LEVELS];  /* channel multiplier per level (1, 2, 2, 2) */
    int attn[TDL_UNET_MAX_LEVELS];     /* 1: ResBlocks of this level have attention */
    int num_res_blocks;                /* ResBlocks per down level (2) */
    float dropout;                     /* in the second half of each ResBlock (0.1) */
    int groups;                        /* GroupNorm groups (32); divides every channel count */
    int T;                             /* rows of the time table = diffusion steps (500) */
    int image;                         /* image side S (28); one input channel */
} tdl_unet_config;

/* Presets of the issue: "paper" (ch 128, [1,2,2,2], attention at level 1,
 * 2 blocks, T 500), "small" (ch 32, [1,2,2], attention at level 1, 1 block),
 * "tiny" (ch 16, [1,2], attention at level 1, 1 block, 8 groups); each with a
 * "-t100" variant (T = 100). TDL_ERR_INVALID for an unknown name. */
tdl_status tdl_unet_config_preset(tdl_unet_config *c, const char *name);

/* TDL_ERR_INVALID with a message naming the first bad field. */
tdl_status tdl_unet_config_check(const tdl_unet_config *c);

/* Config as metadata text ("ch=32;ch_mult=1,2,2;attn=0,1,0;blocks=1;
 * dropout=0.1;groups=32;T=500;image=28") and back. */
enum { TDL_UNET_CONFIG_CHARS = 256 };
void tdl_unet_config_format(const tdl_unet_config *c, char buf[TDL_UNET_CONFIG_CHARS]);
tdl_status tdl_unet_config_parse(tdl_unet_config *c, const char *text);

typedef struct tdl_unet_plan tdl_unet_plan; /* the layer list, internal */

typedef struct tdl_unet {
    tdl_unet_config cfg;
    tdl_params params;   /* values, gradients, Adam moments; "backbone." names */
    tdl_unet_plan *plan; /* layers with pointers into params and their shapes */
} tdl_unet;

/* Build the table and initialise it from seed as the authors do. */
tdl_status tdl_unet_init(tdl_unet *u, const tdl_unet_config *cfg, uint64_t seed);
/* NULL-safe. */
void tdl_unet_free(tdl_unet *u);

/* Activations for batches of up to B images. With grad == 0 the cache keeps
 * only what one layer needs at a time (sampling, eps); with grad != 0 it keeps
 * what tdl_unet_backward needs. Allocated once, never per call. */
typedef struct tdl_unet_cache tdl_unet_cache;
tdl_status tdl_unet_cache_init(tdl_unet_cache **c, const tdl_unet *u, int B, int grad);
/* Bytes the cache holds (for the memory report). */
size_t tdl_unet_cache_bytes(const tdl_unet_cache *c);
/* *bytes = tdl_unet_cache_bytes of a cache tdl_unet_cache_init(u, B, grad)
 * would make, without allocating it. */
tdl_status tdl_unet_cache_measure(size_t *bytes, const tdl_unet *u, int B, int grad);
void tdl_unet_cache_free(tdl_unet_cache *c);

/* eps (B, 1, S, S) = net(x (B, 1, S, S), t (B)), every t in [0, T), B no
 * larger than the cache's. train != 0 applies dropout with masks drawn from
 * rng (which advances); train == 0 is inference (rng may be NULL). */
void tdl_unet_forward(tdl_unet *u, tdl_unet_cache *c, const float *x, const int *t, float *eps,
                      int B, int train, tdl_rng *rng);

/* Given deps (B, 1, S, S) = dLoss/deps for the last forward (a grad cache),
 * ADD the parameter gradients into u->params.grad (the caller zeroes them);
 * dx (B, 1, S, S) receives dLoss/dx when not NULL. */
void tdl_unet_backward(tdl_unet *u, tdl_unet_cache *c, const float *deps, float *dx, int B);

#ifdef __cplusplus
}
#endif
#endif /* TDL_UNET_H */
