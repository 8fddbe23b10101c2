/* fuzz_config.c - fuzz target: CLI config files through sp_config_parse (cli/config.c compiled in) with the ingest command's options. */
#include "fuzz_util.h"

#include "../../cli/sp_config.h"

/* The ingest command's long options (cli/main.c). */
static const struct option opts[] = {
    {"db", required_argument, NULL, 256},         {"jsonl", required_argument, NULL, 257},
    {"node", required_argument, NULL, 258},       {"dead-letter", required_argument, NULL, 259},
    {"strict", no_argument, NULL, 260},           {"max-line", required_argument, NULL, 261},
    {"batch-rows", required_argument, NULL, 262}, {"commit-ms", required_argument, NULL, 263},
    {"fast-backfill", no_argument, NULL, 264},    {"follow", no_argument, NULL, 265},
    {"no-analyze", no_argument, NULL, 266},       {"metrics-file", required_argument, NULL, 267},
    {"config", required_argument, NULL, 'c'},     {"quiet", no_argument, NULL, 'q'},
    {"verbose", optional_argument, NULL, 'v'},    {NULL, 0, NULL, 0},
};

/* Input: the config file text. On success every arg is "--name" or
 * "--name=value" of a known option; on failure the message names the
 * path:line and the config is empty. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = sp_xmalloc(size ? size : 1); /* exact size: no terminator to lean on */
    struct sp_config c;
    struct sp_err err;
    memcpy(text, data, size);
    memset(&c, 0, sizeof c);
    int rc = sp_config_parse(&c, "fuzz.conf", text, size, opts, &err);
    if (rc == SP_OK) {
        for (int i = 0; i < c.nargs; i++) {
            if (!c.args[i] || strncmp(c.args[i], "--", 2) != 0) {
                fprintf(stderr, "config arg %d is not an option: %s\n", i, c.args[i] ? c.args[i] : "(null)");
                abort();
            }
        }
        if (c.args && c.args[c.nargs]) abort();
        if (c.inputs && c.inputs[c.ninputs]) abort();
    } else if (rc != SP_EUSAGE || strncmp(err.msg, "fuzz.conf", 9) != 0 || c.nargs != 0) {
        fprintf(stderr, "config failure not reported as usage with path: %d %s\n", rc, err.msg);
        abort();
    }
    sp_config_free(&c);
    free(text);
    return 0;
}
