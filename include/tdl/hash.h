/*
 * hash.h: FNV-1a, 64 bits, over bytes and files. Used to name cached results
 * (the experiment runner's cells: a hash of their settings, their input
 * files' contents and the tdl version), not for security: FNV is not
 * collision-resistant against an adversary, only well spread for distinct
 * inputs.
 *
 *   h = 0xcbf29ce484222325; for each byte b: h = (h ^ b) * 0x100000001b3
 */
#ifndef TDL_HASH_H
#define TDL_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "tdl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TDL_HASH_INIT UINT64_C(0xcbf29ce484222325)

/* Continue hash h over n bytes of data; start from TDL_HASH_INIT. */
uint64_t tdl_hash_bytes(uint64_t h, const void *data, size_t n);

/* tdl_hash_bytes over a NUL-terminated string (without its NUL). */
uint64_t tdl_hash_str(uint64_t h, const char *s);

/* The hash of a whole file's bytes from TDL_HASH_INIT (the same as
 * tdl_hash_bytes over its contents). TDL_ERR_IO naming the file when it
 * cannot be opened or read. */
tdl_status tdl_hash_file(const char *path, uint64_t *out);

/* h as 16 lower-case hex digits and a NUL (buf holds at least 17). */
void tdl_hash_hex(uint64_t h, char buf[17]);

#ifdef __cplusplus
}
#endif
#endif /* TDL_HASH_H */
