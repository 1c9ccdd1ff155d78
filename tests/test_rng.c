/* test_rng.c: Philox4x32-10 known answers (Random123's kat_vectors), stream
 * independence, positional access, distribution moments, state round trip. */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <string.h>

#include "tdl/rng.h"
#include "tdl_test.h"

static void test_known_answers(void) {
    static const uint32_t kat[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d,
         0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09,
         0x94fdcceb, 0x5001e420, 0x24126ea1},
    };
    for (int k = 0; k < 3; k++) {
        uint32_t out[4];
        tdl_philox4x32(kat[k], kat[k] + 4, out);
        TDL_CHECK(memcmp(out, kat[k] + 6, sizeof out) == 0,
                  "KAT %d: got %08x %08x %08x %08x", k, out[0], out[1], out[2], out[3]);
    }
    printf("ok   Philox4x32-10 known-answer vectors\n");
}

static void test_streams_and_positions(void) {
    tdl_rng a, b, c;
    tdl_rng_init(&a, 42, 0);
    tdl_rng_init(&b, 42, 0);
    tdl_rng_init(&c, 42, 1);
    int same_ab = 1, same_ac = 0;
    for (int i = 0; i < 1000; i++) {
        uint32_t x = tdl_rng_u32(&a), y = tdl_rng_u32(&b), z = tdl_rng_u32(&c);
        same_ab &= x == y;
        same_ac += x == z;
    }
    TDL_CHECK(same_ab, "same seed and stream differ");
    TDL_CHECK(same_ac < 3, "streams 0 and 1 agree on %d of 1000 words", same_ac);
    tdl_rng d;
    tdl_rng_init(&d, 42, 0);
    for (uint64_t i = 0; i < 1000; i += 7)
        TDL_CHECK(tdl_rng_u32_at(&d, i) == tdl_rng_u32_at(&a, i), "positional access differs");
    tdl_rng_init(&a, 42, 0);
    for (int i = 0; i < 13; i++) tdl_rng_u32(&a);
    TDL_CHECK(tdl_rng_u32(&a) == tdl_rng_u32_at(&d, 13), "u32 and u32_at disagree");

    /* Filling in parallel by position equals filling sequentially. */
    enum { N = 10000 };
    static uint32_t seq[N], par[N];
    tdl_rng_init(&a, 7, 3);
    for (int i = 0; i < N; i++) seq[i] = tdl_rng_u32(&a);
    tdl_rng_init(&a, 7, 3);
#pragma omp parallel for num_threads(2)
    for (int i = 0; i < N; i++) par[i] = tdl_rng_u32_at(&a, (uint64_t)i);
    TDL_CHECK(memcmp(seq, par, sizeof seq) == 0, "parallel positional fill differs");
}

/* tdl_rng_words_at (Philox blocks in vector lanes) gives exactly the words of
 * tdl_rng_u32_at: unaligned starts and lengths, runs crossing lane groups,
 * and block numbers whose low counter word wraps (the carry into word 1). */
static void test_words_at(void) {
    enum { N = 300 };
    uint32_t got[N + 1];
    tdl_rng r;
    tdl_rng_init(&r, 0x0123456789abcdefull, 0xfedcba9876543210ull);
    const uint64_t starts[] = {0, 1, 2, 3, 5, 63, 64, 65, 1000003,
                               4 * 0xfffffff8ull + 1, 4 * 0xffffffffull - 2};
    const size_t lens[] = {0, 1, 3, 4, 61, 64, 65, 129, N};
    size_t bad = 0, checked = 0;
    for (size_t si = 0; si < sizeof starts / sizeof *starts; si++) {
        for (size_t li = 0; li < sizeof lens / sizeof *lens; li++) {
            got[lens[li]] = 0xdeadbeef; /* guard: nothing written past n */
            tdl_rng_words_at(&r, starts[si], got, lens[li]);
            for (size_t i = 0; i < lens[li]; i++, checked++)
                bad += got[i] != tdl_rng_u32_at(&r, starts[si] + i);
            bad += got[lens[li]] != 0xdeadbeef;
        }
    }
    TDL_CHECK(bad == 0, "tdl_rng_words_at: %zu of %zu words differ from tdl_rng_u32_at", bad,
              checked);
    TDL_CHECK(r.pos == 0, "tdl_rng_words_at moved the generator");
    printf("ok   tdl_rng_words_at matches tdl_rng_u32_at (%zu words)\n", checked);
}

static void test_moments(void) {
    enum { N = 400000 };
    tdl_rng r;
    tdl_rng_init(&r, 2024, 5);
    double s1 = 0, s2 = 0, n1 = 0, n2 = 0, n3 = 0, n4 = 0, umin = 1, umax = 0;
    for (int i = 0; i < N; i++) {
        double u = tdl_rng_uniform(&r);
        s1 += u;
        s2 += u * u;
        if (u < umin) umin = u;
        if (u > umax) umax = u;
        double z = tdl_rng_normal(&r);
        n1 += z;
        n2 += z * z;
        n3 += z * z * z;
        n4 += z * z * z * z;
    }
    double um = s1 / N, uv = s2 / N - um * um;
    double zm = n1 / N, zv = n2 / N - zm * zm, z3 = n3 / N, z4 = n4 / N;
    /* Standard errors at N = 4e5: mean 4.6e-4 (uniform), 1.6e-3 (normal);
     * bounds are about 5 standard errors. */
    printf("uniform mean %.5f var %.5f [%.2g, %.6f]; normal mean %.5f var %.5f skew %.4f "
           "kurt %.4f\n", um, uv, umin, umax, zm, zv, z3, z4);
    TDL_CHECK(fabs(um - 0.5) < 2.5e-3 && fabs(uv - 1.0 / 12) < 1.5e-3, "uniform moments");
    TDL_CHECK(umin >= 0.0 && umax < 1.0, "uniform out of [0,1)");
    TDL_CHECK(fabs(zm) < 8e-3 && fabs(zv - 1) < 1.2e-2 && fabs(z3) < 2.5e-2 && fabs(z4 - 3) < 6e-2,
              "normal moments");
    uint32_t counts[10] = {0};
    for (int i = 0; i < 100000; i++) counts[tdl_rng_below(&r, 10)]++;
    int even = 1;
    for (int k = 0; k < 10; k++) even &= counts[k] > 9500 && counts[k] < 10500;
    TDL_CHECK(even, "tdl_rng_below(10) is uneven");
}

static void test_state_text(void) {
    tdl_rng r, s;
    tdl_rng_init(&r, 18446744073709551615ull, 12);
    for (int i = 0; i < 5; i++) tdl_rng_u32(&r);
    char buf[TDL_RNG_STATE_CHARS];
    tdl_rng_format(&r, buf);
    TDL_CHECK(tdl_rng_parse(&s, buf) == TDL_OK, "parse '%s': %s", buf, tdl_last_error());
    TDL_CHECK(s.seed == r.seed && s.stream == r.stream && s.pos == r.pos, "state round trip");
    TDL_CHECK(tdl_rng_u32(&s) == tdl_rng_u32(&r), "restored generator diverges");
    const char *bad[] = {"", "1:2", "1:2:3:4", "a:b:c", "1:-2:3", "1:2:3 ", "99999999999999999999:1:1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        TDL_CHECK(tdl_rng_parse(&s, bad[i]) == TDL_ERR_FORMAT, "accepted bad state '%s'", bad[i]);
}

int main(void) {
    test_known_answers();
    test_streams_and_positions();
    test_words_at();
    test_moments();
    test_state_text();
    return tdl_test_done("test_rng");
}
