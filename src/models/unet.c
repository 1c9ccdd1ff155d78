/* unet.c: the UNet's configuration (presets, checks, text form), its layer
 * plan, its parameter table with the PyTorch state_dict names and the
 * authors' initialisation. The passes are in unet_resblock.c and
 * unet_pass.c, the activation cache in unet_cache.c. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/unet.h"
#include "unet_plan.h"

/* ------------------------------------------------------------------ config */

tdl_status tdl_unet_config_preset(tdl_unet_config *c, const char *name) {
    TDL_ASSERT(c && name, "unet_config_preset: NULL argument");
    memset(c, 0, sizeof *c);
    const char *dash = strchr(name, '-');
    size_t base_len = dash ? (size_t)(dash - name) : strlen(name);
    int T = 500;
    if (dash) {
        if (strcmp(dash, "-t100") != 0)
            return tdl_error(TDL_ERR_INVALID, "unknown UNet preset '%.40s' (use paper, small, "
                             "tiny, optionally with -t100)", name);
        T = 100;
    }
    c->dropout = 0.1f;
    c->T = T;
    c->image = 28;
    c->groups = 32;
    if (base_len == 5 && strncmp(name, "paper", 5) == 0) {
        c->ch = 128;
        c->levels = 4;
        const int m[4] = {1, 2, 2, 2};
        memcpy(c->ch_mult, m, sizeof m);
        c->attn[1] = 1;
        c->num_res_blocks = 2;
    } else if (base_len == 5 && strncmp(name, "small", 5) == 0) {
        c->ch = 32;
        c->levels = 3;
        const int m[3] = {1, 2, 2};
        memcpy(c->ch_mult, m, sizeof m);
        c->attn[1] = 1;
        c->num_res_blocks = 1;
    } else if (base_len == 4 && strncmp(name, "tiny", 4) == 0) {
        c->ch = 16;
        c->levels = 2;
        c->ch_mult[0] = 1;
        c->ch_mult[1] = 2;
        c->attn[1] = 1;
        c->num_res_blocks = 1;
        c->groups = 8;
    } else {
        return tdl_error(TDL_ERR_INVALID, "unknown UNet preset '%.40s' (use paper, small, tiny, "
                         "optionally with -t100)", name);
    }
    return TDL_OK;
}

tdl_status tdl_unet_config_check(const tdl_unet_config *c) {
    TDL_ASSERT(c, "unet_config_check: NULL argument");
    if (c->ch < 2 || c->ch > 4096 || c->ch % 2 != 0)
        return tdl_error(TDL_ERR_INVALID, "UNet ch=%d must be even and in [2, 4096]", c->ch);
    if (c->levels < 1 || c->levels > TDL_UNET_MAX_LEVELS)
        return tdl_error(TDL_ERR_INVALID, "UNet levels=%d must be in [1, %d]", c->levels,
                         TDL_UNET_MAX_LEVELS);
    for (int i = 0; i < c->levels; i++) {
        if (c->ch_mult[i] < 1 || c->ch_mult[i] > 64)
            return tdl_error(TDL_ERR_INVALID, "UNet ch_mult[%d]=%d must be in [1, 64]", i,
                             c->ch_mult[i]);
        if (c->attn[i] != 0 && c->attn[i] != 1)
            return tdl_error(TDL_ERR_INVALID, "UNet attn[%d]=%d must be 0 or 1", i, c->attn[i]);
    }
    if (c->num_res_blocks < 1 || c->num_res_blocks > 16)
        return tdl_error(TDL_ERR_INVALID, "UNet num_res_blocks=%d must be in [1, 16]",
                         c->num_res_blocks);
    if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
        return tdl_error(TDL_ERR_INVALID, "UNet dropout=%g must be in [0, 1)", (double)c->dropout);
    if (c->groups < 1 || c->ch % c->groups != 0)
        return tdl_error(TDL_ERR_INVALID, "UNet groups=%d must divide ch=%d", c->groups, c->ch);
    for (int i = 0; i < c->levels; i++)
        if ((c->ch * c->ch_mult[i]) % c->groups != 0)
            return tdl_error(TDL_ERR_INVALID, "UNet groups=%d must divide ch*ch_mult[%d]=%d",
                             c->groups, i, c->ch * c->ch_mult[i]);
    if (c->T < 1 || c->T > 1000000)
        return tdl_error(TDL_ERR_INVALID, "UNet T=%d must be in [1, 1000000]", c->T);
    if (c->image < 1 || c->image > 1024)
        return tdl_error(TDL_ERR_INVALID, "UNet image=%d must be in [1, 1024]", c->image);
    return TDL_OK;
}

static void format_list(char *buf, size_t cap, const int *v, int n) {
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, i ? ",%d" : "%d", v[i]);
}

void tdl_unet_config_format(const tdl_unet_config *c, char buf[TDL_UNET_CONFIG_CHARS]) {
    TDL_ASSERT(c && buf, "unet_config_format: NULL argument");
    TDL_ASSERT(c->levels >= 1 && c->levels <= TDL_UNET_MAX_LEVELS, "bad levels %d", c->levels);
    char mult[64], attn[64], drop[32];
    format_list(mult, sizeof mult, c->ch_mult, c->levels);
    format_list(attn, sizeof attn, c->attn, c->levels);
    snprintf(drop, sizeof drop, "%g", (double)c->dropout);
    if (strtof(drop, NULL) != c->dropout) snprintf(drop, sizeof drop, "%.9g", (double)c->dropout);
    snprintf(buf, TDL_UNET_CONFIG_CHARS,
             "ch=%d;ch_mult=%s;attn=%s;blocks=%d;dropout=%s;groups=%d;T=%d;image=%d", c->ch, mult,
             attn, c->num_res_blocks, drop, c->groups, c->T, c->image);
}

static tdl_status parse_int(const char *s, size_t n, int *out, const char *key) {
    char tmp[32];
    if (n == 0 || n >= sizeof tmp)
        return tdl_error(TDL_ERR_FORMAT, "UNet config: bad value for %s", key);
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end;
    errno = 0;
    long v = strtol(tmp, &end, 10);
    if (*end != '\0' || errno != 0 || v < -1000000000L || v > 1000000000L)
        return tdl_error(TDL_ERR_FORMAT, "UNet config: %s='%s' is not an integer", key, tmp);
    *out = (int)v;
    return TDL_OK;
}

/* A comma list of at most TDL_UNET_MAX_LEVELS integers; *n gets the count. */
static tdl_status parse_list(const char *s, size_t len, int *v, int *n, const char *key) {
    *n = 0;
    size_t i = 0;
    while (i <= len) {
        size_t j = i;
        while (j < len && s[j] != ',') j++;
        if (*n >= TDL_UNET_MAX_LEVELS)
            return tdl_error(TDL_ERR_FORMAT, "UNet config: %s has more than %d entries", key,
                             TDL_UNET_MAX_LEVELS);
        TDL_TRY(parse_int(s + i, j - i, &v[*n], key));
        (*n)++;
        i = j + 1;
    }
    return TDL_OK;
}

tdl_status tdl_unet_config_parse(tdl_unet_config *c, const char *text) {
    TDL_ASSERT(c && text, "unet_config_parse: NULL argument");
    static const char *const keys[8] = {"ch",      "ch_mult", "attn", "blocks",
                                        "dropout", "groups",  "T",    "image"};
    tdl_unet_config r;
    memset(&r, 0, sizeof r);
    int seen[8] = {0}, n_mult = 0, n_attn = 0;
    const char *p = text;
    while (*p) {
        const char *semi = strchr(p, ';');
        size_t len = semi ? (size_t)(semi - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (!eq)
            return tdl_error(TDL_ERR_FORMAT, "UNet config: '%.*s' is not key=value",
                             (int)(len > 40 ? 40 : len), p);
        size_t klen = (size_t)(eq - p), vlen = len - klen - 1;
        const char *val = eq + 1;
        int k = -1;
        for (int i = 0; i < 8; i++)
            if (strlen(keys[i]) == klen && strncmp(keys[i], p, klen) == 0) k = i;
        if (k < 0)
            return tdl_error(TDL_ERR_FORMAT, "UNet config: unknown key '%.*s'",
                             (int)(klen > 40 ? 40 : klen), p);
        if (seen[k]) return tdl_error(TDL_ERR_FORMAT, "UNet config: %s given twice", keys[k]);
        seen[k] = 1;
        switch (k) {
        case 0: TDL_TRY(parse_int(val, vlen, &r.ch, keys[k])); break;
        case 1: TDL_TRY(parse_list(val, vlen, r.ch_mult, &n_mult, keys[k])); break;
        case 2: TDL_TRY(parse_list(val, vlen, r.attn, &n_attn, keys[k])); break;
        case 3: TDL_TRY(parse_int(val, vlen, &r.num_res_blocks, keys[k])); break;
        case 4: {
            char tmp[40];
            if (vlen == 0 || vlen >= sizeof tmp)
                return tdl_error(TDL_ERR_FORMAT, "UNet config: bad dropout value");
            memcpy(tmp, val, vlen);
            tmp[vlen] = '\0';
            char *end;
            r.dropout = strtof(tmp, &end);
            if (*end != '\0')
                return tdl_error(TDL_ERR_FORMAT, "UNet config: dropout='%s' is not a number", tmp);
            break;
        }
        case 5: TDL_TRY(parse_int(val, vlen, &r.groups, keys[k])); break;
        case 6: TDL_TRY(parse_int(val, vlen, &r.T, keys[k])); break;
        default: TDL_TRY(parse_int(val, vlen, &r.image, keys[k])); break;
        }
        p = semi ? semi + 1 : p + len;
    }
    for (int i = 0; i < 8; i++)
        if (!seen[i]) return tdl_error(TDL_ERR_FORMAT, "UNet config: no %s", keys[i]);
    if (n_mult != n_attn)
        return tdl_error(TDL_ERR_FORMAT, "UNet config: ch_mult has %d entries but attn %d",
                         n_mult, n_attn);
    r.levels = n_mult;
    TDL_TRY(tdl_unet_config_check(&r));
    *c = r;
    return TDL_OK;
}

/* -------------------------------------------------------------- the table */

enum { INIT_ZERO, INIT_ONE, INIT_XAVIER, INIT_SINUSOID };

typedef struct builder {
    tdl_params *p;
    tdl_unet_plan *plan;
    int cap;
    tdl_status st;
} builder;

/* Append "backbone.<prefix><name>" and return its index (offsets come after
 * tdl_params_alloc, so the index is stored and resolved then). */
static int add(builder *b, const char *prefix, const char *name, int ndim, int64_t d0, int64_t d1,
               int64_t d2, int64_t d3, int kind, float gain) {
    if (b->st != TDL_OK) return -1;
    char full[TDL_PARAM_NAME_MAX];
    snprintf(full, sizeof full, "backbone.%s%s", prefix, name);
    const int64_t shape[4] = {d0, d1, d2, d3};
    b->st = tdl_params_add(b->p, full, ndim, shape, kind != INIT_SINUSOID);
    if (b->st != TDL_OK) return -1;
    const int i = b->p->count - 1;
    if (i >= b->cap) {
        int cap = b->cap ? 2 * b->cap : 256;
        int *k = realloc(b->plan->init_kind, (size_t)cap * sizeof *k);
        if (k) b->plan->init_kind = k;
        float *g = realloc(b->plan->init_gain, (size_t)cap * sizeof *g);
        if (g) b->plan->init_gain = g;
        if (!k || !g) {
            b->st = tdl_error(TDL_ERR_NOMEM, "out of memory for the UNet table");
            return -1;
        }
        b->cap = cap;
    }
    b->plan->init_kind[i] = kind;
    b->plan->init_gain[i] = gain;
    return i;
}

/* Conv (OC, C, K, K) + bias (OC) under prefix + stem; indices in *w, *bi. */
static void add_conv(builder *b, const char *prefix, const char *stem, int OC, int C, int K,
                     float gain, size_t *w, size_t *bi) {
    char n[96];
    snprintf(n, sizeof n, "%s.weight", stem);
    *w = (size_t)add(b, prefix, n, 4, OC, C, K, K, INIT_XAVIER, gain);
    snprintf(n, sizeof n, "%s.bias", stem);
    *bi = (size_t)add(b, prefix, n, 1, OC, 0, 0, 0, INIT_ZERO, 0.0f);
}

static void add_gn(builder *b, const char *prefix, const char *stem, int C, size_t *w,
                   size_t *bi) {
    char n[96];
    snprintf(n, sizeof n, "%s.weight", stem);
    *w = (size_t)add(b, prefix, n, 1, C, 0, 0, 0, INIT_ONE, 0.0f);
    snprintf(n, sizeof n, "%s.bias", stem);
    *bi = (size_t)add(b, prefix, n, 1, C, 0, 0, 0, INIT_ZERO, 0.0f);
}

static void add_res(builder *b, const char *prefix, unet_node *nd, int TD) {
    unet_res_params *r = &nd->p;
    add_gn(b, prefix, "block1.0", nd->cin, &r->gn1_w, &r->gn1_b);
    add_conv(b, prefix, "block1.2", nd->cout, nd->cin, 3, 1.0f, &r->conv1_w, &r->conv1_b);
    r->temb_w = (size_t)add(b, prefix, "temb_proj.1.weight", 2, nd->cout, TD, 0, 0, INIT_XAVIER, 1.0f);
    r->temb_b = (size_t)add(b, prefix, "temb_proj.1.bias", 1, nd->cout, 0, 0, 0, INIT_ZERO, 0.0f);
    add_gn(b, prefix, "block2.0", nd->cout, &r->gn2_w, &r->gn2_b);
    add_conv(b, prefix, "block2.3", nd->cout, nd->cout, 3, 1e-5f, &r->conv2_w, &r->conv2_b);
    if (nd->cin != nd->cout)
        add_conv(b, prefix, "shortcut", nd->cout, nd->cin, 1, 1.0f, &r->sc_w, &r->sc_b);
    if (nd->attn) {
        const int C = nd->cout;
        add_gn(b, prefix, "attn.group_norm", C, &r->agn_w, &r->agn_b);
        add_conv(b, prefix, "attn.proj_q", C, C, 1, 1.0f, &r->q_w, &r->q_b);
        add_conv(b, prefix, "attn.proj_k", C, C, 1, 1.0f, &r->k_w, &r->k_b);
        add_conv(b, prefix, "attn.proj_v", C, C, 1, 1.0f, &r->v_w, &r->v_b);
        add_conv(b, prefix, "attn.proj", C, C, 1, 1e-5f, &r->p_w, &r->p_b);
    }
}

static double conv_flops(int C, int OC, int K, int OH, int OW) {
    return 2.0 * C * OC * K * K * (double)OH * OW;
}

/* The node list, following the authors' constructor. */
static tdl_status build_plan(tdl_unet_plan *pl, const tdl_unet_config *c) {
    const int L = c->levels, R = c->num_res_blocks;
    pl->n_down = L * R + (L - 1);
    pl->n_mid = 2;
    pl->n_nodes = pl->n_down + 2 + L * (R + 1) + (L - 1);
    pl->n_skips = pl->n_down + 1;
    pl->nodes = calloc((size_t)pl->n_nodes, sizeof *pl->nodes);
    pl->skip_c = calloc((size_t)pl->n_skips, sizeof(int));
    pl->skip_h = calloc((size_t)pl->n_skips, sizeof(int));
    if (!pl->nodes || !pl->skip_c || !pl->skip_h)
        return tdl_error(TDL_ERR_NOMEM, "out of memory for the UNet plan");
    pl->ch = c->ch;
    pl->TD = 4 * c->ch;
    pl->G = c->groups;
    pl->S = c->image;
    pl->T = c->T;
    int now = c->ch, H = c->image, n = 0, ns = 0;
    pl->skip_c[ns] = now;
    pl->skip_h[ns++] = H;
    for (int i = 0; i < L; i++) {
        const int out = c->ch * c->ch_mult[i];
        for (int r = 0; r < R; r++) {
            unet_node *nd = &pl->nodes[n++];
            *nd = (unet_node){.kind = UNET_RES, .cin = now, .cout = out, .H = H, .W = H, .OH = H,
                              .OW = H, .attn = c->attn[i], .skip_of = -1};
            now = out;
            pl->skip_c[ns] = now;
            pl->skip_h[ns++] = H;
        }
        if (i != L - 1) {
            unet_node *nd = &pl->nodes[n++];
            const int OH = (H - 1) / 2 + 1; /* conv3x3, stride 2, padding 1 */
            *nd = (unet_node){.kind = UNET_DOWN, .cin = now, .cout = now, .H = H, .W = H,
                              .OH = OH, .OW = OH, .skip_of = -1};
            H = OH;
            pl->skip_c[ns] = now;
            pl->skip_h[ns++] = H;
        }
    }
    for (int m = 0; m < 2; m++) {
        unet_node *nd = &pl->nodes[n++];
        *nd = (unet_node){.kind = UNET_RES, .cin = now, .cout = now, .H = H, .W = H, .OH = H,
                          .OW = H, .attn = m == 0, .skip_of = -1};
    }
    for (int i = L - 1; i >= 0; i--) {
        const int out = c->ch * c->ch_mult[i];
        for (int r = 0; r < R + 1; r++) {
            const int s = --ns;
            unet_node *nd = &pl->nodes[n++];
            *nd = (unet_node){.kind = UNET_RES, .cin = pl->skip_c[s] + now, .cout = out, .H = H,
                              .W = H, .OH = H, .OW = H, .attn = c->attn[i], .skip_of = s,
                              .cprev = now};
            now = out;
        }
        if (i != 0) {
            unet_node *nd = &pl->nodes[n++];
            *nd = (unet_node){.kind = UNET_UP, .cin = now, .cout = now, .H = H, .W = H,
                              .OH = 2 * H, .OW = 2 * H, .skip_of = -1};
            H *= 2;
        }
    }
    TDL_ASSERT(n == pl->n_nodes && ns == 0, "UNet plan: %d nodes, %d skips left", n, ns);
    pl->c_last = now;
    pl->FH = H;
    /* FLOPs of one image's forward */
    double f = 2.0 * c->ch * pl->TD + 2.0 * pl->TD * pl->TD;
    f += conv_flops(1, c->ch, 3, c->image, c->image) + conv_flops(now, 1, 3, H, H);
    for (int i = 0; i < pl->n_nodes; i++) {
        const unet_node *nd = &pl->nodes[i];
        if (nd->kind != UNET_RES) {
            f += conv_flops(nd->cin, nd->cout, 3, nd->OH, nd->OW);
            continue;
        }
        const int Sp = nd->H * nd->W;
        f += conv_flops(nd->cin, nd->cout, 3, nd->H, nd->W) +
             conv_flops(nd->cout, nd->cout, 3, nd->H, nd->W) + 2.0 * pl->TD * nd->cout;
        if (nd->cin != nd->cout) f += conv_flops(nd->cin, nd->cout, 1, nd->H, nd->W);
        if (nd->attn) f += 4 * conv_flops(nd->cout, nd->cout, 1, nd->H, nd->W) +
                           4.0 * nd->cout * (double)Sp * Sp;
    }
    pl->flops_fwd = f;
    return TDL_OK;
}

static void plan_free(tdl_unet_plan *pl) {
    if (!pl) return;
    free(pl->nodes);
    free(pl->skip_c);
    free(pl->skip_h);
    free(pl->init_kind);
    free(pl->init_gain);
    free(pl);
}

/* Index -> offset for every stored parameter reference. */
static size_t off(const tdl_params *p, size_t idx) { return p->items[idx].offset; }

static void resolve(tdl_unet_plan *pl, const tdl_params *p) {
    size_t *top[] = {&pl->table, &pl->t1_w, &pl->t1_b, &pl->t2_w, &pl->t2_b, &pl->head_w,
                     &pl->head_b, &pl->tail_gn_w, &pl->tail_gn_b, &pl->tail_w, &pl->tail_b};
    for (size_t i = 0; i < sizeof top / sizeof top[0]; i++) *top[i] = off(p, *top[i]);
    for (int i = 0; i < pl->n_nodes; i++) {
        unet_node *nd = &pl->nodes[i];
        if (nd->kind != UNET_RES) {
            nd->w = off(p, nd->w);
            nd->b = off(p, nd->b);
            continue;
        }
        unet_res_params *r = &nd->p;
        size_t *f[] = {&r->gn1_w, &r->gn1_b, &r->conv1_w, &r->conv1_b, &r->temb_w, &r->temb_b,
                       &r->gn2_w, &r->gn2_b, &r->conv2_w, &r->conv2_b};
        for (size_t j = 0; j < sizeof f / sizeof f[0]; j++) *f[j] = off(p, *f[j]);
        if (nd->cin != nd->cout) {
            r->sc_w = off(p, r->sc_w);
            r->sc_b = off(p, r->sc_b);
        }
        if (nd->attn) {
            size_t *a[] = {&r->agn_w, &r->agn_b, &r->q_w, &r->q_b, &r->k_w,
                           &r->k_b,   &r->v_w,   &r->v_b, &r->p_w, &r->p_b};
            for (size_t j = 0; j < sizeof a / sizeof a[0]; j++) *a[j] = off(p, *a[j]);
        }
    }
}

static tdl_status build_table(tdl_unet *u) {
    tdl_unet_plan *pl = u->plan;
    builder b = {.p = &u->params, .plan = pl, .cap = 0, .st = TDL_OK};
    const int ch = pl->ch, TD = pl->TD;
    const char *te = "time_embedding.timembedding.";
    pl->table = (size_t)add(&b, te, "0.weight", 2, pl->T, ch, 0, 0, INIT_SINUSOID, 0.0f);
    pl->t1_w = (size_t)add(&b, te, "1.weight", 2, TD, ch, 0, 0, INIT_XAVIER, 1.0f);
    pl->t1_b = (size_t)add(&b, te, "1.bias", 1, TD, 0, 0, 0, INIT_ZERO, 0.0f);
    pl->t2_w = (size_t)add(&b, te, "3.weight", 2, TD, TD, 0, 0, INIT_XAVIER, 1.0f);
    pl->t2_b = (size_t)add(&b, te, "3.bias", 1, TD, 0, 0, 0, INIT_ZERO, 0.0f);
    add_conv(&b, "", "head", ch, 1, 3, 1.0f, &pl->head_w, &pl->head_b);
    char prefix[64];
    int d = 0, up = 0;
    for (int i = 0; i < pl->n_nodes; i++) {
        unet_node *nd = &pl->nodes[i];
        if (i < pl->n_down) snprintf(prefix, sizeof prefix, "downblocks.%d.", d++);
        else if (i < pl->n_down + pl->n_mid)
            snprintf(prefix, sizeof prefix, "middleblocks.%d.", i - pl->n_down);
        else snprintf(prefix, sizeof prefix, "upblocks.%d.", up++);
        if (nd->kind == UNET_RES) add_res(&b, prefix, nd, TD);
        else add_conv(&b, prefix, "main", nd->cout, nd->cin, 3, 1.0f, &nd->w, &nd->b);
    }
    add_gn(&b, "", "tail.0", pl->c_last, &pl->tail_gn_w, &pl->tail_gn_b);
    add_conv(&b, "", "tail.2", 1, pl->c_last, 3, 1e-5f, &pl->tail_w, &pl->tail_b);
    if (b.st != TDL_OK) return b.st;
    TDL_TRY(tdl_params_alloc(&u->params));
    resolve(pl, &u->params);
    return TDL_OK;
}

/* Xavier fans: a Linear (out, in) has fan_in = in, fan_out = out; a conv
 * (OC, C, K, K) fan_in = C*K*K, fan_out = OC*K*K. */
static void init_tensor(const tdl_unet_plan *pl, const tdl_param *t, float *x, int kind,
                        float gain, tdl_rng *r) {
    switch (kind) {
    case INIT_ZERO: memset(x, 0, t->numel * sizeof *x); break;
    case INIT_ONE:
        for (size_t j = 0; j < t->numel; j++) x[j] = 1.0f;
        break;
    case INIT_SINUSOID: {
        const int ch = pl->ch;
        for (int pos = 0; pos < pl->T; pos++)
            for (int k = 0; k < ch; k += 2) {
                const double w = exp(-(double)k / ch * log(10000.0)), a = pos * w;
                x[(size_t)pos * ch + k] = (float)sin(a);
                x[(size_t)pos * ch + k + 1] = (float)cos(a);
            }
        break;
    }
    default: {
        const double rf = t->ndim == 4 ? (double)(t->shape[2] * t->shape[3]) : 1.0;
        const double fan_in = (double)t->shape[1] * rf, fan_out = (double)t->shape[0] * rf;
        const double bound = gain * sqrt(6.0 / (fan_in + fan_out));
        tdl_rng_fill_uniform(r, x, t->numel, (float)-bound, (float)bound);
        break;
    }
    }
}

tdl_status tdl_unet_init(tdl_unet *u, const tdl_unet_config *cfg, uint64_t seed) {
    TDL_ASSERT(u && cfg, "unet_init: NULL argument");
    memset(u, 0, sizeof *u);
    TDL_TRY(tdl_unet_config_check(cfg));
    u->cfg = *cfg;
    tdl_params_init(&u->params);
    u->plan = calloc(1, sizeof *u->plan);
    tdl_status st = u->plan ? build_plan(u->plan, cfg)
                            : tdl_error(TDL_ERR_NOMEM, "out of memory for the UNet plan");
    if (st == TDL_OK) st = build_table(u);
    if (st != TDL_OK) {
        tdl_unet_free(u);
        return st;
    }
    /* Tensor i draws from stream i of the seed. */
    for (int i = 0; i < u->params.count; i++) {
        const tdl_param *t = &u->params.items[i];
        tdl_rng r;
        tdl_rng_init(&r, seed, (uint64_t)i);
        init_tensor(u->plan, t, u->params.param + t->offset, u->plan->init_kind[i],
                    u->plan->init_gain[i], &r);
    }
    return TDL_OK;
}

void tdl_unet_free(tdl_unet *u) {
    if (!u) return;
    tdl_params_free(&u->params);
    plan_free(u->plan);
    memset(u, 0, sizeof *u);
}
