/* sp_reader_int.h - private to ingest/: the line-reader variants (byte stream, flight recorder, block dir) behind struct sp_reader. */
#ifndef SP_READER_INT_H
#define SP_READER_INT_H

#include "sp_input.h"

#include <stdint.h>

/* Read granularity for files and for compressed input. */
#define SP_READ_CHUNK ((size_t)256 * 1024)

/*
 * One slog byte stream: a plain or gzip (multi-member) file, or stdin when
 * path is "-". Heap object (sp_stream_open / sp_stream_destroy, destroy
 * accepts NULL). Semantics of next/seek are those of sp_reader_next /
 * sp_reader_seek in sp_input.h; `follow` enables tail -F behaviour.
 * `source` (copied) is what sp_line.source points to.
 */
struct sp_stream;
int sp_stream_open(struct sp_stream **out, const char *path, size_t max_line, int follow,
                   struct sp_err *err);
int sp_stream_next(struct sp_stream *s, struct sp_line *line, struct sp_err *err);
int sp_stream_seek(struct sp_stream *s, int64_t line, int64_t offset, struct sp_err *err);
int64_t sp_stream_bytes_in(const struct sp_stream *s);
int64_t sp_stream_bytes_read(const struct sp_stream *s);
int64_t sp_stream_size(const struct sp_stream *s);
int64_t sp_stream_lag(const struct sp_stream *s);
void sp_stream_stats(const struct sp_stream *s, struct sp_reader_stats *st);
void sp_stream_destroy(struct sp_stream *s);

/* Flight-recorder ring (AG-SLOG!), walked from circStart to circEnd. */
struct sp_flightrec;
int sp_flightrec_open(struct sp_flightrec **out, const char *path, size_t max_line,
                      struct sp_err *err);
int sp_flightrec_next(struct sp_flightrec *f, struct sp_line *line, struct sp_err *err);
int sp_flightrec_seek(struct sp_flightrec *f, int64_t line, int64_t offset, struct sp_err *err);
int64_t sp_flightrec_bytes_in(const struct sp_flightrec *f);
int64_t sp_flightrec_size(const struct sp_flightrec *f);
int64_t sp_flightrec_lag(const struct sp_flightrec *f);
void sp_flightrec_stats(const struct sp_flightrec *f, struct sp_reader_stats *st);
void sp_flightrec_destroy(struct sp_flightrec *f);

/* Block-slog directory: slogfile_*_<ms>.gz members read in order. */
struct sp_blockdir;
int sp_blockdir_open(struct sp_blockdir **out, const char *path, size_t max_line,
                     struct sp_err *err);
int sp_blockdir_next(struct sp_blockdir *d, struct sp_line *line, struct sp_err *err);
int sp_blockdir_seek(struct sp_blockdir *d, int64_t line, int64_t offset, struct sp_err *err);
int sp_blockdir_seek_member(struct sp_blockdir *d, const char *source, int64_t line,
                            int64_t offset, struct sp_err *err);
size_t sp_blockdir_member_count(const struct sp_blockdir *d);
const char *sp_blockdir_member(const struct sp_blockdir *d, size_t i);
int64_t sp_blockdir_bytes_in(const struct sp_blockdir *d);
int64_t sp_blockdir_bytes_read(const struct sp_blockdir *d);
int64_t sp_blockdir_size(const struct sp_blockdir *d);
int64_t sp_blockdir_lag(const struct sp_blockdir *d);
void sp_blockdir_stats(const struct sp_blockdir *d, struct sp_reader_stats *st);
void sp_blockdir_destroy(struct sp_blockdir *d);

/*
 * Parse a block-slog member name: slogfile_{init,bootstrap,upgrade}_<ms>.gz
 * or slogfile_block_<height>_<ms>.gz. Returns 1 and fills the sort keys
 * (rank: init 0, bootstrap 1, upgrade 2, block 3; height -1 unless a block
 * file) or 0 when `name` is not a member name.
 */
int sp_blockdir_parse_name(const char *name, int64_t *ms, int *rank, int64_t *height);

#endif
