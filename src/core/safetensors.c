/*
 * safetensors.c: the safetensors reader and the atomic writer.
 * Every rule the reader enforces is listed in include/tdl/safetensors.h.
 */
#include "tdl/safetensors.h"

#include "tdl/atomic_file.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Data types of the format other than F32: recognised, named, and refused. */
static const char *const st_other_dtypes[] = {
    "F64", "F16", "BF16", "I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8",
    "BOOL", "F8_E4M3", "F8_E5M2", "C64",
};

static uint64_t read_u64le(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static void write_u64le(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

void tdl_safetensors_free(tdl_safetensors *st) {
    if (!st) return;
    for (int i = 0; i < st->count; i++) free(st->tensors[i].name);
    for (int i = 0; i < st->meta_count; i++) {
        free(st->meta_keys[i]);
        free(st->meta_values[i]);
    }
    free(st->tensors);
    free(st->meta_keys);
    free(st->meta_values);
    free(st->data);
    memset(st, 0, sizeof *st);
}

static char *dup_string(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* A JSON integer in [0, limit]; 0 on failure. */
static int json_to_size(const json_t *j, uint64_t limit, uint64_t *out) {
    if (!json_is_integer(j)) return 0;
    json_int_t v = json_integer_value(j);
    if (v < 0 || (uint64_t)v > limit) return 0;
    *out = (uint64_t)v;
    return 1;
}

static tdl_status parse_metadata(tdl_safetensors *st, json_t *meta) {
    if (!json_is_object(meta))
        return tdl_error(TDL_ERR_FORMAT, "__metadata__ is not an object of strings");
    size_t n = json_object_size(meta);
    st->meta_keys = calloc(n ? n : 1, sizeof(char *));
    st->meta_values = calloc(n ? n : 1, sizeof(char *));
    if (!st->meta_keys || !st->meta_values)
        return tdl_error(TDL_ERR_NOMEM, "out of memory reading metadata");
    const char *key;
    json_t *val;
    json_object_foreach(meta, key, val) {
        if (!json_is_string(val))
            return tdl_error(TDL_ERR_FORMAT, "metadata value of '%s' is not a string", key);
        st->meta_keys[st->meta_count] = dup_string(key);
        st->meta_values[st->meta_count] = dup_string(json_string_value(val));
        st->meta_count++;
        if (!st->meta_keys[st->meta_count - 1] || !st->meta_values[st->meta_count - 1])
            return tdl_error(TDL_ERR_NOMEM, "out of memory reading metadata");
    }
    return TDL_OK;
}

static tdl_status parse_tensor(tdl_st_tensor *t, const char *name, json_t *desc,
                               uint64_t data_len) {
    if (!json_is_object(desc))
        return tdl_error(TDL_ERR_FORMAT, "tensor '%s': entry is not an object", name);
    json_t *dtype = json_object_get(desc, "dtype");
    json_t *shape = json_object_get(desc, "shape");
    json_t *offs = json_object_get(desc, "data_offsets");
    if (!json_is_string(dtype) || !json_is_array(shape) || !json_is_array(offs))
        return tdl_error(TDL_ERR_FORMAT,
                         "tensor '%s': needs string \"dtype\", list \"shape\" and list "
                         "\"data_offsets\"", name);
    if (json_object_size(desc) != 3)
        return tdl_error(TDL_ERR_FORMAT, "tensor '%s': unexpected fields in its entry", name);
    const char *dt = json_string_value(dtype);
    if (strcmp(dt, "F32") != 0) {
        for (size_t i = 0; i < sizeof st_other_dtypes / sizeof *st_other_dtypes; i++)
            if (strcmp(dt, st_other_dtypes[i]) == 0)
                return tdl_error(TDL_ERR_UNSUPPORTED,
                                 "tensor '%s': dtype %s is not supported (tdl reads F32 "
                                 "only; convert the tensor to float32 before saving)", name, dt);
        return tdl_error(TDL_ERR_FORMAT, "tensor '%s': unknown dtype '%.32s'", name, dt);
    }
    size_t nd = json_array_size(shape);
    if (nd > TDL_ST_MAX_DIMS)
        return tdl_error(TDL_ERR_FORMAT, "tensor '%s': %zu dimensions (at most %d)", name, nd,
                         (int)TDL_ST_MAX_DIMS);
    uint64_t numel = 1;
    for (size_t d = 0; d < nd; d++) {
        uint64_t dim;
        if (!json_to_size(json_array_get(shape, d), INT64_MAX, &dim))
            return tdl_error(TDL_ERR_FORMAT, "tensor '%s': shape entry %zu is not a "
                             "non-negative integer", name, d);
        if (dim != 0 && numel > UINT64_MAX / dim)
            return tdl_error(TDL_ERR_FORMAT, "tensor '%s': element count overflows", name);
        numel *= dim;
        t->shape[d] = (int64_t)dim;
    }
    if (json_array_size(offs) != 2)
        return tdl_error(TDL_ERR_FORMAT, "tensor '%s': data_offsets must hold two integers", name);
    uint64_t begin, end;
    if (!json_to_size(json_array_get(offs, 0), UINT64_MAX >> 1, &begin) ||
        !json_to_size(json_array_get(offs, 1), UINT64_MAX >> 1, &end))
        return tdl_error(TDL_ERR_FORMAT, "tensor '%s': data_offsets are not non-negative "
                         "integers", name);
    if (begin > end)
        return tdl_error(TDL_ERR_FORMAT, "tensor '%s': data_offsets [%llu, %llu] are unordered",
                         name, (unsigned long long)begin, (unsigned long long)end);
    if (end > data_len)
        return tdl_error(TDL_ERR_FORMAT, "tensor '%s': data_offsets end %llu past the %llu "
                         "data bytes (file truncated?)", name, (unsigned long long)end,
                         (unsigned long long)data_len);
    if (numel > UINT64_MAX / 4 || end - begin != numel * 4)
        return tdl_error(TDL_ERR_FORMAT, "tensor '%s': %llu data bytes do not match its shape "
                         "(%llu elements of 4 bytes)", name, (unsigned long long)(end - begin),
                         (unsigned long long)numel);
    t->ndim = (int)nd;
    t->numel = (size_t)numel;
    t->begin = (size_t)begin;
    t->end = (size_t)end;
    t->name = dup_string(name);
    if (!t->name) return tdl_error(TDL_ERR_NOMEM, "out of memory");
    return TDL_OK;
}

static int cmp_begin(const void *a, const void *b) {
    const tdl_st_tensor *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : (x->end > y->end);
}

static tdl_status parse_header(tdl_safetensors *st, json_t *root, uint64_t data_len) {
    if (!json_is_object(root))
        return tdl_error(TDL_ERR_FORMAT, "header is not a JSON object");
    size_t n = json_object_size(root);
    st->tensors = calloc(n ? n : 1, sizeof *st->tensors);
    if (!st->tensors) return tdl_error(TDL_ERR_NOMEM, "out of memory");
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (strcmp(key, "__metadata__") == 0) {
            TDL_TRY(parse_metadata(st, val));
            continue;
        }
        TDL_TRY(parse_tensor(&st->tensors[st->count], key, val, data_len));
        st->count++;
    }
    /* The tensors, sorted by offset, must tile the data exactly. */
    qsort(st->tensors, (size_t)st->count, sizeof *st->tensors, cmp_begin);
    uint64_t at = 0;
    for (int i = 0; i < st->count; i++) {
        const tdl_st_tensor *t = &st->tensors[i];
        if (t->begin < at)
            return tdl_error(TDL_ERR_FORMAT, "tensor '%s' overlaps the tensor before it "
                             "(starts at %zu, previous ends at %llu)", t->name, t->begin,
                             (unsigned long long)at);
        if (t->begin > at)
            return tdl_error(TDL_ERR_FORMAT, "hole in the data before tensor '%s' (bytes %llu "
                             "to %zu belong to no tensor)", t->name, (unsigned long long)at,
                             t->begin);
        at = t->end;
    }
    if (at != data_len)
        return tdl_error(TDL_ERR_FORMAT, "%llu trailing bytes after the last tensor",
                         (unsigned long long)(data_len - at));
    return TDL_OK;
}

tdl_status tdl_safetensors_parse(tdl_safetensors *out, const void *buf, size_t len) {
    const unsigned char *p = buf;
    memset(out, 0, sizeof *out);
    if (len < 8)
        return tdl_error(TDL_ERR_FORMAT, "file is %zu bytes, too short for a safetensors "
                         "header (truncated?)", len);
    uint64_t n = read_u64le(p);
    if (n > TDL_ST_MAX_HEADER)
        return tdl_error(TDL_ERR_FORMAT, "header length %llu exceeds the limit of %d bytes",
                         (unsigned long long)n, (int)TDL_ST_MAX_HEADER);
    if (n > len - 8)
        return tdl_error(TDL_ERR_FORMAT, "header length %llu runs past the end of the %zu-byte "
                         "file (truncated?)", (unsigned long long)n, len);
    if (n < 2 || p[8] != '{')
        return tdl_error(TDL_ERR_FORMAT, "header does not start with '{' (not a safetensors "
                         "file?)");
    json_error_t jerr;
    json_t *root = json_loadb((const char *)p + 8, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return tdl_error(TDL_ERR_FORMAT, "header is not valid JSON: %s (byte %d)", jerr.text,
                         jerr.position);
    uint64_t data_len = len - 8 - n;
    tdl_status s = parse_header(out, root, data_len);
    json_decref(root);
    if (s == TDL_OK) {
        out->data_len = (size_t)data_len;
        out->data = malloc(data_len ? data_len : 1);
        if (!out->data) s = tdl_error(TDL_ERR_NOMEM, "out of memory for %llu data bytes",
                                      (unsigned long long)data_len);
        else if (data_len) memcpy(out->data, p + 8 + n, data_len);
    }
    if (s != TDL_OK) tdl_safetensors_free(out);
    return s;
}

tdl_status tdl_safetensors_read(tdl_safetensors *out, const char *path) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return tdl_error(TDL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return tdl_error(TDL_ERR_IO, "%s: not a regular file", path);
    }
    size_t len = (size_t)sb.st_size;
    unsigned char *buf = malloc(len ? len : 1);
    if (!buf) {
        fclose(f);
        return tdl_error(TDL_ERR_NOMEM, "%s: out of memory for %zu bytes", path, len);
    }
    size_t got = fread(buf, 1, len, f);
    int err = ferror(f);
    fclose(f);
    if (got != len || err) {
        free(buf);
        return tdl_error(TDL_ERR_IO, "%s: read %zu of %zu bytes", path, got, len);
    }
    tdl_status s = tdl_safetensors_parse(out, buf, len);
    free(buf);
    if (s != TDL_OK) return tdl_error_context(s, "%s", path);
    return TDL_OK;
}

const tdl_st_tensor *tdl_safetensors_find(const tdl_safetensors *st, const char *name) {
    for (int i = 0; i < st->count; i++)
        if (strcmp(st->tensors[i].name, name) == 0) return &st->tensors[i];
    return NULL;
}

void tdl_safetensors_copy(const tdl_safetensors *st, const tdl_st_tensor *t, float *dst) {
    const unsigned char *src = st->data + t->begin;
    for (size_t i = 0; i < t->numel; i++) {
        uint32_t u = (uint32_t)src[4 * i] | (uint32_t)src[4 * i + 1] << 8 |
                     (uint32_t)src[4 * i + 2] << 16 | (uint32_t)src[4 * i + 3] << 24;
        memcpy(&dst[i], &u, 4);
    }
}

static void format_shape(char *buf, size_t cap, int ndim, const int64_t *shape) {
    size_t at = 0;
    at += (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < ndim && at < cap; d++)
        at += (size_t)snprintf(buf + at, cap - at, d ? ", %lld" : "%lld", (long long)shape[d]);
    if (at < cap) snprintf(buf + at, cap - at, "]");
}

tdl_status tdl_safetensors_get(const tdl_safetensors *st, const char *name, float *dst, int ndim,
                               const int64_t *shape) {
    const tdl_st_tensor *t = tdl_safetensors_find(st, name);
    if (!t) return tdl_error(TDL_ERR_SHAPE, "tensor '%s' is missing", name);
    int same = t->ndim == ndim;
    for (int d = 0; same && d < ndim; d++) same = t->shape[d] == shape[d];
    if (!same) {
        char want[128], got[128];
        format_shape(want, sizeof want, ndim, shape);
        format_shape(got, sizeof got, t->ndim, t->shape);
        return tdl_error(TDL_ERR_SHAPE, "tensor '%s' has shape %s, expected %s", name, got, want);
    }
    tdl_safetensors_copy(st, t, dst);
    return TDL_OK;
}

const char *tdl_safetensors_meta(const tdl_safetensors *st, const char *key) {
    for (int i = 0; i < st->meta_count; i++)
        if (strcmp(st->meta_keys[i], key) == 0) return st->meta_values[i];
    return NULL;
}

tdl_status tdl_safetensors_meta_req(const tdl_safetensors *st, const char *path,
                                    const char *what, const char *key, const char **out) {
    *out = tdl_safetensors_meta(st, key);
    if (!*out)
        return tdl_error(TDL_ERR_FORMAT, "%s: not a %s (no \"%s\" in the metadata)", path, what,
                         key);
    return TDL_OK;
}

tdl_status tdl_safetensors_meta_double(const tdl_safetensors *st, const char *path,
                                       const char *what, const char *key, double *out) {
    const char *s;
    char *end;
    TDL_TRY(tdl_safetensors_meta_req(st, path, what, key, &s));
    errno = 0;
    *out = strtod(s, &end);
    if (errno || end == s || *end)
        return tdl_error(TDL_ERR_FORMAT, "%s: metadata \"%s\" = '%s' is not a number", path, key,
                         s);
    return TDL_OK;
}

tdl_status tdl_safetensors_meta_i64(const tdl_safetensors *st, const char *path,
                                    const char *what, const char *key, int64_t lo, int64_t hi,
                                    int64_t *out) {
    const char *s;
    char *end;
    TDL_TRY(tdl_safetensors_meta_req(st, path, what, key, &s));
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || end == s || *end || x < lo || x > hi)
        return tdl_error(TDL_ERR_FORMAT, "%s: metadata \"%s\" = '%s' is not an integer in "
                         "[%" PRId64 ", %" PRId64 "]", path, key, s, lo, hi);
    *out = (int64_t)x;
    return TDL_OK;
}

/* ----------------------------------------------------------------- writer */

static tdl_status build_header(json_t **out, const tdl_st_entry *entries, int n,
                               const char *const *meta, int n_meta) {
    json_t *root = json_object();
    if (!root) return tdl_error(TDL_ERR_NOMEM, "out of memory");
    uint64_t offset = 0;
    for (int i = 0; i < n; i++) {
        const tdl_st_entry *e = &entries[i];
        TDL_ASSERT(e->name && (e->data || e->ndim >= 0), "bad safetensors entry %d", i);
        if (strcmp(e->name, "__metadata__") == 0 || json_object_get(root, e->name)) {
            json_decref(root);
            return tdl_error(TDL_ERR_INVALID, "tensor name '%s' is reserved or repeated",
                             e->name);
        }
        if (e->ndim < 0 || e->ndim > TDL_ST_MAX_DIMS) {
            json_decref(root);
            return tdl_error(TDL_ERR_INVALID, "tensor '%s': %d dimensions", e->name, e->ndim);
        }
        uint64_t numel = 1;
        json_t *shape = json_array();
        for (int d = 0; d < e->ndim; d++) {
            TDL_ASSERT(e->shape[d] >= 0, "negative dimension in '%s'", e->name);
            numel *= (uint64_t)e->shape[d];
            json_array_append_new(shape, json_integer(e->shape[d]));
        }
        json_t *offs = json_array();
        json_array_append_new(offs, json_integer((json_int_t)offset));
        json_array_append_new(offs, json_integer((json_int_t)(offset + 4 * numel)));
        offset += 4 * numel;
        json_t *desc = json_object();
        json_object_set_new(desc, "dtype", json_string("F32"));
        json_object_set_new(desc, "shape", shape);
        json_object_set_new(desc, "data_offsets", offs);
        json_object_set_new(root, e->name, desc);
    }
    if (n_meta > 0) {
        json_t *m = json_object();
        for (int i = 0; i < n_meta; i++)
            json_object_set_new(m, meta[2 * i], json_string(meta[2 * i + 1]));
        json_object_set_new(root, "__metadata__", m);
    }
    *out = root;
    return TDL_OK;
}

static tdl_status write_all(FILE *f, const void *buf, size_t n, const char *tmp) {
    if (n && fwrite(buf, 1, n, f) != n)
        return tdl_error(TDL_ERR_IO, "%s: write failed: %s", tmp, strerror(errno));
    return TDL_OK;
}

static tdl_status write_body(FILE *f, const char *tmp, const char *hdr, size_t hlen,
                             size_t padded, const tdl_st_entry *entries, int n) {
    unsigned char len8[8];
    write_u64le(len8, padded);
    TDL_TRY(write_all(f, len8, 8, tmp));
    TDL_TRY(write_all(f, hdr, hlen, tmp));
    for (size_t i = hlen; i < padded; i++)
        if (fputc(' ', f) == EOF) return tdl_error(TDL_ERR_IO, "%s: write failed", tmp);
    unsigned char chunk[4096];
    for (int i = 0; i < n; i++) {
        size_t numel = 1;
        for (int d = 0; d < entries[i].ndim; d++) numel *= (size_t)entries[i].shape[d];
        for (size_t k = 0; k < numel;) {
            size_t m = 0;
            for (; m < sizeof chunk / 4 && k < numel; m++, k++) {
                uint32_t u;
                memcpy(&u, &entries[i].data[k], 4);
                chunk[4 * m] = (unsigned char)u;
                chunk[4 * m + 1] = (unsigned char)(u >> 8);
                chunk[4 * m + 2] = (unsigned char)(u >> 16);
                chunk[4 * m + 3] = (unsigned char)(u >> 24);
            }
            TDL_TRY(write_all(f, chunk, 4 * m, tmp));
        }
    }
    return TDL_OK;
}

tdl_status tdl_safetensors_write(const char *path, const tdl_st_entry *entries, int n,
                                 const char *const *meta, int n_meta) {
    json_t *root = NULL;
    TDL_TRY(build_header(&root, entries, n, meta, n_meta));
    char *hdr = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!hdr) return tdl_error(TDL_ERR_NOMEM, "out of memory encoding the header");
    size_t hlen = strlen(hdr), padded = (hlen + 7) / 8 * 8;

    tdl_atomic_file af;
    tdl_status s = tdl_atomic_file_open(&af, path);
    if (s == TDL_OK) {
        s = write_body(af.f, path, hdr, hlen, padded, entries, n);
        if (s == TDL_OK) s = tdl_atomic_file_commit(&af);
        else tdl_atomic_file_abort(&af);
    }
    free(hdr);
    return s;
}
