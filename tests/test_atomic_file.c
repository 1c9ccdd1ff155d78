/* test_atomic_file.c: a committed file appears whole; an aborted or failed
 * one leaves the previous file untouched and no temporary file behind; a
 * symbolic link is written through, a FIFO in place; the check before long
 * work; the cleanup a signal handler calls; the lock. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

static void put(const char *path, const char *text) {
    tdl_atomic_file a;
    TDL_CHECK(tdl_atomic_file_open(&a, path) == TDL_OK, "open %s: %s", path, tdl_last_error());
    if (!a.f) return;
    fputs(text, a.f);
    TDL_CHECK(tdl_atomic_file_commit(&a) == TDL_OK, "commit %s: %s", path, tdl_last_error());
}

static int is_link(const char *path) {
    struct stat sb;
    return lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode);
}

/* A symbolic link is written through (its target replaced, the link kept),
 * also a relative one into another directory, a chain, and a dangling one
 * (its target created); a loop is refused. */
static void test_symlinks(const char *dir) {
    char real[160], link[160], sub[160], rel[160], chain[160], dang[160], made[160], loop[160];
    char buf[64];
    snprintf(real, sizeof real, "%s/real.txt", dir);
    snprintf(link, sizeof link, "%s/link.txt", dir);
    put(real, "old\n");
    TDL_CHECK(symlink("real.txt", link) == 0, "symlink");
    put(link, "through\n");
    slurp(real, buf, sizeof buf);
    TDL_CHECK(is_link(link) && strcmp(buf, "through\n") == 0,
              "link replaced (%d) or target not written ('%s')", is_link(link), buf);
    TDL_CHECK(count_prefixed(dir, "link.txt.tmp.") == 0 &&
                  count_prefixed(dir, "real.txt.tmp.") == 0,
              "temporary files left");
    char *t = tdl_atomic_file_target(link);
    TDL_CHECK(t && strstr(t, "/real.txt") && t[0] == '/', "target of the link: %s", t ? t : "-");
    free(t);

    snprintf(sub, sizeof sub, "%s/d", dir);
    mkdir(sub, 0755);
    snprintf(rel, sizeof rel, "%s/d/rel.txt", dir);
    TDL_CHECK(symlink("../real.txt", rel) == 0, "symlink");
    snprintf(chain, sizeof chain, "%s/chain.txt", dir);
    TDL_CHECK(symlink("d/rel.txt", chain) == 0, "symlink");
    put(chain, "chained\n");
    slurp(real, buf, sizeof buf);
    TDL_CHECK(is_link(chain) && is_link(rel) && strcmp(buf, "chained\n") == 0,
              "a chain of relative links: '%s'", buf);

    snprintf(dang, sizeof dang, "%s/dangling.txt", dir);
    snprintf(made, sizeof made, "%s/d/made.txt", dir);
    TDL_CHECK(symlink("d/made.txt", dang) == 0, "symlink");
    put(dang, "created\n");
    slurp(made, buf, sizeof buf);
    TDL_CHECK(is_link(dang) && strcmp(buf, "created\n") == 0,
              "a dangling link: its target created ('%s')", buf);

    snprintf(loop, sizeof loop, "%s/loop.txt", dir);
    TDL_CHECK(symlink("loop.txt", loop) == 0, "symlink");
    tdl_atomic_file a;
    TDL_CHECK(tdl_atomic_file_open(&a, loop) == TDL_ERR_IO, "a link loop: %s", tdl_last_error());
    remove(loop);
    remove(dang);
    remove(made);
    remove(chain);
    remove(rel);
    rmdir(sub);
    remove(link);
    remove(real);
}

/* A FIFO is written in place: the reader gets the data, the FIFO stays one
 * (a rename replaced it by a regular file). */
static void test_fifo(const char *dir) {
    char fifo[160];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    TDL_CHECK(mkfifo(fifo, 0644) == 0, "mkfifo");
    pid_t pid = fork();
    if (pid == 0) { /* the reader: exit 0 when it read exactly "piped\n" */
        char buf[64];
        FILE *f = fopen(fifo, "rb");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        buf[n] = '\0';
        _exit(f && strcmp(buf, "piped\n") == 0 ? 0 : 1);
    }
    put(fifo, "piped\n");
    int status = -1;
    waitpid(pid, &status, 0);
    struct stat sb;
    TDL_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the reader did not get the data");
    TDL_CHECK(lstat(fifo, &sb) == 0 && S_ISFIFO(sb.st_mode), "the FIFO was replaced");
    TDL_CHECK(count_prefixed(dir, "fifo.tmp.") == 0, "temporary file beside the FIFO");
    remove(fifo);
}

/* The check before long work. */
static void test_check(const char *dir) {
    char p[160];
    snprintf(p, sizeof p, "%s/fine.txt", dir);
    TDL_CHECK(tdl_atomic_file_check(p, 1) == TDL_OK, "a new file: %s", tdl_last_error());
    TDL_CHECK(access(p, F_OK) != 0 && count_prefixed(dir, "fine.txt") == 0,
              "the check left a file");
    snprintf(p, sizeof p, "%s/no/such/x", dir);
    TDL_CHECK(tdl_atomic_file_check(p, 0) == TDL_ERR_IO &&
                  strstr(tdl_last_error(), "cannot create"),
              "missing directory: %s", tdl_last_error());
    TDL_CHECK(tdl_atomic_file_check(dir, 0) == TDL_ERR_IO && strstr(tdl_last_error(),
                                                                    "is a directory"),
              "a directory: %s", tdl_last_error());
    snprintf(p, sizeof p, "%s/fifo2", dir);
    TDL_CHECK(mkfifo(p, 0644) == 0, "mkfifo");
    TDL_CHECK(tdl_atomic_file_check(p, 0) == TDL_OK, "a FIFO may be written in place");
    TDL_CHECK(tdl_atomic_file_check(p, 1) == TDL_ERR_IO && strstr(tdl_last_error(),
                                                                  "not a regular file"),
              "regular_only: %s", tdl_last_error());
    remove(p);
    snprintf(p, sizeof p, "%s/plain", dir);
    FILE *f = fopen(p, "w");
    if (f) fclose(f);
    snprintf(p, sizeof p, "%s/plain/x", dir);
    TDL_CHECK(tdl_atomic_file_check(p, 0) == TDL_ERR_IO, "a file as the directory");
    snprintf(p, sizeof p, "%s/plain", dir);
    remove(p);
}

/* tdl_atomic_file_cleanup (for a signal handler) removes open temporaries. */
static void test_cleanup(const char *dir) {
    char p[160];
    snprintf(p, sizeof p, "%s/pending.txt", dir);
    tdl_atomic_file a;
    TDL_CHECK(tdl_atomic_file_open(&a, p) == TDL_OK, "open");
    fputs("half", a.f);
    TDL_CHECK(count_prefixed(dir, "pending.txt.tmp.") == 1, "no temporary file while open");
    tdl_atomic_file_cleanup();
    TDL_CHECK(count_prefixed(dir, "pending.txt.tmp.") == 0, "cleanup left the temporary file");
    tdl_atomic_file_abort(&a);
    TDL_CHECK(access(p, F_OK) != 0, "target appeared");
}

/* One holder at a time, also within a process; released = removed. */
static void test_lock(const char *dir) {
    char p[160];
    snprintf(p, sizeof p, "%s/m.lock", dir);
    tdl_file_lock a, b;
    TDL_CHECK(tdl_file_lock_acquire(&a, p) == TDL_OK, "acquire: %s", tdl_last_error());
    char want[64];
    snprintf(want, sizeof want, "process %ld holds", (long)getpid());
    TDL_CHECK(tdl_file_lock_acquire(&b, p) == TDL_ERR_IO && strstr(tdl_last_error(), want),
              "a second holder: %s", tdl_last_error());
    tdl_file_lock_release(&b); /* a failed acquire releases nothing */
    TDL_CHECK(access(p, F_OK) == 0, "the failed acquire removed the holder's file");
    pid_t pid = fork();
    if (pid == 0) { /* another process: refused too */
        tdl_file_lock c;
        _exit(tdl_file_lock_acquire(&c, p) == TDL_ERR_IO ? 0 : 1);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    TDL_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "another process took the lock");
    tdl_file_lock_release(&a);
    tdl_file_lock_release(&a);
    TDL_CHECK(access(p, F_OK) != 0, "the lock file stays after release");
    TDL_CHECK(tdl_file_lock_acquire(&b, p) == TDL_OK, "acquire after release");
    tdl_file_lock_release(&b);
    tdl_file_lock z;
    memset(&z, 0, sizeof z);
    tdl_file_lock_release(&z);
    tdl_file_lock_release(NULL);
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
    TDL_CHECK(tdl_atomic_file_open(&a, bad) == TDL_ERR_IO && strstr(tdl_last_error(),
                                                                   "is a directory"),
              "a directory as the target: %s", tdl_last_error());
    TDL_CHECK(count_prefixed(dir, "sub.tmp.") == 0, "temporary file left for a directory");

    test_symlinks(dir);
    test_fifo(dir);
    test_check(dir);
    test_cleanup(dir);
    test_lock(dir);

    rmdir(bad);
    remove(path);
    rmdir(dir);
    return tdl_test_done("test_atomic_file");
}
