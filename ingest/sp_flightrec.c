/* sp_flightrec.c - flight-recorder ring file (AG-SLOG!) walked from circStart to circEnd like telemetry's frcat. */
#include "sp_reader_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FR_MAGIC UINT64_C(0x41472d534c4f4721) /* "AG-SLOG!" */
#define FR_HEADER 32

/*
 * File = 32-byte header (four big-endian uint64: magic, arenaSize,
 * circStart, circEnd) + arena. The live region is [circStart, circEnd)
 * modulo arenaSize; it holds records = 8-byte big-endian length + data,
 * either of which may wrap around the arena end. Reads go through a
 * one-chunk cache of the arena so a 100 MiB ring is never loaded whole.
 */
struct sp_flightrec {
    char *path;
    int fd;
    size_t max_line;
    uint64_t arena, circ_start, circ_end, live;
    uint64_t consumed;     /* live bytes walked */
    int64_t line;          /* records framed so far */
    int64_t last_end;      /* end_offset of the last record walked (-1 none) */
    int done;

    unsigned char *cache;  /* arena bytes [cache_off, cache_off + cache_len) */
    uint64_t cache_off;
    size_t cache_len;
    char *rec;             /* the current record's data */
    size_t rec_alloc;
    struct sp_reader_stats st;
};

static uint64_t be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
    return v;
}

static int pread_full(struct sp_flightrec *f, void *dst, size_t n, uint64_t at, struct sp_err *err)
{
    char *d = dst;
    while (n) {
        ssize_t k = pread(f->fd, d, n, (off_t)at);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return sp_err_set(err, SP_EIO, "%s: read: %s", f->path, strerror(errno));
        if (k == 0)
            return sp_err_set(err, SP_EIO, "%s: file shrank while reading (offset %llu)", f->path,
                              (unsigned long long)at);
        d += k;
        n -= (size_t)k;
        at += (uint64_t)k;
    }
    return SP_OK;
}

/* Copy arena bytes [pos, pos + n) (no wrap) into dst. */
static int read_linear(struct sp_flightrec *f, uint64_t pos, void *dst, size_t n, struct sp_err *err)
{
    int rc;
    if (n >= SP_READ_CHUNK / 2) return pread_full(f, dst, n, FR_HEADER + pos, err);
    if (pos < f->cache_off || pos + n > f->cache_off + f->cache_len) {
        uint64_t left = f->arena - pos;
        size_t len = left < SP_READ_CHUNK ? (size_t)left : SP_READ_CHUNK;
        f->cache_len = 0;
        rc = pread_full(f, f->cache, len, FR_HEADER + pos, err);
        if (rc != SP_OK) return rc;
        f->cache_off = pos;
        f->cache_len = len;
    }
    memcpy(dst, f->cache + (pos - f->cache_off), n);
    return SP_OK;
}

/* Copy n ring bytes starting at arena offset pos, wrapping at the end. */
static int read_ring(struct sp_flightrec *f, uint64_t pos, void *dst, size_t n, struct sp_err *err)
{
    char *d = dst;
    while (n) {
        uint64_t left = f->arena - pos;
        size_t part = n < left ? n : (size_t)left;
        int rc = read_linear(f, pos, d, part, err);
        if (rc != SP_OK) return rc;
        d += part;
        n -= part;
        pos = (pos + part) % f->arena;
    }
    return SP_OK;
}

int sp_flightrec_open(struct sp_flightrec **out, const char *path, size_t max_line,
                      struct sp_err *err)
{
    struct sp_flightrec *f = sp_xcalloc(1, sizeof(*f));
    unsigned char hdr[FR_HEADER];
    struct stat sb;
    uint64_t fsize;
    int rc;

    *out = NULL;
    f->path = sp_xstrdup(path);
    f->max_line = max_line ? max_line : SP_MAX_LINE_DEFAULT;
    f->last_end = -1;
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0) {
        rc = sp_err_set(err, SP_EIO, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (fstat(f->fd, &sb) != 0) {
        rc = sp_err_set(err, SP_EIO, "%s: %s", path, strerror(errno));
        goto fail;
    }
    fsize = (uint64_t)sb.st_size;
    if (fsize < FR_HEADER) {
        rc = sp_err_set(err, SP_EBADINPUT, "%s: flight recorder shorter than its 32-byte header",
                        path);
        goto fail;
    }
    rc = pread_full(f, hdr, FR_HEADER, 0, err);
    if (rc != SP_OK) goto fail;
    if (be64(hdr) != FR_MAGIC) {
        rc = sp_err_set(err, SP_EBADINPUT, "%s: not a flight recorder (no AG-SLOG! magic)", path);
        goto fail;
    }
    f->arena = be64(hdr + 8);
    f->circ_start = be64(hdr + 16);
    f->circ_end = be64(hdr + 24);
    if (f->arena == 0 || f->arena > fsize - FR_HEADER || f->circ_start >= f->arena ||
        f->circ_end >= f->arena) {
        rc = sp_err_set(err, SP_EBADINPUT,
                        "%s: corrupt flight recorder header (arenaSize %llu, circStart %llu, "
                        "circEnd %llu, file %llu bytes)",
                        path, (unsigned long long)f->arena, (unsigned long long)f->circ_start,
                        (unsigned long long)f->circ_end, (unsigned long long)fsize);
        goto fail;
    }
    f->live = f->circ_end >= f->circ_start ? f->circ_end - f->circ_start
                                           : f->arena - f->circ_start + f->circ_end;
    f->cache = sp_xmalloc(SP_READ_CHUNK);
    *out = f;
    return SP_OK;
fail:
    sp_flightrec_destroy(f);
    return rc;
}

void sp_flightrec_destroy(struct sp_flightrec *f)
{
    if (!f) return;
    if (f->fd >= 0) close(f->fd);
    free(f->cache);
    free(f->rec);
    free(f->path);
    free(f);
}

/*
 * Walk one record header: on success *len is the data length and *pos the
 * arena offset of the record; a length that does not fit the live bytes
 * left ends the walk with SP_EBADINPUT.
 */
static int walk_header(struct sp_flightrec *f, uint64_t *pos, uint64_t *len, struct sp_err *err)
{
    unsigned char lenbuf[8];
    uint64_t left = f->live - f->consumed;
    int rc;

    *pos = (f->circ_start + f->consumed) % f->arena;
    if (left < 8) {
        f->done = 1;
        return sp_err_set(err, SP_EBADINPUT,
                          "%s: corrupt flight recorder: %llu stray bytes at arena offset %llu "
                          "(too few for a record length)",
                          f->path, (unsigned long long)left, (unsigned long long)*pos);
    }
    rc = read_ring(f, *pos, lenbuf, 8, err);
    if (rc != SP_OK) return rc;
    *len = be64(lenbuf);
    if (*len > left - 8) {
        f->done = 1;
        return sp_err_set(err, SP_EBADINPUT,
                          "%s: corrupt flight recorder record length %llu at arena offset %llu "
                          "(record %lld; only %llu live bytes left)",
                          f->path, (unsigned long long)*len, (unsigned long long)*pos,
                          (long long)f->line + 1, (unsigned long long)(left - 8));
    }
    return SP_OK;
}

int sp_flightrec_next(struct sp_flightrec *f, struct sp_line *out, struct sp_err *err)
{
    uint64_t pos, len = 0;
    const char *p;
    size_t n;
    int rc;

    if (f->done || f->consumed >= f->live) {
        f->done = 1;
        return SP_EOF;
    }
    rc = walk_header(f, &pos, &len, err);
    if (rc != SP_OK) return rc;
    f->line++;
    f->consumed += 8 + len;
    f->last_end = (int64_t)((pos + 8 + len) % f->arena);
    if (len > (uint64_t)f->max_line + 1) {
        f->st.bad_lines++;
        return sp_err_set(err, SP_EBADINPUT, "%s:%lld: record longer than %zu bytes (skipped)",
                          f->path, (long long)f->line, f->max_line);
    }
    if (len + 1 > f->rec_alloc) {
        f->rec_alloc = (size_t)len + 1 > 4096 ? (size_t)len + 1 : 4096;
        f->rec = sp_xrealloc(f->rec, f->rec_alloc);
        f->st.buf_alloc = f->rec_alloc;
        if (f->rec_alloc > f->st.buf_peak) f->st.buf_peak = f->rec_alloc;
    }
    rc = read_ring(f, (pos + 8) % f->arena, f->rec, (size_t)len, err);
    if (rc != SP_OK) {
        f->done = 1;
        return rc;
    }
    f->rec[len] = '\0';
    p = f->rec;
    n = (size_t)len;
    if (n && p[0] == '\n') { /* data = "\n" + JSON; slog-record-too-big has no "\n" */
        p++;
        n--;
    }
    if (n > f->max_line) {
        f->st.bad_lines++;
        return sp_err_set(err, SP_EBADINPUT, "%s:%lld: record longer than %zu bytes (skipped)",
                          f->path, (long long)f->line, f->max_line);
    }
    out->p = p;
    out->n = n;
    out->line = f->line;
    out->offset = (int64_t)pos;
    out->end_offset = f->last_end;
    out->source = f->path;
    f->st.lines++;
    if (n > f->st.longest_line) f->st.longest_line = n;
    return SP_OK;
}

int sp_flightrec_seek(struct sp_flightrec *f, int64_t line, int64_t offset, struct sp_err *err)
{
    if (line < f->line) {
        f->consumed = 0;
        f->line = 0;
        f->last_end = -1;
        f->done = 0;
    }
    while (f->line < line) {
        uint64_t pos, len = 0;
        int rc;
        if (f->consumed >= f->live)
            return sp_err_set(err, SP_EBADINPUT,
                              "%s: source shorter than checkpoint (truncated or replaced): %lld "
                              "records, checkpoint at record %lld",
                              f->path, (long long)f->line, (long long)line);
        rc = walk_header(f, &pos, &len, err);
        if (rc != SP_OK) return rc;
        f->line++;
        f->consumed += 8 + len;
        f->last_end = (int64_t)((pos + 8 + len) % f->arena);
    }
    if (line > 0 && f->last_end != offset)
        return sp_err_set(err, SP_EBADINPUT,
                          "%s: record %lld ends at arena offset %lld, checkpoint says %lld (the "
                          "ring moved on: source replaced)",
                          f->path, (long long)line, (long long)f->last_end, (long long)offset);
    return SP_OK;
}

int64_t sp_flightrec_bytes_in(const struct sp_flightrec *f)
{
    return FR_HEADER + (int64_t)f->consumed;
}

int64_t sp_flightrec_size(const struct sp_flightrec *f)
{
    return FR_HEADER + (int64_t)f->live;
}

int64_t sp_flightrec_lag(const struct sp_flightrec *f)
{
    /* after a record that does not fit, nothing more is read */
    return !f->done && f->live > f->consumed ? (int64_t)(f->live - f->consumed) : 0;
}

void sp_flightrec_stats(const struct sp_flightrec *f, struct sp_reader_stats *st)
{
    *st = f->st;
}
