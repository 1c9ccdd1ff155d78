/* corrupt.c: corrupted test series (noise.h, spec section 7, Fig. 2): one
 * of the noise generators of noise.c at a given level, seeded. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/noise.h"

const char *tdl_corrupt_kind_name(tdl_corrupt_kind k) {
    switch (k) {
    case TDL_CORRUPT_CUTOUT: return "cutout";
    case TDL_CORRUPT_PERLIN: return "perlin";
    case TDL_CORRUPT_GAUSS: return "gauss";
    }
    return "?";
}

tdl_status tdl_corrupt_kind_parse(const char *name, tdl_corrupt_kind *k) {
    if (strcmp(name, "cutout") == 0) *k = TDL_CORRUPT_CUTOUT;
    else if (strcmp(name, "perlin") == 0) *k = TDL_CORRUPT_PERLIN;
    else if (strcmp(name, "gauss") == 0) *k = TDL_CORRUPT_GAUSS;
    else
        return tdl_error(TDL_ERR_INVALID, "unknown corruption kind '%s' (cutout, perlin or gauss)",
                         name);
    return TDL_OK;
}

tdl_status tdl_corrupt_check(const tdl_corrupt_spec *c) {
    const char *name = tdl_corrupt_kind_name(c->kind);
    if (c->kind != TDL_CORRUPT_CUTOUT && c->kind != TDL_CORRUPT_PERLIN &&
        c->kind != TDL_CORRUPT_GAUSS)
        return tdl_error(TDL_ERR_INVALID, "unknown corruption kind %d", (int)c->kind);
    if (!isfinite(c->level))
        return tdl_error(TDL_ERR_INVALID, "%s level %g is not a finite number", name, c->level);
    if (c->kind == TDL_CORRUPT_CUTOUT && !(c->level >= 0.0 && c->level <= 1.0))
        return tdl_error(TDL_ERR_INVALID, "cutout level %g outside [0, 1] (a probability)",
                         c->level);
    if (!(c->level >= 0.0))
        return tdl_error(TDL_ERR_INVALID, "%s level %g is negative (want >= 0, normalised units)",
                         name, c->level);
    return TDL_OK;
}

tdl_status tdl_corrupt_parse(const char *text, tdl_corrupt_spec *c) {
    const char *colon = strchr(text, ':');
    if (!colon)
        return tdl_error(TDL_ERR_INVALID,
                         "corruption '%s' has no level: want KIND:LEVEL, e.g. cutout:0.005", text);
    char kind[32];
    size_t len = (size_t)(colon - text);
    if (len >= sizeof kind)
        return tdl_error(TDL_ERR_INVALID, "unknown corruption kind in '%s' (cutout, perlin or gauss)",
                         text);
    memcpy(kind, text, len);
    kind[len] = '\0';
    tdl_corrupt_spec out;
    TDL_TRY(tdl_corrupt_kind_parse(kind, &out.kind));
    const char *num = colon + 1;
    if (*num == '\0')
        return tdl_error(TDL_ERR_INVALID, "corruption '%s' has no level after ':'", text);
    char *end;
    errno = 0;
    out.level = strtod(num, &end);
    if (end == num || *end != '\0' || errno == ERANGE)
        return tdl_error(TDL_ERR_INVALID, "corruption level '%s' is not a number", num);
    TDL_TRY(tdl_corrupt_check(&out));
    *c = out;
    return TDL_OK;
}

tdl_status tdl_series_corrupt(double *x, size_t n, const tdl_corrupt_spec *c, uint64_t seed) {
    TDL_ASSERT(c && (x || n == 0), "NULL argument");
    TDL_TRY(tdl_corrupt_check(c));
    if (c->level == 0.0) return TDL_OK; /* unchanged (the Gaussian would still clip) */
    tdl_rng r;
    tdl_rng_init(&r, seed, TDL_CORRUPT_STREAM);
    switch (c->kind) {
    case TDL_CORRUPT_CUTOUT: tdl_noise_cutout(x, n, c->level, &r); break;
    case TDL_CORRUPT_GAUSS: tdl_noise_gaussian(x, n, c->level, &r); break;
    case TDL_CORRUPT_PERLIN: {
        tdl_perlin_params p = tdl_perlin_defaults();
        p.amplitude = c->level;
        return tdl_noise_perlin(x, n, &p, &r);
    }
    }
    return TDL_OK;
}
