/* sp_analyze.c - the batch analysis: schedule config, a replay of each node through the stage, vat lifecycle summaries, one transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>

#include "sp_tl_int.h"
#include "sp_tl_part.h"
#include "sp_tl_replay.h"
#include "sp_tl_stream.h"

const char *const sp_anomaly_kinds[] = {
    "SPAN_BAD_START", "PSEUDO_MISPLACED", "CURRENT_SPAN_HAS_TERMINATOR", "CLOSED_SPAN_BAD_END",
    "MISSING_PRE_SNAPSHOT_BOYD", "LOAD_SNAPSHOT_UNKNOWN", "LOAD_SAVE_ID_MISMATCH",
    "SLOG_SNAPSHOT_ID_MISMATCH", "SNAPSHOT_SCHEDULE_DEVIATION", "SNAPSHOT_OVERDUE",
    "SNAPSHOT_MISSING_IN_STORE", "POSITION_GAP", "POSITION_OVERLAP", "SPAN_HASH_MISMATCH",
    "INCARNATION_NOT_INCREMENTED", "INCARNATION_JUMP", "UPGRADE_SPAN_BAD_START", "NON_OK_RESULT",
    "UNEXPECTED_STOPVAT", "REPLAY_DIVERGENCE", "REPLAY_SPAN_MISMATCH", "REPLAY_COMPUTRON_DRIFT",
    "DELIVERYNUM_REGRESSION", "SLOG_TRANSCRIPT_DIVERGENCE", "CROSS_NODE_SNAPSHOT_DIVERGENCE",
    "CROSS_NODE_CRANKHASH_DIVERGENCE", "ACTIVITY_AFTER_TERMINATION", "UNEXPECTED_EMPTY_CURRENT_SPAN",
    "CROSS_NODE_ACTIVITYHASH_DIVERGENCE", "CROSS_NODE_DELIVERY_DIVERGENCE", "HEAP_SIZE_THRESHOLD",
    NULL};

void sp_analysis_opts_init(struct sp_analysis_opts *o)
{
    o->node = NULL;
    o->snapshot_initial = -1;
    o->snapshot_interval = -1;
    o->heap_thresholds = NULL;
    o->nheap_thresholds = 0;
}

/* ---- SQLite helpers ------------------------------------------------------ */

int tl_sqlerr(struct tl_ctx *c, const char *what)
{
    return sp_err_set(c->err, SP_ESINK, "timeline: %s: %s", what, sqlite3_errmsg(c->db));
}

int tl_prep(struct tl_ctx *c, const char *sql, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(c->db, sql, -1, st, NULL) != SQLITE_OK) {
        char ex[96];
        sp_excerpt(sql, strlen(sql), 80, ex, sizeof ex);
        return tl_sqlerr(c, ex);
    }
    return SP_OK;
}

int tl_exec_node(struct tl_ctx *c, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int rc = tl_prep(c, sql, &st);
    if (rc) return rc;
    if (sqlite3_bind_parameter_count(st) > 0) sqlite3_bind_text(st, 1, c->node, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) {
        char ex[96];
        sp_excerpt(sql, strlen(sql), 80, ex, sizeof ex);
        rc = tl_sqlerr(c, ex);
    } else {
        rc = SP_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

const char *tl_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? (const char *)t : "";
}

int64_t tl_int(sqlite3_stmt *st, int col, int64_t dflt)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL) return dflt;
    return sqlite3_column_int64(st, col);
}

/* ---- JSON text helpers ------------------------------------------------- */

int tl_json_find_str(const char *json, const char *key, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(json, pat);
    if (!p) return 0;
    p += strlen(pat);
    const char *q = strchr(p, '"');
    if (!q) return 0;
    size_t n = (size_t)(q - p);
    if (n >= cap) n = cap - 1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 1;
}

int tl_json_find_bool(const char *json, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":false", key);
    if (strstr(json, pat)) return 1;
    snprintf(pat, sizeof pat, "\"%s\":true", key);
    if (strstr(json, pat)) return 0;
    return -1;
}

/* ---- detail builder / writers ------------------------------------------ */

static void bind_opt_int(sqlite3_stmt *st, int i, int64_t v)
{
    if (v < 0)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, v);
}

static void bind_opt_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s && *s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

/* ---- vats ----------------------------------------------------------------- */

static int vat_cmp(const void *a, const void *b)
{
    const struct tl_vat *x = a, *y = b;
    return strcmp(x->id, y->id);
}

static int vat_key_cmp(const void *k, const void *b)
{
    const struct tl_vat *y = b;
    return strcmp((const char *)k, y->id);
}

struct tl_vat *tl_vat_find(struct tl_ctx *c, const char *id)
{
    if (!id || !c->nvats) return NULL;
    if (!c->nvats) return NULL; /* bsearch(NULL, 0) is UB */
    return bsearch(id, c->vats, c->nvats, sizeof *c->vats, vat_key_cmp);
}

static void vats_free(struct tl_ctx *c)
{
    for (size_t i = 0; i < c->nvats; i++) free(c->vats[i].id);
    free(c->vats);
    c->vats = NULL;
    c->nvats = 0;
}

/* Gather every vat of the node and what is known about its worker and fate. */
static int vats_load(struct tl_ctx *c)
{
    static const char *sql =
        "WITH RECURSIVE " TL_DISTINCT("d", "vat_id", "deliveries", " WHERE node=?1") " "
        "SELECT vat_id FROM transcript_spans WHERE node=?1 UNION SELECT v FROM d WHERE v IS NOT NULL "
        "UNION SELECT vat_id FROM vats WHERE node=?1 UNION SELECT vat_id FROM store_snapshots WHERE node=?1 "
        "UNION SELECT vat_id FROM slog_events WHERE node=?1 AND vat_id IS NOT NULL AND type IN "
        "('heap-snapshot-save','terminate','vat-cleanup-complete','create-vat')" TL_INDEXED("") "ORDER BY 1";
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    int rc = tl_prep(c, sql, &st);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, c->node, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = tl_text(st, 0);
        if (!*id) continue;
        if (c->nvats == cap) {
            cap = cap ? cap * 2 : 64;
            c->vats = sp_xrealloc(c->vats, cap * sizeof *c->vats);
        }
        struct tl_vat *v = &c->vats[c->nvats++];
        memset(v, 0, sizeof *v);
        v->id = sp_xstrdup(id);
        v->use_transcript = -1;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return tl_sqlerr(c, "list vats");
    if (c->nvats) qsort(c->vats, c->nvats, sizeof *c->vats, vat_cmp); /* qsort(NULL, 0) is UB */

    /* options from the kvStore, manager type from create-vat, init item of the transcript */
    static const char *info_sql =
        "SELECT 1, key, value FROM store_kv WHERE node=?1 AND (key LIKE 'v%.options' OR key LIKE 'kv.v%.options') "
        "UNION ALL SELECT 2, vat_id, manager_type FROM vats WHERE node=?1 AND manager_type IS NOT NULL "
        "UNION ALL SELECT 3, vat_id, status FROM vats WHERE node=?1 AND status<>'alive' "
        "UNION ALL SELECT 4, vat_id, item FROM transcript_items WHERE node=?1 AND position=0 "
        "UNION ALL SELECT 5, vat_id, max(is_current) FROM transcript_spans WHERE node=?1 GROUP BY vat_id "
        "UNION ALL SELECT 6, NULL, value FROM store_kv WHERE node=?1 AND key IN ('vats.terminated','kv.vats.terminated') "
        "ORDER BY 1, 2";
    rc = tl_prep(c, info_sql, &st);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, c->node, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int what = sqlite3_column_int(st, 0);
        const char *k = tl_text(st, 1), *val = tl_text(st, 2);
        char id[64];
        if (what == 1) {
            const char *key = strncmp(k, "kv.", 3) == 0 ? k + 3 : k;
            const char *dot = strchr(key, '.');
            if (!dot || (size_t)(dot - key) >= sizeof id) continue;
            memcpy(id, key, (size_t)(dot - key));
            id[dot - key] = '\0';
        } else if (what == 6) {
            for (size_t i = 0; i < c->nvats; i++) {
                char pat[80];
                snprintf(pat, sizeof pat, "\"%s\"", c->vats[i].id);
                if (strstr(val, pat)) c->vats[i].terminated = 1;
            }
            continue;
        } else {
            sp_str_to_buf(sp_str_c(k), id, sizeof id);
        }
        struct tl_vat *v = tl_vat_find(c, id);
        if (!v) continue;
        switch (what) {
        case 1: {
            char wt[24];
            const char *wo = strstr(val, "\"workerOptions\":");
            if (wo && tl_json_find_str(wo, "type", wt, sizeof wt)) snprintf(v->worker_type, sizeof v->worker_type, "%s", wt);
            char nm[128];
            if (tl_json_find_str(val, "name", nm, sizeof nm)) snprintf(v->name, sizeof v->name, "%s", nm);
            int ut = tl_json_find_bool(val, "useTranscript");
            if (ut >= 0) v->use_transcript = !ut;
            break;
        }
        case 2:
            if (!v->worker_type[0]) snprintf(v->worker_type, sizeof v->worker_type, "%s", val);
            break;
        case 3:
            v->terminated = 1;
            break;
        case 4: {
            char wt[24];
            const char *wo = strstr(val, "\"workerOptions\":");
            if (!v->worker_type[0] && wo && tl_json_find_str(wo, "type", wt, sizeof wt))
                snprintf(v->worker_type, sizeof v->worker_type, "%s", wt);
            break;
        }
        case 5:
            v->has_transcript = 1;
            v->has_current = sqlite3_column_int(st, 2) != 0;
            break;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return tl_sqlerr(c, "vat info");

    /* Per vat, from its deliveries (probes that stop at the first row found, over
     * the vats just listed, not walks over every delivery of the node):
     * - local workers seen only in the slog: their deliver-results carry no
     *   meter (dr[2] null): an ok delivery, and none with computrons;
     * - comms-like vats: live deliveries all numbered 0 (the last live number,
     *   read backwards through deliveries_live). */
    rc = tl_prep(c, "SELECT EXISTS (SELECT 1 FROM deliveries x WHERE x.node=?1 AND x.vat_id=?2 AND x.status='ok') "
                    "AND NOT EXISTS (SELECT 1 FROM deliveries x WHERE x.node=?1 AND x.vat_id=?2 AND x.status='ok' "
                    "AND x.computrons IS NOT NULL), (SELECT max(x.delivery_num) FROM deliveries x WHERE x.node=?1 "
                    "AND x.vat_id=?2 AND x.replay=0)", &st);
    if (rc) return rc;
    for (size_t i = 0; i < c->nvats; i++) {
        struct tl_vat *v = &c->vats[i];
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, c->node, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, v->id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_ROW) {
            rc = tl_sqlerr(c, "unmetered and comms vats");
            break;
        }
        if (sqlite3_column_int(st, 0) && !v->worker_type[0]) snprintf(v->worker_type, sizeof v->worker_type, "local");
        if (v->use_transcript < 0 && sqlite3_column_type(st, 1) != SQLITE_NULL)
            v->use_transcript = sqlite3_column_int64(st, 1) > 0 ? 1 : 0;
    }
    sqlite3_finalize(st);
    return rc;
}

/* ---- schedule configuration ---------------------------------------------- */

static int kv_int(struct tl_ctx *c, const char *key, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (tl_prep(c, "SELECT value FROM store_kv WHERE node=?1 AND key IN (?2, 'kv.' || ?2) ORDER BY key LIMIT 1", &st))
        return -1;
    sqlite3_bind_text(st, 1, c->node, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *v = tl_text(st, 0);
        char *end = NULL;
        long long x = strtoll(v, &end, 10);
        if (end != v && *end == '\0' && x > 0) {
            *out = x;
            found = 1;
        }
    }
    sqlite3_finalize(st);
    return found;
}

/*
 * The schedule is judged only against a configuration known for the node:
 * its kvStore (swing-store, export data, or any other input of the node),
 * then the option. Anything else stays unknown here; infer_config may then
 * take it from the node's own closed spans. Never the mainnet defaults.
 */
static int load_config(struct tl_ctx *c, const struct sp_analysis_opts *o)
{
    int f = kv_int(c, "kernel.snapshotInitial", &c->sinit);
    if (f < 0) return c->err->rc;
    if (f == 1)
        c->sinit_src = "store_kv";
    else if (o->snapshot_initial > 0)
        c->sinit = o->snapshot_initial, c->sinit_src = "option";
    else
        c->sinit = -1, c->sinit_src = "unknown";
    f = kv_int(c, "kernel.snapshotInterval", &c->sint);
    if (f < 0) return c->err->rc;
    if (f == 1)
        c->sint_src = "store_kv";
    else if (o->snapshot_interval > 0)
        c->sint = o->snapshot_interval, c->sint_src = "option";
    else
        c->sint = -1, c->sint_src = "unknown";
    snprintf(c->sinit_how, sizeof c->sinit_how, "%s", strcmp(c->sinit_src, "option") == 0 ? "--snapshot-initial" : "kvStore kernel.snapshotInitial");
    snprintf(c->sint_how, sizeof c->sint_how, "%s", strcmp(c->sint_src, "option") == 0 ? "--snapshot-interval" : "kvStore kernel.snapshotInterval");
    return SP_OK;
}

/* ---- per-node working tables (TEMP, dropped before each node) ------------ */


static const char *const temp_sql[] = {
    "DROP TABLE IF EXISTS temp.tl_src",
    "DROP TABLE IF EXISTS temp.tl_commit",
    "DROP TABLE IF EXISTS temp.tl_dup",
    "DROP TABLE IF EXISTS temp.tl_epoch",
    "DROP TABLE IF EXISTS temp.tl_abort",
    "DROP TABLE IF EXISTS temp.tl_live",
    "DROP TABLE IF EXISTS temp.tl_saves",
    "DROP TABLE IF EXISTS temp.tl_upg",
    "DROP TABLE IF EXISTS temp.tl_sstart",
    "DROP TABLE IF EXISTS temp.tl_sspan",
    "CREATE TEMP TABLE tl_src (source TEXT PRIMARY KEY, ord INTEGER)",
    /* sources (005) holds min(time) per source: no scan of slog_events */
    "INSERT INTO tl_src SELECT source, row_number() OVER (ORDER BY min_time IS NULL, min_time, source) "
    "FROM sources WHERE node=?1",
    /* blocks committed per kernel epoch */
    "CREATE TEMP TABLE tl_commit (source TEXT, epoch INTEGER, block_height INTEGER, "
    "PRIMARY KEY (source, epoch, block_height))",
    "INSERT OR IGNORE INTO tl_commit SELECT source, epoch, block_height FROM slog_events WHERE node=?1 "
    "AND type='cosmic-swingset-commit-block-finish'" TL_INDEXED("") "AND block_height IS NOT NULL",
    /* #8264: a block executed in an epoch that never committed it, and committed by a later epoch */
    "CREATE TEMP TABLE tl_dup (source TEXT, epoch INTEGER, block_height INTEGER, "
    "PRIMARY KEY (source, epoch, block_height))",
    "INSERT OR IGNORE INTO tl_dup SELECT DISTINCT d.source, d.epoch, d.block_height FROM deliveries d "
    "WHERE d.node=?1 AND d.replay=0 AND d.block_height IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tl_commit k "
    "WHERE k.source=d.source AND k.epoch=d.epoch AND k.block_height=d.block_height) AND EXISTS (SELECT 1 FROM "
    "tl_commit k WHERE k.source=d.source AND k.epoch>d.epoch AND k.block_height=d.block_height)",
    /* #8264 without block markers: cranks of an epoch at or past the first crank of a later epoch */
    "CREATE TEMP TABLE tl_epoch AS SELECT source, epoch, min(crank_num) AS c0 FROM slog_events WHERE node=?1 "
    "AND type='crank-start'" TL_INDEXED("") "AND crank_num IS NOT NULL GROUP BY source, epoch",
    /* aborted cranks: an error result, a failed upgrade (whole crank), a terminate (that vat) */
    "CREATE TEMP TABLE tl_abort (source TEXT, epoch INTEGER, crank_num INTEGER, vat_id TEXT)",
    "INSERT INTO tl_abort SELECT DISTINCT source, epoch, crank_num, NULL FROM deliveries WHERE node=?1 AND replay=0 "
    "AND crank_num IS NOT NULL AND status IS NOT NULL AND status<>'ok'",
    "INSERT INTO tl_abort SELECT DISTINCT source, epoch, crank_num, NULL FROM slog_events WHERE node=?1 "
    "AND type='console'" TL_INDEXED("") "AND crank_num IS NOT NULL AND args LIKE '%failed to upgrade%'",
    "INSERT INTO tl_abort SELECT DISTINCT source, epoch, crank_num, vat_id FROM slog_events WHERE node=?1 "
    "AND type='terminate'" TL_INDEXED("") "AND crank_num IS NOT NULL",
    "CREATE INDEX temp.tl_abort_c ON tl_abort (source, epoch, crank_num)",
    /* committed live deliveries */
    "CREATE TEMP TABLE tl_live AS SELECT d.vat_id, d.delivery_num AS dn, d.crank_num, d.epoch, d.block_height, "
    "d.dispatch, d.status, d.computrons, d.vd_hash, d.sc_hash, d.source, d.line, " TL_CK("d") " AS ck "
    "FROM deliveries d WHERE d.node=?1 AND d.replay=0 AND d.delivery_num IS NOT NULL AND " TL_NOT_DUP("d") " "
    "AND NOT EXISTS (SELECT 1 FROM tl_abort a WHERE a.source=d.source AND a.epoch=d.epoch AND a.crank_num=d.crank_num "
    "AND (a.vat_id IS NULL OR a.vat_id=d.vat_id))",
    "CREATE INDEX temp.tl_live_v ON tl_live (vat_id, dn)",
    /* the same delivery read from two overlapping sources (rotated files, slog + flight recorder): keep the first */
    "DELETE FROM tl_live WHERE EXISTS (SELECT 1 FROM tl_live b WHERE b.vat_id=tl_live.vat_id AND b.dn=tl_live.dn "
    "AND b.crank_num IS tl_live.crank_num AND (b.vd_hash IS tl_live.vd_hash OR COALESCE(b.vd_hash,'')='' OR "
    "COALESCE(tl_live.vd_hash,'')='') AND b.source<>tl_live.source "
    "AND b.ck<tl_live.ck)",
    "CREATE INDEX temp.tl_live_c ON tl_live (source, epoch, crank_num, vat_id)",
    /* heap-snapshot-save events of committed cranks (snapshots table as fallback for the position) */
    "CREATE TEMP TABLE tl_saves AS SELECT e.vat_id, COALESCE(e.snap_pos, s.snap_pos) AS pos, "
    "COALESCE(e.snapshot_id, s.slog_snapshot_id) AS sid, e.source, e.line, " TL_CK("e") " AS ck, e.epoch, e.crank_num, "
    "(SELECT min(l.dn) FROM tl_live l WHERE l.source=e.source AND l.epoch=e.epoch AND l.crank_num=e.crank_num "
    "AND l.vat_id=e.vat_id) AS first_dn "
    "FROM slog_events e LEFT JOIN snapshots s ON s.node=e.node AND s.vat_id=e.vat_id AND s.save_line=e.line "
    "WHERE e.node=?1 AND e.type='heap-snapshot-save'" TL_INDEXED("e.") "AND e.vat_id IS NOT NULL AND " TL_NOT_DUP("e"),
    "DELETE FROM tl_saves WHERE pos IS NULL OR rowid IN (SELECT rowid FROM (SELECT rowid, row_number() OVER "
    "(PARTITION BY vat_id, pos ORDER BY ck) AS rn FROM tl_saves) WHERE rn>1)",
    "CREATE INDEX temp.tl_saves_v ON tl_saves (vat_id, pos)",
    /* successful upgrades: committed startVat of an upgrade-vat crank */
    "CREATE TEMP TABLE tl_upg AS SELECT l.vat_id, l.dn, l.ck, l.line, l.source, l.epoch, l.crank_num FROM tl_live l "
    "WHERE l.dispatch='startVat' AND COALESCE((SELECT e.message_type FROM slog_events e WHERE e.node=?1 "
    "AND e.type='crank-start'" TL_INDEXED("e.") "AND e.source=l.source AND e.epoch=l.epoch AND e.crank_num=l.crank_num LIMIT 1), "
    "CASE WHEN l.dn>1 THEN 'upgrade-vat' END)='upgrade-vat'",
    /* span starts rebuilt from the slog: 0 (only if the slog saw the vat's first delivery),
     * save+1, upgrade startVat-1 */
    "CREATE TEMP TABLE tl_sstart AS "
    "SELECT vat_id, 0 AS start_pos, 0 AS kind, NULL AS load_id, NULL AS save_line, NULL AS save_first_dn, NULL AS save_source "
    "FROM (SELECT vat_id FROM tl_live GROUP BY vat_id HAVING min(dn)<=1) "
    "UNION ALL SELECT vat_id, pos+1, 1, sid, line, first_dn, source FROM tl_saves "
    "UNION ALL SELECT vat_id, dn-1, 2, NULL, NULL, NULL, NULL FROM tl_upg WHERE dn>0",
    "CREATE TEMP TABLE tl_sspan AS SELECT vat_id, start_pos, kind, load_id, "
    "LEAD(start_pos) OVER w AS next_start, LEAD(kind) OVER w AS next_kind, LEAD(load_id) OVER w AS save_id, "
    "LEAD(save_line) OVER w AS save_line, LEAD(save_first_dn) OVER w AS save_first_dn, "
    "LEAD(save_source) OVER w AS save_source, "
    "SUM(kind=2) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS upg "
    "FROM (SELECT vat_id, start_pos, max(kind) AS kind, max(load_id) AS load_id, max(save_line) AS save_line, "
    "max(save_first_dn) AS save_first_dn, max(save_source) AS save_source FROM tl_sstart GROUP BY vat_id, start_pos) "
    "WINDOW w AS (PARTITION BY vat_id ORDER BY start_pos)",
    "CREATE INDEX temp.tl_sspan_v ON tl_sspan (vat_id, start_pos)",
    NULL};

/*
 * #8264: mark the discarded execution of a block re-executed after a crash
 * (slog_events and deliveries superseded = 1, 010-superseded.sql): per
 * source and kernel epoch, the lines from the begin-block of a block that
 * epoch never committed (the streaming stage's rule: its SP_REC_SUPERSEDE
 * records name the same lines), or from the first crank a later epoch ran
 * again (tl_epoch), up to the next kernel start.
 * The marks are cleared first, so the analysis stays a function of the
 * tables. Slog lines are marked by rowid range between the two boundary
 * lines (a source's lines are stored in order), so no statement reads the
 * whole slog_events table. snapshots.loads then counts the kept execution.
 */
static const char *const supersede_sql[] = {
    "UPDATE slog_events SET superseded=0 WHERE node=?1 AND superseded=1",
    "UPDATE deliveries SET superseded=0 WHERE node=?1 AND superseded=1",
    "DROP TABLE IF EXISTS temp.tl_sup",
    "DROP TABLE IF EXISTS temp.tl_supseg",
    /* ks: the source of the restart (l1, r1): this one, or a later one (a rotated file) */
    "CREATE TEMP TABLE tl_sup (source TEXT, epoch INTEGER, l0 INTEGER, r0 INTEGER, l1 INTEGER, r1 INTEGER, ks TEXT)",
    /* where the discarded execution starts: the begin-block of a block its epoch never committed (the
     * stage's rule, sp_tl_stream.c sup_event), or the re-executed crank */
    "INSERT INTO tl_sup (source, epoch, l0, r0) "
    "SELECT e.source, e.epoch, e.line, e.rowid FROM slog_events e WHERE e.node=?1 "
    "AND e.type='cosmic-swingset-begin-block'" TL_INDEXED("e.") "AND e.block_height IS NOT NULL "
    "AND NOT EXISTS (SELECT 1 FROM tl_commit k WHERE k.source=e.source "
    "AND k.epoch=e.epoch AND k.block_height=e.block_height)",
    "INSERT INTO tl_sup (source, epoch, l0, r0) "
    "SELECT a.source, a.epoch, e.line, e.rowid FROM tl_epoch a JOIN tl_epoch x ON x.source=a.source AND x.epoch>a.epoch "
    "JOIN slog_events e ON e.type='crank-start' AND e.crank_num>=x.c0 AND e.node=?1 AND e.source=a.source "
    "AND e.epoch=a.epoch",
    /* one range per (source, epoch): from the earliest start to the next kernel-init-start */
    "DELETE FROM tl_sup WHERE rowid NOT IN (SELECT rowid FROM (SELECT rowid, row_number() OVER "
    "(PARTITION BY source, epoch ORDER BY l0) AS rn FROM tl_sup) WHERE rn=1)",
    "UPDATE tl_sup SET (l1, r1, ks)=(SELECT k.line, k.rowid, k.source FROM slog_events k WHERE k.node=?1 "
    "AND k.type='kernel-init-start'" TL_INDEXED("k.") "AND k.source=tl_sup.source AND k.epoch>tl_sup.epoch "
    "ORDER BY k.epoch, k.line LIMIT 1)",
    /* no restart in the source: the execution went on in the node's next sources (epochs continue
     * across them) up to the restart that started the next epoch */
    "UPDATE tl_sup SET (l1, r1, ks)=(SELECT k.line, k.rowid, k.source FROM slog_events k JOIN tl_src o ON "
    "o.source=k.source WHERE k.node=?1 AND k.type='kernel-init-start'" TL_INDEXED("k.") "AND k.epoch=tl_sup.epoch+1 "
    "AND o.ord>(SELECT ord FROM tl_src WHERE source=tl_sup.source) ORDER BY o.ord, k.line LIMIT 1) WHERE l1 IS NULL",
    "DELETE FROM tl_sup WHERE l1 IS NULL OR r1<=r0",
    /* the range per source (as the stage's records): [l0, l1) of each */
    "CREATE TEMP TABLE tl_supseg AS SELECT source, epoch, l0, CASE WHEN ks=source THEN l1 ELSE 1e18 END AS l1 "
    "FROM tl_sup",
    "INSERT INTO tl_supseg SELECT ks, epoch, -1, l1 FROM tl_sup WHERE ks<>source",
    "INSERT INTO tl_supseg SELECT o.source, r.epoch, -1, 1e18 FROM tl_sup r JOIN tl_src a ON a.source=r.source "
    "JOIN tl_src b ON b.source=r.ks JOIN tl_src o ON o.ord>a.ord AND o.ord<b.ord WHERE r.ks<>r.source",
    /* CROSS JOIN and unary +: tl_sup outside, a rowid range seek inside (no automatic index, no walk over slog_events) */
    "UPDATE slog_events SET superseded=1 WHERE rowid IN (SELECT e.rowid FROM tl_sup r CROSS JOIN slog_events e "
    "ON e.rowid>=r.r0 AND e.rowid<r.r1 WHERE +e.node=?1 AND +e.epoch=r.epoch AND EXISTS (SELECT 1 FROM tl_supseg g "
    "WHERE g.source=e.source AND g.epoch=r.epoch AND e.line>=g.l0 AND e.line<g.l1))",
    "UPDATE deliveries SET superseded=1 WHERE rowid IN (SELECT d.rowid FROM tl_supseg g JOIN deliveries d ON d.node=?1 "
    "AND d.epoch=g.epoch AND d.source=g.source AND d.line>=g.l0 AND d.line<g.l1)",
    /* loads of a snapshot: the heap-snapshot-load lines of the kept execution */
    "UPDATE snapshots SET loads=(SELECT count(*) FROM slog_events e WHERE e.node=?1 AND e.type='heap-snapshot-load'"
    TL_INDEXED("e.") "AND e.vat_id=snapshots.vat_id AND e.snap_pos=snapshots.snap_pos AND e.superseded=0) "
    "WHERE node=?1 AND EXISTS (SELECT 1 FROM slog_events e WHERE e.node=?1 AND e.superseded=1 "
    "AND e.type='heap-snapshot-load' AND e.vat_id=snapshots.vat_id AND e.snap_pos=snapshots.snap_pos)",
    NULL};

static int build_temp(struct tl_ctx *c)
{
    for (int i = 0; temp_sql[i]; i++) {
        int rc = tl_exec_node(c, temp_sql[i]);
        if (rc) return rc;
    }
    for (int i = 0; supersede_sql[i]; i++) {
        int rc = tl_exec_node(c, supersede_sql[i]);
        if (rc) return rc;
    }
    sqlite3_stmt *st = NULL;
    int rc = tl_prep(c, "SELECT count(*) FROM deliveries d WHERE d.node=?1 AND d.replay=0 AND NOT (" TL_NOT_DUP("d") ")",
                     &st);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, c->node, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = tl_sqlerr(c, "node counts");
    } else {
        c->n_dedup = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    if (rc) return rc;

    /* vats with termination evidence in a kept execution */
    rc = tl_prep(c, "SELECT DISTINCT e.vat_id FROM slog_events e WHERE e.node=?1 "
                    "AND e.type IN ('terminate','vat-cleanup','vat-cleanup-complete')" TL_INDEXED("e.")
                    "AND e.vat_id IS NOT NULL AND " TL_NOT_DUP("e"),
                 &st);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, c->node, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct tl_vat *v = tl_vat_find(c, tl_text(st, 0));
        if (v) v->terminated = 1;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return tl_sqlerr(c, "terminations");
    /* a transcript with no current span means the vat was terminated (T2) -- unless no vat
     * has one, i.e. the input only holds closed spans (archive directories) */
    int any_current = 0;
    for (size_t i = 0; i < c->nvats; i++) any_current |= c->vats[i].has_current;
    for (size_t i = 0; i < c->nvats && any_current; i++)
        if (c->vats[i].has_transcript && !c->vats[i].has_current) c->vats[i].terminated = 1;
    return SP_OK;
}

/*
 * No kvStore setting and no option: infer a threshold from the node's own
 * closed spans (slog-rebuilt and transcript spans that end in a snapshot:
 * span length - start item - save item, i.e. the length after the snapshot
 * crank), but only where they agree: the most common length held by more
 * than half of at least 2 spans of that kind. Else the schedule stays
 * unknown and is not judged. Spans from the start of a vat give
 * snapshotInitial, spans after a snapshot snapshotInterval (upgrade spans,
 * whose first snapshot follows other rules, give neither).
 */
static int infer_config(struct tl_ctx *c)
{
    if (c->sinit >= 0 && c->sint >= 0) return SP_OK;
    sqlite3_stmt *st = NULL;
    int rc = tl_prep(c, "WITH l(kind, n) AS ("
                        "SELECT kind, next_start-start_pos-2 FROM tl_sspan WHERE next_kind=1 AND kind IN (0,1) "
                        "UNION ALL SELECT f.d_type='load-snapshot', s.end_pos-s.start_pos-2 FROM transcript_spans s "
                        "JOIN transcript_items f ON f.node=s.node AND f.vat_id=s.vat_id AND f.position=s.start_pos "
                        "JOIN transcript_items e ON e.node=s.node AND e.vat_id=s.vat_id AND e.position=s.end_pos-1 "
                        "WHERE s.node=?1 AND s.is_current=0 AND e.d_type='save-snapshot' AND "
                        "(f.d_type='load-snapshot' OR (f.d_type='initialize-worker' AND s.start_pos=0)) "
                        "AND NOT EXISTS (SELECT 1 FROM tl_sspan x WHERE x.vat_id=s.vat_id AND x.start_pos=s.start_pos "
                        "AND x.next_kind=1)), "
                        "g AS (SELECT kind, n, count(*) AS k FROM l WHERE n>0 GROUP BY kind, n) "
                        "SELECT kind, n, k, (SELECT count(*) FROM l WHERE l.kind=g.kind) FROM g "
                        "ORDER BY kind, k DESC, n",
                     &st);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, c->node, -1, SQLITE_STATIC);
    int seen[2] = {0, 0};
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int kind = sqlite3_column_int(st, 0) ? 1 : 0;
        int64_t n = sqlite3_column_int64(st, 1), k = sqlite3_column_int64(st, 2), tot = sqlite3_column_int64(st, 3);
        if (seen[kind]++) continue; /* the most common length of the kind comes first */
        if (tot < 2 || 2 * k <= tot) continue;
        int64_t *thr = kind ? &c->sint : &c->sinit;
        const char **src = kind ? &c->sint_src : &c->sinit_src;
        char *how = kind ? c->sint_how : c->sinit_how;
        if (*thr >= 0) continue;
        *thr = n;
        *src = "inferred";
        snprintf(how, sizeof c->sinit_how, "inferred: %lld of the node's %lld closed spans agree (no stated schedule)",
                 (long long)k, (long long)tot);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? SP_OK : tl_sqlerr(c, "infer schedule");
}

/* ---- lifecycle summaries ------------------------------------------------- */

static int update_lifecycle(struct tl_ctx *c)
{
    static const char *const sql[] = {
        /* snapshots: one row per (vat, snap_pos) known from any source */
        "INSERT OR IGNORE INTO snapshots (node, vat_id, snap_pos, snapshot_id) SELECT ?1, vat_id, position, "
        "snapshot_id FROM transcript_items WHERE node=?1 AND d_type='save-snapshot'",
        "INSERT OR IGNORE INTO snapshots (node, vat_id, snap_pos, snapshot_id) SELECT ?1, vat_id, snap_pos, hash "
        "FROM store_snapshots WHERE node=?1",
        "INSERT OR IGNORE INTO snapshots (node, vat_id, snap_pos, snapshot_id, slog_snapshot_id, save_line) "
        "SELECT ?1, vat_id, pos, sid, sid, line FROM tl_saves",
        "UPDATE snapshots SET transcript_snapshot_id=(SELECT t.snapshot_id FROM transcript_items t WHERE "
        "t.node=snapshots.node AND t.vat_id=snapshots.vat_id AND t.position=snapshots.snap_pos AND "
        "t.d_type='save-snapshot'), store_hash=(SELECT s.hash FROM store_snapshots s WHERE s.node=snapshots.node "
        "AND s.vat_id=snapshots.vat_id AND s.snap_pos=snapshots.snap_pos), in_use=(SELECT s.in_use FROM "
        "store_snapshots s WHERE s.node=snapshots.node AND s.vat_id=snapshots.vat_id AND "
        "s.snap_pos=snapshots.snap_pos), from_slog=EXISTS (SELECT 1 FROM tl_saves v WHERE "
        "v.vat_id=snapshots.vat_id AND v.pos=snapshots.snap_pos) WHERE node=?1",
        "UPDATE snapshots SET from_transcript=(transcript_snapshot_id IS NOT NULL), from_store=(store_hash IS NOT NULL) "
        "WHERE node=?1",
        "INSERT OR IGNORE INTO vats (node, vat_id) SELECT DISTINCT ?1, vat_id FROM spans WHERE node=?1",
        "UPDATE vats SET incarnations=(SELECT count(DISTINCT incarnation) FROM spans s WHERE s.node=vats.node "
        "AND s.vat_id=vats.vat_id), current_incarnation=(SELECT max(incarnation) FROM spans s WHERE "
        "s.node=vats.node AND s.vat_id=vats.vat_id), spans=(SELECT count(*) FROM spans s WHERE s.node=vats.node "
        "AND s.vat_id=vats.vat_id), upgrades=max((SELECT count(*) FROM spans s WHERE s.node=vats.node AND "
        "s.vat_id=vats.vat_id AND s.last_type='shutdown-worker'), (SELECT count(*) FROM tl_upg u WHERE "
        "u.vat_id=vats.vat_id)), failed_upgrades=(SELECT count(DISTINCT a.source || '/' || a.epoch || '/' || a.crank_num) FROM tl_abort a "
        "JOIN deliveries d ON d.node=vats.node AND d.source=a.source AND d.epoch=a.epoch AND d.crank_num=a.crank_num AND "
        "d.vat_id=vats.vat_id AND d.dispatch='startVat' AND d.replay=0), "
        "created_time=(SELECT min(time) FROM slog_events e WHERE e.node=vats.node AND e.type='create-vat'" TL_INDEXED("e.") "AND "
        "e.vat_id=vats.vat_id), live_deliveries=(SELECT count(*) FROM tl_live l WHERE l.vat_id=vats.vat_id), "
        "end_pos=(SELECT max(end_pos) FROM spans s WHERE s.node=vats.node AND s.vat_id=vats.vat_id), "
        "snapshots=(SELECT count(*) FROM snapshots p WHERE p.node=vats.node AND p.vat_id=vats.vat_id AND "
        "(p.from_transcript OR p.from_slog OR p.from_store)), "
        "anomalies=(SELECT count(*) FROM anomalies a WHERE a.node=vats.node AND a.vat_id=vats.vat_id) "
        "WHERE node=?1",
        NULL};
    for (int i = 0; sql[i]; i++) {
        int rc = tl_exec_node(c, sql[i]);
        if (rc) return rc;
    }
    sqlite3_stmt *st = NULL;
    int rc = tl_prep(c, "UPDATE vats SET worker_type=?3, use_transcript=?4, terminated=?5, name=COALESCE(name, ?6) "
                        "WHERE node=?1 AND vat_id=?2", &st);
    if (rc) return rc;
    for (size_t i = 0; i < c->nvats; i++) {
        const struct tl_vat *v = &c->vats[i];
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, c->node, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, v->id, -1, SQLITE_STATIC);
        bind_opt_text(st, 3, v->worker_type);
        bind_opt_int(st, 4, v->use_transcript);
        sqlite3_bind_int(st, 5, v->terminated);
        bind_opt_text(st, 6, v->name);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = tl_sqlerr(c, "update vat lifecycle");
            break;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

/* ---- driver --------------------------------------------------------------- */

/*
 * The mirrors (JSONL, Kafka) already hold what the streaming stage and the
 * earlier analyses emitted; the SQLite rows of the node equal their
 * last-record-per-key view. After the passes rewrote the rows, only the
 * difference goes out: rows that are new or changed, and a retraction for
 * each key that is gone. A rerun over unchanged data emits nothing.
 */
static const char *const prev_sql[] = {
    "DROP TABLE IF EXISTS temp.tl_prev_spans",
    "DROP TABLE IF EXISTS temp.tl_prev_anom",
    "CREATE TEMP TABLE tl_prev_spans AS SELECT * FROM main.spans WHERE node=?1",
    "CREATE TEMP TABLE tl_prev_anom AS SELECT * FROM main.anomalies WHERE node=?1",
    NULL};

static int emit_changes(struct tl_ctx *c, sp_record_fn emit, void *arg)
{
    static const char *const sql[] = {
        /* spans: new or changed */
        "SELECT vat_id, incarnation, start_pos, end_pos, first_type, last_type, is_current, hash, hash_ok, "
        "deliveries, from_transcript, from_slog, save_snapshot_id, load_snapshot_id, 0 FROM "
        "(SELECT * FROM main.spans WHERE node=?1 EXCEPT SELECT * FROM temp.tl_prev_spans) ORDER BY 1, 3",
        /* spans: gone */
        "SELECT vat_id, incarnation, start_pos, end_pos, first_type, last_type, is_current, hash, hash_ok, "
        "deliveries, from_transcript, from_slog, save_snapshot_id, load_snapshot_id, 1 FROM temp.tl_prev_spans p "
        "WHERE NOT EXISTS (SELECT 1 FROM main.spans s WHERE s.node=?1 AND s.vat_id=p.vat_id "
        "AND s.start_pos=p.start_pos) ORDER BY 1, 3",
        /* anomalies: new or changed */
        "SELECT vat_id, kind, incarnation, position, severity, detail, source, line, 0 FROM "
        "(SELECT * FROM main.anomalies WHERE node=?1 EXCEPT SELECT * FROM temp.tl_prev_anom) ORDER BY 1, 2, 4",
        /* anomalies: gone */
        "SELECT vat_id, kind, incarnation, position, severity, detail, source, line, 1 FROM temp.tl_prev_anom p "
        "WHERE NOT EXISTS (SELECT 1 FROM main.anomalies a WHERE a.node=?1 AND a.kind=p.kind "
        "AND ifnull(a.vat_id,'')=ifnull(p.vat_id,'') AND ifnull(a.position,-1)=ifnull(p.position,-1)) "
        "ORDER BY 1, 2, 4",
        NULL};
    int rc = SP_OK;
    for (int q = 0; sql[q] && rc == SP_OK; q++) {
        sqlite3_stmt *st = NULL;
        if ((rc = tl_prep(c, sql[q], &st))) return rc;
        sqlite3_bind_text(st, 1, c->node, -1, SQLITE_STATIC);
        int r;
        while (rc == SP_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
            struct sp_record rec;
            if (q < 2) {
                struct sp_span x = {
                    .node = sp_str_c(c->node), .vat_id = sp_str_c(tl_text(st, 0)), .incarnation = tl_int(st, 1, -1),
                    .start_pos = tl_int(st, 2, 0), .end_pos = tl_int(st, 3, -1),
                    .first_type = sqlite3_column_type(st, 4) == SQLITE_NULL ? SP_STR_NULL : sp_str_c(tl_text(st, 4)),
                    .last_type = sqlite3_column_type(st, 5) == SQLITE_NULL ? SP_STR_NULL : sp_str_c(tl_text(st, 5)),
                    .is_current = (int)tl_int(st, 6, 0),
                    .hash = sqlite3_column_type(st, 7) == SQLITE_NULL ? SP_STR_NULL : sp_str_c(tl_text(st, 7)),
                    .hash_ok = (int)tl_int(st, 8, -1), .deliveries = tl_int(st, 9, 0),
                    .from_transcript = (int)tl_int(st, 10, 0), .from_slog = (int)tl_int(st, 11, 0),
                    .save_snapshot_id = sqlite3_column_type(st, 12) == SQLITE_NULL ? SP_STR_NULL : sp_str_c(tl_text(st, 12)),
                    .load_snapshot_id = sqlite3_column_type(st, 13) == SQLITE_NULL ? SP_STR_NULL : sp_str_c(tl_text(st, 13)),
                    .retracted = (int)tl_int(st, 14, 0)};
                rec = (struct sp_record){.kind = SP_REC_SPAN, .u.span = &x};
                rc = emit(arg, &rec, c->err);
            } else {
                struct sp_anomaly a = {
                    .node = sp_str_c(c->node),
                    .vat_id = sqlite3_column_type(st, 0) == SQLITE_NULL ? SP_STR_NULL : sp_str_c(tl_text(st, 0)),
                    .kind = sp_str_c(tl_text(st, 1)), .incarnation = tl_int(st, 2, -1), .position = tl_int(st, 3, -1),
                    .severity = sp_str_c(tl_text(st, 4)), .detail = sp_str_c(tl_text(st, 5)),
                    .source = sqlite3_column_type(st, 6) == SQLITE_NULL ? SP_STR_NULL : sp_str_c(tl_text(st, 6)),
                    .line = tl_int(st, 7, -1), .retracted = (int)tl_int(st, 8, 0)};
                rec = (struct sp_record){.kind = SP_REC_ANOMALY, .u.anomaly = &a};
                rc = emit(arg, &rec, c->err);
            }
        }
        if (rc == SP_OK && r != SQLITE_DONE) rc = tl_sqlerr(c, "reconcile");
        sqlite3_finalize(st);
    }
    return rc;
}

/* ---- the part of the answer that comes from the streaming stage ------------- */

struct merge {
    struct tl_ctx *c;
    sqlite3_stmt *span, *anom, *anom_del, *span_del;
};

static void bind_s(sqlite3_stmt *st, int i, struct sp_str s)
{
    if (s.p)
        sqlite3_bind_text(st, i, s.p, (int)s.n, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

/* A record of the replay: the stage's kinds and spans replace the SQL passes' rows. */
static int merge_rec(void *arg, const struct sp_record *rec, struct sp_err *err)
{
    struct merge *m = arg;
    sqlite3_stmt *st;
    (void)err;
    if (rec->kind == SP_REC_ANOMALY) {
        const struct sp_anomaly *a = rec->u.anomaly;
        st = a->retracted ? m->anom_del : m->anom;
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, m->c->node, -1, SQLITE_STATIC);
        bind_s(st, 2, a->vat_id);
        bind_s(st, 3, a->kind);
        if (a->retracted) {
            bind_opt_int(st, 4, a->position);
        } else {
            bind_opt_int(st, 4, a->incarnation);
            bind_opt_int(st, 5, a->position);
            bind_s(st, 6, a->severity);
            bind_s(st, 7, a->detail);
            bind_s(st, 8, a->source);
            bind_opt_int(st, 9, a->line);
        }
    } else if (rec->kind == SP_REC_SPAN) {
        const struct sp_span *s = rec->u.span;
        st = s->retracted ? m->span_del : m->span;
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, m->c->node, -1, SQLITE_STATIC);
        bind_s(st, 2, s->vat_id);
        if (s->retracted) {
            sqlite3_bind_int64(st, 3, s->start_pos);
        } else {
            bind_opt_int(st, 3, s->incarnation);
            sqlite3_bind_int64(st, 4, s->start_pos);
            sqlite3_bind_int64(st, 5, s->end_pos);
            bind_s(st, 6, s->first_type);
            bind_s(st, 7, s->last_type);
            sqlite3_bind_int(st, 8, s->is_current);
            bind_s(st, 9, s->hash);
            sqlite3_bind_int(st, 10, s->hash_ok);
            sqlite3_bind_int64(st, 11, s->deliveries);
            sqlite3_bind_int(st, 12, s->from_transcript);
            sqlite3_bind_int(st, 13, s->from_slog);
            bind_s(st, 14, s->save_snapshot_id);
            bind_s(st, 15, s->load_snapshot_id);
        }
    } else {
        return SP_OK;
    }
    if (sqlite3_step(st) != SQLITE_DONE) return tl_sqlerr(m->c, "replay: write");
    return SP_OK;
}

/*
 * The analysis of a node is a replay of its stored records through the
 * streaming stage (issue #15: one implementation): the rows it writes are
 * the records the stage emits, the last record of each key winning, as in
 * the SQLite sink. The schedule the stage judges against is the one this
 * analysis settled (a kvStore setting, the option, or a threshold inferred
 * from the node's own closed spans, which only the whole history can give).
 */
static int stage_merge(struct tl_ctx *c, const struct sp_analysis_opts *o)
{
    struct merge m = {.c = c};
    int rc = tl_prep(c, "INSERT OR REPLACE INTO spans (node, vat_id, incarnation, start_pos, end_pos, first_type, "
                        "last_type, is_current, hash, hash_ok, deliveries, from_transcript, from_slog, "
                        "save_snapshot_id, load_snapshot_id) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)",
                     &m.span);
    if (rc == SP_OK)
        rc = tl_prep(c, "INSERT OR REPLACE INTO anomalies (node, vat_id, kind, incarnation, position, severity, detail, "
                        "source, line) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)", &m.anom);
    if (rc == SP_OK)
        rc = tl_prep(c, "DELETE FROM anomalies WHERE node=?1 AND ifnull(vat_id,'')=ifnull(?2,'') AND kind=?3 "
                        "AND ifnull(position,-1)=ifnull(?4,-1)", &m.anom_del);
    if (rc == SP_OK) rc = tl_prep(c, "DELETE FROM spans WHERE node=?1 AND vat_id=?2 AND start_pos=?3", &m.span_del);
    /* the schedule as this analysis settled it: an option, or inferred from the node's closed spans
     * (a kvStore setting the stage reads itself) */
    struct sp_tl_stream_opts so = {.snapshot_initial = -1, .snapshot_interval = -1,
                                   .heap_thresholds = o->heap_thresholds, .nheap_thresholds = o->nheap_thresholds};
    if (strcmp(c->sinit_src, "option") == 0 || strcmp(c->sinit_src, "inferred") == 0)
        so.snapshot_initial = c->sinit, so.sinit_how = strcmp(c->sinit_src, "inferred") == 0 ? c->sinit_how : NULL;
    if (strcmp(c->sint_src, "option") == 0 || strcmp(c->sint_src, "inferred") == 0)
        so.snapshot_interval = c->sint, so.sint_how = strcmp(c->sint_src, "inferred") == 0 ? c->sint_how : NULL;
    if (rc == SP_OK) rc = sp_tl_replay(c->db, c->node, &so, merge_rec, &m, c->err);
    sqlite3_finalize(m.span);
    sqlite3_finalize(m.anom);
    sqlite3_finalize(m.anom_del);
    sqlite3_finalize(m.span_del);
    if (rc) return rc;
    /* the counts analysis_runs reports */
    sqlite3_stmt *st = NULL;
    if ((rc = tl_prep(c, "SELECT (SELECT count(*) FROM spans WHERE node=?1), (SELECT count(*) FROM anomalies WHERE node=?1)",
                      &st)))
        return rc;
    sqlite3_bind_text(st, 1, c->node, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) c->n_spans = sqlite3_column_int64(st, 0), c->n_anom = sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    return SP_OK;
}

static int analyze_node(struct tl_ctx *c, const struct sp_analysis_opts *o)
{
    static const char *const clear_sql[] = {
        "DELETE FROM spans WHERE node=?1",
        "DELETE FROM anomalies WHERE node=?1",
        "DELETE FROM analysis_runs WHERE node=?1",
        "UPDATE snapshots SET from_transcript=NULL, from_slog=NULL, from_store=NULL, store_hash=NULL, "
        "transcript_snapshot_id=NULL, in_use=NULL WHERE node=?1",
        "UPDATE vats SET worker_type=NULL, use_transcript=NULL, incarnations=NULL, current_incarnation=NULL, "
        "upgrades=NULL, failed_upgrades=NULL, created_time=NULL, terminated=NULL, spans=NULL, snapshots=NULL, "
        "live_deliveries=NULL, end_pos=NULL, anomalies=NULL WHERE node=?1",
        NULL};
    int rc;
    c->n_spans = c->n_anom = c->n_dedup = 0;
    for (int i = 0; prev_sql[i]; i++)
        if ((rc = tl_exec_node(c, prev_sql[i]))) return rc;
    for (int i = 0; clear_sql[i]; i++)
        if ((rc = tl_exec_node(c, clear_sql[i]))) return rc;
    if ((rc = load_config(c, o))) return rc;
    if ((rc = vats_load(c))) return rc;
    if ((rc = build_temp(c))) return rc;
    if ((rc = infer_config(c))) return rc;
    if ((rc = stage_merge(c, o))) return rc;
    if ((rc = update_lifecycle(c))) return rc;
    if (c->emit_out && (rc = emit_changes(c, c->emit_out, c->arg))) return rc;

    sqlite3_stmt *st = NULL;
    rc = tl_prep(c, "INSERT INTO analysis_runs VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)", &st);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, c->node, -1, SQLITE_STATIC);
    if (c->sinit >= 0) sqlite3_bind_int64(st, 2, c->sinit); /* else NULL: unknown */
    sqlite3_bind_text(st, 3, c->sinit_src, -1, SQLITE_STATIC);
    if (c->sint >= 0) sqlite3_bind_int64(st, 4, c->sint);
    sqlite3_bind_text(st, 5, c->sint_src, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, (int64_t)c->nvats);
    sqlite3_bind_int64(st, 7, c->n_spans);
    sqlite3_bind_int64(st, 8, c->n_anom);
    sqlite3_bind_int64(st, 9, c->n_dedup);
    if (sqlite3_step(st) != SQLITE_DONE) rc = tl_sqlerr(c, "insert analysis_runs");
    sqlite3_finalize(st);
    return rc;
}

/* SLOGPIPE_TRACE_SQL=MS: print each analysis statement that ran for at least
 * MS milliseconds, with its time, to stderr (a profiling aid; 0 = all). */
static double trace_min_ms;

static int trace_profile(unsigned type, void *arg, void *p, void *x)
{
    (void)arg;
    if (type == SQLITE_TRACE_PROFILE) {
        double ms = (double)*(sqlite3_int64 *)x / 1e6;
        char *sql = ms >= trace_min_ms ? sqlite3_expanded_sql(p) : NULL;
        if (sql) fprintf(stderr, "slogpipe: sql %9.2f ms  %s\n", ms, sql);
        sqlite3_free(sql);
    }
    return 0;
}

/*
 * The analysis runs with a 4 MiB page cache. SQLite's sorter keeps up to
 * cache_size bytes in memory before spilling to temp files, and the
 * ingest has filled the 16 MB cache: shrinking it frees those pages for the
 * sorter, so the analysis of a 10 GB slog peaks no higher than the ingest
 * of a 1 GB one (bench/run). The caller's cache_size is restored after.
 */
#define SP_ANALYZE_CACHE_KIB 4096

static int64_t cache_size_get(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int64_t v = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA cache_size", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void cache_size_set(sqlite3 *db, int64_t v)
{
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA cache_size=%lld", (long long)v);
    sqlite3_exec(db, sql, NULL, NULL, NULL); /* a hint: failure changes nothing else */
}

static int analyze_all(sqlite3 *db, const struct sp_analysis_opts *o, sp_record_fn emit, void *arg,
                       struct sp_err *err);

int sp_analyze(sqlite3 *db, const struct sp_analysis_opts *o, sp_record_fn emit, void *arg, struct sp_err *err)
{
    int64_t cache = cache_size_get(db); /* < 0: KiB, > 0: pages (<= 16 KiB each) */
    int shrink = cache < -SP_ANALYZE_CACHE_KIB || cache > SP_ANALYZE_CACHE_KIB / 16;
    int rc;

    if (shrink) cache_size_set(db, -SP_ANALYZE_CACHE_KIB);
    rc = analyze_all(db, o, emit, arg, err);
    if (shrink) cache_size_set(db, cache);
    return rc;
}

static int analyze_all(sqlite3 *db, const struct sp_analysis_opts *o, sp_record_fn emit, void *arg,
                       struct sp_err *err)
{
    struct sp_analysis_opts dflt;
    struct tl_ctx c;
    char **nodes = NULL;
    size_t nnodes = 0, cap = 0;
    sqlite3_stmt *st = NULL;
    int rc;

    if (!o) {
        sp_analysis_opts_init(&dflt);
        o = &dflt;
    }
    memset(&c, 0, sizeof c);
    c.db = db;
    c.emit_out = emit;
    c.arg = arg;
    c.err = err;
    if (getenv("SLOGPIPE_TRACE_SQL")) {
        trace_min_ms = atof(getenv("SLOGPIPE_TRACE_SQL"));
        sqlite3_trace_v2(db, SQLITE_TRACE_PROFILE, trace_profile, NULL);
    }

    if (sqlite3_exec(db, "SAVEPOINT sp_analyze", NULL, NULL, NULL) != SQLITE_OK) {
        rc = tl_sqlerr(&c, "begin");
        return rc;
    }
    if (o->node) {
        nodes = sp_xmalloc(sizeof *nodes);
        nodes[nnodes++] = sp_xstrdup(o->node);
    } else {
        /* the big tables by a loose index scan (one seek per node), the rest whole */
        rc = tl_prep(&c, "WITH RECURSIVE " TL_DISTINCT("d", "node", "deliveries", " WHERE 1") ", "
                         TL_DISTINCT("t", "node", "transcript_items", " WHERE 1") " "
                         "SELECT node FROM sources UNION SELECT v FROM d WHERE v IS NOT NULL "
                         "UNION SELECT node FROM transcript_spans UNION SELECT v FROM t WHERE v IS NOT NULL "
                         "UNION SELECT node FROM store_snapshots UNION SELECT node FROM vats ORDER BY 1",
                     &st);
        if (rc) goto fail;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (nnodes == cap) {
                cap = cap ? cap * 2 : 8;
                nodes = sp_xrealloc(nodes, cap * sizeof *nodes);
            }
            nodes[nnodes++] = sp_xstrdup(tl_text(st, 0));
        }
        sqlite3_finalize(st);
        st = NULL;
        if (rc != SQLITE_DONE) {
            rc = tl_sqlerr(&c, "list nodes");
            goto fail;
        }
    }
    for (size_t i = 0; i < nnodes; i++) {
        c.node = nodes[i];
        rc = analyze_node(&c, o);
        vats_free(&c);
        if (rc) {
            if (err && err->rc == 0) sp_err_set(err, rc, "timeline: node %s: emit failed", c.node);
            goto fail;
        }
    }
    for (int i = 0; temp_sql[i] && strncmp(temp_sql[i], "DROP", 4) == 0; i++) tl_exec_node(&c, temp_sql[i]);
    tl_exec_node(&c, "DROP TABLE IF EXISTS temp.tl_x1");
    for (int i = 0; prev_sql[i] && strncmp(prev_sql[i], "DROP", 4) == 0; i++) tl_exec_node(&c, prev_sql[i]);
    tl_exec_node(&c, "DROP TABLE IF EXISTS temp.tl_sup");
    tl_exec_node(&c, "DROP TABLE IF EXISTS temp.tl_supseg");
    if (sqlite3_exec(db, "RELEASE sp_analyze", NULL, NULL, NULL) != SQLITE_OK) {
        rc = tl_sqlerr(&c, "commit");
        goto fail;
    }
    for (size_t i = 0; i < nnodes; i++) free(nodes[i]);
    free(nodes);
    return SP_OK;

fail:
    sqlite3_finalize(st);
    vats_free(&c);
    sqlite3_exec(db, "ROLLBACK TO sp_analyze; RELEASE sp_analyze", NULL, NULL, NULL);
    for (size_t i = 0; i < nnodes; i++) free(nodes[i]);
    free(nodes);
    return rc ? rc : SP_EINTERNAL;
}
