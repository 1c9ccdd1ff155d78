/* json_out.c: every --json document the CLI prints is built with jansson
 * through these helpers, so that it is valid JSON in every case: a number
 * that is not finite becomes null (jansson's json_real refuses it, and a
 * NULL value silently dropped the key), a string that is not valid UTF-8 (a
 * path can hold any bytes) has its invalid bytes replaced by U+FFFD (jansson
 * refuses it too), and quotes, backslashes and control characters are
 * escaped by jansson. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Set when an object could not take a value (out of memory): the document
 * is incomplete and tdl_cli_json_print refuses to print it. */
static int json_broken;

json_t *tdl_cli_json_number(double v) {
    json_t *j = isfinite(v) ? json_real(v) : json_null();
    if (!j) json_broken = 1;
    return j;
}

json_t *tdl_cli_json_integer(long long v) {
    json_t *j = json_integer((json_int_t)v);
    if (!j) json_broken = 1;
    return j;
}

/* Length of the well-formed UTF-8 sequence at s (n >= 1 bytes left), or 0:
 * no overlong forms, no surrogates, nothing above U+10FFFF (RFC 3629). */
size_t tdl_cli_utf8_length(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    unsigned long cp;
    if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1Fu;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0Fu;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07u;
    else return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0u) != 0x80u) return 0;
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

json_t *tdl_cli_json_text(const char *s) {
    if (!s) return tdl_cli_json_null();
    size_t n = strlen(s);
    const unsigned char *u = (const unsigned char *)s;
    int valid = 1;
    for (size_t i = 0, k; i < n && valid; i += k)
        valid = (k = tdl_cli_utf8_length(u + i, n - i)) != 0;
    json_t *j = NULL;
    if (valid) {
        j = json_stringn(s, n);
    } else {
        /* each byte that starts no well-formed sequence becomes U+FFFD */
        char *t = malloc(3 * n + 1);
        size_t m = 0;
        for (size_t i = 0; t && i < n;) {
            size_t k = tdl_cli_utf8_length(u + i, n - i);
            if (k) {
                memcpy(t + m, s + i, k);
                m += k;
                i += k;
            } else {
                memcpy(t + m, "\xEF\xBF\xBD", 3);
                m += 3;
                i++;
            }
        }
        if (t) j = json_stringn(t, m);
        free(t);
    }
    if (!j) json_broken = 1;
    return j;
}

json_t *tdl_cli_json_null(void) { return json_null(); }

json_t *tdl_cli_json_bool(int v) { return v ? json_true() : json_false(); }

void tdl_cli_json_set(json_t *obj, const char *key, json_t *value) {
    if (!obj || !value || json_object_set_new(obj, key, value) != 0) json_broken = 1;
}

void tdl_cli_json_append(json_t *array, json_t *value) {
    if (!array || !value || json_array_append_new(array, value) != 0) json_broken = 1;
}

int tdl_cli_json_print(json_t *root, int precision, int indent) {
    size_t flags = JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(precision);
    if (indent) flags |= JSON_INDENT(indent);
    char *text = root && !json_broken ? json_dumps(root, flags) : NULL;
    json_decref(root);
    json_broken = 0;
    int rc = TDL_EXIT_OK;
    if (!text || puts(text) < 0 || fflush(stdout) != 0) {
        fputs("tdl: error: the JSON output could not be written (out of memory, or stdout "
              "closed)\n", stderr);
        rc = TDL_EXIT_FAIL;
    }
    free(text);
    return rc;
}

char *tdl_cli_json_line(const json_t *value) {
    if (!value || json_broken) return NULL;
    return json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
}
