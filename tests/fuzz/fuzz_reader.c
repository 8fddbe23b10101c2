/* fuzz_reader.c - fuzz target: line framing of sp_reader over plain and gzip files, small max_line, lines across read-chunk boundaries. */
#include "fuzz_util.h"

#include <zlib.h>

#include "../../ingest/sp_input.h"
#include "../../ingest/sp_reader_int.h" /* SP_READ_CHUNK */

/*
 * Input: b0 = flags, b1 = parameter, rest = content.
 *   b0 & 1: the content is gzip-compressed here (so framing inside gzip is
 *           reached without valid CRCs); b0 & 2 splits it into two gzip
 *           members at b1 * len / 256. Without bit 0 the content is written
 *           as is (raw gzip, corrupt or truncated gzip, plain text).
 *   b0 & 4: max_line = 1 + b1 % 64 (lines over it are skipped with
 *           SP_EBADINPUT naming the line).
 *   b0 & 8: a filler line first, so the content starts SP_READ_CHUNK - b1
 *           bytes in: lines straddle the first chunk boundary.
 *   b0 & 16: after reading everything, reopen and sp_reader_seek to the
 *           (line, offset) of the middle line, and check the next line is
 *           the same as in the first pass.
 * Invariants: every SP_OK line lies within max_line, has no '\n', offsets
 * increase, line numbers increase by one per framed line (bad lines count),
 * and reading ends with SP_EOF (or SP_EIO) after a bounded number of calls.
 */
static void gz_append(struct sp_buf *out, const uint8_t *p, size_t n)
{
    z_stream zs;
    unsigned char buf[4096];
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) abort();
    zs.next_in = (unsigned char *)p;
    zs.avail_in = (uInt)n;
    int zrc;
    do {
        zs.next_out = buf;
        zs.avail_out = sizeof buf;
        zrc = deflate(&zs, Z_FINISH);
        sp_buf_append(out, buf, sizeof buf - zs.avail_out);
    } while (zrc == Z_OK);
    deflateEnd(&zs);
}

struct seen {
    int64_t line, offset;
    char *text;
    size_t n;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *dir = fuzz_tmpdir();
    char path[512];
    struct sp_buf file, plain;
    struct sp_reader_opts ro = {0, 0};
    struct sp_reader *r = NULL;
    struct sp_line ln;
    struct sp_err err;
    struct seen mid = {-1, -1, NULL, 0};
    int64_t last_line = 0, last_off = -1, nok = 0;
    uint8_t b0, b1;
    int rc;

    if (size < 2) return 0;
    b0 = data[0];
    b1 = data[1];
    data += 2;
    size -= 2;
    sp_buf_init(&file, 0);
    sp_buf_init(&plain, 0);
    if (b0 & 8) {
        size_t fill = SP_READ_CHUNK - b1;
        sp_buf_reserve(&plain, fill);
        memset(plain.data, 'x', fill - 1);
        plain.data[fill - 1] = '\n';
        plain.len = fill;
    }
    sp_buf_append(&plain, data, size);
    if (b0 & 1) {
        size_t cut = (b0 & 2) ? (size_t)b1 * plain.len / 256 : plain.len;
        gz_append(&file, (const uint8_t *)plain.data, cut);
        if (cut < plain.len) gz_append(&file, (const uint8_t *)plain.data + cut, plain.len - cut);
    } else {
        sp_buf_append(&file, plain.data, plain.len);
    }
    if (b0 & 4) ro.max_line = 1 + b1 % 64;
    fuzz_write_file(dir, "in", file.data ? file.data : "", file.len);
    snprintf(path, sizeof path, "%s/in", dir);

    rc = sp_reader_open(&r, path, &ro, &err);
    if (rc != SP_OK) goto out; /* not a slog (e.g. detected as something else): refused cleanly */
    for (long calls = 0;; calls++) {
        if (calls > (long)(plain.len + file.len) + 16) {
            fprintf(stderr, "reader does not terminate\n");
            abort();
        }
        rc = sp_reader_next(r, &ln, &err);
        if (rc == SP_EOF || rc == SP_EIO) break;
        if (rc == SP_EBADINPUT) continue;
        if (rc != SP_OK) abort();
        if (ro.max_line && ln.n > ro.max_line) {
            fprintf(stderr, "line of %zu bytes over max_line %zu\n", ln.n, ro.max_line);
            abort();
        }
        if (memchr(ln.p, '\n', ln.n) || ln.line <= last_line || ln.offset <= last_off ||
            ln.end_offset < ln.offset + (int64_t)ln.n) {
            fprintf(stderr, "bad framing: line %lld offset %lld end %lld n %zu (last %lld @%lld)\n",
                    (long long)ln.line, (long long)ln.offset, (long long)ln.end_offset, ln.n,
                    (long long)last_line, (long long)last_off);
            abort();
        }
        last_line = ln.line;
        last_off = ln.offset;
        if (++nok == 2) { /* remember the second line's predecessor point and its text */
            mid.text = sp_xmalloc(ln.n + 1);
            memcpy(mid.text, ln.p, ln.n);
            mid.n = ln.n;
        }
        if (nok == 1) {
            mid.line = ln.line;
            mid.offset = ln.end_offset;
        }
    }
    sp_reader_destroy(r);
    r = NULL;

    if ((b0 & 16) && mid.text) {
        if (sp_reader_open(&r, path, &ro, &err) != SP_OK) abort();
        if (sp_reader_seek(r, mid.line, mid.offset, &err) != SP_OK) {
            fprintf(stderr, "seek to a point the reader returned failed: %s\n", err.msg);
            abort();
        }
        do rc = sp_reader_next(r, &ln, &err);
        while (rc == SP_EBADINPUT);
        if (rc != SP_OK || ln.n != mid.n || memcmp(ln.p, mid.text, mid.n) != 0) {
            fprintf(stderr, "after seek the next line differs (rc %d)\n", rc);
            abort();
        }
    }
out:
    sp_reader_destroy(r);
    free(mid.text);
    sp_buf_free(&file);
    sp_buf_free(&plain);
    return 0;
}
