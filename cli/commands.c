/* commands.c - the table of slogpipe subcommands other than `ingest`. */
#include "sp_cli.h"

#include <stddef.h>

const struct sp_command sp_commands[] = {
    {NULL, NULL},
};
