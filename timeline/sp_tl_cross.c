/* sp_tl_cross.c - swing-store snapshot bookkeeping (S2); the cross-node checks (X1-X3) live in the stage (sp_tl_diverge.c). */
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
