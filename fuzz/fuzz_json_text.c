/* fuzz_json_text.c: libFuzzer target for the CLI's JSON strings
 * (src/cli/json_out.c): any bytes (a path is any bytes but NUL) become a
 * JSON string that dumps, parses back, and equals the input wherever the
 * input was well-formed UTF-8 (each invalid byte is U+FFFD). Build and run
 * (clang, from the repository root):  make fuzz */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = '\0'; /* the string ends at the first NUL, as a C path does */
    size_t n = strlen(s);
    json_t *j = tdl_cli_json_text(s);
    if (!j || !json_is_string(j)) abort();
    char *text = json_dumps(j, JSON_ENCODE_ANY);
    if (!text) abort();
    json_error_t err;
    json_t *back = json_loads(text, JSON_DECODE_ANY, &err);
    if (!back || !json_equal(back, j)) abort();
    /* the value: the input with each byte that starts no well-formed UTF-8
     * sequence replaced by EF BF BD */
    const char *v = json_string_value(back);
    size_t vn = json_string_length(back), k = 0;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t len = tdl_cli_utf8_length(u + i, n - i);
        const char *want = len ? s + i : "\xEF\xBF\xBD";
        size_t wl = len ? len : 3;
        if (k + wl > vn || memcmp(v + k, want, wl) != 0) abort();
        k += wl;
        i += len ? len : 1;
    }
    if (k != vn) abort();
    json_decref(back);
    json_decref(j);
    free(text);
    free(s);
    return 0;
}
