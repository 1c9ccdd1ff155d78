/* main.c: the tdl command line (skeleton, filled in below). */
#include <stdio.h>

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    printf("tdl %s\n", TDL_VERSION);
    return 0;
}
