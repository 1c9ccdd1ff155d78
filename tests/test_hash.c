/* test_hash.c: FNV-1a 64 known answers, streaming equals one pass, files
 * hash as their bytes, a missing file is an I/O error naming it, and the
 * hex form. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tdl/hash.h"
#include "tdl_test.h"

int main(void) {
    /* the published FNV-1a 64 test vectors */
    TDL_CHECK(tdl_hash_str(TDL_HASH_INIT, "") == UINT64_C(0xcbf29ce484222325), "empty");
    TDL_CHECK(tdl_hash_str(TDL_HASH_INIT, "a") == UINT64_C(0xaf63dc4c8601ec8c), "a");
    TDL_CHECK(tdl_hash_str(TDL_HASH_INIT, "foobar") == UINT64_C(0x85944171f73967e8), "foobar");
    /* streaming: two pieces give the one-pass hash */
    uint64_t h = tdl_hash_str(tdl_hash_str(TDL_HASH_INIT, "foo"), "bar");
    TDL_CHECK(h == tdl_hash_str(TDL_HASH_INIT, "foobar"), "streaming");
    /* any change of one byte changes the hash */
    TDL_CHECK(tdl_hash_str(TDL_HASH_INIT, "lr=1e-6") != tdl_hash_str(TDL_HASH_INIT, "lr=1e-5"),
              "one byte");
    char hex[17];
    tdl_hash_hex(UINT64_C(0x85944171f73967e8), hex);
    TDL_CHECK(strcmp(hex, "85944171f73967e8") == 0, "hex %s", hex);
    tdl_hash_hex(1, hex);
    TDL_CHECK(strcmp(hex, "0000000000000001") == 0, "hex padding %s", hex);

    /* a file of 200,000 bytes (several read buffers) hashes as its bytes */
    char path[] = "/tmp/tdl_test_hash_XXXXXX";
    int fd = mkstemp(path);
    TDL_CHECK(fd >= 0, "mkstemp");
    static unsigned char buf[200000];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)(i * 31 + 7);
    FILE *f = fdopen(fd, "wb");
    TDL_CHECK(f && fwrite(buf, 1, sizeof buf, f) == sizeof buf, "write");
    if (f) fclose(f);
    uint64_t fh = 0;
    TDL_CHECK(tdl_hash_file(path, &fh) == TDL_OK, "hash file: %s", tdl_last_error());
    TDL_CHECK(fh == tdl_hash_bytes(TDL_HASH_INIT, buf, sizeof buf), "file hash = byte hash");
    unlink(path);
    TDL_CHECK(tdl_hash_file(path, &fh) == TDL_ERR_IO, "missing file");
    TDL_CHECK(strstr(tdl_last_error(), path) != NULL, "names the file: %s", tdl_last_error());
    return tdl_test_done("test_hash");
}
