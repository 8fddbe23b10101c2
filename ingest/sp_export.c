/* sp_export.c - swing-store state-sync export directory (manifest, export data, transcript artifacts) -> transcript records. */
#include "sp_transcript_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#define EX_MANIFEST "export-manifest.json"
#define EX_OMITTED "omitted-artifacts.tsv"
#define EX_MAX_MANIFEST (256u * 1024 * 1024)
#define EX_VAT_MAX 128

/* Span metadata from a transcript.<vatID>.<startPos|current> export-data record. */
struct ex_span {
    char vat[EX_VAT_MAX + 1];
    int64_t start, end;
    char hash[SP_SHA256_HEX_LEN + 1];
    int has_hash;
    int is_current;
    int64_t incarnation;
    int used;
};

/* snapshot.<vatID>.current pointer, or an inUse snapshot record. */
struct ex_snapref {
    char vat[EX_VAT_MAX + 1];
    int64_t pos;
    int64_t line;
};

struct ex {
    struct sp_tx *t;
    const char *dir;
    char *dir_real;
    char *data_path;
    int64_t line_off; /* byte offset of the export-data line being read */
    struct ex_span *spans;
    size_t nspans, aspans;
    char **omitted;
    size_t nomitted, aomitted;
    struct ex_snapref *cur, *inuse;
    size_t ncur, acur, ninuse, ainuse;
    yajl_val manifest;
};

static yajl_val obj_get(yajl_val o, const char *key)
{
    size_t i;
    if (!YAJL_IS_OBJECT(o)) return NULL;
    for (i = 0; i < o->u.object.len; i++)
        if (!strcmp(o->u.object.keys[i], key)) return o->u.object.values[i];
    return NULL;
}

/* The string of v ("" when v is not a string: callers test YAJL_IS_STRING first). */
static const char *str_of(yajl_val v)
{
    return v && YAJL_IS_STRING(v) && v->u.string ? v->u.string : "";
}

static int get_i64(yajl_val v, int64_t *out)
{
    if (!v || !YAJL_IS_INTEGER(v)) return 0;
    *out = YAJL_GET_INTEGER(v);
    return 1;
}

/* ---- files -------------------------------------------------------------- */

/* Read a whole small file inside the export dir (NUL-terminated). */
static int read_small(struct ex *x, const char *name, struct sp_buf *out, char **path,
                      struct sp_err *err)
{
    int fd, rc;
    sp_buf_init(out, EX_MAX_MANIFEST);
    rc = sp_tx_open_in_dir(x->dir, x->dir_real, name, path, &fd, err);
    if (rc) return rc;
    for (;;) {
        ssize_t got;
        if (sp_buf_reserve(out, 64 * 1024) != SP_OK) {
            close(fd);
            return sp_err_set(err, SP_EBADINPUT, "%s: larger than %u bytes", *path, EX_MAX_MANIFEST);
        }
        got = read(fd, out->data + out->len, 64 * 1024);
        if (got < 0) {
            if (errno == EINTR) continue;
            rc = sp_err_set(err, SP_EIO, "%s: %s", *path, strerror(errno));
            close(fd);
            return rc;
        }
        if (got == 0) break;
        out->len += (size_t)got;
        out->data[out->len] = '\0';
    }
    close(fd);
    if (!out->data) sp_buf_append(out, "", 0);
    return SP_OK;
}

static void load_omitted(struct ex *x)
{
    struct sp_buf b;
    struct sp_err e;
    char *path = NULL;
    char *line, *save = NULL;

    if (read_small(x, EX_OMITTED, &b, &path, &e) == SP_OK) {
        for (line = strtok_r(b.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            size_t n = strcspn(line, "\t\r");
            if (!n || line[0] == '#') continue;
            if (x->nomitted == x->aomitted) {
                x->aomitted = x->aomitted ? 2 * x->aomitted : 32;
                x->omitted = sp_xrealloc(x->omitted, x->aomitted * sizeof(*x->omitted));
            }
            x->omitted[x->nomitted++] = sp_xstrndup(line, n);
        }
    }
    sp_buf_free(&b);
    free(path);
}

static int is_omitted(const struct ex *x, const char *name)
{
    size_t i;
    for (i = 0; i < x->nomitted; i++)
        if (!strcmp(x->omitted[i], name)) return 1;
    return 0;
}

/* ---- export data -------------------------------------------------------- */

static void add_snapref(struct ex_snapref **arr, size_t *n, size_t *a, const char *vat, size_t vn,
                        int64_t pos, int64_t line)
{
    if (*n == *a) {
        *a = *a ? 2 * *a : 32;
        *arr = sp_xrealloc(*arr, *a * sizeof(**arr));
    }
    if (vn > EX_VAT_MAX) vn = EX_VAT_MAX;
    memcpy((*arr)[*n].vat, vat, vn);
    (*arr)[*n].vat[vn] = '\0';
    (*arr)[*n].pos = pos;
    (*arr)[*n].line = line;
    (*n)++;
}

static int ed_bad(struct ex *x, int64_t line, const char *raw, size_t n, const char *msg)
{
    return sp_tx_bad_at(x->t, x->data_path, line, x->line_off, sp_str_make(raw, n), "%s:%lld: byte %lld: %s",
                        x->data_path, (long long)line, (long long)x->line_off, msg);
}

/* snapshot.<vat>.<pos> value -> TSNAPSHOT */
static int ed_snapshot(struct ex *x, int64_t line, const char *raw, size_t rn, const char *value)
{
    char ebuf[256];
    yajl_val v = yajl_tree_parse(value, ebuf, sizeof(ebuf));
    yajl_val vat = obj_get(v, "vatID"), hash = obj_get(v, "hash");
    int64_t pos, inuse = 0;
    struct sp_tsnapshot sn;
    struct sp_record rec;
    int rc;

    if (!v || !YAJL_IS_STRING(vat) || !get_i64(obj_get(v, "snapPos"), &pos) ||
        (hash && !YAJL_IS_STRING(hash))) {
        yajl_tree_free(v);
        return ed_bad(x, line, raw, rn,
                      "snapshot record: expected {\"vatID\",\"snapPos\",\"hash\",\"inUse\"}");
    }
    get_i64(obj_get(v, "inUse"), &inuse);
    memset(&sn, 0, sizeof(sn));
    sn.node = sp_str_c(x->t->o.node);
    sn.source = sp_str_c(x->data_path);
    sn.vat_id = sp_str_c(str_of(vat));
    sn.snap_pos = pos;
    sn.hash = hash ? sp_str_c(str_of(hash)) : SP_STR_NULL;
    sn.in_use = inuse == 1;
    sn.uncompressed_size = sn.compressed_size = -1;
    sn.has_blob = -1;
    if (sn.in_use) add_snapref(&x->inuse, &x->ninuse, &x->ainuse, sn.vat_id.p, sn.vat_id.n, pos, line);
    rec.kind = SP_REC_TSNAPSHOT;
    rec.u.tsnapshot = &sn;
    rc = sp_tx_emit(x->t, &rec);
    yajl_tree_free(v);
    return rc;
}

/* transcript.<vat>.<start|current> value -> span metadata */
static int ed_transcript(struct ex *x, int64_t line, const char *raw, size_t rn, const char *value)
{
    char ebuf[256];
    yajl_val v = yajl_tree_parse(value, ebuf, sizeof(ebuf));
    yajl_val vat = obj_get(v, "vatID"), hash = obj_get(v, "hash");
    int64_t start, end, cur = 0, inc = -1;
    struct ex_span *s;
    size_t vn;

    if (!v || !YAJL_IS_STRING(vat) || !get_i64(obj_get(v, "startPos"), &start) ||
        !get_i64(obj_get(v, "endPos"), &end) || (hash && !YAJL_IS_STRING(hash)) ||
        (vn = strlen(str_of(vat))) == 0 || vn > EX_VAT_MAX) {
        yajl_tree_free(v);
        return ed_bad(x, line, raw, rn,
                      "transcript record: expected {\"vatID\",\"startPos\",\"endPos\",\"hash\",...}");
    }
    get_i64(obj_get(v, "isCurrent"), &cur);
    get_i64(obj_get(v, "incarnation"), &inc);
    if (x->nspans == x->aspans) {
        x->aspans = x->aspans ? 2 * x->aspans : 64;
        x->spans = sp_xrealloc(x->spans, x->aspans * sizeof(*x->spans));
    }
    s = &x->spans[x->nspans++];
    memset(s, 0, sizeof(*s));
    memcpy(s->vat, str_of(vat), vn + 1);
    s->start = start;
    s->end = end;
    if (hash) {
        snprintf(s->hash, sizeof(s->hash), "%s", str_of(hash));
        s->has_hash = 1;
    }
    s->is_current = cur == 1;
    s->incarnation = inc;
    yajl_tree_free(v);
    return SP_OK;
}

static int ed_line(struct ex *x, int64_t line, const char *p, size_t n, struct sp_buf *tmp)
{
    char ebuf[256];
    yajl_val v, k, val;
    const char *key, *value;
    int rc = SP_OK;

    /* Fast path: most lines are kv.* / bundle.* keys we do not want; decide
     * from the raw key when it has no escapes, without parsing. */
    if (n > 5 && !memcmp(p, "[\"kv.", 5)) {
        const char *q = memchr(p + 5, '"', n - 5);
        if (q && !memchr(p + 5, '\\', (size_t)(q - p - 5)) &&
            !sp_transcript_kv_wanted(p + 5, (size_t)(q - p - 5)))
            return SP_OK;
    } else if (n > 9 && !memcmp(p, "[\"bundle.", 9)) {
        return SP_OK;
    }
    sp_buf_reset(tmp);
    if (sp_buf_append(tmp, p, n) != SP_OK) return ed_bad(x, line, p, n, "line too long");
    v = yajl_tree_parse(tmp->data, ebuf, sizeof(ebuf));
    if (!v || !YAJL_IS_ARRAY(v) || v->u.array.len != 2 || !YAJL_IS_STRING(v->u.array.values[0]) ||
        !YAJL_IS_STRING(v->u.array.values[1])) {
        char msg[400];
        snprintf(msg, sizeof(msg), "expected [\"key\",\"value\"]%s%s", v ? "" : ": ",
                 v ? "" : ebuf);
        yajl_tree_free(v);
        return ed_bad(x, line, p, n, msg);
    }
    k = v->u.array.values[0];
    val = v->u.array.values[1];
    key = str_of(k);
    value = str_of(val);
    if (!strncmp(key, "kv.", 3)) {
        if (sp_transcript_kv_wanted(key + 3, strlen(key + 3))) {
            struct sp_kv kv;
            struct sp_record rec;
            kv.node = sp_str_c(x->t->o.node);
            kv.source = sp_str_c(x->data_path);
            kv.key = sp_str_c(key + 3);
            kv.value = sp_str_c(value);
            rec.kind = SP_REC_KV;
            rec.u.kv = &kv;
            rc = sp_tx_emit(x->t, &rec);
        }
    } else if (!strncmp(key, "snapshot.", 9)) {
        const char *dot = strrchr(key + 9, '.');
        if (dot && !strcmp(dot + 1, "current")) {
            /* value names the in-use record: snapshot.<vat>.<pos> */
            const char *vd = !strncmp(value, "snapshot.", 9) ? strrchr(value + 9, '.') : NULL;
            int64_t pos;
            if (!vd || !sp_tx_parse_i64(vd + 1, strlen(vd + 1), &pos))
                rc = ed_bad(x, line, p, n, "warning: snapshot.<vat>.current does not name a "
                                           "snapshot.<vat>.<pos> record");
            else
                add_snapref(&x->cur, &x->ncur, &x->acur, value + 9, (size_t)(vd - value - 9), pos,
                            line);
        } else {
            rc = ed_snapshot(x, line, p, n, value);
        }
    } else if (!strncmp(key, "transcript.", 11)) {
        rc = ed_transcript(x, line, p, n, value);
    }
    yajl_tree_free(v);
    return rc;
}

static int read_export_data(struct ex *x, const char *name, struct sp_err *err)
{
    struct sp_tx_lines l;
    struct sp_buf tmp;
    struct sp_err e;
    int fd, rc;
    const char *p;
    size_t n;

    rc = sp_tx_open_in_dir(x->dir, x->dir_real, name, &x->data_path, &fd, &e);
    if (rc) {
        if (!x->data_path) x->data_path = sp_xstrdup(name);
        return sp_tx_part_failed(x->t, rc == SP_EOF ? SP_EBADINPUT : rc, x->data_path,
                                 "%s/" EX_MANIFEST ": export data: %s", x->dir, e.msg);
    }
    if ((rc = sp_tx_lines_open_fd(&l, fd, x->data_path, err))) return rc;
    sp_buf_init(&tmp, SP_TX_MAX_LINE + 1);
    for (;;) {
        int lr = sp_tx_lines_next(&l, &p, &n, &e);
        if (lr == SP_EOF) break;
        if (lr == SP_EBADINPUT && l.skipping) { /* an overlong line: skipped */
            rc = sp_tx_bad_at(x->t, x->data_path, l.line, l.off, SP_STR_NULL, "%s", e.msg);
            if (rc) break;
            continue;
        }
        if (lr != SP_OK) {
            rc = sp_tx_part_failed_at(x->t, lr, x->data_path, l.line + 1, l.err_off, "%s", e.msg);
            break;
        }
        if (n == 0) continue;
        x->line_off = l.off;
        if ((rc = ed_line(x, l.line, p, n, &tmp))) break;
    }
    sp_buf_free(&tmp);
    sp_tx_lines_close(&l);
    return rc;
}

static int span_cmp(const void *a, const void *b)
{
    const struct ex_span *x = a, *y = b;
    int c = strcmp(x->vat, y->vat);
    if (c) return c;
    return x->start < y->start ? -1 : x->start > y->start;
}

static struct ex_span *find_span(struct ex *x, const char *vat, int64_t start)
{
    struct ex_span key;
    snprintf(key.vat, sizeof(key.vat), "%s", vat);
    key.start = start;
    if (!x->nspans) return NULL; /* bsearch(NULL, 0) is UB */
    return bsearch(&key, x->spans, x->nspans, sizeof(*x->spans), span_cmp);
}

/* ---- artifacts ---------------------------------------------------------- */

static int transcript_artifact(struct ex *x, const char *name, const char *path, int fd)
{
    char vat[EX_VAT_MAX + 1];
    int64_t start, end, pos;
    struct ex_span *meta;
    struct sp_tx_lines l;
    struct sp_tx_span acc;
    struct sp_err e;
    const char *p;
    size_t n;
    int rc = SP_OK;

    if (!sp_tx_parse_transcript_name(name, strlen(name), vat, sizeof(vat), &start, &end)) {
        close(fd);
        return sp_tx_bad(x->t, path, -1, sp_str_c(name),
                         "%s/" EX_MANIFEST ": artifact name \"%s\" is not "
                         "transcript.<vatID>.<startPos>.<endPos>",
                         x->dir, name);
    }
    meta = find_span(x, vat, start);
    if (!meta) {
        rc = sp_tx_bad(x->t, path, -1, sp_str_c(name),
                       "%s/" EX_MANIFEST ": artifact %s has no export-data record transcript.%s.%lld",
                       x->dir, name, vat, (long long)start);
        if (rc) {
            close(fd);
            return rc;
        }
    } else if (meta->end != end) {
        rc = sp_tx_bad(x->t, path, -1, sp_str_c(name),
                       "%s/" EX_MANIFEST ": artifact %s does not match export data span [%lld,%lld)",
                       x->dir, name, (long long)meta->start, (long long)meta->end);
        if (rc) {
            close(fd);
            return rc;
        }
    }
    if ((rc = sp_tx_lines_open_fd(&l, fd, path, &e)))
        return sp_tx_part_failed(x->t, rc, path, "%s", e.msg);
    sp_tx_span_begin(&acc);
    pos = start;
    for (;;) {
        int lr = sp_tx_lines_next(&l, &p, &n, &e);
        if (lr == SP_EOF) break;
        if (lr == SP_EBADINPUT && l.skipping) { /* an overlong item: lost */
            acc.broken = 1;
            rc = sp_tx_bad_at(x->t, path, l.line, l.off, SP_STR_NULL, "%s (%s position %lld)", e.msg, vat,
                              (long long)pos);
            pos++;
            if (rc) break;
            continue;
        }
        if (lr != SP_OK) {
            acc.broken = 1;
            rc = sp_tx_part_failed_at(x->t, lr, path, l.line + 1, l.err_off, "%s", e.msg);
            break;
        }
        n = sp_tx_trim_end(p, n);
        rc = sp_tx_item(x->t, &acc, path, sp_str_c(vat), pos, meta ? meta->incarnation : -1, l.line, l.off, p, n);
        pos++;
        if (rc) break;
    }
    sp_tx_lines_close(&l);
    if (rc) return rc;
    if (meta) {
        meta->used = 1;
        return sp_tx_span_emit(x->t, &acc, path, sp_str_c(vat), meta->start, meta->end,
                               meta->has_hash ? sp_str_c(meta->hash) : SP_STR_NULL, meta->is_current,
                               meta->incarnation);
    }
    return sp_tx_span_emit(x->t, &acc, path, sp_str_c(vat), start, end, SP_STR_NULL, 0, -1);
}

static int do_artifacts(struct ex *x)
{
    yajl_val arts = obj_get(x->manifest, "artifacts");
    size_t i;
    int rc = SP_OK;

    if (!arts) return SP_OK;
    if (!YAJL_IS_ARRAY(arts))
        return sp_tx_part_failed(x->t, SP_EBADINPUT, x->dir, "%s/" EX_MANIFEST ": \"artifacts\" is not an array",
                                 x->dir);
    for (i = 0; i < arts->u.array.len && !rc; i++) {
        yajl_val a = arts->u.array.values[i];
        const char *name, *file;
        char *path = NULL;
        struct sp_err e;
        int fd = -1, orc, is_tr;

        if (!YAJL_IS_ARRAY(a) || a->u.array.len != 2 || !YAJL_IS_STRING(a->u.array.values[0]) ||
            !YAJL_IS_STRING(a->u.array.values[1])) {
            rc = sp_tx_bad(x->t, x->dir, (int64_t)i, SP_STR_NULL,
                           "%s/" EX_MANIFEST ": artifacts[%zu] is not [name, file]", x->dir, i);
            continue;
        }
        name = str_of(a->u.array.values[0]);
        file = str_of(a->u.array.values[1]);
        is_tr = strlen(name) > 11 && memcmp(name, "transcript.", 11) == 0;
        orc = sp_tx_open_in_dir(x->dir, x->dir_real, file, &path, &fd, &e);
        if (orc != SP_OK && is_tr) {
            /* a transcript artifact named but not read: the input's error, naming the span left without items */
            char vat[EX_VAT_MAX + 1], what[160] = "";
            int64_t st0, en0;
            if (sp_tx_parse_transcript_name(name, strlen(name), vat, sizeof(vat), &st0, &en0))
                snprintf(what, sizeof what, ": span %s [%lld,%lld) has no items", vat, (long long)st0, (long long)en0);
            if (orc == SP_EOF)
                rc = sp_tx_part_failed(x->t, SP_EOF, path, "%s/" EX_MANIFEST ": artifact %s missing (file %s)%s",
                                       x->dir, name, path, what);
            else
                rc = sp_tx_part_failed(x->t, orc, path ? path : x->dir, "%s/" EX_MANIFEST ": artifact %s: %s%s",
                                       x->dir, name, e.msg, what);
        } else if (orc == SP_EOF) {
            if (!is_omitted(x, name))
                rc = sp_tx_bad(x->t, path, -1, sp_str_c(name),
                               "warning: " EX_MANIFEST ": artifact %s missing (file %s)", name, path);
        } else if (orc != SP_OK) {
            rc = sp_tx_part_failed(x->t, orc, path ? path : x->dir, "%s/" EX_MANIFEST ": artifact %s: %s", x->dir,
                                   name, e.msg);
        } else if (is_tr) {
            rc = transcript_artifact(x, name, path, fd);
        } else {
            close(fd); /* snapshot / bundle artifacts: present, contents not needed here */
            if (strncmp(name, "snapshot.", 9) && strncmp(name, "bundle.", 7))
                rc = sp_tx_bad(x->t, path, -1, sp_str_c(name),
                               "warning: " EX_MANIFEST ": artifact %s of unknown kind ignored", name);
        }
        free(path);
    }
    return rc;
}

/* Spans of the export data whose artifact was not read: metadata only. */
static int leftover_spans(struct ex *x)
{
    size_t i;
    int rc = SP_OK;
    for (i = 0; i < x->nspans && !rc; i++) {
        struct ex_span *s = &x->spans[i];
        if (s->used) continue;
        rc = sp_tx_span_emit(x->t, NULL, x->data_path, sp_str_c(s->vat), s->start, s->end,
                             s->has_hash ? sp_str_c(s->hash) : SP_STR_NULL, s->is_current,
                             s->incarnation);
    }
    return rc;
}

/* Every snapshot.<vat>.current must name an inUse snapshot record of that vat. */
static int check_current_snapshots(struct ex *x)
{
    size_t i, j;
    int rc = SP_OK;
    for (i = 0; i < x->ncur && !rc; i++) {
        int ok = 0;
        for (j = 0; j < x->ninuse && !ok; j++)
            ok = !strcmp(x->cur[i].vat, x->inuse[j].vat) && x->cur[i].pos == x->inuse[j].pos;
        if (!ok)
            rc = sp_tx_bad(x->t, x->data_path, x->cur[i].line, SP_STR_NULL,
                           "warning: %s:%lld: snapshot.%s.current names snapshot.%s.%lld, which is not "
                           "an inUse snapshot record",
                           x->data_path, (long long)x->cur[i].line, x->cur[i].vat, x->cur[i].vat,
                           (long long)x->cur[i].pos);
    }
    return rc;
}

int sp_export_ingest(const char *dir, const struct sp_transcript_opts *o, sp_record_fn fn, void *arg,
                     struct sp_err *err)
{
    struct sp_tx t;
    struct ex x;
    struct sp_buf mb;
    char *mpath = NULL;
    char ebuf[512];
    yajl_val data;
    int rc;
    size_t i;

    memset(&x, 0, sizeof(x));
    sp_buf_init(&mb, 0); /* read_small re-inits it; freeing an empty buffer is a no-op */
    sp_tx_init(&t, o, fn, arg, err);
    x.t = &t;
    x.dir = dir;
    x.dir_real = realpath(dir, NULL);
    if (!x.dir_real) {
        rc = sp_err_set(err, SP_EIO, "%s: %s", dir, strerror(errno));
        goto out;
    }
    rc = read_small(&x, EX_MANIFEST, &mb, &mpath, err);
    if (rc) {
        struct stat ls;
        char mp[4200];
        /* no manifest: not an export (bad data); a manifest that is named but
         * cannot be opened (a dangling symlink): an export that cannot be read */
        snprintf(mp, sizeof(mp), "%s/" EX_MANIFEST, dir);
        if (rc == SP_EOF) rc = lstat(mp, &ls) == 0 ? SP_EIO : SP_EBADINPUT;
        sp_err_prefix(err, "%s: %s: ", dir, rc == SP_EBADINPUT ? "not an export directory" : "cannot read the export");
        err->rc = rc;
        goto out;
    }
    x.manifest = yajl_tree_parse(mb.data, ebuf, sizeof(ebuf));
    if (!x.manifest || !YAJL_IS_OBJECT(x.manifest)) {
        rc = sp_err_set(err, SP_EBADINPUT, "%s: not a JSON object%s%s", mpath, x.manifest ? "" : ": ",
                        x.manifest ? "" : ebuf);
        goto out;
    }
    load_omitted(&x);
    data = obj_get(x.manifest, "data");
    if (data && YAJL_IS_STRING(data)) {
        if ((rc = read_export_data(&x, str_of(data), err))) goto out;
    } else {
        x.data_path = sp_xstrdup(mpath);
        rc = sp_tx_bad(&t, mpath, -1, SP_STR_NULL,
                       "warning: %s: no \"data\" (export data): spans have no stored hash", mpath);
        if (rc) goto out;
    }
    if (x.nspans) qsort(x.spans, x.nspans, sizeof(*x.spans), span_cmp); /* qsort(NULL, 0) is UB */
    if ((rc = do_artifacts(&x))) goto out;
    if ((rc = leftover_spans(&x))) goto out;
    if ((rc = check_current_snapshots(&x))) goto out;
    rc = sp_tx_finish(&t);
out:
    yajl_tree_free(x.manifest);
    sp_buf_free(&mb);
    free(mpath);
    free(x.dir_real);
    free(x.data_path);
    free(x.spans);
    for (i = 0; i < x.nomitted; i++) free(x.omitted[i]);
    free(x.omitted);
    free(x.cur);
    free(x.inuse);
    sp_tx_free(&t);
    return rc;
}
