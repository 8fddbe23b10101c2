/* sp_reader.c - struct sp_reader: one line-reader API over slog streams, flight recorders and block-slog dirs. */
#include "sp_reader_int.h"

#include <stdlib.h>
#include <string.h>

struct sp_reader {
    enum sp_input_kind kind;
    struct sp_stream *s;
    struct sp_flightrec *f;
    struct sp_blockdir *d;
    char *path;
};

int sp_reader_open(struct sp_reader **out, const char *path, const struct sp_reader_opts *opts,
                   struct sp_err *err)
{
    struct sp_reader *r;
    size_t max_line = opts && opts->max_line ? opts->max_line : SP_MAX_LINE_DEFAULT;
    int follow = opts ? opts->follow : 0;
    enum sp_input_kind kind;
    int rc;

    *out = NULL;
    kind = sp_input_detect(path, err);
    switch (kind) {
    case SP_IN_SLOG:
    case SP_IN_FLIGHT_RECORDER:
    case SP_IN_BLOCK_SLOG_DIR: break;
    case SP_IN_UNKNOWN: return err ? err->rc : SP_EIO;
    default:
        return sp_err_set(err, SP_EUSAGE, "%s: is a %s, not a slog", path,
                          sp_input_kind_name(kind));
    }
    r = sp_xcalloc(1, sizeof(*r));
    r->kind = kind;
    r->path = sp_xstrdup(path);
    if (kind == SP_IN_SLOG) rc = sp_stream_open(&r->s, path, max_line, follow, err);
    else if (kind == SP_IN_FLIGHT_RECORDER) rc = sp_flightrec_open(&r->f, path, max_line, err);
    else rc = sp_blockdir_open(&r->d, path, max_line, err);
    if (rc != SP_OK) goto fail;
    *out = r;
    return SP_OK;
fail:
    sp_reader_destroy(r);
    return rc;
}

int sp_reader_next(struct sp_reader *r, struct sp_line *line, struct sp_err *err)
{
    if (r->s) return sp_stream_next(r->s, line, err);
    if (r->f) return sp_flightrec_next(r->f, line, err);
    return sp_blockdir_next(r->d, line, err);
}

int sp_reader_seek(struct sp_reader *r, int64_t line, int64_t offset, struct sp_err *err)
{
    if (r->s) return sp_stream_seek(r->s, line, offset, err);
    if (r->f) return sp_flightrec_seek(r->f, line, offset, err);
    return sp_blockdir_seek(r->d, line, offset, err);
}

int sp_reader_seek_member(struct sp_reader *r, const char *source, int64_t line, int64_t offset,
                          struct sp_err *err)
{
    if (r->d) return sp_blockdir_seek_member(r->d, source, line, offset, err);
    if (strcmp(source, sp_reader_member(r, 0)) != 0 && strcmp(source, r->path) != 0)
        return sp_err_set(err, SP_EBADINPUT, "%s: checkpoint is for another source (%s)", r->path,
                          source);
    return sp_reader_seek(r, line, offset, err);
}

enum sp_input_kind sp_reader_kind(const struct sp_reader *r)
{
    return r->kind;
}

size_t sp_reader_member_count(const struct sp_reader *r)
{
    return r->d ? sp_blockdir_member_count(r->d) : 1;
}

const char *sp_reader_member(const struct sp_reader *r, size_t i)
{
    if (r->d) return sp_blockdir_member(r->d, i);
    if (i != 0) return NULL;
    return r->s && strcmp(r->path, "-") == 0 ? "<stdin>" : r->path;
}

int64_t sp_reader_bytes_in(const struct sp_reader *r)
{
    if (r->s) return sp_stream_bytes_in(r->s);
    if (r->f) return sp_flightrec_bytes_in(r->f);
    return sp_blockdir_bytes_in(r->d);
}

int64_t sp_reader_bytes_read(const struct sp_reader *r)
{
    if (r->s) return sp_stream_bytes_read(r->s);
    if (r->f) return sp_flightrec_bytes_in(r->f);
    return sp_blockdir_bytes_read(r->d);
}

int64_t sp_reader_lag(const struct sp_reader *r)
{
    if (r->s) return sp_stream_lag(r->s);
    if (r->f) return sp_flightrec_lag(r->f);
    return sp_blockdir_lag(r->d);
}

int64_t sp_reader_size(const struct sp_reader *r)
{
    if (r->s) return sp_stream_size(r->s);
    if (r->f) return sp_flightrec_size(r->f);
    return sp_blockdir_size(r->d);
}

void sp_reader_stats(const struct sp_reader *r, struct sp_reader_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (r->s) sp_stream_stats(r->s, out);
    else if (r->f) sp_flightrec_stats(r->f, out);
    else if (r->d) sp_blockdir_stats(r->d, out);
}

void sp_reader_destroy(struct sp_reader *r)
{
    if (!r) return;
    sp_stream_destroy(r->s);
    sp_flightrec_destroy(r->f);
    sp_blockdir_destroy(r->d);
    free(r->path);
    free(r);
}
