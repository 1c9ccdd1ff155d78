/* test_status.c: messages, context prefixes, names, per-thread isolation. */
#include <omp.h>
#include <string.h>

#include "tdl/status.h"
#include "tdl_test.h"

int main(void) {
    tdl_error_clear();
    TDL_CHECK(strcmp(tdl_last_error(), "") == 0, "message not cleared");
    tdl_status s = tdl_error(TDL_ERR_IO, "cannot open %s", "x.csv");
    TDL_CHECK(s == TDL_ERR_IO && strcmp(tdl_last_error(), "cannot open x.csv") == 0, "message");
    s = tdl_error_context(s, "loading %s", "model");
    TDL_CHECK(strcmp(tdl_last_error(), "loading model: cannot open x.csv") == 0, "context: %s",
              tdl_last_error());
    char big[3000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    tdl_error(TDL_ERR_FORMAT, "%s", big);
    tdl_error_context(TDL_ERR_FORMAT, "%s", big);
    TDL_CHECK(strlen(tdl_last_error()) < 1024, "message overflow");
    TDL_CHECK(strcmp(tdl_status_name(TDL_ERR_SHAPE), "SHAPE") == 0, "name");
    TDL_CHECK(strcmp(tdl_status_name((tdl_status)999), "UNKNOWN") == 0, "unknown name");
    /* Messages are per thread. */
    tdl_error(TDL_ERR_IO, "main thread");
    int other_ok = 0;
#pragma omp parallel num_threads(2)
    {
        if (omp_get_thread_num() == 1) {
            tdl_error(TDL_ERR_FORMAT, "worker");
            other_ok = strcmp(tdl_last_error(), "worker") == 0;
        }
    }
    TDL_CHECK(omp_get_max_threads() < 2 || other_ok, "worker message");
    TDL_CHECK(strcmp(tdl_last_error(), "main thread") == 0, "message leaked across threads: %s",
              tdl_last_error());
    return tdl_test_done("test_status");
}
