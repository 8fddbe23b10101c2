/* main.c - slogpipe command line: subcommand dispatch (ingest, timeline, anomalies, query, report, extract). */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "../core/sp_core.h"

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("slogpipe %s\n", SP_VERSION);
        return 0;
    }
    fprintf(stderr, "usage: slogpipe COMMAND ...\n");
    return EX_USAGE;
}
