/*
 * rng.h: counter-based random numbers (Philox4x32-10, Salmon et al., SC'11).
 *
 * A Philox generator is a pure function of (key, counter): the 128-bit block
 * number `counter` under the 64-bit key `seed` always gives the same four
 * 32-bit words. A tdl_rng is a cursor over that function for one stream:
 * (seed, stream) pick a sequence, and the position in it is a plain integer.
 * Work split over threads draws from streams or positions fixed by the work
 * item, never by the thread, so results do not depend on the thread count.
 *
 * Layout of the 128-bit counter: words 0-1 = block index within the stream,
 * words 2-3 = stream id. The key is the 64-bit seed.
 */
#ifndef TDL_RNG_H
#define TDL_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "tdl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One Philox4x32-10 block: out = philox(ctr, key). */
void tdl_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

typedef struct tdl_rng {
    uint64_t seed;   /* the key */
    uint64_t stream; /* counter words 2-3 */
    uint64_t pos;    /* index of the next 32-bit word in the stream */
} tdl_rng;

/* A generator for stream `stream` of `seed`, at position 0. */
void tdl_rng_init(tdl_rng *r, uint64_t seed, uint64_t stream);

/* Next 32-bit word. */
uint32_t tdl_rng_u32(tdl_rng *r);

/* The 32-bit word at position `pos` of the stream (does not move r). */
uint32_t tdl_rng_u32_at(const tdl_rng *r, uint64_t pos);

/* out[i] = the word at position pos + i of the stream, i < n (does not move
 * r): the same words as tdl_rng_u32_at, many Philox blocks at once in vector
 * lanes (several times faster than one block at a time). */
void tdl_rng_words_at(const tdl_rng *r, uint64_t pos, uint32_t *out, size_t n);

/* Uniform float in [0, 1) with 24 random bits. */
float tdl_rng_uniform(tdl_rng *r);

/* Uniform double in [0, 1) with 53 random bits (two words). */
double tdl_rng_uniform_double(tdl_rng *r);

/* Standard normal (Box-Muller on two uniform doubles, i.e. four words; the
 * second value of the pair is discarded so that every draw costs the same
 * number of words and positions stay predictable). */
double tdl_rng_normal(tdl_rng *r);

/* Uniform integer in [0, n), n >= 1, without modulo bias. */
uint32_t tdl_rng_below(tdl_rng *r, uint32_t n);

/* x[i] ~ U(lo, hi), i < n. */
void tdl_rng_fill_uniform(tdl_rng *r, float *x, size_t n, float lo, float hi);

/* x[i] ~ N(mean, std^2), i < n. */
void tdl_rng_fill_normal(tdl_rng *r, float *x, size_t n, float mean, float std);

/* Text form "seed:stream:pos" (three decimal numbers) for checkpoints, and
 * its parser; tdl_rng_parse returns TDL_ERR_FORMAT on malformed text. */
enum { TDL_RNG_STATE_CHARS = 64 };
void tdl_rng_format(const tdl_rng *r, char buf[TDL_RNG_STATE_CHARS]);
tdl_status tdl_rng_parse(tdl_rng *r, const char *text);

#ifdef __cplusplus
}
#endif
#endif /* TDL_RNG_H */
