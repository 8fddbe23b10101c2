/* commands.c - the table of slogpipe subcommands other than `ingest`. */
#include "sp_cli.h"

#include <stddef.h>

#include "sp_commands.h"
#include "sp_ux.h"

const struct sp_command sp_commands[] = {
    {"timeline", sp_cmd_timeline},
    {"anomalies", sp_cmd_anomalies},
    {"query", sp_cmd_query},
    {"report", sp_cmd_report},
    {"extract", sp_cmd_extract},
    {"diverge", sp_cmd_diverge},
    {"explain", sp_cmd_explain},
    {NULL, NULL},
};
