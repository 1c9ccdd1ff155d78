/* series_rows.c: rows of 28, the ordered 70/30 split and the prediction
 * windows of 7 inputs and 1 target (spec section 2). */
#include "tdl/series.h"

size_t tdl_rows_count(size_t n) { return n / TDL_ROW_LEN; }

void tdl_series_rows(float *rows, const double *v, size_t n) {
    size_t m = tdl_rows_count(n) * TDL_ROW_LEN;
    for (size_t i = 0; i < m; i++) rows[i] = (float)v[i];
}

void tdl_rows_split(size_t R, size_t *ntrain, size_t *ntest) {
    /* ceil(0.3 R) exactly; agrees with ceil(0.3 * R) in doubles for every
     * R < 200,000 (checked). */
    size_t test = R / 10 * 3 + (R % 10 * 3 + 9) / 10;
    *ntest = test;
    *ntrain = R - test;
}

size_t tdl_series_test_count(size_t n) {
    return n < (size_t)TDL_TEST_MAX_VALUES ? n : (size_t)TDL_TEST_MAX_VALUES;
}

size_t tdl_windows_count(size_t R) { return R * TDL_WINDOWS_PER_ROW; }

void tdl_windows_all(float *x, float *y, const float *rows, size_t R) {
    for (size_t r = 0; r < R; r++) {
        const float *row = rows + r * TDL_ROW_LEN;
        for (int t = TDL_WINDOW_IN; t < TDL_ROW_LEN; t++) {
            size_t w = r * TDL_WINDOWS_PER_ROW + (size_t)(t - TDL_WINDOW_IN);
            for (int j = 0; j < TDL_WINDOW_IN; j++) x[w * TDL_WINDOW_IN + (size_t)j] = row[t - TDL_WINDOW_IN + j];
            y[w] = row[t];
        }
    }
}

void tdl_windows_at(float *x, float *y, const float *rows, size_t R, int t) {
    TDL_ASSERT(t >= TDL_WINDOW_IN && t < TDL_ROW_LEN, "window target t=%d outside [7, 27]", t);
    for (size_t r = 0; r < R; r++) {
        const float *row = rows + r * TDL_ROW_LEN;
        for (int j = 0; j < TDL_WINDOW_IN; j++) x[r * TDL_WINDOW_IN + (size_t)j] = row[t - TDL_WINDOW_IN + j];
        y[r] = row[t];
    }
}
