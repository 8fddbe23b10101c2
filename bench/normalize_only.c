/* normalize_only.c - benchmark stage driver: slogpipe's real reader + normalizer + assembler on one input, no sink. */
#include <stdio.h>
#include <stdlib.h>

#include "../core/sp_core.h"
#include "../ingest/sp_input.h"
#include "../normalize/sp_assemble.h"
#include "../normalize/sp_normalize.h"

/* The per-line work of sp_pipeline_line up to the sinks: frame, normalize,
 * assemble (context + delivery pairing with hashes). Counts what it saw so
 * the compiler cannot drop the work. */
int main(int argc, char **argv)
{
    struct sp_reader *r = NULL;
    struct sp_reader_opts ro = {0};
    struct sp_normalizer *nz;
    struct sp_assembler *as;
    struct sp_line ln;
    struct sp_event ev;
    struct sp_origin origin;
    struct sp_err err;
    long long lines = 0, bad = 0, deliveries = 0, frame_bad = 0;
    int rc;

    if (argc != 2) {
        fprintf(stderr, "usage: normalize_only SLOG[.gz]\n");
        return 64;
    }
    sp_err_clear(&err);
    if (sp_reader_open(&r, argv[1], &ro, &err) != SP_OK) {
        fprintf(stderr, "normalize_only: %s\n", err.msg);
        return 66;
    }
    nz = sp_normalizer_new();
    as = sp_assembler_new();
    origin.node = sp_str_c("bench");
    origin.source = sp_str_c(argv[1]);
    while ((rc = sp_reader_next(r, &ln, &err)) != SP_EOF) {
        const struct sp_delivery *done = NULL;
        if (rc == SP_EBADINPUT) {
            frame_bad++;
            continue;
        }
        if (rc != SP_OK) {
            fprintf(stderr, "normalize_only: %s\n", err.msg);
            return 74;
        }
        lines++;
        origin.line = ln.line;
        origin.offset = ln.offset;
        if (sp_normalize_line(nz, ln.p, ln.n, &origin, &ev, &err) != SP_OK ||
            sp_assembler_feed(as, &ev, &done, &err) != SP_OK) {
            bad++;
            continue;
        }
        if (done) deliveries++;
    }
    while (sp_assembler_flush(as)) deliveries++;
    printf("%lld lines, %lld bad, %lld framing errors, %lld deliveries\n", lines, bad, frame_bad, deliveries);
    sp_assembler_destroy(as);
    sp_normalizer_destroy(nz);
    sp_reader_destroy(r);
    return 0;
}
