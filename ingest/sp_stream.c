/* sp_stream.c - one slog byte stream (plain or multi-member gzip file, or stdin) framed into lines, with tail -F follow. */
#include "sp_reader_int.h"
#include "../core/sp_worker.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sp_inflate.h"

/*
 * Buffer discipline: buf[0, alloc) holds decompressed bytes; [start, end)
 * is not yet returned; [scan, end) has not been searched for '\n' yet.
 * Lines that lie wholly in the buffer are returned as slices (no copy).
 * Only when no '\n' is left do we refill: the partial line [start, end) is
 * moved to the front (the one copy, for a line straddling two chunks) and
 * the buffer grows only if that partial line plus one chunk does not fit,
 * so its size follows the longest line, never the file.
 */
struct sp_stream {
    char *path;      /* as opened ("-" = stdin) */
    char *source;    /* name in sp_line.source and messages */
    int fd;
    int is_stdin;
    int follow;
    size_t max_line;

    int gz;          /* -1 not known yet, 0 plain, 1 gzip */
    struct sp_inflate *inf; /* created when the stream turns out to be gzip */
    int member_open; /* inside a gzip member (started, not complete yet) */
    unsigned char *in;
    size_t in_len;   /* bytes in `in` before the format is known */

    int64_t raw_pos; /* bytes read from fd (file position for plain reads) */
    int64_t read_total; /* bytes read from the file(s) ever: rotation, truncation, seeking never lower it */
    int64_t size;    /* st_size at open for regular files, else -1 */
    dev_t dev;
    ino_t ino;
    int regular;

    char *buf;
    size_t alloc, start, end, scan;
    int64_t base_off; /* stream offset of buf[0] */
    int64_t line;     /* lines framed so far */
    int skipping;     /* discarding an over-long line up to its '\n' */
    int done;         /* source finished: no more bytes will come */
    int pend_rc;      /* deferred framing error (bad gzip), reported after the lines before it */
    char pend_msg[400];

    struct sp_reader_stats st;

    struct sp_zthread *zt; /* inflate thread (gzip, not follow): owns fd, in, inf while running */
};

/*
 * Inflate thread. On two cores, gunzip (a fifth of a whole ingest) runs
 * beside the parsing: a producer inflates into a small ring of chunks
 * (ZT_SLOTS x SP_READ_CHUNK, so memory stays bounded) and fill() copies the
 * next chunk into the line buffer. Each chunk carries the compressed bytes
 * read so far and, on the last one, the end-of-data condition (EOF,
 * truncated or corrupt gzip, read error), which fill() then reports exactly
 * as the inline path does. Only for non-follow gzip input.
 */
#define ZT_SLOTS 4

struct zt_chunk {
    char *p;
    size_t n;
    int64_t raw_pos; /* compressed bytes read when the chunk was finished */
    int last;        /* no chunk follows */
    int rc;          /* last: 0 clean end, 1 deferred gzip problem (msg), SP_EIO (msg) */
    char msg[200];
};

struct sp_zthread {
    struct sp_worker w; /* w.mu guards the ring; w.stop: the consumer asks the producer to quit */
    struct zt_chunk ring[ZT_SLOTS];
    int head, count; /* consumer takes ring[head]; count filled slots */
    int finished;    /* consumer saw the last chunk */
    int64_t raw_pos; /* producer side */
};

static void buf_set_alloc(struct sp_stream *s, size_t n)
{
    s->buf = sp_xrealloc(s->buf, n);
    s->alloc = n;
    s->st.buf_alloc = n;
    if (n > s->st.buf_peak) s->st.buf_peak = n;
}

/* Drop everything buffered and restart framing at stream offset `off`. */
static void frame_reset(struct sp_stream *s, int64_t off, int64_t line)
{
    s->start = s->end = s->scan = 0;
    s->base_off = off;
    s->line = line;
    s->skipping = 0;
    s->done = 0;
    s->pend_rc = 0;
}

/* Back to byte 0 of the (re)opened file: gzip state and framing reset. */
static void zt_stop(struct sp_stream *s);

static void source_reset(struct sp_stream *s)
{
    zt_stop(s); /* before touching inf: the producer owns it while it runs */
    s->gz = -1;
    s->in_len = 0;
    s->member_open = 0;
    s->raw_pos = 0;
    if (s->inf) sp_inflate_discard(s->inf);
    frame_reset(s, 0, 0);
}

static int open_fd(struct sp_stream *s, struct sp_err *err)
{
    struct stat sb;

    if (s->is_stdin) {
        s->fd = 0;
    } else {
        s->fd = open(s->path, O_RDONLY | O_CLOEXEC);
        if (s->fd < 0) return sp_err_set(err, SP_EIO, "%s: %s", s->path, strerror(errno));
    }
    if (fstat(s->fd, &sb) != 0) return sp_err_set(err, SP_EIO, "%s: %s", s->source, strerror(errno));
    if (S_ISDIR(sb.st_mode)) return sp_err_set(err, SP_EUSAGE, "%s: is a directory", s->source);
    s->regular = S_ISREG(sb.st_mode);
    s->size = s->regular ? (int64_t)sb.st_size : -1;
    s->dev = sb.st_dev;
    s->ino = sb.st_ino;
    return SP_OK;
}

int sp_stream_open(struct sp_stream **out, const char *path, size_t max_line, int follow,
                   struct sp_err *err)
{
    struct sp_stream *s = sp_xcalloc(1, sizeof(*s));
    int rc;

    *out = NULL;
    s->fd = -1;
    s->path = sp_xstrdup(path);
    s->is_stdin = strcmp(path, "-") == 0;
    s->source = sp_xstrdup(s->is_stdin ? "<stdin>" : path);
    s->max_line = max_line ? max_line : SP_MAX_LINE_DEFAULT;
    s->follow = follow && !s->is_stdin;
    s->in = sp_xmalloc(SP_READ_CHUNK);
    buf_set_alloc(s, 2 * SP_READ_CHUNK);
    source_reset(s);
    rc = open_fd(s, err);
    if (rc != SP_OK) goto fail;
    *out = s;
    return SP_OK;
fail:
    sp_stream_destroy(s);
    return rc;
}

static void zt_stop(struct sp_stream *s);

void sp_stream_destroy(struct sp_stream *s)
{
    if (!s) return;
    zt_stop(s);
    if (s->fd > 0 || (s->fd == 0 && !s->is_stdin)) close(s->fd);
    sp_inflate_free(s->inf);
    free(s->in);
    free(s->buf);
    free(s->path);
    free(s->source);
    free(s);
}

/* read() that retries EINTR; returns bytes, 0 at EOF, -1 with errno. */
static ssize_t read_some(int fd, void *p, size_t n)
{
    ssize_t k;
    do {
        k = read(fd, p, n);
    } while (k < 0 && errno == EINTR);
    return k;
}

/* Make room for at least one chunk after `end` (compacting, then growing). */
static void make_room(struct sp_stream *s)
{
    if (s->alloc - s->end >= SP_READ_CHUNK) return;
    if (s->start > 0) {
        size_t keep = s->end - s->start;
        memmove(s->buf, s->buf + s->start, keep);
        s->base_off += (int64_t)s->start;
        s->scan -= s->start;
        s->end = keep;
        s->start = 0;
    }
    if (s->alloc - s->end < SP_READ_CHUNK) {
        size_t need = s->end + SP_READ_CHUNK, grow = s->alloc + s->alloc / 2;
        buf_set_alloc(s, need > grow ? need : grow);
    }
}

static void set_pending(struct sp_stream *s, const char *what)
{
    /* The incomplete line (if any) is named when the error is reported,
     * after the complete lines before it were framed. */
    s->pend_rc = SP_EBADINPUT;
    snprintf(s->pend_msg, sizeof(s->pend_msg), "%s at uncompressed offset %lld", what,
             (long long)(s->base_off + (int64_t)s->end));
}

static void zt_publish(struct sp_zthread *z)
{
    pthread_mutex_lock(&z->w.mu);
    z->count++;
    pthread_cond_broadcast(&z->w.cv);
    pthread_mutex_unlock(&z->w.mu);
}

/* Producer: the inline inflate loop of fill(), writing into ring slots. */
static void *zt_main(void *arg)
{
    struct sp_stream *s = arg;
    struct sp_zthread *z = s->zt;
    int slot = 0;

    for (;;) {
        struct zt_chunk *c = &z->ring[slot];
        int last = 0;

        pthread_mutex_lock(&z->w.mu);
        while (z->count == ZT_SLOTS && !z->w.stop) pthread_cond_wait(&z->w.cv, &z->w.mu);
        if (z->w.stop) {
            pthread_mutex_unlock(&z->w.mu);
            return NULL;
        }
        pthread_mutex_unlock(&z->w.mu);
        c->n = 0;
        c->rc = 0;
        c->last = 0;
        while (c->n < SP_READ_CHUNK && !last) {
            size_t produced;
            const char *why = NULL;
            int zr;
            if (sp_inflate_pending(s->inf) == 0) {
                ssize_t k = read_some(s->fd, s->in, SP_READ_CHUNK);
                if (k < 0) {
                    c->rc = SP_EIO;
                    snprintf(c->msg, sizeof(c->msg), "read: %s", strerror(errno));
                    last = 1;
                    break;
                }
                if (k == 0) {
                    if (s->member_open) {
                        c->rc = 1;
                        snprintf(c->msg, sizeof(c->msg), "truncated gzip data");
                    }
                    last = 1;
                    break;
                }
                z->raw_pos += k;
                sp_inflate_feed(s->inf, s->in, (size_t)k);
            }
            if (!s->member_open) {
                sp_inflate_member(s->inf);
                s->member_open = 1;
            }
            zr = sp_inflate_run(s->inf, c->p + c->n, SP_READ_CHUNK - c->n, &produced, &why);
            c->n += produced;
            if (zr == SP_INFLATE_END) {
                s->member_open = 0;
            } else if (zr == SP_INFLATE_BAD) {
                c->rc = 1;
                snprintf(c->msg, sizeof(c->msg), "corrupt gzip data (%s)", why);
                sp_inflate_discard(s->inf);
                last = 1;
            }
        }
        c->raw_pos = z->raw_pos;
        c->last = last;
        zt_publish(z);
        if (last) return NULL;
        slot = (slot + 1) % ZT_SLOTS;
    }
}

static void zt_free(struct sp_stream *s)
{
    for (int i = 0; i < ZT_SLOTS; i++) free(s->zt->ring[i].p);
    free(s->zt);
    s->zt = NULL;
}

/* Start the producer on the current state (fd, `in`, inf, member_open). */
static void zt_start(struct sp_stream *s)
{
    struct sp_zthread *z = sp_xcalloc(1, sizeof(*z));
    for (int i = 0; i < ZT_SLOTS; i++) z->ring[i].p = sp_xmalloc(SP_READ_CHUNK);
    z->raw_pos = s->raw_pos;
    s->zt = z;
    if (sp_worker_start(&z->w, zt_main, s) != 0) zt_free(s); /* no thread: stay inline */
}

/* Stop and join the producer; the stream owns fd/in/inf again. */
static void zt_stop(struct sp_stream *s)
{
    if (!s->zt) return;
    sp_worker_stop(&s->zt->w);
    zt_free(s);
}

/* fill() through the producer: copy its next chunk to buf[end]. */
static int zt_fill(struct sp_stream *s, struct sp_err *err)
{
    struct sp_zthread *z = s->zt;
    struct zt_chunk *c;
    int rc;

    if (z->finished) return 0;
    pthread_mutex_lock(&z->w.mu);
    while (z->count == 0) pthread_cond_wait(&z->w.cv, &z->w.mu);
    pthread_mutex_unlock(&z->w.mu);
    c = &z->ring[z->head];
    memcpy(s->buf + s->end, c->p, c->n);
    s->end += c->n;
    s->read_total += c->raw_pos - s->raw_pos;
    s->raw_pos = c->raw_pos;
    rc = c->n > 0;
    if (c->last) {
        z->finished = 1;
        if (c->rc == SP_EIO) {
            char msg[200];
            memcpy(msg, c->msg, sizeof(msg));
            zt_stop(s);
            return sp_err_set(err, SP_EIO, "%s: %s", s->source, msg);
        }
        if (c->rc == 1) {
            set_pending(s, c->msg);
            rc = 0;
        }
    }
    z->head = (z->head + 1) % ZT_SLOTS;
    pthread_mutex_lock(&z->w.mu);
    z->count--;
    pthread_cond_broadcast(&z->w.cv);
    pthread_mutex_unlock(&z->w.mu);
    return rc;
}

/*
 * Add decompressed bytes at buf[end]. Returns 1 when bytes were added, 0
 * when the source has nothing more now (EOF, or a deferred gzip error was
 * recorded), SP_EIO on a read error.
 */
static int fill(struct sp_stream *s, struct sp_err *err)
{
    make_room(s);
    if (s->zt) return zt_fill(s, err);
    if (s->gz == 0) {
        ssize_t k = read_some(s->fd, s->buf + s->end, s->alloc - s->end);
        if (k < 0) return sp_err_set(err, SP_EIO, "%s: read: %s", s->source, strerror(errno));
        s->raw_pos += k;
        s->read_total += k;
        s->end += (size_t)k;
        return k > 0;
    }
    if (s->gz < 0) {
        /* Sniff the format from the first two bytes. */
        while (s->in_len < 2) {
            ssize_t k = read_some(s->fd, s->in + s->in_len, SP_READ_CHUNK - s->in_len);
            if (k < 0) return sp_err_set(err, SP_EIO, "%s: read: %s", s->source, strerror(errno));
            if (k == 0) break;
            s->in_len += (size_t)k;
            s->raw_pos += k;
            s->read_total += k;
        }
        if (s->in_len == 0) return 0;
        if (s->in_len == 1 && s->in[0] == 0x1f && s->follow) return 0; /* gzip? wait for byte 2 */
        if (s->in_len >= 2 && (unsigned char)s->in[0] == 0x1f && (unsigned char)s->in[1] == 0x8b) {
            s->gz = 1;
            if (!s->inf) s->inf = sp_inflate_new();
            sp_inflate_feed(s->inf, s->in, s->in_len);
            s->in_len = 0;
        } else {
            s->gz = 0;
            memcpy(s->buf + s->end, s->in, s->in_len);
            s->end += s->in_len;
            s->in_len = 0;
            return 1;
        }
    }
    if (!s->follow && !s->zt) {
        zt_start(s);
        if (s->zt) return zt_fill(s, err);
    }
    for (;;) {
        size_t room = s->alloc - s->end, produced;
        const char *why = NULL;
        int zr;

        if (sp_inflate_pending(s->inf) == 0) {
            ssize_t k = read_some(s->fd, s->in, SP_READ_CHUNK);
            if (k < 0) return sp_err_set(err, SP_EIO, "%s: read: %s", s->source, strerror(errno));
            if (k == 0) {
                if (s->member_open && !s->follow) set_pending(s, "truncated gzip data");
                return 0;
            }
            s->raw_pos += k;
            s->read_total += k;
            sp_inflate_feed(s->inf, s->in, (size_t)k);
        }
        if (!s->member_open) {
            sp_inflate_member(s->inf); /* a new member (multi-member / concatenated .gz) */
            s->member_open = 1;
        }
        zr = sp_inflate_run(s->inf, s->buf + s->end, room, &produced, &why);
        s->end += produced;
        if (zr == SP_INFLATE_END) {
            s->member_open = 0;
        } else if (zr == SP_INFLATE_BAD) {
            char what[200];
            snprintf(what, sizeof(what), "corrupt gzip data (%s)", why);
            set_pending(s, what);
            sp_inflate_discard(s->inf);
            return 0;
        }
        if (produced > 0) return 1;
    }
}

/* Stat the path: has the file been rotated (another inode) or truncated? */
static int check_rotation(struct sp_stream *s, int *rotated, int *truncated)
{
    struct stat now, cur;

    *rotated = *truncated = 0;
    if (s->is_stdin || !s->regular) return SP_OK;
    if (stat(s->path, &now) == 0 && (now.st_ino != s->ino || now.st_dev != s->dev)) {
        *rotated = 1;
        return SP_OK;
    }
    if (fstat(s->fd, &cur) == 0 && (int64_t)cur.st_size < s->raw_pos) *truncated = 1;
    return SP_OK;
}

static int reopen(struct sp_stream *s, struct sp_err *err)
{
    int fd = open(s->path, O_RDONLY | O_CLOEXEC);
    struct stat sb;

    if (fd < 0) {
        if (errno == ENOENT) return SP_AGAIN; /* rotated away, new file not there yet */
        return sp_err_set(err, SP_EIO, "%s: reopen after rotation: %s", s->path, strerror(errno));
    }
    if (fstat(fd, &sb) != 0) {
        close(fd);
        return sp_err_set(err, SP_EIO, "%s: %s", s->path, strerror(errno));
    }
    close(s->fd);
    s->fd = fd;
    s->dev = sb.st_dev;
    s->ino = sb.st_ino;
    s->regular = S_ISREG(sb.st_mode);
    s->size = s->regular ? (int64_t)sb.st_size : -1;
    source_reset(s);
    return SP_OK;
}

/* Hand out buf[start, nl) as line number ++line. */
static int emit(struct sp_stream *s, size_t nl, size_t next, struct sp_line *out)
{
    size_t n = nl - s->start;
    const char *p = s->buf + s->start;

    if (n && p[n - 1] == '\r') n--;
    out->p = p;
    out->n = n;
    out->line = ++s->line;
    out->offset = s->base_off + (int64_t)s->start;
    out->end_offset = s->base_off + (int64_t)next;
    out->source = s->source;
    s->start = s->scan = next;
    s->st.lines++;
    if (n > s->st.longest_line) s->st.longest_line = n;
    return SP_OK;
}

/* The skipped line starts at offset `off`: its location goes into out too (dead-letter columns). */
static int too_long(struct sp_stream *s, struct sp_line *out, int64_t off, struct sp_err *err)
{
    s->line++;
    s->st.bad_lines++;
    out->line = s->line;
    out->offset = off;
    out->source = s->source;
    return sp_err_set(err, SP_EBADINPUT, "%s:%lld: line longer than %zu bytes (skipped)", s->source,
                      (long long)s->line, s->max_line);
}

int sp_stream_next(struct sp_stream *s, struct sp_line *out, struct sp_err *err)
{
    for (;;) {
        char *nl = s->scan < s->end ? memchr(s->buf + s->scan, '\n', s->end - s->scan) : NULL;
        int rc;

        if (s->skipping) {
            if (nl) {
                s->start = s->scan = (size_t)(nl - s->buf) + 1;
                s->skipping = 0;
                continue;
            }
            s->base_off += (int64_t)s->end; /* discard what we have of the long line */
            s->start = s->scan = s->end = 0;
        } else if (nl) {
            size_t at = (size_t)(nl - s->buf);
            if (at - s->start > s->max_line) {
                int64_t off = s->base_off + (int64_t)s->start;
                s->start = s->scan = at + 1;
                return too_long(s, out, off, err);
            }
            return emit(s, at, at + 1, out);
        } else {
            s->scan = s->end;
            if (s->end - s->start > s->max_line) {
                int64_t off = s->base_off + (int64_t)s->start;
                s->base_off += (int64_t)s->end;
                s->start = s->scan = s->end = 0;
                s->skipping = 1;
                return too_long(s, out, off, err);
            }
        }
        if (s->done) {
            if (s->pend_rc) {
                /* the incomplete line before the bad gzip data is dropped */
                size_t partial = s->end - s->start;
                int skipping = s->skipping;
                s->pend_rc = 0;
                s->skipping = 0;
                s->start = s->scan = s->end;
                /* located at the line that was cut (or would have come next) */
                out->line = s->line + 1;
                out->offset = s->base_off + (int64_t)s->end - (int64_t)partial;
                out->source = s->source;
                if (partial && !skipping)
                    return sp_err_set(err, SP_EBADINPUT, "%s:%lld: %s (incomplete line at offset %lld, %zu bytes, dropped)",
                                      s->source, (long long)out->line, s->pend_msg, (long long)out->offset, partial);
                return sp_err_set(err, SP_EBADINPUT, "%s:%lld: %s (after the last complete line)", s->source,
                                  (long long)out->line, s->pend_msg);
            }
            if (s->start < s->end && !s->skipping) return emit(s, s->end, s->end, out);
            s->skipping = 0;
            return SP_EOF;
        }
        rc = fill(s, err);
        if (rc < 0) return rc;
        if (rc > 0) continue;
        if (s->pend_rc || !s->follow) {
            s->done = 1;
            continue;
        }
        /* follow mode, nothing new: rotated, truncated, or just wait */
        {
            int rotated, truncated;
            check_rotation(s, &rotated, &truncated);
            if (rotated) {
                rc = fill(s, err); /* drain what was written before the rename */
                if (rc < 0) return rc;
                if (rc > 0) continue;
                if (s->start < s->end && !s->skipping) return emit(s, s->end, s->end, out);
                if (s->member_open)
                    sp_warn("%s: rotated inside a gzip member; its tail is lost", s->source);
                rc = reopen(s, err);
                if (rc != SP_OK) return rc;
                sp_info("%s: file was rotated; reading the new file from the start", s->source);
                continue;
            }
            if (truncated) {
                sp_warn("%s: file was truncated (now shorter than the %lld bytes read); "
                        "reading again from the start",
                        s->source, (long long)s->raw_pos);
                if (lseek(s->fd, 0, SEEK_SET) < 0)
                    return sp_err_set(err, SP_EIO, "%s: lseek: %s", s->source, strerror(errno));
                source_reset(s);
                continue;
            }
        }
        return SP_AGAIN;
    }
}

/* Discard decompressed bytes up to stream offset `offset`. */
static int discard_to(struct sp_stream *s, int64_t offset, struct sp_err *err)
{
    for (;;) {
        int64_t have_end = s->base_off + (int64_t)s->end;
        int rc;
        if (have_end >= offset) {
            s->start = s->scan = (size_t)(offset - s->base_off);
            return SP_OK;
        }
        s->base_off = have_end; /* drop all buffered bytes */
        s->start = s->scan = s->end = 0;
        rc = fill(s, err);
        if (rc < 0) return rc;
        if (rc == 0 && s->pend_rc && s->base_off + (int64_t)s->end >= offset) {
            /* the bytes inflated before corrupt gzip data still reach the
             * checkpoint: stop after them, as sp_stream_next does */
            s->done = 1;
            continue;
        }
        if (rc == 0) {
            if (s->pend_rc)
                return sp_err_set(err, SP_EBADINPUT,
                                  "%s: source shorter than checkpoint (truncated or replaced): "
                                  "%s",
                                  s->source, s->pend_msg);
            return sp_err_set(err, SP_EBADINPUT,
                              "%s: source shorter than checkpoint (truncated or replaced): "
                              "%lld bytes, checkpoint at %lld",
                              s->source, (long long)have_end, (long long)offset);
        }
    }
}

int sp_stream_seek(struct sp_stream *s, int64_t line, int64_t offset, struct sp_err *err)
{
    int64_t cur = s->base_off + (int64_t)s->start;
    int rc;

    if (offset < 0 || line < 0)
        return sp_err_set(err, SP_EUSAGE, "%s: bad checkpoint (line %lld, offset %lld)", s->source,
                          (long long)line, (long long)offset);
    if (offset < cur || s->done || s->skipping) {
        if (!s->regular)
            return sp_err_set(err, SP_EUSAGE, "%s: cannot seek backwards on a pipe", s->source);
        zt_stop(s); /* the producer reads fd: stop it before moving the file position */
        if (lseek(s->fd, 0, SEEK_SET) < 0)
            return sp_err_set(err, SP_EIO, "%s: lseek: %s", s->source, strerror(errno));
        source_reset(s);
        cur = 0;
    }
    if (s->regular && s->gz < 0 && s->raw_pos == 0 && s->in_len == 0) {
        /* Fresh regular file: find out its format; plain files seek directly. */
        unsigned char magic[2];
        struct stat sb;
        ssize_t k = pread(s->fd, magic, 2, 0);
        if (k < 0) return sp_err_set(err, SP_EIO, "%s: read: %s", s->source, strerror(errno));
        if (fstat(s->fd, &sb) != 0)
            return sp_err_set(err, SP_EIO, "%s: %s", s->source, strerror(errno));
        if (!(k == 2 && magic[0] == 0x1f && magic[1] == 0x8b)) {
            if ((int64_t)sb.st_size < offset)
                return sp_err_set(err, SP_EBADINPUT,
                                  "%s: source shorter than checkpoint (truncated or replaced): "
                                  "%lld bytes, checkpoint at %lld",
                                  s->source, (long long)sb.st_size, (long long)offset);
            if (k == 2 || offset > 0) s->gz = 0;
            if (lseek(s->fd, offset, SEEK_SET) < 0)
                return sp_err_set(err, SP_EIO, "%s: lseek: %s", s->source, strerror(errno));
            s->raw_pos = offset;
            frame_reset(s, offset, line);
            return SP_OK;
        }
    }
    rc = discard_to(s, offset, err);
    if (rc != SP_OK) return rc;
    s->line = line;
    return SP_OK;
}

int64_t sp_stream_bytes_in(const struct sp_stream *s)
{
    return s->raw_pos;
}

int64_t sp_stream_bytes_read(const struct sp_stream *s)
{
    return s->read_total;
}

int64_t sp_stream_size(const struct sp_stream *s)
{
    return s->size;
}

int64_t sp_stream_lag(const struct sp_stream *s)
{
    struct stat now, at_path;
    int64_t left;

    if (!s->regular || fstat(s->fd, &now) != 0) return -1; /* a pipe: unknown */
    if (s->done && !s->follow) return 0; /* at its end (or corrupt data): nothing more is read */
    left = (int64_t)now.st_size - s->raw_pos;
    if (left < 0) /* truncated: followed, it is read again from 0; else nothing more comes */
        left = s->follow ? (int64_t)now.st_size : 0;
    /* rotated (another file at the path): the new file is read after this one */
    if (s->follow && stat(s->path, &at_path) == 0 && (at_path.st_ino != s->ino || at_path.st_dev != s->dev))
        left += (int64_t)at_path.st_size;
    return left;
}

void sp_stream_stats(const struct sp_stream *s, struct sp_reader_stats *st)
{
    *st = s->st;
}
