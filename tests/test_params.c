/* test_params.c: the parameter table, its layout, and save/load with the
 * exact-names-and-shapes rule. */
#include <stdlib.h>
#include <string.h>

#include "tdl/params.h"
#include "tdl_test.h"

static void make_table(tdl_params *p, int64_t hidden) {
    tdl_params_init(p);
    TDL_CHECK(tdl_params_add(p, "lstm1.weight_ih_l0", 2, (int64_t[]){4 * hidden, 1}, 1) == TDL_OK, "add");
    TDL_CHECK(tdl_params_add(p, "lstm1.bias_ih_l0", 1, (int64_t[]){4 * hidden}, 1) == TDL_OK, "add");
    TDL_CHECK(tdl_params_add(p, "time.table", 2, (int64_t[]){5, 3}, 0) == TDL_OK, "add");
    TDL_CHECK(tdl_params_alloc(p) == TDL_OK, "alloc: %s", tdl_last_error());
}

int main(void) {
    tdl_params p, q;
    make_table(&p, 8);
    TDL_CHECK(p.count == 3 && p.items[1].numel == 32 && p.items[2].trainable == 0, "table");
    TDL_CHECK(tdl_params_trainable(&p) == 64, "trainable count %zu", tdl_params_trainable(&p));
    for (int i = 0; i < p.count; i++)
        TDL_CHECK(p.items[i].offset % 16 == 0, "tensor %d not 64-byte aligned", i);
    TDL_CHECK(p.grad == p.param + p.total && p.m == p.grad + p.total && p.v == p.m + p.total,
              "four buffers not laid out back to back");
    TDL_CHECK(tdl_params_find(&p, "nope") == -1, "find of a missing name");

    /* Refusals. */
    tdl_params bad;
    tdl_params_init(&bad);
    TDL_CHECK(tdl_params_add(&bad, "a", 1, (int64_t[]){3}, 1) == TDL_OK, "add a");
    TDL_CHECK(tdl_params_add(&bad, "a", 1, (int64_t[]){3}, 1) == TDL_ERR_INVALID, "duplicate name");
    TDL_CHECK(tdl_params_add(&bad, "b", 1, (int64_t[]){0}, 1) == TDL_ERR_INVALID, "zero dimension");
    TDL_CHECK(tdl_params_add(&bad, "", 1, (int64_t[]){1}, 1) == TDL_ERR_INVALID, "empty name");
    char longname[200];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    TDL_CHECK(tdl_params_add(&bad, longname, 1, (int64_t[]){1}, 1) == TDL_ERR_INVALID, "long name");
    tdl_params_free(&bad);
    tdl_params_free(&bad);
    tdl_params_free(NULL);

    /* Save with optimiser state, load into a fresh table, compare bits. */
    tdl_rng r;
    tdl_rng_init(&r, 5, 0);
    tdl_rng_fill_normal(&r, p.param, p.total, 0, 1);
    tdl_rng_fill_normal(&r, p.m, p.total, 0, 1);
    tdl_rng_fill_uniform(&r, p.v, p.total, 0, 1);
    const char *meta[] = {"format", "tdl-params-1", "epoch", "3"};
    const char *path = "test_params.safetensors";
    TDL_CHECK(tdl_params_save(&p, path, meta, 2, 1) == TDL_OK, "save: %s", tdl_last_error());
    make_table(&q, 8);
    TDL_CHECK(tdl_params_load(&q, path, 1) == TDL_OK, "load: %s", tdl_last_error());
    int same = 1;
    for (int i = 0; i < p.count; i++) {
        size_t o = p.items[i].offset, n = p.items[i].numel;
        same &= memcmp(p.param + o, q.param + o, n * 4) == 0 && memcmp(p.m + o, q.m + o, n * 4) == 0 &&
                memcmp(p.v + o, q.v + o, n * 4) == 0;
    }
    TDL_CHECK(same, "values or moments differ after the round trip");
    tdl_params_free(&q);
    tdl_safetensors st;
    TDL_CHECK(tdl_safetensors_read(&st, path) == TDL_OK, "reopen");
    TDL_CHECK(tdl_safetensors_meta(&st, "tdl_format") &&
                  strcmp(tdl_safetensors_meta(&st, "tdl_format"), "1") == 0 &&
                  tdl_safetensors_meta(&st, "epoch") && st.meta_count == 3,
              "metadata: tdl_format and the caller's pairs expected");
    tdl_safetensors_free(&st);

    /* A future format version is refused. */
    const char *future[] = {"tdl_format", "99"};
    int64_t s8[1] = {8};
    float zeros[8] = {0};
    tdl_st_entry one = {"x", 1, s8, zeros};
    TDL_CHECK(tdl_safetensors_write(path, &one, 1, future, 1) == TDL_OK, "write future");
    tdl_params_init(&q);
    tdl_params_add(&q, "x", 1, s8, 1);
    tdl_params_alloc(&q);
    TDL_CHECK(tdl_params_load(&q, path, 0) == TDL_ERR_UNSUPPORTED &&
                  strstr(tdl_last_error(), "format 99"),
              "future format accepted: %s", tdl_last_error());
    tdl_params_free(&q);
    TDL_CHECK(tdl_params_save(&p, path, meta, 2, 1) == TDL_OK, "save again");

    /* Weights only from a file with optimiser state: extra tensors refused. */
    make_table(&q, 8);
    tdl_status s = tdl_params_load(&q, path, 0);
    TDL_CHECK(s == TDL_ERR_SHAPE && strstr(tdl_last_error(), "unexpected tensor 'adam."),
              "extra tensors accepted: %s", tdl_last_error());
    tdl_params_free(&q);

    /* Wrong shapes refused with both shapes in the message. */
    make_table(&q, 4);
    s = tdl_params_load(&q, path, 1);
    TDL_CHECK(s == TDL_ERR_SHAPE && strstr(tdl_last_error(), "[32, 1]") &&
                  strstr(tdl_last_error(), "[16, 1]") && strstr(tdl_last_error(), path),
              "wrong shape: %s", tdl_last_error());
    tdl_params_free(&q);

    /* Missing tensor refused. */
    TDL_CHECK(tdl_params_save(&p, path, NULL, 0, 0) == TDL_OK, "save weights");
    tdl_params_init(&q);
    tdl_params_add(&q, "lstm1.weight_ih_l0", 2, (int64_t[]){32, 1}, 1);
    tdl_params_add(&q, "lstm2.weight_ih_l0", 2, (int64_t[]){32, 1}, 1);
    tdl_params_alloc(&q);
    s = tdl_params_load(&q, path, 0);
    TDL_CHECK(s == TDL_ERR_SHAPE && strstr(tdl_last_error(), "'lstm2.weight_ih_l0' is missing"),
              "missing tensor: %s", tdl_last_error());
    tdl_params_free(&q);
    remove(path);
    tdl_params_free(&p);
    printf("ok   table layout, refusals, save/load round trip, shape and name checks\n");
    return tdl_test_done("test_params");
}
