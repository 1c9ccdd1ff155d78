/* test_atomic_file.c: a committed file appears whole; an aborted or failed
 * one leaves the previous file untouched and no temporary file behind. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tdl/atomic_file.h"
#include "tdl_test.h"

/* Files in dir whose name starts with prefix. */
static int count_prefixed(const char *dir, const char *prefix) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

static void slurp(const char *path, char *buf, size_t cap) {
    buf[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f) return;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

int main(void) {
    char dir[] = "/tmp/tdl_atomic_XXXXXX";
    TDL_CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char path[128], buf[64];
    snprintf(path, sizeof path, "%s/out.txt", dir);

    tdl_atomic_file a;
    TDL_CHECK(tdl_atomic_file_open(&a, path) == TDL_OK, "open: %s", tdl_last_error());
    fputs("first\n", a.f);
    TDL_CHECK(access(path, F_OK) != 0, "target visible before commit");
    TDL_CHECK(tdl_atomic_file_commit(&a) == TDL_OK, "commit: %s", tdl_last_error());
    slurp(path, buf, sizeof buf);
    TDL_CHECK(strcmp(buf, "first\n") == 0, "committed content '%s'", buf);
    struct stat sb;
    TDL_CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0644, "mode %o", sb.st_mode & 0777);

    /* Abort: the old content stays, the temporary file goes. */
    TDL_CHECK(tdl_atomic_file_open(&a, path) == TDL_OK, "reopen");
    fputs("second, never committed\n", a.f);
    tdl_atomic_file_abort(&a);
    tdl_atomic_file_abort(&a); /* twice is harmless */
    tdl_atomic_file_abort(NULL);
    slurp(path, buf, sizeof buf);
    TDL_CHECK(strcmp(buf, "first\n") == 0, "abort changed the target: '%s'", buf);
    TDL_CHECK(count_prefixed(dir, "out.txt.tmp.") == 0, "temporary file left after abort");

    /* A failed write (a stream error) fails the commit and keeps the old file. */
    TDL_CHECK(tdl_atomic_file_open(&a, path) == TDL_OK, "reopen");
    fputs("third\n", a.f);
    (void)fgetc(a.f); /* reading a write-only stream sets its error flag */
    TDL_CHECK(tdl_atomic_file_commit(&a) == TDL_ERR_IO, "commit after a stream error succeeded");
    slurp(path, buf, sizeof buf);
    TDL_CHECK(strcmp(buf, "first\n") == 0, "failed commit changed the target: '%s'", buf);
    TDL_CHECK(count_prefixed(dir, "out.txt.tmp.") == 0, "temporary file left after failure");

    /* Missing directory; target is a directory. */
    char bad[160];
    snprintf(bad, sizeof bad, "%s/no/such/x", dir);
    TDL_CHECK(tdl_atomic_file_open(&a, bad) == TDL_ERR_IO && strstr(tdl_last_error(), "no/such"),
              "missing directory: %s", tdl_last_error());
    TDL_CHECK(tdl_atomic_file_open(&a, "") == TDL_ERR_INVALID, "empty path");
    snprintf(bad, sizeof bad, "%s/sub", dir);
    mkdir(bad, 0755);
    TDL_CHECK(tdl_atomic_file_open(&a, bad) == TDL_OK, "open beside a directory");
    TDL_CHECK(tdl_atomic_file_commit(&a) == TDL_ERR_IO && strstr(tdl_last_error(), "rename"),
              "rename over a directory: %s", tdl_last_error());
    TDL_CHECK(count_prefixed(dir, "sub.tmp.") == 0, "temporary file left after a failed rename");

    rmdir(bad);
    remove(path);
    rmdir(dir);
    return tdl_test_done("test_atomic_file");
}
