/* sp_tl_cross.c - swing-store snapshot bookkeeping (S2) and cross-node consensus checks (X1, X2). */
#include <stdio.h>
#include <string.h>

#include "sp_tl_int.h"

/* S2: in-use snapshot rows agree with the current span. */
int tl_pass_store(struct tl_ctx *c)
{
    if (!c->has_store_snapshots) return SP_OK;
    static const char *sql =
        "SELECT v.vat_id, s.start_pos, s.first_type, s.load_snapshot_id, s.incarnation, "
        "(SELECT count(*) FROM store_snapshots u WHERE u.node=?1 AND u.vat_id=v.vat_id AND u.in_use=1), "
        "(SELECT snap_pos FROM store_snapshots u WHERE u.node=?1 AND u.vat_id=v.vat_id AND u.in_use=1 ORDER BY snap_pos DESC LIMIT 1), "
        "(SELECT hash FROM store_snapshots u WHERE u.node=?1 AND u.vat_id=v.vat_id AND u.in_use=1 ORDER BY snap_pos DESC LIMIT 1), "
        "(SELECT max(snap_pos) FROM store_snapshots u WHERE u.node=?1 AND u.vat_id=v.vat_id), "
        "(SELECT source FROM store_snapshots u WHERE u.node=?1 AND u.vat_id=v.vat_id LIMIT 1), "
        "s.from_transcript "
        "FROM (SELECT DISTINCT vat_id FROM store_snapshots WHERE node=?1 UNION SELECT vat_id FROM spans WHERE node=?1 "
        "AND from_transcript=1) v LEFT JOIN spans s ON s.node=?1 AND s.vat_id=v.vat_id AND s.is_current=1 "
        "AND s.from_transcript=1 ORDER BY v.vat_id";
    sqlite3_stmt *st = NULL;
    int rc = tl_prep(c, sql, &st);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, c->node, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *vat = tl_text(st, 0), *first = tl_text(st, 2), *load = tl_text(st, 3);
        int has_cur = sqlite3_column_type(st, 1) != SQLITE_NULL;
        int64_t start = tl_int(st, 1, -1), inc = tl_int(st, 4, -1), n_inuse = sqlite3_column_int64(st, 5);
        int64_t inuse_pos = tl_int(st, 6, -1), max_pos = tl_int(st, 8, -1);
        const char *inuse_hash = tl_text(st, 7), *src = tl_text(st, 9);
        struct tl_vat *v = tl_vat_find(c, vat);
        const char *problem = NULL;
        int64_t pos = inuse_pos;
        if (n_inuse > 1) {
            problem = "more than one inUse snapshot";
        } else if (!has_cur) {
            if (n_inuse && (!v || v->terminated)) problem = "terminated vat still has an inUse snapshot";
        } else if (strcmp(first, "load-snapshot") == 0) {
            pos = start - 1;
            if (!n_inuse)
                problem = "current span starts with load-snapshot but no snapshot is inUse";
            else if (inuse_pos != start - 1)
                problem = "inUse snapshot is not the one the current span was loaded from";
            else if (*load && strcmp(load, inuse_hash) != 0)
                problem = "inUse snapshot hash differs from the load-snapshot id";
        } else if (strcmp(first, "initialize-worker") == 0 && n_inuse) {
            problem = "current span starts with initialize-worker but a snapshot is inUse";
        }
        if (!problem && n_inuse == 1 && inuse_pos != max_pos) problem = "inUse snapshot is not the highest snapPos";
        if (!problem) continue;
        tl_det_begin(c);
        tl_det_str(c, "problem", problem);
        tl_det_int(c, "in_use_rows", n_inuse);
        if (inuse_pos >= 0) tl_det_int(c, "in_use_snap_pos", inuse_pos);
        tl_det_str(c, "in_use_hash", inuse_hash);
        if (has_cur) tl_det_int(c, "current_span_start", start);
        tl_det_str(c, "load_snapshot_id", load);
        tl_det_str(c, "rule", "S2: one inUse snapshot, the one the current span was loaded from");
        if ((rc = tl_anomaly(c, vat, "SNAPSHOT_MISSING_IN_STORE", inc, pos >= 0 ? pos : max_pos, "error", src, -1)))
            break;
    }
    if (rc == SQLITE_DONE) rc = SP_OK;
    else if (rc > 0) rc = tl_sqlerr(c, "store snapshots");
    sqlite3_finalize(st);
    return rc;
}

static int other_nodes(struct tl_ctx *c)
{
    sqlite3_stmt *st = NULL;
    int n = 0;
    if (tl_prep(c, "SELECT EXISTS (SELECT 1 FROM transcript_spans WHERE node<>?1) OR EXISTS (SELECT 1 FROM "
                   "sources WHERE node<>?1) OR EXISTS (SELECT 1 FROM store_snapshots WHERE node<>?1)",
                &st))
        return -1;
    sqlite3_bind_text(st, 1, c->node, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* X1: same (vat, snapPos) must have the same snapshotID on every node. */
static int cross_snapshots(struct tl_ctx *c)
{
    static const char *const prep[] = {
        "DROP TABLE IF EXISTS temp.tl_x1",
        "CREATE TEMP TABLE tl_x1 AS "
        "SELECT node, vat_id, position AS pos, snapshot_id AS id, 'transcript' AS via FROM transcript_items "
        "WHERE d_type='save-snapshot' AND snapshot_id IS NOT NULL "
        "UNION SELECT node, vat_id, snap_pos, hash, 'store' FROM store_snapshots WHERE hash IS NOT NULL "
        "UNION SELECT node, vat_id, snap_pos, snapshot_id, 'slog' FROM slog_events WHERE "
        "node IN (SELECT node FROM sources) AND type='heap-snapshot-save'" TL_INDEXED("") /* seeks slog_events_by_type */
        "AND snap_pos IS NOT NULL AND snapshot_id IS NOT NULL AND vat_id IS NOT NULL "
        "UNION SELECT node, vat_id, snap_pos, slog_snapshot_id, 'slog' FROM snapshots WHERE slog_snapshot_id IS NOT NULL",
        "CREATE INDEX temp.tl_x1_v ON tl_x1 (vat_id, pos, node)",
        NULL};
    for (int i = 0; prep[i]; i++) {
        int rc = tl_exec_node(c, prep[i]);
        if (rc) return rc;
    }
    sqlite3_stmt *st = NULL;
    int rc = tl_prep(c, "SELECT a.vat_id, a.pos, a.id, a.via, b.node, b.id, b.via FROM tl_x1 a JOIN tl_x1 b ON "
                        "b.vat_id=a.vat_id AND b.pos=a.pos AND b.node<>a.node AND b.id<>a.id WHERE a.node=?1 "
                        "ORDER BY a.vat_id, a.pos, a.via, b.node, b.via, b.id",
                     &st);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, c->node, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        tl_det_begin(c);
        tl_det_str(c, "snapshot_id", tl_text(st, 2));
        tl_det_str(c, "evidence", tl_text(st, 3));
        tl_det_str(c, "other_node", tl_text(st, 4));
        tl_det_str(c, "other_snapshot_id", tl_text(st, 5));
        tl_det_str(c, "other_evidence", tl_text(st, 6));
        tl_det_str(c, "rule", "X1: same (vatID, snapPos) => same snapshotID on every node");
        if ((rc = tl_anomaly(c, tl_text(st, 0), "CROSS_NODE_SNAPSHOT_DIVERGENCE", -1, sqlite3_column_int64(st, 1),
                             "error", NULL, -1)))
            break;
    }
    if (rc == SQLITE_DONE) rc = SP_OK;
    else if (rc > 0) rc = tl_sqlerr(c, "cross-node snapshots");
    sqlite3_finalize(st);
    return rc;
}

/* X2: the committed crankhash of each crankNum equals one of the other node's. */
static int cross_crankhash(struct tl_ctx *c)
{
    sqlite3_stmt *st = NULL;
    int rc = tl_prep(
        c,
        "SELECT o.node, a.crank_num, a.crankhash, a.source, a.line, "
        "(SELECT b.crankhash FROM slog_events b WHERE b.type='crank-finish' AND b.crank_num=a.crank_num AND "
        "b.node=o.node AND b.crankhash IS NOT NULL ORDER BY b.source, b.line LIMIT 1), "
        "count(*) OVER (PARTITION BY o.node) "
        "FROM slog_events a JOIN (SELECT DISTINCT s.node FROM sources s WHERE s.node<>?1 AND EXISTS (SELECT 1 "
        "FROM slog_events x WHERE x.node=s.node AND x.type='crank-finish'" TL_INDEXED("x.") "AND x.crankhash IS NOT NULL)) o "
        "WHERE a.node=?1 AND a.type='crank-finish'" TL_INDEXED("a.") "AND a.crankhash IS NOT NULL AND " TL_NOT_DUP("a") " "
        "AND EXISTS (SELECT 1 FROM slog_events b WHERE b.type='crank-finish' AND b.crank_num=a.crank_num AND "
        "b.node=o.node AND b.crankhash IS NOT NULL) AND NOT EXISTS (SELECT 1 FROM slog_events b WHERE "
        "b.type='crank-finish' AND b.crank_num=a.crank_num AND b.node=o.node AND b.crankhash=a.crankhash) "
        "ORDER BY o.node, a.crank_num",
        &st);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, c->node, -1, SQLITE_STATIC);
    char last_node[256] = "";
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (strcmp(last_node, tl_text(st, 0)) == 0) continue; /* first divergent crank per other node */
        snprintf(last_node, sizeof last_node, "%s", tl_text(st, 0));
        tl_det_begin(c);
        tl_det_int(c, "crank_num", sqlite3_column_int64(st, 1));
        tl_det_str(c, "crankhash", tl_text(st, 2));
        tl_det_str(c, "other_node", tl_text(st, 0));
        tl_det_str(c, "other_crankhash", tl_text(st, 5));
        tl_det_int(c, "divergent_cranks", sqlite3_column_int64(st, 6));
        tl_det_str(c, "rule", "X2: same crankNum (after dedupe) => same crankhash");
        if ((rc = tl_anomaly(c, NULL, "CROSS_NODE_CRANKHASH_DIVERGENCE", -1, -1, "error",
                             tl_text(st, 3), tl_int(st, 4, -1))))
            break;
    }
    if (rc == SQLITE_DONE) rc = SP_OK;
    else if (rc > 0) rc = tl_sqlerr(c, "cross-node crankhash");
    sqlite3_finalize(st);
    return rc;
}

int tl_pass_cross(struct tl_ctx *c)
{
    int n = other_nodes(c);
    if (n < 0) return c->err->rc;
    if (n == 0) return SP_OK;
    int rc = cross_snapshots(c);
    if (rc) return rc;
    return cross_crankhash(c);
}
