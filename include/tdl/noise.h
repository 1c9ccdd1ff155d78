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

#ifdef __cplusplus
}
#endif
#endif /* TDL_NOISE_H */
