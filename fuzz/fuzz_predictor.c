/* fuzz_predictor.c: libFuzzer target for a predictor model file as serving
 * reads it: tdl_predictor_load (the safetensors reader, the config and the
 * serving metadata: range, row length, method, rule and constants), then a
 * provisioner opened on it and a few slots pushed. Build and run (clang,
 * from the repository root):  make fuzz
 * Any input must be refused with a status or served; never a crash, leak or
 * undefined behaviour. The input goes through a memory file (memfd) because
 * the loader takes a path. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tdl/predictor.h"
#include "tdl/provisioner.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int fd = memfd_create("model", 0);
    if (fd < 0) return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    tdl_predictor p;
    if (tdl_predictor_load(&p, path) == TDL_OK) {
        /* small sizes only: a fuzzed config may ask for large tensors, which
         * the file then holds; serving them is fine but slow */
        if (p.cfg.T <= 64 && p.cfg.H1 <= 256 && p.cfg.H2 <= 256 && p.cfg.F <= 256) {
            tdl_provisioner_options o;
            tdl_provisioner_options_default(&o);
            o.range_given = !p.meta.has_range;
            o.range.min = 0.0;
            o.range.max = 1000.0;
            tdl_provisioner *pv = NULL;
            if (tdl_provisioner_open_predictor(&pv, &p, &o) == TDL_OK) {
                tdl_provisioner_decision d;
                for (int i = 0; i < 2 * p.cfg.T + 2; i++)
                    (void)tdl_provisioner_push(pv, 100.0 * (double)(i % 7), &d);
            }
            tdl_provisioner_close(pv);
        }
        tdl_predictor_free(&p);
    }
    close(fd);
    return 0;
}
