/*
 * safetensors.h: read and write model files in the safetensors format.
 *
 * Layout: 8-byte little-endian header length N, N bytes of JSON (starts with
 * '{', may be padded with spaces), then the raw little-endian tensor data.
 * Each JSON entry is  name: {"dtype": "F32", "shape": [...],
 * "data_offsets": [begin, end]}  with offsets relative to the data start; the
 * optional "__metadata__" entry maps strings to strings.
 *
 * tdl stores float32 only. The reader treats every file as untrusted and
 * rejects, with a message, anything that is not exactly well formed:
 *   file shorter than 8 bytes; N larger than TDL_ST_MAX_HEADER or past the end
 *   of the file; header not valid UTF-8 JSON or not starting with '{';
 *   duplicate names; a dtype other than F32 (known dtypes get "not supported",
 *   others "unknown"); a shape that is not a list of non-negative integers or
 *   has more than TDL_ST_MAX_DIMS dimensions; begin > end; offsets that, sorted,
 *   do not tile [0, data length) exactly (holes, overlaps, trailing bytes);
 *   end - begin different from the element count times 4 (overflow-checked);
 *   metadata that is not an object of strings.
 * Data may be unaligned in the file: it is copied, never cast in place.
 *
 * The writer puts the tensors in the order given, pads the header with
 * spaces to a multiple of 8 bytes, and writes atomically: a temporary file
 * beside the target, fflush + fsync, rename, then fsync of the directory.
 */
#ifndef TDL_SAFETENSORS_H
#define TDL_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "tdl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    TDL_ST_MAX_DIMS = 8,
    TDL_ST_MAX_HEADER = 100 * 1000 * 1000 /* bytes, as the reference library */
};

typedef struct tdl_st_tensor {
    char *name;
    int ndim;
    int64_t shape[TDL_ST_MAX_DIMS];
    size_t numel;
    size_t begin, end; /* byte offsets into data */
} tdl_st_tensor;

typedef struct tdl_safetensors {
    tdl_st_tensor *tensors; /* (count), in the order of their data offsets */
    int count;
    char **meta_keys;       /* (meta_count) */
    char **meta_values;     /* (meta_count) */
    int meta_count;
    unsigned char *data;    /* (data_len) bytes, a private copy */
    size_t data_len;
} tdl_safetensors;

/* Parse a whole file image held in memory. On failure *out is left empty
 * (safe to free) and the message says what is wrong. */
tdl_status tdl_safetensors_parse(tdl_safetensors *out, const void *buf, size_t len);

/* Read and parse a file; messages are prefixed with the path. */
tdl_status tdl_safetensors_read(tdl_safetensors *out, const char *path);

/* NULL-safe; leaves *st empty. */
void tdl_safetensors_free(tdl_safetensors *st);

/* The tensor called name, or NULL. */
const tdl_st_tensor *tdl_safetensors_find(const tdl_safetensors *st, const char *name);

/* Copy tensor `name` into dst (numel floats), checking that it exists and has
 * exactly the given shape: TDL_ERR_SHAPE otherwise. */
tdl_status tdl_safetensors_get(const tdl_safetensors *st, const char *name, float *dst,
                               int ndim, const int64_t *shape);

/* Copy tensor t into dst (t->numel floats). */
void tdl_safetensors_copy(const tdl_safetensors *st, const tdl_st_tensor *t, float *dst);

/* The metadata value for key, or NULL. */
const char *tdl_safetensors_meta(const tdl_safetensors *st, const char *key);

/* A required metadata value, for files whose metadata carries their state
 * (training checkpoints): path and what ("tdl training checkpoint") name the
 * file in the errors. A missing key is TDL_ERR_FORMAT "PATH: not a WHAT (no
 * "KEY" in the metadata)"; a value that does not parse whole (a decimal
 * number; an integer in [lo, hi]) is TDL_ERR_FORMAT naming the key and value. */
tdl_status tdl_safetensors_meta_req(const tdl_safetensors *st, const char *path,
                                    const char *what, const char *key, const char **out);
tdl_status tdl_safetensors_meta_double(const tdl_safetensors *st, const char *path,
                                       const char *what, const char *key, double *out);
tdl_status tdl_safetensors_meta_i64(const tdl_safetensors *st, const char *path,
                                    const char *what, const char *key, int64_t lo, int64_t hi,
                                    int64_t *out);

/* One tensor to write. */
typedef struct tdl_st_entry {
    const char *name;
    int ndim;
    const int64_t *shape; /* (ndim) */
    const float *data;    /* (prod(shape)) */
} tdl_st_entry;

/* Write n entries and n_meta (key, value) string pairs (meta[2i], meta[2i+1])
 * to path, atomically. Names must be unique and not "__metadata__". */
tdl_status tdl_safetensors_write(const char *path, const tdl_st_entry *entries, int n,
                                 const char *const *meta, int n_meta);

#ifdef __cplusplus
}
#endif
#endif /* TDL_SAFETENSORS_H */
