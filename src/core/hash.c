/* hash.c: FNV-1a 64 over bytes, strings and files. */
#include "tdl/hash.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

uint64_t tdl_hash_bytes(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

uint64_t tdl_hash_str(uint64_t h, const char *s) { return tdl_hash_bytes(h, s, strlen(s)); }

tdl_status tdl_hash_file(const char *path, uint64_t *out) {
    FILE *f = fopen(path, "rb");
    if (!f) return tdl_error(TDL_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    unsigned char buf[65536];
    uint64_t h = TDL_HASH_INIT;
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) h = tdl_hash_bytes(h, buf, n);
    int bad = ferror(f);
    fclose(f);
    if (bad) return tdl_error(TDL_ERR_IO, "cannot read %s", path);
    *out = h;
    return TDL_OK;
}

void tdl_hash_hex(uint64_t h, char buf[17]) { snprintf(buf, 17, "%016" PRIx64, h); }
