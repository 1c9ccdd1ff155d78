/* noise.c: Gaussian, Cutout and 1-D Perlin noise for data augmentation.
 * The Perlin noise is written from the algorithm (Perlin, "Improving
 * noise", SIGGRAPH 2002: gradient noise with the quintic fade curve), in 1-D
 * with random gradients in [-1, 1] drawn from tdl_rng. */
#include <math.h>
#include <stdlib.h>

#include "tdl/noise.h"

void tdl_noise_gaussian(double *x, size_t n, double sigma, tdl_rng *r) {
    TDL_ASSERT(sigma >= 0.0, "Gaussian noise sigma %g < 0", sigma);
    for (size_t i = 0; i < n; i++) {
        double v = x[i] + sigma * tdl_rng_normal(r);
        x[i] = v < 0.0 ? 0.0 : (v > 1.0 ? 1.0 : v);
    }
}

void tdl_noise_cutout(double *x, size_t n, double p, tdl_rng *r) {
    TDL_ASSERT(p >= 0.0 && p <= 1.0, "Cutout probability %g outside [0, 1]", p);
    for (size_t i = 0; i < n; i++)
        if (tdl_rng_uniform_double(r) < p) x[i] = 0.0;
}

tdl_perlin_params tdl_perlin_defaults(void) {
    tdl_perlin_params p = {8, 256.0, 0.5, 0.05};
    return p;
}

static double fade(double f) { return f * f * f * (f * (f * 6.0 - 15.0) + 10.0); }

/* The gradient at lattice point k of an octave whose gradients start at
 * word `base` of the stream: U(-1, 1) from one 32-bit word. */
static double gradient(const tdl_rng *r, uint64_t base, uint64_t k) {
    return (double)tdl_rng_u32_at(r, base + k) * (2.0 / 4294967296.0) - 1.0;
}

tdl_status tdl_perlin_1d(double *noise, size_t n, const tdl_perlin_params *p, tdl_rng *r) {
    TDL_ASSERT(noise && p && r, "NULL argument");
    if (p->octaves < 1 || p->octaves > 30)
        return tdl_error(TDL_ERR_INVALID, "Perlin octaves %d outside [1, 30]", p->octaves);
    if (!(p->wavelength > 0.0) || !isfinite(p->wavelength))
        return tdl_error(TDL_ERR_INVALID, "Perlin wavelength %g is not positive", p->wavelength);
    if (!(p->persistence > 0.0 && p->persistence <= 1.0))
        return tdl_error(TDL_ERR_INVALID, "Perlin persistence %g outside (0, 1]", p->persistence);
    for (size_t i = 0; i < n; i++) noise[i] = 0.0;
    double weight = 1.0, wsum = 0.0;
    for (int o = 0; o < p->octaves; o++) {
        double freq = ldexp(1.0, o) / p->wavelength; /* lattice cells per slot */
        /* a random phase in [0, 1) cells, so lattice points (where the octave
         * is 0) do not line up across octaves or with the slots */
        double phase = (double)tdl_rng_u32(r) / 4294967296.0;
        double span = (n > 0 ? (double)(n - 1) : 0.0) * freq + phase;
        if (span > 1e15) return tdl_error(TDL_ERR_INVALID, "Perlin lattice too fine for %zu slots", n);
        uint64_t cells = (uint64_t)floor(span) + 2; /* lattice points used */
        uint64_t base = r->pos;
        for (size_t i = 0; i < n; i++) {
            double xpos = (double)i * freq + phase;
            double k = floor(xpos);
            double f = xpos - k;
            uint64_t ki = (uint64_t)k;
            double g0 = gradient(r, base, ki), g1 = gradient(r, base, ki + 1);
            double d0 = g0 * f, d1 = g1 * (f - 1.0);
            noise[i] += weight * (d0 + fade(f) * (d1 - d0));
        }
        r->pos = base + cells;
        wsum += weight;
        weight *= p->persistence;
    }
    double scale = 2.0 / wsum;
    for (size_t i = 0; i < n; i++) noise[i] *= scale;
    return TDL_OK;
}

tdl_status tdl_noise_perlin(double *x, size_t n, const tdl_perlin_params *p, tdl_rng *r) {
    TDL_ASSERT(x && p && r, "NULL argument");
    if (!(p->amplitude >= 0.0) || !isfinite(p->amplitude))
        return tdl_error(TDL_ERR_INVALID, "Perlin amplitude %g is not >= 0", p->amplitude);
    if (n == 0) return TDL_OK;
    double *noise = malloc(n * sizeof *noise);
    if (!noise) return tdl_error(TDL_ERR_NOMEM, "out of memory for Perlin noise of %zu values", n);
    tdl_status st = tdl_perlin_1d(noise, n, p, r);
    if (st == TDL_OK) {
        double lo = x[0], hi = x[0];
        for (size_t i = 0; i < n; i++) {
            if (x[i] < lo) lo = x[i];
            if (x[i] > hi) hi = x[i];
        }
        double a = p->amplitude * (hi - lo);
        for (size_t i = 0; i < n; i++) x[i] += a * noise[i];
    }
    free(noise);
    return st;
}
