/* sp_input.h - byte sources turned into framed lines with provenance (files, gzip, stdin, flight recorder, block-slog dirs). */
#ifndef SP_INPUT_H
#define SP_INPUT_H

#include "../core/sp_core.h"

/* Default and hard limits. */
#define SP_MAX_LINE_DEFAULT (64u * 1024 * 1024) /* --max-line */

/* What a path turned out to be (detected from content, not the name). */
enum sp_input_kind {
    SP_IN_UNKNOWN = 0,
    SP_IN_SLOG,            /* JSON lines, plain or gzip (multi-member ok) */
    SP_IN_FLIGHT_RECORDER, /* AG-SLOG! ring file */
    SP_IN_BLOCK_SLOG_DIR,  /* directory of slogfile_*_<ms>.gz */
    SP_IN_SWINGSTORE,      /* SQLite swing-store file, or a state dir holding swingstore.sqlite */
    SP_IN_EXPORT_DIR,      /* directory with export-manifest.json */
    SP_IN_ARCHIVE_DIR      /* directory of transcript.vN.S.E(.gz) / snapshot.* files */
};
const char *sp_input_kind_name(enum sp_input_kind k);

/* Detect the kind of `path` ("-" = stdin is always SP_IN_SLOG). Reads at
 * most a few header bytes; returns SP_IN_UNKNOWN and fills err if the path
 * cannot be opened or recognized. */
enum sp_input_kind sp_input_detect(const char *path, struct sp_err *err);

/*
 * A line reader over one slog input (SP_IN_SLOG, SP_IN_FLIGHT_RECORDER or
 * SP_IN_BLOCK_SLOG_DIR). Heap object: sp_reader_open / sp_reader_destroy
 * (destroy accepts NULL).
 */
struct sp_reader;

struct sp_reader_opts {
    size_t max_line;      /* 0 = SP_MAX_LINE_DEFAULT */
    int follow;           /* tail -F: at EOF return SP_AGAIN, handle rotation/truncation */
};

/* One framed line. `p` points into the reader's buffer and is valid until
 * the next sp_reader_next call. The trailing '\n' (and '\r') is removed. */
struct sp_line {
    const char *p;
    size_t n;
    int64_t line;         /* 1-based line (flight recorder: record) number within `source` */
    int64_t offset;       /* byte offset of the line start in the uncompressed stream */
    int64_t end_offset;   /* offset just after the line's '\n' */
    const char *source;   /* path of the file this line came from (dir inputs: the member file) */
};

int sp_reader_open(struct sp_reader **out, const char *path, const struct sp_reader_opts *opts,
                   struct sp_err *err);
/*
 * Next line. Returns SP_OK with *line filled; SP_EOF at the end; SP_AGAIN in
 * follow mode when no complete line is available yet; SP_EBADINPUT for a
 * framing problem that skips some bytes but lets reading go on (line over
 * max_line: the line is skipped, err names file:line; truncated gzip member
 * or corrupt data at the end: err names the offset, then SP_EOF follows;
 * plain and gzip files then also set line->line, offset and source to the
 * skipped, cut or next line, else line->line is -1);
 * SP_EIO when the source cannot be read any further.
 */
int sp_reader_next(struct sp_reader *r, struct sp_line *line, struct sp_err *err);
/* Skip forward so the next line returned is line number `line`+1 starting at
 * byte `offset` (resume from a checkpoint). For gzip, decompresses and
 * discards. Returns SP_EBADINPUT if the source is shorter than the checkpoint
 * (it was truncated or replaced): the caller then restarts from 0. */
int sp_reader_seek(struct sp_reader *r, int64_t line, int64_t offset, struct sp_err *err);
/* Position read in the underlying file(s), and total size if known (-1).
 * For gzip these are compressed bytes (compare with sp_reader_size); for a
 * flight recorder, header + live ring bytes walked so far / in total. The
 * size is the one at open (cheap: called per line when following); a
 * growing file's size now is in sp_reader_lag. */
int64_t sp_reader_bytes_in(const struct sp_reader *r);
int64_t sp_reader_size(const struct sp_reader *r);
/* Bytes actually read from the file(s) so far, for a counter: unlike
 * sp_reader_bytes_in it never goes down (a rotated or truncated followed
 * file is read again from 0; a resumed file is skipped to its checkpoint
 * without being read, except gzip, which is decompressed up to it). */
int64_t sp_reader_bytes_read(const struct sp_reader *r);
/* Bytes left to read now: the file's size now (fstat) minus the position
 * read, never negative. Following, a truncated file counts whole (it is read
 * again) and a rotated one adds the size of the new file at the path. A
 * block-slog directory adds the members not read yet; a flight recorder the
 * live ring bytes not walked yet. -1 when unknown (a pipe). Costs a stat or
 * two: call it per batch or per metrics update, not per line. */
int64_t sp_reader_lag(const struct sp_reader *r);
void sp_reader_destroy(struct sp_reader *r);

/*
 * Additions (ingest helper):
 *
 * Notes on the contract above, as implemented:
 * - `source` points to a string owned by the reader, valid until
 *   sp_reader_destroy (also for members of a block dir already finished).
 *   Stdin is named "<stdin>".
 * - Flight recorder: `line` is the 1-based record index counted from
 *   circStart, `offset` the arena offset of the record's length field and
 *   `end_offset` the arena offset just after the record (mod arenaSize). A
 *   leading "\n" of the payload is removed (records without one, like
 *   `slog-record-too-big`, are returned whole). A length that does not fit
 *   the live ring gives SP_EBADINPUT naming the arena offset, then SP_EOF.
 *   sp_reader_seek(line, offset) skips `line` records and checks that record
 *   `line` ends at `offset` (else SP_EBADINPUT: the ring moved on).
 * - Follow mode applies to files (plain, or gzip appended member by member);
 *   stdin, flight recorders and block dirs read to their end. In follow mode
 *   a rotated file (new inode at the path) is read to its end (its last
 *   partial line, if any, is returned), then the new file is read from 0
 *   with line numbers restarting at 1; a truncated file (size < bytes read)
 *   is re-read from 0 after an sp_warn.
 * - sp_reader_seek on a block dir applies to the current member (the first
 *   one before any line was read); use sp_reader_seek_member to resume at a
 *   later member.
 */

/* The kind the reader was opened as (SP_IN_SLOG, _FLIGHT_RECORDER or
 * _BLOCK_SLOG_DIR). */
enum sp_input_kind sp_reader_kind(const struct sp_reader *r);

/*
 * Block-slog directories are checkpointed per member file. The members, in
 * reading order, are listed by sp_reader_member_count / sp_reader_member
 * (full paths, owned by the reader, equal to the sp_line.source of their
 * lines); a plain or flight-recorder reader has one member, its path.
 * sp_reader_seek_member resumes at member `source` (its full path or base
 * name): every member before it is skipped whole, then the member is read
 * from (`line`, `offset`) as in sp_reader_seek, then the following members
 * in full. Returns SP_EBADINPUT if `source` is no longer there or is
 * shorter than the checkpoint.
 */
size_t sp_reader_member_count(const struct sp_reader *r);
const char *sp_reader_member(const struct sp_reader *r, size_t i);
int sp_reader_seek_member(struct sp_reader *r, const char *source, int64_t line, int64_t offset,
                          struct sp_err *err);

/* Memory and framing statistics (for tests and --stats). */
struct sp_reader_stats {
    size_t buf_alloc;     /* bytes allocated for the line buffer now */
    size_t buf_peak;      /* the most it ever held allocated */
    size_t longest_line;  /* longest line returned (bytes, without '\n') */
    int64_t lines;        /* lines returned (SP_OK) */
    int64_t bad_lines;    /* lines skipped as over max_line */
};
void sp_reader_stats(const struct sp_reader *r, struct sp_reader_stats *out);

#endif
