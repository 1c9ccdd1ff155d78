/* fuzz_common.h: checks shared by the libFuzzer targets of the text readers. */
#ifndef TDL_FUZZ_COMMON_H
#define TDL_FUZZ_COMMON_H

#include <stdlib.h>
#include <string.h>

#include "tdl/status.h"

/* A refusal of input named "fuzz" must be TDL_ERR_FORMAT with a message
 * "fuzz:LINE: ..." (LINE >= 1), or an out-of-memory report. */
static inline void fuzz_check_message(tdl_status s) {
    const char *m = tdl_last_error();
    if (s == TDL_ERR_NOMEM) return;
    if (s != TDL_ERR_FORMAT || strncmp(m, "fuzz:", 5) != 0) abort();
    m += 5;
    if (*m < '1' || *m > '9') abort();
    while (*m >= '0' && *m <= '9') m++;
    if (m[0] != ':' || m[1] != ' ') abort();
}

#endif
