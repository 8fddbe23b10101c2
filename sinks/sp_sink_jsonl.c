/* sp_sink_jsonl.c - the JSON lines sink: buffered writes, fsync on commit, torn-tail truncation, sidecar checkpoints. */
#include "sp_jsonl.h"
#include "../core/sp_buf.h"
#include "../core/sp_worker.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#define SP_JSONL_FLUSH_AT (1u << 20)      /* write(2) once 1 MiB is buffered */
#define SP_JSONL_BUF_CAP (1024u << 20)    /* a record's JSON may not exceed ~1 GiB */
#define SP_JSONL_SIDECAR_MAX (64u << 20)  /* sanity bound when reading PATH.ckpt */

struct jl_ckpt {
    char *node, *source, *state;
    int64_t line, offset;
};

struct jl_writer;

struct sp_jsonl {
    struct jl_writer *wt;  /* thread doing the write(2) calls (NULL: inline) */
    int fd;
    int is_stdout;
    int sidecar;           /* write PATH.ckpt at each commit */
    int failed;            /* a write failed: the file may end in a torn line */
    char *path, *ckpt_path, *tmp_path;
    struct sp_buf out;     /* encoded, not yet written */
    int64_t written;       /* bytes written to fd (file: its length); advanced by
                            * the writer thread, read once it is idle */
    int64_t committed;     /* length after the last commit */
    int64_t sidecar_bytes; /* from PATH.ckpt at open, -1 none */
    struct jl_ckpt *cks;
    size_t ncks, acks;
};

/* ---- I/O helpers --------------------------------------------------------- */

static int write_all(int fd, const char *p, size_t n, int64_t *advanced)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += k;
        n -= (size_t)k;
        if (advanced) *advanced += k;
    }
    return 0;
}

/* ---- writer thread --------------------------------------------------------
 * write(2) of the encoded lines runs on a thread of its own: copying ~1.6 GB
 * of output per GB of slog into the page cache took ~15 % of the parsing
 * thread, the JSONL path's critical one. Full 1 MiB buffers are handed over
 * (double buffering: at most one being written, one being filled); a
 * failed write is reported by the next flush or commit, and nothing is
 * written after it (the sink has failed: the file may end in a torn line,
 * which the next run cuts). commit waits for the thread before its fsync. */
struct jl_writer {
    struct sp_worker w; /* w.mu guards the fields below */
    struct sp_buf buf;  /* being written */
    int busy;           /* buf holds bytes not yet written */
    int err;            /* errno of a failed write (0: none); the thread's while busy */
};

/* One handed-over buffer: write it, unless an earlier write failed. */
static void jl_writer_job(void *arg)
{
    struct sp_jsonl *j = arg;
    struct jl_writer *t = j->wt;

    if (!t->err && write_all(j->fd, t->buf.data, t->buf.len, &j->written) != 0) t->err = errno;
    sp_buf_reset(&t->buf);
}

static void *jl_writer_main(void *arg)
{
    struct sp_jsonl *j = arg;
    sp_worker_serve(&j->wt->w, &j->wt->busy, jl_writer_job, j);
    return NULL;
}

/* Wait until the thread has written everything handed over; SP_OK, or
 * SP_ESINK if a write failed (the sink has then failed). */
static int writer_wait(struct sp_jsonl *j, struct sp_err *err)
{
    struct jl_writer *t = j->wt;
    int e;

    if (!t) return SP_OK;
    sp_worker_wait_idle(&t->w, &t->busy);
    e = t->err; /* the thread is idle: plain access is safe */
    if (!e) return SP_OK;
    j->failed = 1;
    return sp_err_set(err, SP_ESINK, "jsonl %s: write: %s", j->path, strerror(e));
}

static void writer_start(struct sp_jsonl *j)
{
    struct jl_writer *t = sp_xcalloc(1, sizeof(*t));

    sp_buf_init(&t->buf, SP_JSONL_BUF_CAP);
    j->wt = t;
    if (sp_worker_start(&t->w, jl_writer_main, j) != 0) { /* no thread: write inline */
        sp_buf_free(&t->buf);
        free(t);
        j->wt = NULL;
    }
}

/* Stop the thread once what it was handed is written. */
static void writer_stop(struct sp_jsonl *j)
{
    if (!j->wt) return;
    sp_worker_stop(&j->wt->w);
    sp_buf_free(&j->wt->buf);
    free(j->wt);
    j->wt = NULL;
}

static int flush_out(struct sp_jsonl *j, struct sp_err *err)
{
    if (!j->out.len) return SP_OK;
    if (j->wt) { /* hand the buffer over, taking back the one just written */
        struct sp_buf tmp;
        if (writer_wait(j, err) != SP_OK) {
            sp_buf_reset(&j->out);
            return SP_ESINK;
        }
        pthread_mutex_lock(&j->wt->w.mu);
        tmp = j->wt->buf, j->wt->buf = j->out, j->out = tmp;
        j->wt->busy = 1;
        pthread_cond_broadcast(&j->wt->w.cv);
        pthread_mutex_unlock(&j->wt->w.mu);
        return SP_OK;
    }
    if (write_all(j->fd, j->out.data, j->out.len, &j->written) != 0) {
        int e = errno;
        sp_buf_reset(&j->out);
        j->failed = 1;
        return sp_err_set(err, SP_ESINK, "jsonl %s: write: %s", j->path, strerror(e));
    }
    sp_buf_reset(&j->out);
    return SP_OK;
}

/* fsync the folder holding path, so a rename in it is durable. */
static int fsync_dir_of(const char *path)
{
    char *copy = sp_xstrdup(path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = -1;

    free(copy);
    if (fd < 0) return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

/* ---- checkpoints table --------------------------------------------------- */

static struct jl_ckpt *ck_find(struct sp_jsonl *j, const char *node, const char *source)
{
    for (size_t i = 0; i < j->ncks; i++)
        if (strcmp(j->cks[i].node, node) == 0 && strcmp(j->cks[i].source, source) == 0)
            return &j->cks[i];
    return NULL;
}

static void ck_set(struct sp_jsonl *j, const char *node, const char *source, int64_t line,
                   int64_t offset, const char *state)
{
    struct jl_ckpt *c = ck_find(j, node, source);

    if (!c) {
        if (j->ncks == j->acks) {
            j->acks = j->acks ? j->acks * 2 : 8;
            j->cks = sp_xrealloc(j->cks, j->acks * sizeof(*j->cks));
        }
        c = &j->cks[j->ncks++];
        c->node = sp_xstrdup(node);
        c->source = sp_xstrdup(source);
        c->state = NULL;
    }
    free(c->state);
    c->state = state ? sp_xstrdup(state) : NULL;
    c->line = line;
    c->offset = offset;
}

/* ---- sidecar ------------------------------------------------------------- */

/* Write PATH.ckpt atomically: PATH.ckpt.tmp, fsync, rename, fsync folder. */
static int sidecar_write(struct sp_jsonl *j, struct sp_err *err)
{
    struct sp_buf b;
    int fd = -1, rc = SP_ESINK;

    sp_buf_init(&b, 0);
    sp_buf_printf(&b, "{\"bytes\":%lld,\"checkpoints\":[", (long long)j->committed);
    for (size_t i = 0; i < j->ncks; i++) {
        const struct jl_ckpt *c = &j->cks[i];
        sp_buf_append_c(&b, i ? ",{\"node\":" : "{\"node\":");
        sp_buf_json_str(&b, c->node, strlen(c->node));
        sp_buf_append_c(&b, ",\"source\":");
        sp_buf_json_str(&b, c->source, strlen(c->source));
        sp_buf_printf(&b, ",\"line\":%lld,\"offset\":%lld,\"state\":", (long long)c->line,
                      (long long)c->offset);
        if (c->state)
            sp_buf_json_str(&b, c->state, strlen(c->state));
        else
            sp_buf_append_c(&b, "null");
        sp_buf_putc(&b, '}');
    }
    sp_buf_append_c(&b, "]}\n");

    fd = open(j->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        sp_err_set(err, SP_ESINK, "jsonl %s: create: %s", j->tmp_path, strerror(errno));
        goto done;
    }
    if (write_all(fd, b.data, b.len, NULL) != 0 || fsync(fd) != 0) {
        sp_err_set(err, SP_ESINK, "jsonl %s: write: %s", j->tmp_path, strerror(errno));
        goto done;
    }
    if (close(fd) != 0) {
        fd = -1;
        sp_err_set(err, SP_ESINK, "jsonl %s: close: %s", j->tmp_path, strerror(errno));
        goto done;
    }
    fd = -1;
    if (rename(j->tmp_path, j->ckpt_path) != 0) {
        sp_err_set(err, SP_ESINK, "jsonl %s: rename to %s: %s", j->tmp_path, j->ckpt_path,
                   strerror(errno));
        goto done;
    }
    if (fsync_dir_of(j->ckpt_path) != 0) {
        sp_err_set(err, SP_ESINK, "jsonl %s: fsync folder: %s", j->ckpt_path, strerror(errno));
        goto done;
    }
    rc = SP_OK;
done:
    if (fd >= 0) close(fd);
    sp_buf_free(&b);
    return rc;
}

static int read_file(const char *path, struct sp_buf *b, struct sp_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char chunk[8192];

    if (fd < 0) {
        if (errno == ENOENT) return SP_EOF;
        return sp_err_set(err, SP_ESINK, "jsonl %s: open: %s", path, strerror(errno));
    }
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            return sp_err_set(err, SP_ESINK, "jsonl %s: read: %s", path, strerror(e));
        }
        if (n == 0) break;
        if (sp_buf_append(b, chunk, (size_t)n) != SP_OK) {
            close(fd);
            return sp_err_set(err, SP_ESINK, "jsonl %s: larger than %u bytes", path,
                              SP_JSONL_SIDECAR_MAX);
        }
    }
    close(fd);
    return SP_OK;
}

static yajl_val obj_get(yajl_val o, const char *key)
{
    const char *path[] = {key, NULL};
    return yajl_tree_get(o, path, yajl_t_any);
}

/* Load PATH.ckpt if present. A sidecar that does not parse is an error
 * (resuming without it would duplicate or lose records): fix or remove it. */
static int sidecar_read(struct sp_jsonl *j, struct sp_err *err)
{
    struct sp_buf b;
    char ebuf[256];
    yajl_val root = NULL, bytes, list;
    int rc;

    sp_buf_init(&b, SP_JSONL_SIDECAR_MAX);
    rc = read_file(j->ckpt_path, &b, err);
    if (rc != SP_OK) {
        sp_buf_free(&b);
        return rc == SP_EOF ? SP_OK : rc;
    }
    ebuf[0] = '\0';
    root = b.data ? yajl_tree_parse(b.data, ebuf, sizeof(ebuf)) : NULL;
    bytes = obj_get(root, "bytes");
    list = obj_get(root, "checkpoints");
    if (!YAJL_IS_OBJECT(root) || !YAJL_IS_INTEGER(bytes) || !YAJL_IS_ARRAY(list)) {
        sp_err_set(err, SP_ESINK, "jsonl %s: not a slogpipe checkpoint file (%s); remove it to start over",
                   j->ckpt_path, ebuf[0] ? ebuf : "missing bytes/checkpoints");
        rc = SP_ESINK;
        goto done;
    }
    j->sidecar_bytes = YAJL_GET_INTEGER(bytes);
    for (size_t i = 0; i < list->u.array.len; i++) {
        yajl_val c = list->u.array.values[i];
        yajl_val node = obj_get(c, "node"), source = obj_get(c, "source");
        yajl_val line = obj_get(c, "line"), offset = obj_get(c, "offset"), state = obj_get(c, "state");
        if (!YAJL_IS_STRING(node) || !YAJL_IS_STRING(source) || !YAJL_IS_INTEGER(line) ||
            !YAJL_IS_INTEGER(offset) || !(state == NULL || YAJL_IS_NULL(state) || YAJL_IS_STRING(state))) {
            sp_err_set(err, SP_ESINK, "jsonl %s: checkpoint %zu is malformed; remove the file to start over",
                       j->ckpt_path, i);
            rc = SP_ESINK;
            goto done;
        }
        ck_set(j, YAJL_GET_STRING(node), YAJL_GET_STRING(source), YAJL_GET_INTEGER(line),
               YAJL_GET_INTEGER(offset), YAJL_GET_STRING(state));
    }
    rc = SP_OK;
done:
    yajl_tree_free(root);
    sp_buf_free(&b);
    return rc;
}

/* ---- ops ----------------------------------------------------------------- */

static void jl_close(void *ctx)
{
    struct sp_jsonl *j = ctx;

    if (!j) return;
    writer_stop(j);
    /* Uncommitted output is dropped, as after a crash. */
    if (j->fd >= 0 && !j->is_stdout && close(j->fd) != 0)
        sp_warn("jsonl %s: close: %s", j->path, strerror(errno));
    for (size_t i = 0; i < j->ncks; i++) {
        free(j->cks[i].node);
        free(j->cks[i].source);
        free(j->cks[i].state);
    }
    free(j->cks);
    sp_buf_free(&j->out);
    free(j->path);
    free(j->ckpt_path);
    free(j->tmp_path);
    free(j);
}

static char *concat(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *s = sp_xmalloc(na + nb + 1);
    memcpy(s, a, na);
    memcpy(s + na, b, nb + 1);
    return s;
}

static int jl_open(void **ctx, const char *target, const struct sp_sink_opts *o, struct sp_err *err)
{
    struct sp_jsonl *j;
    off_t end;

    *ctx = NULL;
    if (!target || !*target) return sp_err_set(err, SP_EUSAGE, "jsonl: no output path");
    j = sp_xcalloc(1, sizeof(*j));
    j->fd = -1;
    j->sidecar_bytes = -1;
    j->path = sp_xstrdup(target);
    sp_buf_init(&j->out, SP_JSONL_BUF_CAP);
    if (strcmp(target, "-") == 0) {
        j->fd = STDOUT_FILENO;
        j->is_stdout = 1;
        writer_start(j);
        *ctx = j;
        return SP_OK;
    }
    j->sidecar = 1;
    j->ckpt_path = concat(target, ".ckpt");
    j->tmp_path = concat(target, ".ckpt.tmp");
    j->fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (j->fd < 0) {
        sp_err_set(err, SP_ESINK, "jsonl %s: open: %s", target, strerror(errno));
        goto fail;
    }
    end = lseek(j->fd, 0, SEEK_END);
    if (end < 0) {
        sp_err_set(err, SP_ESINK, "jsonl %s: seek: %s", target, strerror(errno));
        goto fail;
    }
    j->written = j->committed = end;
    if (sidecar_read(j, err) != SP_OK) goto fail;
    writer_start(j);
    *ctx = j;
    return SP_OK;
fail:
    jl_close(j);
    return SP_ESINK;
}

static int jl_write(void *ctx, const struct sp_record *rec, struct sp_err *err)
{
    struct sp_jsonl *j = ctx;
    int rc;

    if (j->failed)
        return sp_err_set(err, SP_ESINK, "jsonl %s: an earlier write failed", j->path);
    rc = sp_record_to_json(rec, &j->out);

    if (rc != SP_OK)
        return sp_err_set(err, rc, "jsonl %s: record of kind %d does not fit in %u bytes", j->path,
                          (int)rec->kind, SP_JSONL_BUF_CAP);
    if (sp_buf_putc(&j->out, '\n') != SP_OK)
        return sp_err_set(err, SP_EBADINPUT, "jsonl %s: output buffer full", j->path);
    if (j->out.len >= SP_JSONL_FLUSH_AT) return flush_out(j, err);
    return SP_OK;
}

static int jl_commit(void *ctx, const struct sp_checkpoint *cps, size_t ncps, struct sp_err *err)
{
    struct sp_jsonl *j = ctx;

    if (j->failed)
        return sp_err_set(err, SP_ESINK, "jsonl %s: an earlier write failed; nothing more is committed",
                          j->path);
    if (flush_out(j, err) != SP_OK || writer_wait(j, err) != SP_OK) return SP_ESINK;
    if (j->is_stdout) {
        j->committed = j->written;
        return SP_OK; /* a pipe cannot be synced or rewound */
    }
    /* EINVAL: a device or FIFO (/dev/null, a named pipe) has nothing to sync */
    if (fsync(j->fd) != 0 && errno != EINVAL) {
        j->failed = 1; /* after a failed fsync the page cache state is unknown */
        return sp_err_set(err, SP_ESINK, "jsonl %s: fsync: %s", j->path, strerror(errno));
    }
    j->committed = j->written;
    for (size_t i = 0; i < ncps; i++)
        ck_set(j, cps[i].node ? cps[i].node : "", cps[i].source ? cps[i].source : "", cps[i].line,
               cps[i].offset, cps[i].state);
    if (j->sidecar) return sidecar_write(j, err);
    return SP_OK;
}

int64_t sp_jsonl_bytes(void *ctx)
{
    return ((struct sp_jsonl *)ctx)->committed;
}

int64_t sp_jsonl_sidecar_bytes(void *ctx)
{
    return ((struct sp_jsonl *)ctx)->sidecar_bytes;
}

void sp_jsonl_set_sidecar(void *ctx, int on)
{
    struct sp_jsonl *j = ctx;
    j->sidecar = on && !j->is_stdout;
}

int sp_jsonl_truncate(void *ctx, int64_t bytes, struct sp_err *err)
{
    struct sp_jsonl *j = ctx;
    struct stat st;

    if (j->is_stdout) return sp_err_set(err, SP_EUSAGE, "jsonl: stdout cannot be truncated");
    if (writer_wait(j, err) != SP_OK) return SP_ESINK;
    sp_buf_reset(&j->out);
    if (fstat(j->fd, &st) != 0)
        return sp_err_set(err, SP_ESINK, "jsonl %s: stat: %s", j->path, strerror(errno));
    if (bytes < 0 || bytes > (int64_t)st.st_size)
        return sp_err_set(err, SP_EIO,
                          "jsonl %s: is %lld bytes, shorter than the %lld committed bytes (file "
                          "replaced or cut?): refusing to resume",
                          j->path, (long long)st.st_size, (long long)bytes);
    if (bytes < (int64_t)st.st_size) {
        sp_info("jsonl %s: cutting %lld uncommitted bytes after %lld", j->path,
                (long long)(st.st_size - bytes), (long long)bytes);
        if (ftruncate(j->fd, (off_t)bytes) != 0 || fsync(j->fd) != 0)
            return sp_err_set(err, SP_ESINK, "jsonl %s: truncate to %lld: %s", j->path,
                              (long long)bytes, strerror(errno));
    }
    if (lseek(j->fd, (off_t)bytes, SEEK_SET) < 0)
        return sp_err_set(err, SP_ESINK, "jsonl %s: seek: %s", j->path, strerror(errno));
    j->written = j->committed = bytes;
    return SP_OK;
}

int sp_jsonl_checkpoint_get(void *ctx, const char *node, const char *source, int64_t *line,
                            int64_t *offset, char **state, struct sp_err *err)
{
    struct sp_jsonl *j = ctx;
    const struct jl_ckpt *c = ck_find(j, node ? node : "", source ? source : "");

    (void)err;
    if (state) *state = NULL;
    if (!c) return SP_EOF;
    if (line) *line = c->line;
    if (offset) *offset = c->offset;
    if (state && c->state) *state = sp_xstrdup(c->state);
    return SP_OK;
}

const struct sp_sink_ops sp_sink_jsonl = {
    .name = "jsonl",
    .open = jl_open,
    .write = jl_write,
    .commit = jl_commit,
    .close = jl_close,
};
