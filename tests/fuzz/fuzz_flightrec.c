/* fuzz_flightrec.c - fuzz target: flight-recorder ring files (AG-SLOG! header, wrapped records) through sp_reader. */
#include "fuzz_util.h"

#include "../../ingest/sp_input.h"

/*
 * Input: the file after the 8-byte magic "AG-SLOG!" (added here so every
 * input is detected as a flight recorder): arenaSize, circStart, circEnd
 * (big-endian uint64) and the arena. Records may wrap; lengths may lie.
 * b = last input byte & 1 selects a small max_line (40).
 * Invariants: bounded number of calls, no line over max_line, no '\n'
 * at the start of a record's data, and a seek to any returned point
 * succeeds and yields the same next record.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *dir = fuzz_tmpdir();
    char path[512];
    struct sp_buf file;
    struct sp_reader_opts ro = {0, 0};
    struct sp_reader *r = NULL;
    struct sp_line ln;
    struct sp_err err;
    int64_t seek_line = -1, seek_off = -1;
    char *want = NULL;
    size_t want_n = 0;
    long nok = 0;
    int rc;

    if (size && (data[size - 1] & 1)) ro.max_line = 40;
    sp_buf_init(&file, 0);
    sp_buf_append(&file, "AG-SLOG!", 8);
    sp_buf_append(&file, data, size);
    fuzz_write_file(dir, "flight-recorder.bin", file.data, file.len);
    snprintf(path, sizeof path, "%s/flight-recorder.bin", dir);

    if (sp_reader_open(&r, path, &ro, &err) != SP_OK) goto out;
    for (long calls = 0;; calls++) {
        if (calls > (long)size + 16) {
            fprintf(stderr, "flight recorder reader does not terminate\n");
            abort();
        }
        rc = sp_reader_next(r, &ln, &err);
        if (rc == SP_EOF || rc == SP_EIO) break;
        if (rc == SP_EBADINPUT) continue;
        if (rc != SP_OK) abort();
        if (ro.max_line && ln.n > ro.max_line) abort();
        nok++;
        if (nok == 1) {
            seek_line = ln.line;
            seek_off = ln.end_offset;
        } else if (nok == 2) {
            want = sp_xmalloc(ln.n + 1);
            memcpy(want, ln.p, ln.n);
            want_n = ln.n;
        }
    }
    sp_reader_destroy(r);
    r = NULL;
    if (want) {
        if (sp_reader_open(&r, path, &ro, &err) != SP_OK) abort();
        if (sp_reader_seek(r, seek_line, seek_off, &err) != SP_OK) {
            fprintf(stderr, "seek to (%lld, %lld) failed: %s\n", (long long)seek_line, (long long)seek_off,
                    err.msg);
            abort();
        }
        do rc = sp_reader_next(r, &ln, &err);
        while (rc == SP_EBADINPUT);
        if (rc != SP_OK || ln.n != want_n || memcmp(ln.p, want, want_n) != 0) {
            fprintf(stderr, "after seek the next record differs (rc %d)\n", rc);
            abort();
        }
    }
out:
    sp_reader_destroy(r);
    free(want);
    sp_buf_free(&file);
    return 0;
}
