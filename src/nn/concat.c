/* concat.c: channel concatenation of two feature maps and its split backward. */
#include <string.h>

#include "tdl/nn.h"
#include "tdl/status.h"

// out (B, C1 + C2, S), a (B, C1, S), b (B, C2, S).
void tdl_concat_forward(float *out, const float *a, const float *b, int B, int C1, int C2, int S) {
    TDL_ASSERT(out && a && b, "NULL argument");
    TDL_ASSERT(B > 0 && C1 > 0 && C2 > 0 && S > 0, "bad shape B=%d C1=%d C2=%d S=%d", B, C1, C2,
               S);
    const size_t na = (size_t)C1 * S, nb = (size_t)C2 * S;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < B; i++) {
        float *o = out + (size_t)i * (na + nb);
        memcpy(o, a + (size_t)i * na, na * sizeof(float));
        memcpy(o + na, b + (size_t)i * nb, nb * sizeof(float));
    }
}

// da (B, C1, S), db (B, C2, S) (either may be NULL) += the two parts of dout (B, C1 + C2, S).
void tdl_concat_backward(float *da, float *db, const float *dout, int B, int C1, int C2, int S) {
    TDL_ASSERT(dout, "NULL argument");
    TDL_ASSERT(B > 0 && C1 > 0 && C2 > 0 && S > 0, "bad shape B=%d C1=%d C2=%d S=%d", B, C1, C2,
               S);
    const size_t na = (size_t)C1 * S, nb = (size_t)C2 * S;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < B; i++) {
        const float *d = dout + (size_t)i * (na + nb);
        if (da) {
            float *x = da + (size_t)i * na;
            for (size_t j = 0; j < na; j++) x[j] += d[j];
        }
        if (db) {
            float *x = db + (size_t)i * nb;
            for (size_t j = 0; j < nb; j++) x[j] += d[na + j];
        }
    }
}
