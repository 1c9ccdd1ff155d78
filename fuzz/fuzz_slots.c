/* fuzz_slots.c: libFuzzer target for timestamps and the request-log reader.
 * Build and run (clang, from the repository root):  make fuzz
 * The first byte picks the slot length and whether generated tokens count;
 * the rest is the log. A log must be either summed into slots whose total is
 * the requests' total, or refused with a "NAME:LINE: " message; the same
 * bytes as one timestamp must parse to a second that formats and parses back
 * to itself. Never a crash, leak or undefined behaviour. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tdl/slots.h"

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const int64_t seconds[8] = {5, 1, 7, 60, 3600, 86400, 2, 0};
    unsigned pick = size ? data[0] : 0;
    const uint8_t *text = size ? data + 1 : data;
    size_t len = size ? size - 1 : 0;

    int64_t sec;
    int32_t ns;
    const char *why;
    if (tdl_time_parse((const char *)text, len, &sec, &ns, &why) == 0) {
        if (ns < 0 || ns > 999999999) abort();
        char iso[32];
        int64_t back;
        /* A zone offset can move year 0001 or 9999 just outside the range. */
        if (sec >= INT64_C(-62135596800) && sec <= INT64_C(253402300799)) {
            tdl_time_format(sec, iso);
            if (tdl_time_parse(iso, strlen(iso), &back, &ns, &why) != 0 || back != sec) abort();
        }
    }

    tdl_slots_options opt = {seconds[pick & 7], (pick >> 3) & 1, 100000};
    tdl_slots s;
    tdl_status st = tdl_slots_parse(text, len, "fuzz", &opt, &s);
    if (st == TDL_OK) {
        int64_t S = opt.seconds ? opt.seconds : TDL_SLOTS_SECONDS_DEFAULT;
        if (s.tokens.n == 0 || s.tokens.n > opt.max_slots || s.requests == 0 || s.seconds != S)
            abort();
        if (s.start % S != 0) abort();
        double sum = 0;
        size_t empty = 0;
        for (size_t k = 0; k < s.tokens.n; k++) sum += s.tokens.v[k], empty += s.tokens.v[k] == 0;
        if (sum != (double)s.total || empty != s.empty_slots) abort();
        tdl_slots_free(&s);
    } else {
        if (s.tokens.v || s.tokens.n) abort();
        fuzz_check_message(st);
    }
    return 0;
}
