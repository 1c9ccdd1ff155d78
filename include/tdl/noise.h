/*
 * noise.h: noise injection into normalised series (spec section 6, the
 * data-augmentation baselines): Gaussian, Cutout and 1-D Perlin noise.
 *
 * Every function draws from the tdl_rng it is given and advances it, so the
 * result is a pure function of (seed, stream, position) and the arguments.
 * Values are normalised units (a series scaled to [0, 1]); x (n) is changed
 * in place.
 */
#ifndef TDL_NOISE_H
#define TDL_NOISE_H

#include <stddef.h>
#include <stdint.h>

#include "tdl/rng.h"
#include "tdl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* x[i] = clamp(x[i] + sigma e_i, 0, 1), e_i ~ N(0, 1) (one tdl_rng_normal
 * per value). sigma >= 0 (the spec's 0.05). */
void tdl_noise_gaussian(double *x, size_t n, double sigma, tdl_rng *r);

/* x[i] = 0 with probability p (one uniform per value, zeroed when u < p);
 * p in [0, 1] (the spec's 0.05). */
void tdl_noise_cutout(double *x, size_t n, double p, tdl_rng *r);

/* 1-D Perlin (gradient) noise: octave o (0 <= o < octaves) has lattice
 * points every wavelength / 2^o slots, a gradient g_k ~ U(-1, 1) at each and
 * a random phase; between lattice points k and k+1 at fraction f the octave
 * is g_k f + s(f) (g_{k+1} (f - 1) - g_k f), s(f) = 6f^5 - 15f^4 + 10f^3 the
 * fade curve, which lies in [-1/2, 1/2] and is 0 at lattice points. The sum
 * of octaves weighted persistence^o is divided by half the sum of the
 * weights, so the noise lies in [-1, 1].
 * Stream layout (so the noise can be checked and reproduced elsewhere): for
 * each octave in turn, one word u for the phase (slot i sits at lattice
 * coordinate i 2^o / wavelength + u / 2^32), then one word w_k per lattice
 * point k = 0 .. floor(last coordinate) + 1, g_k = w_k 2 / 2^32 - 1. */
typedef struct tdl_perlin_params {
    int octaves;        /* >= 1; default 8 (spec section 6) */
    double wavelength;  /* slots between lattice points of octave 0, > 0; default 256 */
    double persistence; /* weight ratio of successive octaves, (0, 1]; default 0.5 */
    double amplitude;   /* peak noise as a fraction of x's range (max - min); default 0.05 */
} tdl_perlin_params;

tdl_perlin_params tdl_perlin_defaults(void);

/* noise (n) in [-1, 1] as above. TDL_ERR_INVALID on bad parameters. */
tdl_status tdl_perlin_1d(double *noise, size_t n, const tdl_perlin_params *p, tdl_rng *r);

/* x[i] += amplitude * (max(x) - min(x)) * noise[i], noise from
 * tdl_perlin_1d; not clipped (spec section 6 clips only the Gaussian
 * noise). A constant x is left unchanged. Allocates n doubles of scratch. */
tdl_status tdl_noise_perlin(double *x, size_t n, const tdl_perlin_params *p, tdl_rng *r);


/* ---- corrupted test series (spec section 7, Fig. 2) ----
 * A corruption of a series in normalised units, named "KIND:LEVEL":
 *   cutout:P   each value set to 0 with probability P in [0, 1]
 *              (tdl_noise_cutout; Fig. 2: cutout:0.005)
 *   perlin:A   tdl_noise_perlin with amplitude A >= 0, the spec's 8 octaves
 *              (tdl_perlin_defaults otherwise): peak change A times the
 *              range (max - min) of the values corrupted; not clipped
 *              (Fig. 2: perlin:0.05, "5% of the range")
 *   gauss:S    tdl_noise_gaussian with sigma S >= 0 in normalised units,
 *              results clipped to [0, 1] (Fig. 2's "sigma 10% of the range"
 *              is gauss:0.1, the range being 1 in normalised units)
 * Level 0 leaves the series unchanged for every kind. */
typedef enum tdl_corrupt_kind {
    TDL_CORRUPT_CUTOUT = 0,
    TDL_CORRUPT_PERLIN,
    TDL_CORRUPT_GAUSS
} tdl_corrupt_kind;

/* "cutout", "perlin", "gauss". */
const char *tdl_corrupt_kind_name(tdl_corrupt_kind k);
/* TDL_ERR_INVALID naming the kinds on an unknown name. */
tdl_status tdl_corrupt_kind_parse(const char *name, tdl_corrupt_kind *k);

typedef struct tdl_corrupt_spec {
    tdl_corrupt_kind kind;
    double level; /* cutout: probability; perlin: amplitude; gauss: sigma */
} tdl_corrupt_spec;

/* TDL_ERR_INVALID when the level is out of range for the kind (cutout
 * [0, 1], perlin and gauss >= 0 and finite). */
tdl_status tdl_corrupt_check(const tdl_corrupt_spec *c);

/* Parse "KIND:LEVEL" (e.g. "cutout:0.005") and check it as above. */
tdl_status tdl_corrupt_parse(const char *text, tdl_corrupt_spec *c);

/* The stream the corruption draws from: tdl_rng_init(seed, this), from
 * position 0, in the generator's order (cutout: two words per value;
 * gauss: four words per value; perlin: the layout of tdl_perlin_1d). */
enum { TDL_CORRUPT_STREAM = 0 };

/* Corrupt x (n, normalised units) in place as c says; the draws are a pure
 * function of seed (stream TDL_CORRUPT_STREAM). TDL_ERR_INVALID on a bad
 * spec, TDL_ERR_NOMEM (perlin scratch). */
tdl_status tdl_series_corrupt(double *x_normalised, size_t n, const tdl_corrupt_spec *c,
                              uint64_t seed);

#ifdef __cplusplus
}
#endif
#endif /* TDL_NOISE_H */
