/* sp_config.h - config files for the CLI: `key = value` lines mapped onto a command's long options. */
#ifndef SP_CONFIG_H
#define SP_CONFIG_H

#include <getopt.h>
#include "../core/sp_core.h"

/*
 * Format (one setting per line, '#' or ';' starts a comment line):
 *     db = /var/lib/slogpipe/main.db
 *     node = validator-1
 *     strict = true            # flags take true/false
 *     input = /var/log/agd/slog.jsonl.gz   # repeatable
 * Keys are the command's long option names (`_` may stand for `-`). An
 * unknown key is an error naming the nearest valid key. The settings become
 * "--key=value" arguments placed BEFORE the command line's own, so flags
 * given on the command line override the file.
 */
struct sp_config {
    char **args;   /* "--key=value" / "--flag", NULL-terminated; owned */
    int nargs;
    char **inputs; /* `input =` values, NULL-terminated; owned */
    int ninputs;
};

/* Parse text (n bytes) read from `path` (used in messages). SP_OK, or
 * SP_EUSAGE with "path:line: ..." in err (c is then empty). */
int sp_config_parse(struct sp_config *c, const char *path, const char *text, size_t n,
                    const struct option *opts, struct sp_err *err);
/* Read and parse a file (at most 1 MiB). */
int sp_config_load(struct sp_config *c, const char *path, const struct option *opts, struct sp_err *err);
void sp_config_free(struct sp_config *c);
/* The option name closest to key (edit distance), for "did you mean". */
const char *sp_config_nearest(const char *key, const struct option *opts);

#endif
