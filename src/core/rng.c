/* rng.c: Philox4x32-10 and the draws built on it. */
#include "tdl/rng.h"
#include "tdl/status.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void tdl_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

/* Several instruction sets for the lane loops, chosen at load time (integer
 * arithmetic: the same words in every version). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(TDL_NO_CLONES)
#define RNG_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define RNG_CLONES
#endif

#define PHILOX_LANES 32

/* Philox4x32-10 of PHILOX_LANES consecutive blocks first, first + 1, ... of
 * stream (hi, lo words s1, s0) under key (k0, k1), each round one loop over
 * the lanes (vectorised). out (PHILOX_LANES, 4): the blocks' words in order. */
RNG_CLONES
static void philox_lanes(uint64_t first, uint32_t s0, uint32_t s1, uint32_t k0, uint32_t k1,
                         uint32_t *out) {
    uint32_t c0[PHILOX_LANES], c1[PHILOX_LANES], c2[PHILOX_LANES], c3[PHILOX_LANES];
    for (int l = 0; l < PHILOX_LANES; l++) {
        uint64_t block = first + (uint64_t)l;
        c0[l] = (uint32_t)block;
        c1[l] = (uint32_t)(block >> 32);
        c2[l] = s0;
        c3[l] = s1;
    }
    for (int round = 0; round < 10; round++) {
        #pragma omp simd
        for (int l = 0; l < PHILOX_LANES; l++) {
            uint64_t p0 = (uint64_t)PHILOX_M0 * c0[l];
            uint64_t p1 = (uint64_t)PHILOX_M1 * c2[l];
            uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1[l] ^ k0;
            uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3[l] ^ k1;
            c1[l] = (uint32_t)p1;
            c3[l] = (uint32_t)p0;
            c0[l] = n0;
            c2[l] = n2;
        }
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    for (int l = 0; l < PHILOX_LANES; l++) {
        out[4 * l] = c0[l];
        out[4 * l + 1] = c1[l];
        out[4 * l + 2] = c2[l];
        out[4 * l + 3] = c3[l];
    }
}

void tdl_rng_words_at(const tdl_rng *r, uint64_t pos, uint32_t *out, size_t n) {
    TDL_ASSERT(r && (out || n == 0), "rng_words_at: NULL argument");
    const uint32_t k0 = (uint32_t)r->seed, k1 = (uint32_t)(r->seed >> 32);
    const uint32_t s0 = (uint32_t)r->stream, s1 = (uint32_t)(r->stream >> 32);
    uint32_t words[4 * PHILOX_LANES];
    size_t i = 0;
    while (i < n) {
        /* words [pos + i, ...) from the lane group holding word pos + i */
        uint64_t w = pos + i, first = w >> 2;
        philox_lanes(first, s0, s1, k0, k1, words);
        size_t skip = (size_t)(w - (first << 2));
        size_t take = 4 * PHILOX_LANES - skip;
        if (take > n - i) take = n - i;
        for (size_t j = 0; j < take; j++) out[i + j] = words[skip + j];
        i += take;
    }
}

void tdl_rng_init(tdl_rng *r, uint64_t seed, uint64_t stream) {
    r->seed = seed;
    r->stream = stream;
    r->pos = 0;
}

uint32_t tdl_rng_u32_at(const tdl_rng *r, uint64_t pos) {
    uint64_t block = pos >> 2;
    uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32),
                       (uint32_t)r->stream, (uint32_t)(r->stream >> 32)};
    uint32_t key[2] = {(uint32_t)r->seed, (uint32_t)(r->seed >> 32)};
    uint32_t out[4];
    tdl_philox4x32(ctr, key, out);
    return out[pos & 3];
}

uint32_t tdl_rng_u32(tdl_rng *r) {
    uint32_t v = tdl_rng_u32_at(r, r->pos);
    r->pos++;
    return v;
}

float tdl_rng_uniform(tdl_rng *r) {
    return (float)(tdl_rng_u32(r) >> 8) * (1.0f / 16777216.0f);
}

double tdl_rng_uniform_double(tdl_rng *r) {
    uint64_t a = tdl_rng_u32(r) >> 5; /* 27 bits */
    uint64_t b = tdl_rng_u32(r) >> 6; /* 26 bits */
    return (double)((a << 26) | b) * (1.0 / 9007199254740992.0);
}

double tdl_rng_normal(tdl_rng *r) {
    const double two_pi = 6.283185307179586476925286766559;
    double u1 = tdl_rng_uniform_double(r);
    double u2 = tdl_rng_uniform_double(r);
    /* 1 - u1 lies in (0, 1], so the logarithm is finite. */
    return sqrt(-2.0 * log(1.0 - u1)) * cos(two_pi * u2);
}

uint32_t tdl_rng_below(tdl_rng *r, uint32_t n) {
    TDL_ASSERT(n >= 1, "tdl_rng_below needs n >= 1");
    /* Lemire's multiply-shift with rejection. */
    uint64_t m = (uint64_t)tdl_rng_u32(r) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t threshold = (uint32_t)(-n) % n;
        while (low < threshold) {
            m = (uint64_t)tdl_rng_u32(r) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

void tdl_rng_fill_uniform(tdl_rng *r, float *x, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * tdl_rng_uniform(r);
}

void tdl_rng_fill_normal(tdl_rng *r, float *x, size_t n, float mean, float std) {
    for (size_t i = 0; i < n; i++) x[i] = (float)(mean + std * tdl_rng_normal(r));
}

void tdl_rng_format(const tdl_rng *r, char buf[TDL_RNG_STATE_CHARS]) {
    snprintf(buf, TDL_RNG_STATE_CHARS, "%" PRIu64 ":%" PRIu64 ":%" PRIu64,
             r->seed, r->stream, r->pos);
}

static int parse_u64(const char **p, uint64_t *out, char stop) {
    char *end;
    if (**p < '0' || **p > '9') return 0;
    errno = 0;
    unsigned long long v = strtoull(*p, &end, 10);
    if (errno != 0 || *end != stop) return 0;
    *out = (uint64_t)v;
    *p = end + (stop != '\0');
    return 1;
}

tdl_status tdl_rng_parse(tdl_rng *r, const char *text) {
    const char *p = text;
    tdl_rng t;
    if (!parse_u64(&p, &t.seed, ':') || !parse_u64(&p, &t.stream, ':') ||
        !parse_u64(&p, &t.pos, '\0'))
        return tdl_error(TDL_ERR_FORMAT, "bad RNG state '%s' (expected seed:stream:pos)", text);
    *r = t;
    return TDL_OK;
}
