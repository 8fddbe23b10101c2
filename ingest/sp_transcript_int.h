/* sp_transcript_int.h - helpers shared by the transcript sources (internal to ingest/, not a contract). */
#ifndef SP_TRANSCRIPT_INT_H
#define SP_TRANSCRIPT_INT_H

#include "sp_transcript.h"
#include "../core/sp_buf.h"
#include "../core/sp_hash.h"

#include <zlib.h>

#define SP_TX_MAX_LINE (64u * 1024 * 1024) /* one transcript item / export-data line */

/* Emission context of one ingest call: options, callback, the first
 * unreadable part (reported at the end), a scratch buffer for reasons. */
struct sp_tx {
    struct sp_transcript_opts o;
    sp_record_fn fn;
    void *arg;
    struct sp_err *err;
    int part_rc;              /* first part that could not be read (0 = none) */
    char part_msg[512];
    int64_t parts_failed;     /* parts refused or unreadable */
    int part_unreadable;      /* one of them could not be read (missing, I/O): SP_EIO */
    struct sp_buf scratch;
};

void sp_tx_init(struct sp_tx *t, const struct sp_transcript_opts *o, sp_record_fn fn, void *arg,
                struct sp_err *err);
void sp_tx_free(struct sp_tx *t);
/* Emit an SP_REC_BAD; reason = formatted text. Returns the callback's rc. */
int sp_tx_bad(struct sp_tx *t, const char *source, int64_t line, struct sp_str bytes, const char *fmt,
              ...) __attribute__((format(printf, 5, 6)));
/* The same with a byte offset in the source file (origin.offset; line = the file's line). */
int sp_tx_bad_at(struct sp_tx *t, const char *source, int64_t line, int64_t off, struct sp_str bytes,
                 const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* A part (an artifact, an archive file, a table) was refused (rc
 * SP_EBADINPUT: unsafe name, corrupt data) or could not be read (SP_EIO, or
 * SP_EOF: named but missing): emit the BAD and remember the first such
 * problem for sp_tx_finish. Returns the callback's rc. */
int sp_tx_part_failed(struct sp_tx *t, int rc, const char *source, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The same where the reading stopped at a known line and byte offset of the file. */
int sp_tx_part_failed_at(struct sp_tx *t, int rc, const char *source, int64_t line, int64_t off,
                         const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* SP_OK; SP_EIO if a part could not be read, else SP_EBADINPUT if one was
 * refused: err holds the first problem's message (and how many more). */
int sp_tx_finish(struct sp_tx *t);
int sp_tx_emit(struct sp_tx *t, const struct sp_record *rec);

/* Span accumulator: hash over the items seen, their count, and whether
 * reading the span stopped early (then no computed hash is reported). */
struct sp_tx_span {
    struct sp_span_hash h;
    int64_t items;
    int broken;
};
void sp_tx_span_begin(struct sp_tx_span *s);
/* One item: parse, emit TITEM, add to the span hash (s may be NULL for
 * items outside any span). An unparseable item is only dead-lettered (BAD,
 * never stored; the span is then broken: no computed hash); its location is
 * the file's line and byte offset when off >= 0 (artifacts), else the
 * position (swing-store rows). Returns the callback's rc. */
int sp_tx_item(struct sp_tx *t, struct sp_tx_span *s, const char *source, struct sp_str vat,
               int64_t pos, int64_t incarnation, int64_t line, int64_t off, const char *item, size_t n);
/* Emit the TSPAN (computed hash per the rules in sp_transcript.h). */
int sp_tx_span_emit(struct sp_tx *t, const struct sp_tx_span *s, const char *source, struct sp_str vat,
                    int64_t start, int64_t end, struct sp_str hash, int is_current,
                    int64_t incarnation);

/* Length of p[0..n) without trailing JavaScript whitespace (String.prototype.trimEnd). */
size_t sp_tx_trim_end(const char *p, size_t n);

/*
 * Line reader over a plain or gzip file (zlib detects gzip by its magic).
 * next: SP_OK with the line (no '\n'), valid until the next call; SP_EOF;
 * SP_EBADINPUT for a line over SP_TX_MAX_LINE (skipped, reading goes on)
 * or a truncated/corrupt gzip stream (then SP_EOF follows); SP_EIO. Error
 * messages start with the file's name and say the byte offset.
 */
struct sp_tx_lines {
    gzFile gz;
    struct sp_buf buf;
    size_t pos, scan;
    int eof, skipping;
    int64_t line;    /* number of the line last returned (1-based) */
    int64_t off;     /* byte offset (uncompressed) of the line last returned / skipped */
    int64_t base;    /* byte offset of buf.data[0] */
    int64_t err_off; /* where the data stopped on a read/gzip error */
    char name[512];  /* the file's name, for messages */
};
/* Takes ownership of fd (closed by close, also on failure). */
int sp_tx_lines_open_fd(struct sp_tx_lines *l, int fd, const char *name, struct sp_err *err);
int sp_tx_lines_next(struct sp_tx_lines *l, const char **p, size_t *n, struct sp_err *err);
void sp_tx_lines_close(struct sp_tx_lines *l);

/*
 * Open `name` inside directory `dir` (realpath `dir_real`) without leaving
 * it: absolute names and ".." components are rejected, the path is resolved
 * with realpath and must stay under dir_real, the file must be regular.
 * *path_out (caller frees) = dir "/" name. Returns SP_OK with *fd_out;
 * SP_EOF if it does not exist (err says why); SP_EBADINPUT if unsafe or not
 * a regular file; SP_EIO otherwise.
 */
int sp_tx_open_in_dir(const char *dir, const char *dir_real, const char *name, char **path_out,
                      int *fd_out, struct sp_err *err);

/* Parse "transcript.<vatID>.<start>.<end>" (an optional ".gz" already
 * stripped by the caller). Returns 1 and fills the outputs, 0 if the name
 * has another shape. vat gets a NUL-terminated copy. */
int sp_tx_parse_transcript_name(const char *name, size_t n, char *vat, size_t vcap, int64_t *start,
                                int64_t *end);
/* Parse a decimal int64 (digits only, no sign). Returns 1 on success. */
int sp_tx_parse_i64(const char *p, size_t n, int64_t *out);

#endif
