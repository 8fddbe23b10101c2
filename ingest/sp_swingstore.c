/* sp_swingstore.c - read a live or copied swingstore.sqlite read-only, in one read transaction, into transcript records. */
#include "sp_transcript_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <sqlite3.h>

#define SS_VAT_MAX 128      /* vatIDs are "v123"; longer ones are reported, not truncated silently */
#define SS_OPEN_TRIES 3     /* BEGIN + first read attempts when a writer holds the lock */

struct ss {
    struct sp_tx *t;
    sqlite3 *db;
    char *file;             /* the swingstore.sqlite path: source of every record */
    int has_items, has_spans, has_snapshots, has_kv;
    int items_inc, spans_inc;
    sqlite3_stmt *q_range;  /* items of one vat in [lo, hi) by position */
    char **seen;            /* vatIDs that have spans, in vatID order */
    size_t nseen, aseen;
};

static const char *sqlite_code_name(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_CORRUPT: return "SQLITE_CORRUPT";
    case SQLITE_NOTADB: return "SQLITE_NOTADB";
    case SQLITE_BUSY: return "SQLITE_BUSY";
    case SQLITE_LOCKED: return "SQLITE_LOCKED";
    case SQLITE_IOERR: return "SQLITE_IOERR";
    case SQLITE_CANTOPEN: return "SQLITE_CANTOPEN";
    case SQLITE_READONLY: return "SQLITE_READONLY";
    case SQLITE_NOMEM: return "SQLITE_NOMEM";
    case SQLITE_ERROR: return "SQLITE_ERROR";
    default: return "SQLITE error";
    }
}

/* Our rc class for an SQLite failure. */
static int sqlite_rc_class(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FORMAT:
        return SP_EBADINPUT;
    default:
        return SP_EIO;
    }
}

/* Report a failed part (BAD record + remembered for the final rc). */
static int ss_part_failed(struct ss *s, int src, const char *what)
{
    return sp_tx_part_failed(s->t, sqlite_rc_class(src), s->file, "%s: %s: %s (%s)", s->file, what,
                             sqlite3_errmsg(s->db), sqlite_code_name(src));
}

static int ss_prepare(struct ss *s, const char *sql, sqlite3_stmt **st, struct sp_err *err)
{
    int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
    if (rc != SQLITE_OK)
        return sp_err_set(err, sqlite_rc_class(rc), "%s: preparing \"%.60s...\": %s (%s)", s->file, sql,
                          sqlite3_errmsg(s->db), sqlite_code_name(rc));
    return SP_OK;
}

static struct sp_str col_str(sqlite3_stmt *st, int i)
{
    const unsigned char *p = sqlite3_column_text(st, i);
    if (!p) return SP_STR_NULL;
    return sp_str_make((const char *)p, (size_t)sqlite3_column_bytes(st, i));
}

static int64_t col_i64_or(sqlite3_stmt *st, int i, int64_t dflt)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL) return dflt;
    return sqlite3_column_int64(st, i);
}

/*
 * On a read-only filesystem SQLite cannot create the -shm of a WAL
 * database that no process has open (SQLITE_CANTOPEN). Nobody can write
 * there, so such a file may be opened immutable when no -wal holds
 * content beyond the main file (with a -wal, SQLite reads it as usual).
 */
static int ro_fs_without_wal(const char *file)
{
    struct statvfs vfs;
    struct stat st;
    size_t n = strlen(file) + 5;
    char *wal;
    int ok;

    if (statvfs(file, &vfs) != 0 || !(vfs.f_flag & ST_RDONLY)) return 0;
    wal = sp_xmalloc(n);
    snprintf(wal, n, "%s-wal", file);
    ok = stat(wal, &st) != 0 || st.st_size == 0;
    free(wal);
    return ok;
}

/* Percent-encode a path for a file: URI (keeps unreserved chars and '/'). */
static char *make_ro_uri(const char *path, int immutable)
{
    static const char hex[] = "0123456789ABCDEF";
    struct sp_buf b;
    const unsigned char *c;
    char *out;

    sp_buf_init(&b, 0);
    sp_buf_append_c(&b, "file:");
    for (c = (const unsigned char *)path; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            *c == '/' || *c == '-' || *c == '_' || *c == '.' || *c == '~') {
            sp_buf_putc(&b, (char)*c);
        } else {
            sp_buf_putc(&b, '%');
            sp_buf_putc(&b, hex[*c >> 4]);
            sp_buf_putc(&b, hex[*c & 15]);
        }
    }
    sp_buf_append_c(&b, immutable ? "?mode=ro&immutable=1" : "?mode=ro");
    out = sp_xstrdup(b.data);
    sp_buf_free(&b);
    return out;
}

static int table_exists(struct ss *s, const char *name, int *out, struct sp_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = ss_prepare(s, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", &st, err);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        int r2 = sp_err_set(err, sqlite_rc_class(rc), "%s: reading the schema: %s (%s)", s->file,
                            sqlite3_errmsg(s->db), sqlite_code_name(rc));
        sqlite3_finalize(st);
        return (rc & 0xff) == SQLITE_BUSY ? SP_AGAIN : r2;
    }
    sqlite3_finalize(st);
    return SP_OK;
}

static int column_exists(struct ss *s, const char *table, const char *col, int *out,
                         struct sp_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = ss_prepare(s, "SELECT 1 FROM pragma_table_info(?) WHERE name = ?", &st, err);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, col, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sp_err_set(err, sqlite_rc_class(rc), "%s: reading columns of %s: %s (%s)", s->file, table,
                          sqlite3_errmsg(s->db), sqlite_code_name(rc));
    return SP_OK;
}

/* BEGIN a deferred read transaction and read the schema inside it. */
static int ss_begin_and_schema(struct ss *s, struct sp_err *err)
{
    int rc, tries;

    for (tries = 1;; tries++) {
        char *emsg = NULL;
        rc = sqlite3_exec(s->db, "BEGIN", NULL, NULL, &emsg);
        sqlite3_free(emsg);
        if (rc != SQLITE_OK)
            return sp_err_set(err, SP_EIO, "%s: BEGIN: %s", s->file, sqlite3_errmsg(s->db));
        rc = table_exists(s, "transcriptItems", &s->has_items, err);
        if (rc == SP_OK) break;
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        if (rc != SP_AGAIN) return rc;
        if (tries >= SS_OPEN_TRIES)
            return sp_err_set(err, SP_EIO,
                              "%s: database is locked by a writer (rollback-journal mode): still "
                              "busy after %d tries of %d ms",
                              s->file, tries, s->t->o.busy_timeout_ms);
        sp_warn("%s: database locked by a writer, retrying (%d/%d)", s->file, tries, SS_OPEN_TRIES);
    }
    if ((rc = table_exists(s, "transcriptSpans", &s->has_spans, err)) ||
        (rc = table_exists(s, "snapshots", &s->has_snapshots, err)) ||
        (rc = table_exists(s, "kvStore", &s->has_kv, err)))
        return rc == SP_AGAIN ? SP_EIO : rc;
    if (!s->has_items && !s->has_spans && !s->has_snapshots && !s->has_kv)
        return sp_err_set(err, SP_EBADINPUT,
                          "%s: not a swing-store (no transcriptItems, transcriptSpans, snapshots or "
                          "kvStore table)",
                          s->file);
    if (s->has_items && (rc = column_exists(s, "transcriptItems", "incarnation", &s->items_inc, err)))
        return rc;
    if (s->has_spans && (rc = column_exists(s, "transcriptSpans", "incarnation", &s->spans_inc, err)))
        return rc;
    return SP_OK;
}

/* ---- kvStore ------------------------------------------------------------ */

static int kv_emit(struct ss *s, struct sp_str key, struct sp_str value)
{
    struct sp_kv kv;
    struct sp_record rec;
    kv.node = sp_str_c(s->t->o.node);
    kv.source = sp_str_c(s->file);
    kv.key = key;
    kv.value = value;
    rec.kind = SP_REC_KV;
    rec.u.kv = &kv;
    return sp_tx_emit(s->t, &rec);
}

/* Emit the rows of a (key, value) query. Returns callback rc; a read error is a failed part. */
static int kv_rows(struct ss *s, sqlite3_stmt *st, const char *what)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int crc = kv_emit(s, col_str(st, 0), col_str(st, 1));
        if (crc) return crc;
    }
    if (rc != SQLITE_DONE) return ss_part_failed(s, rc, what);
    return SP_OK;
}

static int ss_kv(struct ss *s, struct sp_err *err)
{
    static const char q_exact[] =
        "SELECT key, value FROM kvStore WHERE key IN ('kernel.snapshotInitial', "
        "'kernel.snapshotInterval', 'kernel.defaultManagerType', 'vat.names', 'vat.dynamicIDs', "
        "'vats.terminated', 'crankNumber', 'host.height', 'host.blockTime') ORDER BY key";
    static const char q_names[] =
        "SELECT key, value FROM kvStore WHERE key >= 'vat.name.' AND key < 'vat.name/' ORDER BY key";
    sqlite3_stmt *st = NULL, *next = NULL, *one = NULL;
    struct sp_buf from, okey;
    int rc;

    if (!s->has_kv) return sp_tx_bad(s->t, s->file, -1, SP_STR_NULL, "%s: no table kvStore", s->file);
    if ((rc = ss_prepare(s, q_exact, &st, err))) return rc;
    rc = kv_rows(s, st, "reading kvStore");
    sqlite3_finalize(st);
    if (rc) return rc;
    if ((rc = ss_prepare(s, q_names, &st, err))) return rc;
    rc = kv_rows(s, st, "reading kvStore vat.name.*");
    sqlite3_finalize(st);
    if (rc) return rc;

    /* v<N>.options: hop from one "v<N>." prefix to the next (one index seek
     * each) instead of scanning the millions of vNN.vs.* keys. */
    if ((rc = ss_prepare(s, "SELECT key FROM kvStore WHERE key >= ? AND key < 'w' ORDER BY key LIMIT 1",
                         &next, err)))
        return rc;
    if ((rc = ss_prepare(s, "SELECT key, value FROM kvStore WHERE key = ?", &one, err))) {
        sqlite3_finalize(next);
        return rc;
    }
    sp_buf_init(&from, 0);
    sp_buf_init(&okey, 0);
    sp_buf_append_c(&from, "v");
    for (;;) {
        struct sp_str k;
        size_t j;
        int src;

        sqlite3_reset(next);
        sqlite3_bind_text(next, 1, from.data, (int)from.len, SQLITE_TRANSIENT);
        src = sqlite3_step(next);
        if (src == SQLITE_DONE) break;
        if (src != SQLITE_ROW) {
            rc = ss_part_failed(s, src, "reading kvStore v<N>.options");
            break;
        }
        k = col_str(next, 0);
        for (j = 1; j < k.n && k.p[j] >= '0' && k.p[j] <= '9'; j++)
            ;
        sp_buf_reset(&from);
        if (j > 1 && j < k.n && k.p[j] == '.') {
            sp_buf_reset(&okey);
            sp_buf_append(&okey, k.p, j + 1);
            sp_buf_append_c(&okey, "options");
            sp_buf_append(&from, k.p, j);
            sp_buf_putc(&from, '/'); /* '.' + 1: past every "v<N>." key */
            sqlite3_reset(one);
            sqlite3_bind_text(one, 1, okey.data, (int)okey.len, SQLITE_TRANSIENT);
            rc = kv_rows(s, one, "reading kvStore v<N>.options");
            if (rc) break;
        } else if (j < k.n && (unsigned char)k.p[j] < 0xff) {
            /* "va..." or "v12x...": skip every key sharing k[0..j] */
            sp_buf_append(&from, k.p, j);
            sp_buf_putc(&from, (char)((unsigned char)k.p[j] + 1));
        } else {
            /* k is "v<digits>" exactly (or ends in 0xff): the next key after it */
            sp_buf_append(&from, k.p, k.n);
            sp_buf_putc(&from, '\x01');
        }
    }
    sp_buf_free(&from);
    sp_buf_free(&okey);
    sqlite3_finalize(next);
    sqlite3_finalize(one);
    return rc;
}

/* ---- snapshots ---------------------------------------------------------- */

static int ss_snapshots(struct ss *s, struct sp_err *err)
{
    int has_snappos = 0, has_endpos = 0, has_usize = 0, has_csize = 0, has_blob = 0;
    char sql[512];
    sqlite3_stmt *st = NULL;
    int rc, src;

    if (!s->has_snapshots)
        return sp_tx_bad(s->t, s->file, -1, SP_STR_NULL, "%s: no table snapshots", s->file);
    if ((rc = column_exists(s, "snapshots", "snapPos", &has_snappos, err)) ||
        (rc = column_exists(s, "snapshots", "endPos", &has_endpos, err)) ||
        (rc = column_exists(s, "snapshots", "uncompressedSize", &has_usize, err)) ||
        (rc = column_exists(s, "snapshots", "compressedSize", &has_csize, err)) ||
        (rc = column_exists(s, "snapshots", "compressedSnapshot", &has_blob, err)))
        return rc;
    if (!has_snappos && !has_endpos)
        return sp_tx_bad(s->t, s->file, -1, SP_STR_NULL,
                         "%s: table snapshots has neither snapPos nor endPos: skipped", s->file);
    /* Built only from fixed identifiers chosen above (no outside text).
     * typeof() lets SQLite answer without reading the blob's pages. */
    snprintf(sql, sizeof(sql),
             "SELECT vatID, %s, inUse, hash, %s, %s, %s FROM snapshots ORDER BY vatID, %s",
             has_snappos ? "snapPos" : "endPos", has_usize ? "uncompressedSize" : "NULL",
             has_csize ? "compressedSize" : "NULL",
             has_blob ? "typeof(compressedSnapshot) <> 'null'" : "NULL",
             has_snappos ? "snapPos" : "endPos");
    if ((rc = ss_prepare(s, sql, &st, err))) return rc;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        struct sp_tsnapshot sn;
        struct sp_record rec;
        memset(&sn, 0, sizeof(sn));
        sn.node = sp_str_c(s->t->o.node);
        sn.source = sp_str_c(s->file);
        sn.vat_id = col_str(st, 0);
        sn.snap_pos = col_i64_or(st, 1, -1);
        sn.in_use = col_i64_or(st, 2, 0) == 1;
        sn.hash = col_str(st, 3);
        sn.uncompressed_size = col_i64_or(st, 4, -1);
        sn.compressed_size = col_i64_or(st, 5, -1);
        sn.has_blob = (int)col_i64_or(st, 6, -1);
        rec.kind = SP_REC_TSNAPSHOT;
        rec.u.tsnapshot = &sn;
        if ((rc = sp_tx_emit(s->t, &rec))) break;
    }
    if (!rc && src != SQLITE_DONE) rc = ss_part_failed(s, src, "reading snapshots");
    sqlite3_finalize(st);
    return rc;
}

/* ---- transcripts -------------------------------------------------------- */

/* Stream the items of `vat` with lo <= position < hi, into span acc (NULL:
 * items outside any span). A read error marks acc broken. */
static int ss_items(struct ss *s, struct sp_tx_span *acc, const char *vat, int64_t lo, int64_t hi)
{
    sqlite3_stmt *st = s->q_range;
    struct sp_str v = sp_str_c(vat);
    int src, rc = SP_OK;

    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, vat, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, lo);
    sqlite3_bind_int64(st, 3, hi);
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t pos = sqlite3_column_int64(st, 0);
        struct sp_str item = col_str(st, 1);
        int64_t inc = s->items_inc ? col_i64_or(st, 2, -1) : -1;
        if (!item.p) {
            rc = sp_tx_bad(s->t, s->file, pos, SP_STR_NULL, "%s:%s:%lld: transcript item is NULL",
                           s->file, vat, (long long)pos);
        } else {
            rc = sp_tx_item(s->t, acc, s->file, v, pos, inc, pos, -1, item.p, item.n);
        }
        if (rc) break;
    }
    if (!rc && src != SQLITE_DONE) {
        char what[256];
        if (acc) acc->broken = 1;
        if (hi == INT64_MAX && lo == INT64_MIN)
            snprintf(what, sizeof(what), "reading transcriptItems of %s", vat);
        else if (hi == INT64_MAX)
            snprintf(what, sizeof(what), "reading transcriptItems of %s from %lld", vat, (long long)lo);
        else if (lo == INT64_MIN)
            snprintf(what, sizeof(what), "reading transcriptItems of %s before %lld", vat,
                     (long long)hi);
        else
            snprintf(what, sizeof(what), "reading transcriptItems of %s [%lld,%lld)", vat,
                     (long long)lo, (long long)hi);
        rc = ss_part_failed(s, src, what);
    }
    sqlite3_reset(st);
    return rc;
}

static void seen_add(struct ss *s, const char *vat)
{
    if (s->nseen == s->aseen) {
        s->aseen = s->aseen ? 2 * s->aseen : 64;
        s->seen = sp_xrealloc(s->seen, s->aseen * sizeof(*s->seen));
    }
    s->seen[s->nseen++] = sp_xstrdup(vat);
}

static int seen_has(const struct ss *s, const char *vat)
{
    size_t i;
    /* spans arrive in vatID order, but compare all: the list is small */
    for (i = 0; i < s->nseen; i++)
        if (!strcmp(s->seen[i], vat)) return 1;
    return 0;
}

static int ss_spans(struct ss *s, struct sp_err *err)
{
    sqlite3_stmt *st = NULL;
    char cur[SS_VAT_MAX + 1] = "";
    int64_t covered = INT64_MIN;
    int rc = SP_OK, src;

    if (!s->has_spans) {
        rc = sp_tx_bad(s->t, s->file, -1, SP_STR_NULL, "%s: no table transcriptSpans", s->file);
        if (rc) return rc;
    }
    if (!s->has_items) {
        rc = sp_tx_bad(s->t, s->file, -1, SP_STR_NULL, "%s: no table transcriptItems", s->file);
        if (rc) return rc;
    } else {
        if ((rc = ss_prepare(s,
                             s->items_inc
                                 ? "SELECT position, item, incarnation FROM transcriptItems WHERE "
                                   "vatID = ? AND position >= ? AND position < ? ORDER BY position"
                                 : "SELECT position, item FROM transcriptItems WHERE vatID = ? AND "
                                   "position >= ? AND position < ? ORDER BY position",
                             &s->q_range, err)))
            return rc;
    }
    if (s->has_spans) {
        if ((rc = ss_prepare(s,
                             s->spans_inc
                                 ? "SELECT vatID, startPos, endPos, hash, isCurrent, incarnation FROM "
                                   "transcriptSpans ORDER BY vatID, startPos"
                                 : "SELECT vatID, startPos, endPos, hash, isCurrent FROM "
                                   "transcriptSpans ORDER BY vatID, startPos",
                             &st, err)))
            return rc;
        while ((src = sqlite3_step(st)) == SQLITE_ROW) {
            struct sp_str vat = col_str(st, 0);
            int64_t start = col_i64_or(st, 1, -1), end = col_i64_or(st, 2, -1);
            char hash[SP_SHA256_HEX_LEN * 2 + 1];
            struct sp_str hs = col_str(st, 3);
            int is_current = col_i64_or(st, 4, 0) == 1;
            int64_t inc = s->spans_inc ? col_i64_or(st, 5, -1) : -1;
            struct sp_tx_span acc;

            if (!vat.p || vat.n > SS_VAT_MAX || memchr(vat.p, '\0', vat.n)) {
                rc = sp_tx_bad(s->t, s->file, start, vat,
                               "%s: transcriptSpans row with a NULL or unusable vatID: skipped",
                               s->file);
                if (rc) break;
                continue;
            }
            if (hs.n >= sizeof(hash)) hs.n = sizeof(hash) - 1; /* a hash is 64 chars */
            sp_str_to_buf(hs, hash, sizeof(hash));
            if (strlen(cur) != vat.n || memcmp(cur, vat.p, vat.n)) {
                if (cur[0] && s->has_items && (rc = ss_items(s, NULL, cur, covered, INT64_MAX))) break;
                sp_str_to_buf(vat, cur, sizeof(cur));
                seen_add(s, cur);
                covered = INT64_MIN;
            }
            if (s->has_items && start > covered && (rc = ss_items(s, NULL, cur, covered, start))) break;
            sp_tx_span_begin(&acc);
            if (s->has_items && (rc = ss_items(s, &acc, cur, start, end))) break;
            rc = sp_tx_span_emit(s->t, s->has_items ? &acc : NULL, s->file, sp_str_c(cur), start, end,
                                 hs.p ? sp_str_make(hash, hs.n) : SP_STR_NULL, is_current, inc);
            if (rc) break;
            if (end > covered) covered = end;
        }
        if (!rc && src != SQLITE_DONE) rc = ss_part_failed(s, src, "reading transcriptSpans");
        sqlite3_finalize(st);
        st = NULL;
        if (!rc && cur[0] && s->has_items) rc = ss_items(s, NULL, cur, covered, INT64_MAX);
        if (rc) return rc;
    }
    /* vats with items but no span: hop over distinct vatIDs (index seeks) */
    if (s->has_items) {
        char from[SS_VAT_MAX + 2] = "";
        if ((rc = ss_prepare(s,
                             "SELECT vatID FROM transcriptItems WHERE vatID > ? ORDER BY vatID LIMIT 1",
                             &st, err)))
            return rc;
        for (;;) {
            struct sp_str v;
            char vat[SS_VAT_MAX + 1];
            sqlite3_reset(st);
            sqlite3_bind_text(st, 1, from, -1, SQLITE_TRANSIENT);
            src = sqlite3_step(st);
            if (src == SQLITE_DONE) break;
            if (src != SQLITE_ROW) {
                rc = ss_part_failed(s, src, "listing the vats of transcriptItems");
                break;
            }
            v = col_str(st, 0);
            if (v.n > SS_VAT_MAX || memchr(v.p, '\0', v.n)) {
                rc = sp_tx_part_failed(s->t, SP_EBADINPUT, s->file,
                                       "%s: transcriptItems has an unusable vatID (%zu bytes): "
                                       "stopped listing vats",
                                       s->file, v.n);
                break;
            }
            sp_str_to_buf(v, vat, sizeof(vat));
            memcpy(from, vat, v.n + 1);
            if (!seen_has(s, vat) && (rc = ss_items(s, NULL, vat, INT64_MIN, INT64_MAX))) break;
        }
        sqlite3_finalize(st);
    }
    return rc;
}

/* ---- entry -------------------------------------------------------------- */

static int resolve_file(const char *path, char **out, struct sp_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return sp_err_set(err, SP_EIO, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        struct sp_buf b;
        sp_buf_init(&b, 0);
        sp_buf_printf(&b, "%s/swingstore.sqlite", path);
        if (stat(b.data, &st) != 0) {
            int rc = sp_err_set(err, SP_EIO, "%s: no swingstore.sqlite in this directory (%s)", path,
                                strerror(errno));
            sp_buf_free(&b);
            return rc;
        }
        *out = sp_xstrdup(b.data);
        sp_buf_free(&b);
    } else {
        *out = sp_xstrdup(path);
    }
    if (!S_ISREG(st.st_mode)) {
        int rc = sp_err_set(err, SP_EBADINPUT, "%s: not a regular file", *out);
        free(*out);
        *out = NULL;
        return rc;
    }
    return SP_OK;
}

int sp_swingstore_ingest(const char *path, const struct sp_transcript_opts *o, sp_record_fn fn,
                         void *arg, struct sp_err *err)
{
    struct sp_tx t;
    struct ss s;
    char *uri = NULL;
    int rc, in_txn = 0;

    memset(&s, 0, sizeof(s));
    sp_tx_init(&t, o, fn, arg, err);
    s.t = &t;
    if ((rc = resolve_file(path, &s.file, err))) goto out;
    uri = make_ro_uri(s.file, ro_fs_without_wal(s.file));
    rc = sqlite3_open_v2(uri, &s.db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
    if (rc != SQLITE_OK) {
        rc = sp_err_set(err, sqlite_rc_class(rc), "%s: cannot open read-only: %s (%s)", s.file,
                        s.db ? sqlite3_errmsg(s.db) : sqlite3_errstr(rc), sqlite_code_name(rc));
        goto out;
    }
    sqlite3_busy_timeout(s.db, t.o.busy_timeout_ms);
    if (sqlite3_exec(s.db, "PRAGMA query_only = 1", NULL, NULL, NULL) != SQLITE_OK) {
        rc = sp_err_set(err, SP_EIO, "%s: PRAGMA query_only: %s", s.file, sqlite3_errmsg(s.db));
        goto out;
    }
    if ((rc = ss_begin_and_schema(&s, err))) goto out;
    in_txn = 1;
    if ((rc = ss_kv(&s, err))) goto out;
    if ((rc = ss_snapshots(&s, err))) goto out;
    if ((rc = ss_spans(&s, err))) goto out;
    rc = sp_tx_finish(&t);
out:
    if (s.q_range) sqlite3_finalize(s.q_range);
    if (s.db) {
        if (in_txn) sqlite3_exec(s.db, "COMMIT", NULL, NULL, NULL);
        sqlite3_close(s.db);
    }
    for (size_t i = 0; i < s.nseen; i++) free(s.seen[i]);
    free(s.seen);
    free(s.file);
    free(uri);
    sp_tx_free(&t);
    return rc;
}
