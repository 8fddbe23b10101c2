/* fuzz_normalize.c - fuzz target: slog lines through sp_normalize_line + sp_assembler_feed (+ checkpoint save/restore). */
#include "fuzz_util.h"

#include "../../normalize/sp_assemble.h"
#include "../../normalize/sp_normalize.h"

/*
 * Input: slog text, one JSON line per '\n'. Every line is normalized; good
 * events go through the assembler and every record (event, completed
 * delivery) is serialized. At the end the assembler state is saved and
 * restored into a fresh assembler (must succeed), and pending deliveries
 * are flushed. A first line starting with "#R" is instead handed to
 * sp_assembler_restore as checkpoint state (bad state must be refused
 * cleanly).
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sp_normalizer *nz;
    const char *p = (const char *)data, *end = p + size;
    struct sp_assembler *a = sp_assembler_new(), *b;
    struct sp_buf state;
    struct sp_err err;
    int64_t lineno = 0;

    if (!nz) nz = sp_normalizer_new();
    if (size >= 2 && p[0] == '#' && p[1] == 'R') {
        const char *nl = memchr(p, '\n', size);
        size_t n = nl ? (size_t)(nl - p) : size;
        sp_assembler_restore(a, p + 2, n - 2, &err);
        p += nl ? n + 1 : n;
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        struct sp_origin origin = {SP_STR_LIT("n1"), SP_STR_LIT("fuzz.jsonl"), ++lineno, p - (const char *)data};
        struct sp_event ev;
        const struct sp_delivery *done = NULL;
        if (sp_normalize_line(nz, p, n, &origin, &ev, &err) == SP_OK) {
            struct sp_record rec = {SP_REC_EVENT, {.event = &ev}};
            if (sp_assembler_feed(a, &ev, &done, &err) == SP_OK) {
                fuzz_check_record(&rec);
                if (done) {
                    struct sp_record dr = {SP_REC_DELIVERY, {.delivery = done}};
                    fuzz_check_record(&dr);
                }
            }
        } else if (err.msg[0] == '\0') {
            fprintf(stderr, "sp_normalize_line failed without a message\n");
            abort();
        }
        p += nl ? n + 1 : n;
    }

    /* A checkpoint taken now must restore. */
    sp_buf_init(&state, 0);
    sp_assembler_save(a, &state);
    b = sp_assembler_new();
    if (sp_assembler_restore(b, state.data ? state.data : "", state.len, &err) != SP_OK) {
        fprintf(stderr, "saved assembler state does not restore: %s\n%.*s\n", err.msg, (int)state.len,
                state.data);
        abort();
    }
    sp_buf_free(&state);
    for (const struct sp_delivery *d; (d = sp_assembler_flush(a)) != NULL;) {
        struct sp_record dr = {SP_REC_DELIVERY, {.delivery = d}};
        fuzz_check_record(&dr);
    }
    sp_assembler_destroy(b);
    sp_assembler_destroy(a);
    return 0;
}
