/* test_safetensors.c: round trip, and every malformed file the reader must
 * refuse (truncation, bad header lengths, bad JSON, offsets, dtypes, sizes). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tdl/safetensors.h"
#include "tdl_test.h"

/* A file image: 8-byte length, the header text as given, then data_len bytes
 * of pattern data. */
static unsigned char *make_image(const char *header, size_t data_len, size_t *len) {
    size_t h = strlen(header);
    *len = 8 + h + data_len;
    unsigned char *b = malloc(*len);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(b + 8, header, h);
    for (size_t i = 0; i < data_len; i++) b[8 + h + i] = (unsigned char)(i * 37 + 11);
    return b;
}

/* Expect the image to be refused with status want and a message containing
 * `words`. */
static void expect_bad(const char *what, const char *header, size_t data_len, tdl_status want,
                       const char *words) {
    size_t len;
    unsigned char *img = make_image(header, data_len, &len);
    tdl_safetensors st;
    tdl_status s = tdl_safetensors_parse(&st, img, len);
    const char *msg = tdl_last_error();
    int ok = s == want && strstr(msg, words) != NULL && st.count == 0 && st.data == NULL;
    printf("%s %s: status %s, message \"%s\"\n", ok ? "ok  " : "FAIL", what, tdl_status_name(s),
           msg);
    tdl_test_record(ok);
    tdl_safetensors_free(&st);
    free(img);
}

static void test_malformed(void) {
    const char *t1 = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    /* sanity: the base case parses */
    {
        size_t len;
        unsigned char *img = make_image(t1, 8, &len);
        tdl_safetensors st;
        tdl_status s = tdl_safetensors_parse(&st, img, len);
        TDL_CHECK(s == TDL_OK && st.count == 1, "base case refused: %s", tdl_last_error());
        tdl_safetensors_free(&st);
        free(img);
    }
    expect_bad("not JSON", "{\"a\":{\"dtype\":\"F32\",", 8, TDL_ERR_FORMAT, "not valid JSON");
    expect_bad("not starting with {", "[1, 2, 3]", 0, TDL_ERR_FORMAT, "does not start with '{'");
    expect_bad("leading space", " {}", 0, TDL_ERR_FORMAT, "does not start with '{'");
    expect_bad("trailing garbage after JSON", "{}x", 0, TDL_ERR_FORMAT, "not valid JSON");
    expect_bad("invalid UTF-8", "{\"\xff\xfe\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}",
               0, TDL_ERR_FORMAT, "not valid JSON");
    expect_bad("duplicate names",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
               8, TDL_ERR_FORMAT, "duplicate");
    expect_bad("unknown dtype", "{\"a\":{\"dtype\":\"Q7\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
               TDL_ERR_FORMAT, "unknown dtype");
    expect_bad("F64 refused", "{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8,
               TDL_ERR_UNSUPPORTED, "not supported");
    expect_bad("size not matching shape",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, TDL_ERR_FORMAT,
               "do not match its shape");
    expect_bad("overlapping offsets",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
               12, TDL_ERR_FORMAT, "overlaps");
    expect_bad("unordered offsets (begin > end)",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", 8, TDL_ERR_FORMAT,
               "unordered");
    expect_bad("hole in offsets",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
               12, TDL_ERR_FORMAT, "hole");
    expect_bad("hole at start", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
               TDL_ERR_FORMAT, "hole");
    expect_bad("trailing bytes", t1, 12, TDL_ERR_FORMAT, "trailing bytes");
    expect_bad("offsets past the data", t1, 4, TDL_ERR_FORMAT, "past the");
    expect_bad("negative dimension", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}",
               8, TDL_ERR_FORMAT, "shape entry 0");
    expect_bad("fractional dimension", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}",
               8, TDL_ERR_FORMAT, "shape entry 0");
    expect_bad("shape overflow",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,8]}}",
               8, TDL_ERR_FORMAT, "overflows");
    expect_bad("size overflow to match",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387906],\"data_offsets\":[0,8]}}",
               8, TDL_ERR_FORMAT, "do not match");
    expect_bad("too many dimensions",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,2],\"data_offsets\":[0,8]}}", 8,
               TDL_ERR_FORMAT, "dimensions");
    expect_bad("missing field", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, TDL_ERR_FORMAT,
               "needs");
    expect_bad("extra field",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", 8,
               TDL_ERR_FORMAT, "unexpected");
    expect_bad("three offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4,8]}}", 8,
               TDL_ERR_FORMAT, "two integers");
    expect_bad("entry not an object", "{\"a\":5}", 0, TDL_ERR_FORMAT, "not an object");
    expect_bad("metadata not strings", "{\"__metadata__\":{\"k\":1}}", 0, TDL_ERR_FORMAT,
               "not a string");
    expect_bad("metadata not an object", "{\"__metadata__\":[]}", 0, TDL_ERR_FORMAT, "metadata");
    expect_bad("NUL in a name", "{\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
               8, TDL_ERR_FORMAT, "not valid JSON");

    /* Header lengths that lie. */
    unsigned char img[16] = {0};
    tdl_safetensors st;
    for (int i = 0; i < 8; i++) img[i] = 0xff; /* 2^64 - 1 */
    tdl_status s = tdl_safetensors_parse(&st, img, sizeof img);
    TDL_CHECK(s == TDL_ERR_FORMAT && strstr(tdl_last_error(), "exceeds the limit"),
              "absurd header length: %s", tdl_last_error());
    memset(img, 0, sizeof img);
    img[0] = 100; /* 100 bytes of header in a 16-byte file */
    s = tdl_safetensors_parse(&st, img, sizeof img);
    TDL_CHECK(s == TDL_ERR_FORMAT && strstr(tdl_last_error(), "past the end"),
              "header past the end: %s", tdl_last_error());
    s = tdl_safetensors_parse(&st, img, 5);
    TDL_CHECK(s == TDL_ERR_FORMAT && strstr(tdl_last_error(), "too short"), "5-byte file: %s",
              tdl_last_error());
    s = tdl_safetensors_parse(&st, img, 0);
    TDL_CHECK(s == TDL_ERR_FORMAT, "empty file accepted");
}

static void test_round_trip(void) {
    const char *path = "test_safetensors_rt.safetensors";
    float a[6], b[4], c[1] = {-0.0f};
    for (int i = 0; i < 6; i++) a[i] = (float)i * 0.37f - 1.0f;
    for (int i = 0; i < 4; i++) b[i] = 1e-30f * (float)(i + 1);
    b[3] = 3.4e38f;
    int64_t sa[2] = {2, 3}, sb[1] = {4};
    tdl_st_entry e[4] = {
        {"layer.weight", 2, sa, a}, {"layer.bias", 1, sb, b}, {"scalar", 0, NULL, c},
        {"empty", 1, (int64_t[]){0}, NULL},
    };
    const char *meta[] = {"format", "tdl-1", "config", "{\"ch\": 32}", "lr", "2.5e-4",
                          "epoch", "12",    "bad",    "12x"};
    tdl_status s = tdl_safetensors_write(path, e, 4, meta, 5);
    TDL_CHECK(s == TDL_OK, "write: %s", tdl_last_error());
    TDL_CHECK(access("test_safetensors_rt.safetensors.tmp", F_OK) != 0, "temporary file left");

    tdl_safetensors st;
    s = tdl_safetensors_read(&st, path);
    TDL_CHECK(s == TDL_OK, "read back: %s", tdl_last_error());
    if (s != TDL_OK) return;
    TDL_CHECK(st.count == 4, "count %d", st.count);
    float got[6];
    s = tdl_safetensors_get(&st, "layer.weight", got, 2, sa);
    TDL_CHECK(s == TDL_OK && memcmp(got, a, sizeof a) == 0, "layer.weight differs");
    s = tdl_safetensors_get(&st, "layer.bias", got, 1, sb);
    TDL_CHECK(s == TDL_OK && memcmp(got, b, sizeof b) == 0, "layer.bias differs");
    s = tdl_safetensors_get(&st, "scalar", got, 0, NULL);
    TDL_CHECK(s == TDL_OK && memcmp(got, c, 4) == 0, "scalar differs");
    s = tdl_safetensors_get(&st, "layer.weight", got, 2, (int64_t[]){3, 2});
    TDL_CHECK(s == TDL_ERR_SHAPE && strstr(tdl_last_error(), "[2, 3]"), "wrong shape accepted: %s",
              tdl_last_error());
    s = tdl_safetensors_get(&st, "nope", got, 1, sb);
    TDL_CHECK(s == TDL_ERR_SHAPE && strstr(tdl_last_error(), "missing"), "missing name accepted");
    TDL_CHECK(tdl_safetensors_meta(&st, "config") &&
                  strcmp(tdl_safetensors_meta(&st, "config"), "{\"ch\": 32}") == 0,
              "metadata lost");
    TDL_CHECK(tdl_safetensors_meta(&st, "absent") == NULL, "phantom metadata");
    /* required metadata, parsed (the checkpoints' readers) */
    const char *sv;
    double dv = 0.0;
    int64_t iv = 0;
    TDL_CHECK(tdl_safetensors_meta_req(&st, path, "test file", "format", &sv) == TDL_OK &&
                  strcmp(sv, "tdl-1") == 0, "meta_req");
    s = tdl_safetensors_meta_req(&st, path, "test file", "absent", &sv);
    TDL_CHECK(s == TDL_ERR_FORMAT && strstr(tdl_last_error(), "not a test file (no \"absent\""),
              "missing key: %s", tdl_last_error());
    TDL_CHECK(tdl_safetensors_meta_double(&st, path, "test file", "lr", &dv) == TDL_OK &&
                  dv == 2.5e-4, "meta_double %g", dv);
    s = tdl_safetensors_meta_double(&st, path, "test file", "bad", &dv);
    TDL_CHECK(s == TDL_ERR_FORMAT && strstr(tdl_last_error(), "'12x' is not a number"),
              "trailing junk accepted as a number: %s", tdl_last_error());
    TDL_CHECK(tdl_safetensors_meta_i64(&st, path, "test file", "epoch", 0, 12, &iv) == TDL_OK &&
                  iv == 12, "meta_i64 %lld", (long long)iv);
    s = tdl_safetensors_meta_i64(&st, path, "test file", "epoch", 0, 11, &iv);
    TDL_CHECK(s == TDL_ERR_FORMAT && strstr(tdl_last_error(), "not an integer in [0, 11]"),
              "out-of-range integer accepted: %s", tdl_last_error());
    s = tdl_safetensors_meta_i64(&st, path, "test file", "lr", 0, 100, &iv);
    TDL_CHECK(s == TDL_ERR_FORMAT, "a decimal accepted as an integer");
    tdl_safetensors_free(&st);
    tdl_safetensors_free(&st); /* idempotent */
    tdl_safetensors_free(NULL);

    /* The file on disk: header padded to a multiple of 8, every prefix refused,
     * random corruption never crashes. */
    FILE *f = fopen(path, "rb");
    unsigned char buf[4096];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    uint64_t h = 0;
    for (int i = 7; i >= 0; i--) h = (h << 8) | buf[i];
    TDL_CHECK(h % 8 == 0, "header length %llu not padded to 8", (unsigned long long)h);
    int refused = 0;
    for (size_t cut = 0; cut < len; cut++) {
        s = tdl_safetensors_parse(&st, buf, cut);
        refused += s != TDL_OK;
        tdl_safetensors_free(&st);
    }
    TDL_CHECK(refused == (int)len, "%d of %zu truncations accepted", (int)len - refused, len);
    printf("ok   all %zu truncated prefixes refused\n", len);

    tdl_rng r;
    tdl_rng_init(&r, 99, 0);
    int accepted = 0;
    for (int trial = 0; trial < 20000; trial++) {
        unsigned char m[4096];
        memcpy(m, buf, len);
        int flips = 1 + (int)tdl_rng_below(&r, 4);
        for (int k = 0; k < flips; k++) m[tdl_rng_below(&r, (uint32_t)len)] ^= (unsigned char)(1u << tdl_rng_below(&r, 8));
        s = tdl_safetensors_parse(&st, m, len);
        if (s == TDL_OK) {
            accepted++;
            /* Accepted means consistent: every tensor inside the data. */
            for (int i = 0; i < st.count; i++)
                TDL_CHECK(st.tensors[i].end <= st.data_len, "tensor outside data");
        }
        tdl_safetensors_free(&st);
    }
    printf("ok   20000 corrupted copies parsed without a crash (%d accepted as valid: "
           "flips in the data or in padding)\n", accepted);

    /* Unaligned data: a header length that is not a multiple of 8. */
    const char *hdr = "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    size_t ilen;
    unsigned char *img = make_image(hdr, 8, &ilen);
    float two[2] = {1.5f, -2.25f};
    memcpy(img + 8 + strlen(hdr), two, 8);
    s = tdl_safetensors_parse(&st, img, ilen);
    float back[2] = {0};
    if (s == TDL_OK) tdl_safetensors_copy(&st, &st.tensors[0], back);
    TDL_CHECK(s == TDL_OK && back[0] == 1.5f && back[1] == -2.25f, "unaligned data misread");
    tdl_safetensors_free(&st);
    free(img);

    /* Writer refuses reserved and repeated names; reader reports missing files. */
    tdl_st_entry dup[2] = {{"w", 1, sb, b}, {"w", 1, sb, b}};
    TDL_CHECK(tdl_safetensors_write(path, dup, 2, NULL, 0) == TDL_ERR_INVALID, "duplicate written");
    tdl_st_entry res[1] = {{"__metadata__", 1, sb, b}};
    TDL_CHECK(tdl_safetensors_write(path, res, 1, NULL, 0) == TDL_ERR_INVALID, "reserved written");
    s = tdl_safetensors_read(&st, "no/such/file.safetensors");
    TDL_CHECK(s == TDL_ERR_IO && strstr(tdl_last_error(), "no/such/file"), "missing file: %s",
              tdl_last_error());
    s = tdl_safetensors_write("no/such/dir/x.safetensors", e, 1, NULL, 0);
    TDL_CHECK(s == TDL_ERR_IO, "write into a missing directory succeeded");
    remove(path);
}

int main(void) {
    test_malformed();
    test_round_trip();
    return tdl_test_done("test_safetensors");
}
