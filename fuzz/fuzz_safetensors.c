/* fuzz_safetensors.c: libFuzzer target for the safetensors reader.
 * Build and run (clang, from the repository root):  make fuzz
 * Any input must be either refused with a status or parsed into tensors that
 * lie inside the data; never a crash, leak or undefined behaviour. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tdl/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tdl_safetensors st;
    if (tdl_safetensors_parse(&st, data, size) == TDL_OK) {
        for (int i = 0; i < st.count; i++) {
            const tdl_st_tensor *t = &st.tensors[i];
            if (t->end > st.data_len || t->end - t->begin != 4 * t->numel) abort();
            float *x = malloc(t->numel * sizeof(float) + 1);
            if (x) tdl_safetensors_copy(&st, t, x);
            free(x);
        }
    }
    tdl_safetensors_free(&st);
    return 0;
}
