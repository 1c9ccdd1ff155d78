/* cmd_data.c: `tdl data SUBCOMMAND`: workload series and request logs.
 * Subcommands: slots (cmd_data_slots.c), info (cmd_data_info.c), corrupt
 * (cmd_data_corrupt.c). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char data_usage[] =
    "usage: tdl data SUBCOMMAND [ARGS...]\n"
    "  info    values, rows, range, mean, std, period, W1 to a training series\n"
    "  slots   sum a raw request log's tokens into fixed time slots\n"
    "  corrupt a series with Cutout, Perlin or Gaussian noise (Fig. 2's test sets)\n"
    "`tdl data SUBCOMMAND --help` for each.\n";

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
} data_command;

static const data_command data_commands[] = {
    {"info", tdl_cmd_data_info},
    {"slots", tdl_cmd_data_slots},
    {"corrupt", tdl_cmd_data_corrupt},
};

int tdl_cmd_data(int argc, char **argv) {
    if (argc < 2) return tdl_cli_usage_error(data_usage, "no data subcommand given");
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        fputs(data_usage, stdout);
        return TDL_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof data_commands / sizeof *data_commands; i++)
        if (strcmp(name, data_commands[i].name) == 0) return data_commands[i].run(argc - 1, argv + 1);
    return tdl_cli_usage_error(data_usage, "unknown data subcommand '%s'", name);
}
