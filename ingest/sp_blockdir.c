/* sp_blockdir.c - block-slog directory (slogfile_*_<ms>.gz members) read member by member in time order. */
#include "sp_reader_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct sp_member {
    char *path;   /* dir + "/" + name; owned, lives until destroy */
    const char *name;
    int64_t ms, height;
    int rank;
    int64_t size; /* st_size at open */
};

struct sp_blockdir {
    char *dir;
    size_t max_line;
    struct sp_member *m;
    size_t n;
    size_t cur;            /* member being read (== n when all done) */
    struct sp_stream *s;   /* open stream of member `cur`, or NULL */
    int64_t done_bytes;    /* compressed bytes of members finished */
    int64_t read_done;     /* bytes read from members closed (skipped by a seek: not read) */
    struct sp_reader_stats st;
};

/* Parse an unsigned decimal in [p, p + n); 0 if empty or not all digits. */
static int parse_u64(const char *p, size_t n, int64_t *out)
{
    int64_t v = 0;
    if (n == 0 || n > 18) return 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return 0;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 1;
}

int sp_blockdir_parse_name(const char *name, int64_t *ms, int *rank, int64_t *height)
{
    static const char *kinds[] = {"init_", "bootstrap_", "upgrade_", "block_"};
    static const char pre[] = "slogfile_";
    size_t len = strlen(name);
    const char *p, *stop;

    if (len < sizeof(pre) - 1 + 3 || strncmp(name, pre, sizeof(pre) - 1) != 0 ||
        strcmp(name + len - 3, ".gz") != 0)
        return 0;
    p = name + sizeof(pre) - 1;
    stop = name + len - 3;
    for (int k = 0; k < 4; k++) {
        size_t kl = strlen(kinds[k]);
        if ((size_t)(stop - p) <= kl || strncmp(p, kinds[k], kl) != 0) continue;
        p += kl;
        *rank = k;
        *height = -1;
        if (k == 3) {
            const char *us = memchr(p, '_', (size_t)(stop - p));
            if (!us || !parse_u64(p, (size_t)(us - p), height)) return 0;
            p = us + 1;
        }
        return parse_u64(p, (size_t)(stop - p), ms);
    }
    return 0;
}

static int member_cmp(const void *a, const void *b)
{
    const struct sp_member *x = a, *y = b;
    if (x->ms != y->ms) return x->ms < y->ms ? -1 : 1;
    if (x->rank != y->rank) return x->rank < y->rank ? -1 : 1;
    if (x->height != y->height) return x->height < y->height ? -1 : 1;
    return strcmp(x->name, y->name);
}

int sp_blockdir_open(struct sp_blockdir **out, const char *path, size_t max_line,
                     struct sp_err *err)
{
    struct sp_blockdir *d = sp_xcalloc(1, sizeof(*d));
    DIR *dh = NULL;
    struct dirent *de;
    size_t cap = 0, dl;
    int rc;

    *out = NULL;
    d->dir = sp_xstrdup(path);
    dl = strlen(path);
    while (dl > 1 && d->dir[dl - 1] == '/') d->dir[--dl] = '\0';
    d->max_line = max_line;
    dh = opendir(path);
    if (!dh) {
        rc = sp_err_set(err, SP_EIO, "%s: %s", path, strerror(errno));
        goto fail;
    }
    while ((de = readdir(dh)) != NULL) {
        struct sp_member m;
        struct stat sb;
        size_t nl = strlen(de->d_name);
        if (!sp_blockdir_parse_name(de->d_name, &m.ms, &m.rank, &m.height)) continue;
        m.path = sp_xmalloc(dl + 1 + nl + 1);
        memcpy(m.path, d->dir, dl);
        m.path[dl] = '/';
        memcpy(m.path + dl + 1, de->d_name, nl + 1);
        m.name = m.path + dl + 1;
        m.size = stat(m.path, &sb) == 0 && S_ISREG(sb.st_mode) ? (int64_t)sb.st_size : -1;
        if (m.size < 0) {
            free(m.path);
            continue;
        }
        if (d->n == cap) {
            cap = cap ? 2 * cap : 64;
            d->m = sp_xrealloc(d->m, cap * sizeof(*d->m));
        }
        d->m[d->n++] = m;
    }
    closedir(dh);
    dh = NULL;
    if (d->n == 0) {
        rc = sp_err_set(err, SP_EUSAGE, "%s: no slogfile_*.gz files in the directory", path);
        goto fail;
    }
    if (d->n) qsort(d->m, d->n, sizeof(*d->m), member_cmp); /* qsort(NULL, 0) is UB */
    *out = d;
    return SP_OK;
fail:
    if (dh) closedir(dh);
    sp_blockdir_destroy(d);
    return rc;
}

static void close_cur(struct sp_blockdir *d)
{
    struct sp_reader_stats st;
    if (!d->s) return;
    sp_stream_stats(d->s, &st);
    d->st.lines += st.lines;
    d->st.bad_lines += st.bad_lines;
    if (st.longest_line > d->st.longest_line) d->st.longest_line = st.longest_line;
    if (st.buf_peak > d->st.buf_peak) d->st.buf_peak = st.buf_peak;
    d->done_bytes += sp_stream_bytes_in(d->s);
    d->read_done += sp_stream_bytes_read(d->s);
    sp_stream_destroy(d->s);
    d->s = NULL;
}

void sp_blockdir_destroy(struct sp_blockdir *d)
{
    if (!d) return;
    sp_stream_destroy(d->s);
    for (size_t i = 0; i < d->n; i++) free(d->m[i].path);
    free(d->m);
    free(d->dir);
    free(d);
}

/* Open member `cur` if none is open. SP_EBADINPUT (member skipped) if it cannot be. */
static int open_cur(struct sp_blockdir *d, struct sp_err *err)
{
    int rc;
    if (d->s || d->cur >= d->n) return SP_OK;
    rc = sp_stream_open(&d->s, d->m[d->cur].path, d->max_line, 0, err);
    if (rc != SP_OK) {
        d->done_bytes += d->m[d->cur].size;
        d->cur++;
        if (err) err->rc = SP_EBADINPUT;
        sp_err_prefix(err, "member skipped: ");
        return SP_EBADINPUT;
    }
    return SP_OK;
}

int sp_blockdir_next(struct sp_blockdir *d, struct sp_line *line, struct sp_err *err)
{
    for (;;) {
        int rc;
        if (d->cur >= d->n) return SP_EOF;
        rc = open_cur(d, err);
        if (rc != SP_OK) return rc;
        rc = sp_stream_next(d->s, line, err);
        if (rc == SP_OK || rc == SP_EBADINPUT) line->source = d->m[d->cur].path; /* outlives the member's stream */
        if (rc != SP_EOF) return rc;
        close_cur(d);
        d->cur++;
    }
}

int sp_blockdir_seek(struct sp_blockdir *d, int64_t line, int64_t offset, struct sp_err *err)
{
    int rc;
    if (d->cur >= d->n) return sp_err_set(err, SP_EBADINPUT, "%s: no member left to seek in", d->dir);
    rc = open_cur(d, err);
    if (rc != SP_OK) return rc;
    return sp_stream_seek(d->s, line, offset, err);
}

int sp_blockdir_seek_member(struct sp_blockdir *d, const char *source, int64_t line,
                            int64_t offset, struct sp_err *err)
{
    size_t i;
    for (i = 0; i < d->n; i++)
        if (strcmp(d->m[i].path, source) == 0 || strcmp(d->m[i].name, source) == 0) break;
    if (i == d->n)
        return sp_err_set(err, SP_EBADINPUT,
                          "%s: checkpoint member %s is no longer in the directory (removed or "
                          "replaced)",
                          d->dir, source);
    close_cur(d);
    d->cur = i;
    d->done_bytes = 0;
    for (size_t j = 0; j < i; j++) d->done_bytes += d->m[j].size;
    return sp_blockdir_seek(d, line, offset, err);
}

size_t sp_blockdir_member_count(const struct sp_blockdir *d)
{
    return d->n;
}

const char *sp_blockdir_member(const struct sp_blockdir *d, size_t i)
{
    return i < d->n ? d->m[i].path : NULL;
}

int64_t sp_blockdir_bytes_in(const struct sp_blockdir *d)
{
    return d->done_bytes + (d->s ? sp_stream_bytes_in(d->s) : 0);
}

int64_t sp_blockdir_bytes_read(const struct sp_blockdir *d)
{
    return d->read_done + (d->s ? sp_stream_bytes_read(d->s) : 0);
}

int64_t sp_blockdir_lag(const struct sp_blockdir *d)
{
    int64_t left = 0;
    for (size_t i = d->cur; i < d->n; i++) {
        int64_t l = i == d->cur && d->s ? sp_stream_lag(d->s) : d->m[i].size;
        if (l > 0) left += l;
    }
    return left;
}

int64_t sp_blockdir_size(const struct sp_blockdir *d)
{
    int64_t t = 0;
    for (size_t i = 0; i < d->n; i++) t += d->m[i].size;
    return t;
}

void sp_blockdir_stats(const struct sp_blockdir *d, struct sp_reader_stats *st)
{
    *st = d->st;
    if (d->s) {
        struct sp_reader_stats cur;
        sp_stream_stats(d->s, &cur);
        st->lines += cur.lines;
        st->bad_lines += cur.bad_lines;
        if (cur.longest_line > st->longest_line) st->longest_line = cur.longest_line;
        if (cur.buf_peak > st->buf_peak) st->buf_peak = cur.buf_peak;
        st->buf_alloc = cur.buf_alloc;
    } else {
        st->buf_alloc = 0;
    }
}
