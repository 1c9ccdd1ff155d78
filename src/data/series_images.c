/* series_images.c: 1x28x28 images of 28 consecutive rows for the diffusion
 * model (spec section 4). */
#include <string.h>

#include "tdl/series.h"

size_t tdl_images_count(size_t R) { return (R + TDL_IMAGE_SIDE - 1) / TDL_IMAGE_SIDE; }

void tdl_images_from_rows(float *img, size_t count, const float *rows, size_t R) {
    TDL_ASSERT(R >= 1, "images of an empty set of rows");
    size_t nimg = tdl_images_count(R);
    for (size_t i = 0; i < count; i++) {
        size_t k = i % nimg;
        float *dst = img + i * TDL_IMAGE_SIDE * TDL_ROW_LEN;
        for (size_t j = 0; j < TDL_IMAGE_SIDE; j++) {
            size_t g = k * TDL_IMAGE_SIDE + j;
            if (g >= R) g = (g - R) % R; /* complete the last group from the start */
            memcpy(dst + j * TDL_ROW_LEN, rows + g * TDL_ROW_LEN, TDL_ROW_LEN * sizeof *dst);
        }
    }
}
