/*
 * bad_files.h: the manifest of malformed input files, tests/data/bad/expected.txt,
 * one line per file:  NAME LINE READER FRAGMENT...
 * READER is series, raw or both (which readers must refuse it); LINE and
 * FRAGMENT are what the refusal message must contain ("PATH:LINE: ...").
 */
#ifndef TDL_BAD_FILES_H
#define TDL_BAD_FILES_H

#include <stdio.h>
#include <string.h>

#include "tdl_test.h"

typedef struct bad_file {
    char name[128];
    size_t line;
    char reader[16];
    char fragment[384];
    char path[512];   /* DIR/NAME */
    char prefix[600]; /* "PATH:LINE: ", how the message must start */
} bad_file;

/* Call check(b) for every manifest entry whose reader is not skip_reader;
 * check prints its own line and returns 1 when the file was refused as
 * expected. Prints a summary and records one check: every entry passed and
 * there were at least min_files. */
static inline void bad_files_each(const char *dir, const char *what, const char *skip_reader,
                                  int min_files, int (*check)(const bad_file *b)) {
    char manifest[600];
    snprintf(manifest, sizeof manifest, "%s/expected.txt", dir);
    FILE *m = fopen(manifest, "r");
    TDL_CHECK(m != NULL, "cannot open %s", manifest);
    if (!m) return;
    char text[512];
    int files = 0, bad = 0;
    while (fgets(text, sizeof text, m)) {
        bad_file b;
        int used = 0;
        if (text[0] == '#' ||
            sscanf(text, "%127s %zu %15s %n", b.name, &b.line, b.reader, &used) < 3)
            continue;
        if (strcmp(b.reader, skip_reader) == 0) continue;
        snprintf(b.fragment, sizeof b.fragment, "%s", text + used);
        b.fragment[strcspn(b.fragment, "\n")] = '\0';
        snprintf(b.path, sizeof b.path, "%s/%s", dir, b.name);
        snprintf(b.prefix, sizeof b.prefix, "%s:%zu: ", b.path, b.line);
        int ok = check(&b);
        if (!ok) printf("     want prefix '%s' and '%s'\n", b.prefix, b.fragment);
        files++;
        bad += !ok;
    }
    fclose(m);
    int ok = bad == 0 && files >= min_files;
    printf("%s %s: %d, %d wrong\n", ok ? "ok  " : "FAIL", what, files, bad);
    tdl_test_record(ok);
}

#endif
