/* test_concat.c: channel concatenation by central differences and against
 * torch.cat (tools/fixturegen/image.py, fixture "concat"). */
#include <stdlib.h>
#include <string.h>

#include "tdl/nn.h"
#include "tdl_test.h"

/* A copy: central differences are exact up to float rounding of L / 2h. */
#define FD_H 1e-2
#define FD_ATOL 1e-4
#define FD_RTOL 1e-4

typedef struct {
    int B, C1, C2, S;
    float *out, *a, *b, *r;
} cat_ctx;

static double cat_loss(void *p) {
    cat_ctx *c = (cat_ctx *)p;
    tdl_concat_forward(c->out, c->a, c->b, c->B, c->C1, c->C2, c->S);
    return tdl_test_dot(c->out, c->r, (size_t)c->B * (c->C1 + c->C2) * c->S);
}

static void test_fd(int B, int C1, int C2, int S) {
    printf("-- concat FD B=%d C1=%d C2=%d S=%d\n", B, C1, C2, S);
    cat_ctx c = {B, C1, C2, S, 0, 0, 0, 0};
    const size_t na = (size_t)B * C1 * S, nb = (size_t)B * C2 * S, no = na + nb;
    c.out = tdl_test_floats(no);
    c.a = tdl_test_uniform(na, -1.0f, 1.0f, 41);
    c.b = tdl_test_uniform(nb, -1.0f, 1.0f, 42);
    c.r = tdl_test_uniform(no, -1.0f, 1.0f, 43);
    float *da = tdl_test_floats(na), *db = tdl_test_floats(nb);
    tdl_concat_backward(da, db, c.r, B, C1, C2, S);
    tdl_test_gradcheck("concat a", cat_loss, &c, c.a, da, na, FD_H, FD_ATOL, FD_RTOL, NULL, 0);
    tdl_test_gradcheck("concat b", cat_loss, &c, c.b, db, nb, FD_H, FD_ATOL, FD_RTOL, NULL, 0);
    /* Adds into non-zero gradients; a NULL gradient is skipped. */
    float *acc = tdl_test_uniform(na, -1.0f, 1.0f, 44), *want = tdl_test_floats(na);
    for (size_t i = 0; i < na; i++) want[i] = acc[i] + da[i];
    tdl_concat_backward(acc, NULL, c.r, B, C1, C2, S);
    tdl_test_allclose("concat adds da", acc, want, na, 1e-6, 1e-6);
    float *accb = tdl_test_uniform(nb, -1.0f, 1.0f, 45), *wantb = tdl_test_floats(nb);
    for (size_t i = 0; i < nb; i++) wantb[i] = accb[i] + db[i];
    tdl_concat_backward(NULL, accb, c.r, B, C1, C2, S);
    tdl_test_allclose("concat adds db", accb, wantb, nb, 1e-6, 1e-6);
    free(acc), free(want), free(accb), free(wantb);
    free(da), free(db), free(c.out), free(c.a), free(c.b), free(c.r);
}

static void test_torch(void) {
    printf("-- concat vs torch.cat\n");
    tdl_safetensors st;
    tdl_test_fixture(&st, "concat");
    const int B = 2, C1 = 3, C2 = 2, S = 6;
    size_t na, nb, no;
    float *a = tdl_test_tensor(&st, "concat.a", &na), *b = tdl_test_tensor(&st, "concat.b", &nb);
    float *r = tdl_test_tensor(&st, "concat.dout", &no);
    float *want = tdl_test_tensor(&st, "concat.out", NULL);
    float *want_da = tdl_test_tensor(&st, "concat.da", NULL);
    float *want_db = tdl_test_tensor(&st, "concat.db", NULL);
    TDL_CHECK(na == (size_t)B * C1 * S && nb == (size_t)B * C2 * S && no == na + nb,
              "fixture shapes %zu %zu %zu", na, nb, no);
    float *out = tdl_test_floats(no), *da = tdl_test_floats(na), *db = tdl_test_floats(nb);
    tdl_concat_forward(out, a, b, B, C1, C2, S);
    tdl_test_allclose("torch concat out", out, want, no, 0.0, 0.0);
    tdl_concat_backward(da, db, r, B, C1, C2, S);
    tdl_test_allclose("torch concat da", da, want_da, na, 0.0, 0.0);
    tdl_test_allclose("torch concat db", db, want_db, nb, 0.0, 0.0);
    free(a), free(b), free(r), free(want), free(want_da), free(want_db), free(out), free(da),
        free(db);
    tdl_safetensors_free(&st);
}

int main(void) {
    test_fd(2, 3, 2, 5);
    test_fd(3, 1, 4, 7);
    test_torch();
    return tdl_test_done("test_concat");
}
