/* sp_tl_replay.c - the batch analysis as a replay: a node's stored records fed through a fresh streaming stage. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sp_tl_int.h"
#include "sp_tl_replay.h"
#include "sp_tl_stream.h"

/*
 * The order of the replay is the one a single clean streaming run over the
 * node's inputs would have: the swing-store first (kvStore keys, spans,
 * snapshots, then each vat's items by position), then the slog, source by
 * source in the order of their first wall-clock time (sources.min_time),
 * each in line order, with every delivery right after the line that
 * completed it (its deliver-result). The stage's answer does not depend on
 * that order (issue #15; tests/e2e/timeline_parity.sh): this is only the
 * cheapest order to read.
 *
 * The syscall lines are not read: neither the stage nor its parts judge
 * them one by one (a delivery carries its syscalls' count and hash).
 */

struct replay {
    sqlite3 *db;
    const char *node;
    struct sp_tl_stream *tl;
    sp_record_fn emit;
    void *arg;
    struct sp_err *err;
};

static sqlite3 *replay_db(void *arg)
{
    return ((struct replay *)arg)->db;
}

static int sqlerr(struct replay *r, const char *what)
{
    return sp_err_set(r->err, SP_ESINK, "timeline replay: %s: %s", what, sqlite3_errmsg(r->db));
}

static int prep(struct replay *r, const char *sql, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(r->db, sql, -1, st, NULL) != SQLITE_OK) return sqlerr(r, "prepare");
    sqlite3_bind_text(*st, 1, r->node, -1, SQLITE_STATIC);
    return SP_OK;
}

static struct sp_str col_str(sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL) return SP_STR_NULL;
    const char *p = (const char *)sqlite3_column_text(st, i);
    return sp_str_make(p, (size_t)sqlite3_column_bytes(st, i));
}

static int64_t col_int(sqlite3_stmt *st, int i, int64_t dflt)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? dflt : sqlite3_column_int64(st, i);
}

static int feed(struct replay *r, const struct sp_record *rec)
{
    return sp_tl_stream_feed(r->tl, rec, r->emit, r->arg, r->err);
}

/* Run sql (?1 = node) and feed each row as the record fill() makes of it. */
static int each(struct replay *r, const char *sql, int (*fill)(struct replay *, sqlite3_stmt *))
{
    sqlite3_stmt *st = NULL;
    int rc = prep(r, sql, &st), s;
    while (rc == SP_OK && (s = sqlite3_step(st)) == SQLITE_ROW) rc = fill(r, st);
    if (rc == SP_OK && s != SQLITE_DONE) rc = sqlerr(r, "read");
    sqlite3_finalize(st);
    return rc;
}

static int fill_kv(struct replay *r, sqlite3_stmt *st)
{
    struct sp_kv kv = {.node = sp_str_c(r->node), .key = col_str(st, 0), .value = col_str(st, 1),
                       .source = col_str(st, 2)};
    struct sp_record rec = {.kind = SP_REC_KV, .u.kv = &kv};
    return feed(r, &rec);
}

static int fill_tspan(struct replay *r, sqlite3_stmt *st)
{
    struct sp_tspan s = {.node = sp_str_c(r->node), .vat_id = col_str(st, 0), .start_pos = col_int(st, 1, 0),
                         .end_pos = col_int(st, 2, 0), .hash = col_str(st, 3), .computed_hash = col_str(st, 4),
                         .items = col_int(st, 5, 0), .is_current = (int)col_int(st, 6, 0),
                         .incarnation = col_int(st, 7, -1), .source = col_str(st, 8)};
    struct sp_record rec = {.kind = SP_REC_TSPAN, .u.tspan = &s};
    return feed(r, &rec);
}

static int fill_tsnap(struct replay *r, sqlite3_stmt *st)
{
    struct sp_tsnapshot s = {.node = sp_str_c(r->node), .vat_id = col_str(st, 0), .snap_pos = col_int(st, 1, 0),
                             .hash = col_str(st, 2), .in_use = (int)col_int(st, 3, 0),
                             .uncompressed_size = col_int(st, 4, -1), .compressed_size = col_int(st, 5, -1),
                             .has_blob = (int)col_int(st, 6, -1), .source = col_str(st, 7)};
    struct sp_record rec = {.kind = SP_REC_TSNAPSHOT, .u.tsnapshot = &s};
    return feed(r, &rec);
}

static void copy_hash(char *dst, sqlite3_stmt *st, int i)
{
    const char *p = (const char *)sqlite3_column_text(st, i);
    size_t n = p ? (size_t)sqlite3_column_bytes(st, i) : 0;
    if (n > SP_HASH_HEX_LEN) n = SP_HASH_HEX_LEN;
    if (n) memcpy(dst, p, n);
    dst[n] = '\0';
}

static int fill_titem(struct replay *r, sqlite3_stmt *st)
{
    struct sp_titem it;
    memset(&it, 0, sizeof it);
    it.node = sp_str_c(r->node);
    it.vat_id = col_str(st, 0);
    it.position = col_int(st, 1, 0);
    it.incarnation = col_int(st, 2, -1);
    it.d_type = col_str(st, 3);
    it.item = col_str(st, 4);
    copy_hash(it.d_hash, st, 5);
    copy_hash(it.sc_hash, st, 6);
    it.status = col_str(st, 7);
    it.has_computrons = sqlite3_column_type(st, 8) != SQLITE_NULL;
    it.computrons = col_int(st, 8, 0);
    it.snapshot_id = col_str(st, 9);
    it.source = col_str(st, 10);
    struct sp_record rec = {.kind = SP_REC_TITEM, .u.titem = &it};
    return feed(r, &rec);
}

/* ---- the slog: events and deliveries merged in line order ------------------ */

static const char *const ev_sql =
    "SELECT s.ord, e.line, e.source, e.offset, e.type, e.time, e.monotime, e.seconds, e.vat_id, e.crank_num, "
    "e.delivery_num, e.syscall_num, e.replay, e.block_height, e.message_type, e.crank_type, e.crankhash, "
    "e.activityhash, e.snapshot_id, e.snap_pos, e.uncompressed_size, e.deliveries, e.args, e.raw, "
    "(SELECT v.manager_type FROM vats v WHERE e.type='create-vat' AND v.node=e.node AND v.vat_id=e.vat_id), e.epoch "
    "FROM slog_events e LEFT JOIN temp.tl_rsrc s ON s.source=e.source WHERE e.node=?1" TL_INDEXED("e.")
    "ORDER BY s.ord, e.line";

static const char *const dl_sql =
    "SELECT s.ord, COALESCE(d.result_line, d.line), d.source, d.line, d.result_line, d.vat_id, d.delivery_num, "
    "d.crank_num, d.block_height, d.epoch, d.dispatch, d.replay, d.status, d.computrons, d.syscalls, d.time, "
    "d.seconds, d.vd_hash, d.sc_hash, d.run_num, d.method, d.target, d.resolutions "
    "FROM deliveries d LEFT JOIN temp.tl_rsrc s ON s.source=d.source WHERE d.node=?1 "
    "ORDER BY s.ord, COALESCE(d.result_line, d.line), d.line";

static double col_dbl(sqlite3_stmt *st, int i, uint32_t *has, uint32_t bit)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL) return NAN;
    *has |= bit;
    return sqlite3_column_double(st, i);
}

static int64_t col_opt(sqlite3_stmt *st, int i, uint32_t *has, uint32_t bit)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL) return -1;
    *has |= bit;
    return sqlite3_column_int64(st, i);
}

static int feed_event_row(struct replay *r, sqlite3_stmt *st)
{
    struct sp_event ev;
    memset(&ev, 0, sizeof ev);
    ev.origin.node = sp_str_c(r->node);
    ev.origin.line = col_int(st, 1, 0);
    ev.origin.source = col_str(st, 2);
    ev.origin.offset = col_int(st, 3, -1);
    ev.type_name = col_str(st, 4);
    ev.type = sp_evtype_lookup(ev.type_name.p ? ev.type_name.p : "", ev.type_name.n);
    ev.time = col_dbl(st, 5, &ev.has, SP_HAS_TIME);
    ev.monotime = col_dbl(st, 6, &ev.has, SP_HAS_MONOTIME);
    ev.seconds = col_dbl(st, 7, &ev.has, SP_HAS_SECONDS);
    ev.vat_id = col_str(st, 8);
    ev.crank_num = col_opt(st, 9, &ev.has, SP_HAS_CRANK_NUM);
    ev.delivery_num = col_opt(st, 10, &ev.has, SP_HAS_DELIVERY_NUM);
    ev.syscall_num = col_opt(st, 11, &ev.has, SP_HAS_SYSCALL_NUM);
    ev.replay = (int)col_opt(st, 12, &ev.has, SP_HAS_REPLAY);
    ev.block_height = col_opt(st, 13, &ev.has, SP_HAS_BLOCK_HEIGHT);
    ev.message_type = col_str(st, 14);
    ev.crank_type = col_str(st, 15);
    ev.crankhash = col_str(st, 16);
    ev.activityhash = col_str(st, 17);
    ev.snapshot_id = col_str(st, 18);
    ev.snap_pos = col_opt(st, 19, &ev.has, SP_HAS_SNAP_POS);
    ev.uncompressed_size = col_opt(st, 20, &ev.has, SP_HAS_UNCOMPRESSED_SIZE);
    ev.deliveries = col_opt(st, 21, &ev.has, SP_HAS_DELIVERIES);
    ev.args = col_str(st, 22);
    ev.raw = col_str(st, 23);
    ev.manager_type = col_str(st, 24);
    ev.ctx_epoch = col_int(st, 25, 0);
    struct sp_record rec = {.kind = SP_REC_EVENT, .u.event = &ev};
    return feed(r, &rec);
}

static int feed_delivery_row(struct replay *r, sqlite3_stmt *st)
{
    struct sp_delivery d;
    memset(&d, 0, sizeof d);
    d.origin.node = sp_str_c(r->node);
    d.origin.source = col_str(st, 2);
    d.origin.line = col_int(st, 3, 0);
    d.result_line = col_int(st, 4, -1);
    d.vat_id = col_str(st, 5);
    d.delivery_num = col_int(st, 6, -1);
    d.crank_num = col_int(st, 7, -1);
    d.block_height = col_int(st, 8, -1);
    d.epoch = col_int(st, 9, 0);
    d.dispatch = col_str(st, 10);
    d.replay = (int)col_int(st, 11, 0);
    d.status = col_str(st, 12);
    d.has_computrons = sqlite3_column_type(st, 13) != SQLITE_NULL;
    d.computrons = col_int(st, 13, 0);
    d.syscalls = col_int(st, 14, 0);
    d.time = sqlite3_column_type(st, 15) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 15);
    d.seconds = sqlite3_column_type(st, 16) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 16);
    copy_hash(d.vd_hash, st, 17);
    copy_hash(d.sc_hash, st, 18);
    d.run_num = col_int(st, 19, -1);
    d.method = col_str(st, 20);
    d.target = col_str(st, 21);
    d.resolutions = col_int(st, 22, -1);
    struct sp_record rec = {.kind = SP_REC_DELIVERY, .u.delivery = &d};
    return feed(r, &rec);
}

static int feed_slog(struct replay *r)
{
    static const char *const src_sql[] = {
        "DROP TABLE IF EXISTS temp.tl_rsrc",
        "CREATE TEMP TABLE tl_rsrc (source TEXT PRIMARY KEY, ord INTEGER)",
        /* sources (005) holds min(time) per source: no scan of slog_events */
        "INSERT INTO temp.tl_rsrc SELECT source, row_number() OVER (ORDER BY min_time IS NULL, min_time, source) "
        "FROM sources WHERE node=?1",
        /* a store written before 005 may lack a sources row: those sources come last, by name */
        "INSERT OR IGNORE INTO temp.tl_rsrc SELECT DISTINCT source, 1000000000 + dense_rank() OVER (ORDER BY source) "
        "FROM deliveries WHERE node=?1 AND source NOT IN (SELECT source FROM temp.tl_rsrc)",
        NULL};
    sqlite3_stmt *ev = NULL, *dl = NULL;
    int rc = SP_OK;
    for (int i = 0; src_sql[i] && rc == SP_OK; i++) {
        sqlite3_stmt *st = NULL;
        if ((rc = prep(r, src_sql[i], &st))) break;
        if (sqlite3_step(st) != SQLITE_DONE) rc = sqlerr(r, "sources");
        sqlite3_finalize(st);
    }
    if (rc || (rc = prep(r, ev_sql, &ev)) || (rc = prep(r, dl_sql, &dl))) goto out;
    int se = sqlite3_step(ev), sd = sqlite3_step(dl);
    while (rc == SP_OK && (se == SQLITE_ROW || sd == SQLITE_ROW)) {
        /* the event first when it is at or before the line that completed the delivery */
        int take_ev = se == SQLITE_ROW &&
                      (sd != SQLITE_ROW || sqlite3_column_int64(ev, 0) < sqlite3_column_int64(dl, 0) ||
                       (sqlite3_column_int64(ev, 0) == sqlite3_column_int64(dl, 0) &&
                        sqlite3_column_int64(ev, 1) <= sqlite3_column_int64(dl, 1)));
        if (take_ev) {
            rc = feed_event_row(r, ev);
            se = sqlite3_step(ev);
        } else {
            rc = feed_delivery_row(r, dl);
            sd = sqlite3_step(dl);
        }
    }
    if (rc == SP_OK && ((se != SQLITE_DONE && se != SQLITE_ROW) || (sd != SQLITE_DONE && sd != SQLITE_ROW)))
        rc = sqlerr(r, "read slog");
out:
    sqlite3_finalize(ev);
    sqlite3_finalize(dl);
    return rc;
}

int sp_tl_replay(sqlite3 *db, const char *node, const struct sp_tl_stream_opts *sched, sp_record_fn emit, void *arg,
                 struct sp_err *err)
{
    struct replay r = {.db = db, .node = node, .emit = emit, .arg = arg, .err = err};
    struct sp_tl_stream_opts o = {.snapshot_initial = sched->snapshot_initial,
                                  .snapshot_interval = sched->snapshot_interval, .db = replay_db, .arg = &r,
                                  .sinit_how = sched->sinit_how, .sint_how = sched->sint_how, .replay = 1,
                                  .heap_thresholds = sched->heap_thresholds,
                                  .nheap_thresholds = sched->nheap_thresholds};
    r.tl = sp_tl_stream_new(&o);
    int rc = each(&r, "SELECT key, value, source FROM store_kv WHERE node=?1 ORDER BY key", fill_kv);
    if (rc == SP_OK)
        rc = each(&r, "SELECT vat_id, start_pos, end_pos, hash, computed_hash, items, is_current, incarnation, source "
                      "FROM transcript_spans WHERE node=?1 ORDER BY vat_id, start_pos", fill_tspan);
    if (rc == SP_OK)
        rc = each(&r, "SELECT vat_id, snap_pos, hash, in_use, uncompressed_size, compressed_size, has_blob, source "
                      "FROM store_snapshots WHERE node=?1 ORDER BY vat_id, snap_pos", fill_tsnap);
    if (rc == SP_OK)
        /* an item's bytes are read only at position 0 (the worker type of the init item): the stage
         * judges items by their hashes, and the bytes are most of the table */
        rc = each(&r, "SELECT vat_id, position, incarnation, d_type, CASE WHEN position=0 THEN item END, d_hash, "
                      "sc_hash, status, computrons, snapshot_id, source FROM transcript_items WHERE node=?1 "
                      "ORDER BY vat_id, position", fill_titem);
    if (rc == SP_OK) rc = feed_slog(&r);
    if (rc == SP_OK) rc = sp_tl_stream_flush(r.tl, emit, arg, err);
    sp_tl_stream_free(r.tl);
    sqlite3_exec(db, "DROP TABLE IF EXISTS temp.tl_rsrc", NULL, NULL, NULL);
    return rc;
}
